"""econsim.cadcad against the real cadCAD 0.5.3: same rows, same columns, same values."""

from __future__ import annotations

import operator
import random

import cadcad_models as m
import numpy as np
import pandas as pd
import pytest
from cadcad_reference import assert_same_table, experiment, run_cadcad

from econsim import cadcad
from econsim.engine.errors import ConfigError


def economy(**overrides):
    spec = {
        "initial_state": m.ECONOMY_STATE,
        "partial_state_update_blocks": m.ECONOMY_BLOCKS,
        "params": m.ECONOMY_PARAMS,
        "runs": 2,
        "timesteps": 6,
    }
    return {**spec, **overrides}


def test_several_blocks_substeps_and_a_sweep_match_cadcad_row_for_row():
    model = economy()
    theirs = run_cadcad([model])
    ours = cadcad.run(**model, seed=3)
    assert_same_table(ours, theirs)
    # the bookkeeping cadCAD shows: initial row, then one row per block and timestep
    assert len(ours) == 3 * 2 * (1 + 6 * 3)
    assert list(ours.columns[-5:]) == ["simulation", "subset", "run", "substep", "timestep"]


@pytest.mark.parametrize(
    "ops",
    [
        [lambda a, b: a + b],
        [lambda a, b: a * b],
        [operator.add, lambda total: total / 2],  # the other ops apply to the folded value
        [max, lambda v: v - 1, abs],
    ],
)
def test_custom_policy_aggregation_matches_cadcad(ops):
    model = economy(policy_ops=ops, runs=1)
    assert_same_table(cadcad.run(**model, seed=0), run_cadcad([model]))


@pytest.mark.parametrize(
    ("params", "runs"),
    [
        ({"income": [10.0, 12.0], "spend_rate": [0.1, 0.2], "capacity": [1.0]}, 3),  # zip + broadcast
        (
            {"income": [10.0, 12.0, 15.0], "spend_rate": [0.1], "capacity": [1.0, 2.0, 0.5]},
            1,
        ),  # N=1 numbering
        ({"income": 11.0, "spend_rate": 0.1, "capacity": 1.0}, 2),  # no lists: one subset, values as given
        ({"income": [11.0], "spend_rate": [0.1], "capacity": [1.0]}, 2),
    ],
)
def test_parameter_sweeps_and_run_numbering_match_cadcad(params, runs):
    model = economy(params=params, runs=runs, timesteps=4)
    assert_same_table(cadcad.run(**model, seed=0), run_cadcad([model]))


def test_a_configured_cadcad_experiment_with_several_models():
    first = economy(runs=2, timesteps=3)
    second = economy(
        params={"income": [5.0], "spend_rate": [0.3], "capacity": [2.0]},
        runs=3,
        timesteps=5,
        policy_ops=[operator.mul],
    )
    exp = experiment([first, second])
    ours = cadcad.run(exp, seed=0)
    assert_same_table(ours, run_cadcad([first, second]))
    assert sorted(ours["simulation"].unique()) == [0, 1]


def test_notebook_model_without_price_noise_matches_cadcad(notebook):
    honey = notebook
    params = {
        **honey.params,
        "p_variance": [0],
        "throttle": honey.params["throttle"][:3],
        "target_reserve_ratio": honey.params["target_reserve_ratio"][:3],
    }
    model = {
        "initial_state": honey.genesis_states,
        "partial_state_update_blocks": honey.partial_state_update_blocks,
        "params": params,
        "runs": 2,
        "timesteps": 120,
    }
    theirs = run_cadcad([model])
    ours = cadcad.run(**model, seed=5)
    assert_same_table(ours, theirs, atol=1e-9)


def test_process_executor_gives_the_same_table_as_in_process():
    walk = {
        "initial_state": m.WALK_STATE,
        "partial_state_update_blocks": m.WALK_BLOCKS,
        "params": m.WALK_PARAMS,
        "runs": 6,
        "timesteps": 20,
    }
    exp = experiment([economy(), walk])  # a deterministic and a stochastic model in one experiment
    local = cadcad.run(exp, seed=11, batch_runs=2)
    pooled = cadcad.run(exp, seed=11, executor="process", workers=2, batch_runs=2)
    assert_same_table(pooled, local)


