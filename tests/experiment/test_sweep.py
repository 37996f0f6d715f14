"""Sweep expansion: grids, zipped lists (cadCAD's convention), ranges, initial-state sweeps."""

import pytest

from econsim.engine import ConfigError
from econsim.experiment.config import Range, load_config
from econsim.experiment.plan import make_plan


def plan(**cfg):
    return make_plan(load_config({"model": "honey", **cfg}))


def test_range_is_inclusive_and_clean():
    assert Range(start=0.1, stop=0.3, step=0.025).values() == [
        0.1,
        0.125,
        0.15,
        0.175,
        0.2,
        0.225,
        0.25,
        0.275,
        0.3,
    ]
    assert len(Range(start=0.002, stop=0.030, step=0.004).values()) == 8
    assert Range(start=0, stop=1, num=5).values() == [0, 0.25, 0.5, 0.75, 1]
    with pytest.raises(ValueError, match="exactly one of 'step' or 'num'"):
        Range(start=0, stop=1)


def test_grid_is_the_product_first_key_slowest():
    p = plan(
        sweep={
            "grid": {
                "target_reserve_ratio": {"start": 0.1, "stop": 0.3, "step": 0.025},
                "throttle": {"start": 0.002, "stop": 0.030, "step": 0.004},
            }
        },
        runs=10,
    )
    assert len(p.subsets) == 72 and p.n_runs_total == 720
    assert p.subsets[0] == {"target_reserve_ratio": 0.1, "throttle": 0.002}
    assert p.subsets[1] == {"target_reserve_ratio": 0.1, "throttle": 0.006}
    assert p.subsets[8] == {"target_reserve_ratio": 0.125, "throttle": 0.002}
    assert p.swept == ["target_reserve_ratio", "throttle"]


def test_zip_takes_lists_together_and_broadcasts_length_one():
    p = plan(sweep={"zip": {"throttle": [0.002, 0.004, 0.008], "p_pull": [0.6]}})
    assert p.subsets == [
        {"throttle": 0.002, "p_pull": 0.6},
        {"throttle": 0.004, "p_pull": 0.6},
        {"throttle": 0.008, "p_pull": 0.6},
    ]


def test_grid_times_zip():
    p = plan(
        sweep={
            "grid": {"productivity": [0.86, 0.9]},
            "zip": {"throttle": [0.002, 0.004], "target_reserve_ratio": [0.1, 0.2]},
        }
    )
    assert len(p.subsets) == 4
    assert p.subsets[3] == {"productivity": 0.9, "throttle": 0.004, "target_reserve_ratio": 0.2}


def test_sweep_over_initial_state():
    p = plan(sweep={"grid": {"reserve": [5000, 9000]}}, runs=2)
    params, state = p.batch_inputs(0, 4)
    assert list(state["reserve"]) == [5000, 5000, 9000, 9000]
    assert "reserve" not in params


def test_zip_lengths_must_agree():
    with pytest.raises(ConfigError, match="equal lengths"):
        plan(sweep={"zip": {"throttle": [0.1, 0.2], "p_pull": [0.5, 0.6, 0.7]}})


def test_swept_values_are_validated():
    with pytest.raises(ConfigError, match=r"sweep.grid.throttle = 2.0 is out of range; valid: \[0.0, 1.0\]"):
        plan(sweep={"grid": {"throttle": [0.1, 2.0]}})
    with pytest.raises(ConfigError, match="did you mean 'throttle'"):
        plan(sweep={"grid": {"throtle": [0.1]}})


def test_batches_follow_the_memory_budget_and_cover_every_run():
    p = plan(sweep={"grid": {"throttle": [0.002, 0.004, 0.008]}}, runs=1000, memory_budget_mb=1)
    assert len(p.batches) > 1
    covered = [g for a, b in p.batches for g in range(a, b)]
    assert covered == list(range(3000))