def test_mutating_state_is_detected_in_check_mode_and_copied_in_deepcopy_mode():
    model = {
        "initial_state": m.MUTATING_STATE,
        "partial_state_update_blocks": m.MUTATING_BLOCKS,
        "runs": 1,
        "timesteps": 4,
    }
    with pytest.raises(cadcad.StateMutationError, match="p_append"):
        cadcad.run(**model, check=True)
    theirs = run_cadcad([{**model, "params": {"unused": [1]}}])
    assert_same_table(cadcad.run(**model, params={"unused": [1]}, deepcopy=True), theirs)


def test_bad_sweeps_and_models_are_reported():
    with pytest.raises(ConfigError, match="equal length"):
        cadcad.sweep_points({"a": [1, 2], "b": [1, 2, 3]})
    with pytest.raises(ConfigError, match="single values"):
        cadcad.sweep_points({"a": [1, 2], "b": 3})
    with pytest.raises(ConfigError, match="needs initial_state"):
        cadcad.run(partial_state_update_blocks=m.WALK_BLOCKS)
    with pytest.raises(ValueError, match="s_bad"):

        def s_bad(params, substep, sH, s, _input):
            return s["level"]

        cadcad.run(
            initial_state=m.WALK_STATE,
            partial_state_update_blocks=[{"policies": {"shock": m.p_shock}, "variables": {"level": s_bad}}],
            params=m.WALK_PARAMS,
            timesteps=2,
        )


# --------------------------------------------------------------------------- randomness


def walk(**overrides):
    spec = {
        "initial_state": m.WALK_STATE,
        "partial_state_update_blocks": m.WALK_BLOCKS,
        "params": m.WALK_PARAMS,
        "runs": 8,
        "timesteps": 10,
    }
    return {**spec, **overrides}


def test_runs_differ_repeat_with_the_seed_and_leave_the_callers_rng_alone():
    np.random.seed(123)  # noqa: NPY002
    random.seed(123)
    before = (np.random.random(), random.random())  # noqa: NPY002
    np.random.seed(123)  # noqa: NPY002
    random.seed(123)
    a = cadcad.run(**walk(), seed=1)
    assert (np.random.random(), random.random()) == before  # noqa: NPY002
    b = cadcad.run(**walk(), seed=1)
    c = cadcad.run(**walk(), seed=2)
    assert a.equals(b)
    assert not a["level"].equals(c["level"])
    final = a[a["timestep"] == 10]["level"]
    assert final.nunique() == 8  # every Monte Carlo run has its own stream
    assert cadcad.run(**walk()).attrs["seed"] != cadcad.run(**walk()).attrs["seed"]


def test_a_stochastic_model_is_statistically_equal_to_cadcad():
    from scipy import stats

    model = walk(runs=300, timesteps=25)
    np.random.seed(7)  # noqa: NPY002 - cadCAD's single-process mode draws from one global stream
    theirs = run_cadcad([model])
    ours = cadcad.run(**model, seed=7)
    final_theirs = theirs[theirs["timestep"] == 25]["level"].to_numpy()
    final_ours = ours[ours["timestep"] == 25]["level"].to_numpy()
    # level after 25 steps ~ Normal(2.5, 5): both samples must be draws from it, and from each other
    assert stats.ks_2samp(final_ours, final_theirs).pvalue > 1e-3
    assert stats.kstest(final_ours, "norm", args=(2.5, 5.0)).pvalue > 1e-3
    assert abs(final_ours.mean() - 2.5) < 4 * 5 / np.sqrt(300)


# --------------------------------------------------------------------------- results folder


def test_results_folder_is_read_by_econsim_load_and_back_as_cadcads_table(tmp_path):
    import econsim

    model = economy()
    ours = cadcad.run(**model, seed=3, out=tmp_path / "res", batch_runs=2, name="economy")
    assert_same_table(ours, run_cadcad([model]))
    assert_same_table(cadcad.load(tmp_path / "res"), ours)
    res = econsim.load(tmp_path / "res")
    assert res.complete and res.manifest["model"] == "cadcad"
    assert res.swept == ["income", "capacity"]
    tidy = res.to_pandas()
    assert {"subset", "run", "timestep", "substep", "cash", "income"} <= set(tidy.columns)
    assert len(tidy) == len(ours)
    # the same experiment again (its seed taken from the folder) is a finished resume: nothing recomputed
    stamps = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "res" / "parts").iterdir()}
    assert_same_table(cadcad.run(**model, out=tmp_path / "res", batch_runs=2), ours)
    assert stamps == {p.name: p.stat().st_mtime_ns for p in (tmp_path / "res" / "parts").iterdir()}
    with pytest.raises(ConfigError, match="holds a different experiment"):
        cadcad.run(**model, seed=4, out=tmp_path / "res")
    assert cadcad.run(**model, seed=4, out=tmp_path / "res", overwrite=True).attrs["seed"] == 4


def test_figures_draw_from_a_cadcad_results_folder(tmp_path):
    import econsim
    from econsim.experiment.figures import save_figures

    cadcad.run(**economy(), seed=3, out=tmp_path / "res")
    res = econsim.load(tmp_path / "res")
    written = save_figures(res, res.manifest["config"]["figures"], tmp_path / "fig")
    assert written and all(p.stat().st_size > 0 for p in written)


def _kinds_model(extra_key: bool):
    """One block whose state holds every kind of value a table column can get (ints, floats, numpy
    scalars, booleans, text, lists), and optionally an update that adds a name the initial state lacks."""

    def policy(params, substep, sH, s):
        return {"step": 1}

    def grow(params, substep, sH, s, _input):
        return "count", s["count"] + _input["step"]

    def scale(params, substep, sH, s, _input):
        return "level", np.float64(s["level"]) * 1.5

    def flag(params, substep, sH, s, _input):
        return "even", s["count"] % 2 == 0

    def text(params, substep, sH, s, _input):
        return "label", f"t{s['count']}"

    def listed(params, substep, sH, s, _input):
        return "items", [s["count"]] * 2

    def added(params, substep, sH, s, _input):
        return "added", 0.5 * s["count"]

    updates = {"count": grow, "level": scale, "even": flag, "label": text, "items": listed}
    if extra_key:
        updates["added"] = added
    state = {"count": 0, "level": 1.0, "even": True, "label": "t0", "items": [0, 0]}
    return state, [{"policies": {"p": policy}, "variables": updates}]


@pytest.mark.parametrize("extra_key", [False, True])
def test_table_from_the_flat_values_equals_the_table_from_the_rows(extra_key):
    """simulate_batch slices its columns out of one flat list of the rows' values when every row has the
    same keys in the same order; the table is the one built from the rows themselves."""
    from econsim.cadcad import batch
    from econsim.cadcad.spec import from_arguments

    state, blocks = _kinds_model(extra_key)
    spec = from_arguments(state, blocks, {}, 3, 5, None, None)
    fast = batch.simulate_batch(spec, tuple(range(len(spec.runs))), seed=1)
    original = batch.rows_to_frame
    try:
        batch.rows_to_frame = lambda rows, names, flat=None, index=None: original(
            rows or [row for step in batch._as_history(*flat) for row in step], names
        )
        reference = batch.simulate_batch(spec, tuple(range(len(spec.runs))), seed=1)
    finally:
        batch.rows_to_frame = original
    pd.testing.assert_frame_equal(fast, reference, check_exact=True)
    assert fast["level"].dtype == np.float64 and fast["count"].dtype == np.int64
    assert fast["even"].dtype == bool and fast["items"].iloc[-1] == [4, 4]  # the count before the last step
    assert ("added" in fast.columns) == extra_key
