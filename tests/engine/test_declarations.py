"""The engine's declarations, each on its own: per-batch parameters (scalars, planner cuts), the
update-key check, populations, static data, invariants, schedules, and the Simulation step API."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import econsim
from econsim.engine import (
    Block,
    ConfigError,
    Invariant,
    InvariantError,
    Model,
    Param,
    Population,
    Simulation,
    UndeclaredStateError,
    Var,
    admit,
)
from econsim.engine.population import count
from econsim.experiment.config import load_config
from econsim.experiment.plan import make_plan
from econsim.experiment.runner import batch_task
from econsim.models.registry import get_model

# --- per-batch parameters ---------------------------------------------------------------------------


def _take_window(s, p, rng):
    """y = Σ_{i < width} x_i: the width slices an axis, so it is one value per batch."""
    assert isinstance(p.width, int) and p.rate.shape == (p.n_runs,)
    return {"y": s.x[:, : p.width].sum(axis=1) * p.rate}


def _seed_x(s, p, rng):
    return {"x": np.broadcast_to(np.arange(1.0, p.n + 1), s.x.shape).copy()}


WINDOW = Model(
    name="window",
    doc="test model: a per-batch slice width",
    params=[
        Param("n", 6, "length of x (sizes the state)", kind="int", bounds=(1, None)),
        Param("width", 2, "summed prefix of x", kind="int", bounds=(0, None), per_batch=True),
        Param("rate", 1.0, "scale"),
    ],
    state=[Var("x", 0.0, "values", shape=("n",)), Var("y", 0.0, "prefix sum")],
    step=[_take_window],
    init=_seed_x,
)


def test_per_batch_parameters_are_scalars_and_sizes_are_per_batch_implicitly():
    assert WINDOW.per_batch == {"n", "width"}
    p = WINDOW.param_arrays({"width": 3, "rate": [1.0, 2.0]}, 2)
    assert p.width == 3 and type(p.width) is int and type(p.n) is int
    np.testing.assert_array_equal(p.rate, [1.0, 2.0])
    with pytest.raises(ConfigError, match=r"'width' of model 'window' takes one value per batch.*\[1, 3\]"):
        WINDOW.param_arrays({"width": np.array([1, 3])}, 2)


def test_planner_cuts_batches_where_a_per_batch_parameter_changes():
    cfg = load_config(
        {
            "model": f"{__name__}:WINDOW",
            "runs": 3,
            "steps": 1,
            "sweep": {"grid": {"width": [1, 4], "rate": [1.0, 2.0]}},
        }
    )
    plan = make_plan(cfg)
    assert plan.batches == [(0, 6), (6, 12)]  # width is the slow key: one batch per width
    swept = econsim.run(cfg).final()
    # y = rate · (1 + … + width): every sweep point sees its own width
    expected = swept["rate"] * swept["width"] * (swept["width"] + 1) / 2
    np.testing.assert_array_equal(swept["y"].to_numpy(), expected.to_numpy())


# --- the update-key check ---------------------------------------------------------------------------


def _misspelt(s, p, rng):
    return {"price": s.price + 1.0, "volumes": s.price}


def test_an_undeclared_update_key_stops_the_run_naming_stage_key_and_nearest_name():
    state = [Var("price", 1.0, "price"), Var("volume", 0.0, "volume")]
    model = Model("typo", "test", params=[], state=state, step=[_misspelt])
    with pytest.raises(
        UndeclaredStateError, match=r"stage '_misspelt' returned 'volumes'.*did you mean 'volume'"
    ):
        Simulation(model).run(3)
    with pytest.raises(UndeclaredStateError):  # step() uses the same loop
        Simulation(model).step()


# --- populations ------------------------------------------------------------------------------------


def _pay_interest(s, p, rng):
    """households.wealth' = wealth·(1 + r) for the living; an entrant per run each step."""
    alive, entered = admit(s.households.alive, np.ones(p.n_runs, dtype=np.int64))
    return {
        "households.wealth": np.where(s.households.alive, s.households.wealth * (1 + p.r[:, None]), 0.0)
        + np.where(entered, 1.0, 0.0),
        "households.alive": alive,
        "firms.capital": s.firms.capital + 1.0,
    }


ECONOMY = Model(
    name="economy",
    doc="test model: two populations",
    params=[
        Param("n_households", 5, "household slots", kind="int", bounds=(1, None)),
        Param("n_firms", 2, "firms", kind="int", bounds=(1, None)),
        Param("households_at_start", 3, "live households at t = 0", kind="int", bounds=(0, None)),
        Param("r", 0.5, "interest"),
    ],
    state=[Var("day", 0.0, "a plain variable")],
    populations=[
        Population(
            "households",
            size="n_households",
            vars=[Var("wealth", 2.0, "net wealth")],
            active="households_at_start",
        ),
        Population(
            "firms", size="n_firms", vars=[Var("capital", 0.0, "capital stock by vintage", shape=(4,))]
        ),
    ],
    step=[_pay_interest],
)


def test_population_arrays_names_shapes_alive_mask_and_views():
    sim = Simulation(ECONOMY, {"r": [0.5, 1.0]})
    s = sim.state
    assert s["households.wealth"].shape == (2, 5) and s["firms.capital"].shape == (2, 2, 4)
    assert s["households.alive"].dtype == bool
    np.testing.assert_array_equal(s.households.alive[0], [True, True, True, False, False])
    assert s.firms.alive.all()
    assert s.households.wealth is s["households.wealth"]
    assert sorted(s.households) == ["alive", "wealth"]
    assert {"n_households", "n_firms", "households_at_start"} <= ECONOMY.per_batch
    sim.step(2)
    # step 1: three live households double (r = 1) or grow by half; slot 3 enters with 1.0
    np.testing.assert_array_equal(s.households.wealth[1], [8.0, 8.0, 8.0, 2.0, 1.0])
    np.testing.assert_array_equal(s.households.wealth[0], [4.5, 4.5, 4.5, 1.5, 1.0])
    np.testing.assert_array_equal(count(s.households.alive), [5, 5])
    np.testing.assert_array_equal(s.firms.capital, np.full((2, 2, 4), 2.0))


def test_admit_fills_the_lowest_free_slots_and_never_more_than_are_free():
    alive = np.array([[True, False, True, False], [False, False, False, False]])
    new, entered = admit(alive, np.array([5, 2]))
    np.testing.assert_array_equal(entered, [[False, True, False, True], [True, True, False, False]])
    np.testing.assert_array_equal(new, alive | entered)


def test_population_declarations_are_checked():
    with pytest.raises(ValueError, match="'alive' is added automatically"):
        Population("banks", size="n", vars=[Var("alive", 1.0, "x")])
    with pytest.raises(ValueError, match="is no parameter"):
        Model("m", "t", params=[], state=[], step=[], populations=[Population("banks", "n_banks", [])])


# --- static data ------------------------------------------------------------------------------------

CALLS: list[int] = []


def _geometry(p):
    CALLS.append(p.n)
    return {"dist_nn": np.abs(np.subtract.outer(np.arange(p.n), np.arange(p.n))).astype(float)}


def _travel(s, p, rng):
    """y = Σ_j dist_0j · rate: static data has no run axis."""
    assert p.dist_nn.shape == (p.n, p.n)
    return {"y": p.dist_nn[0].sum() * p.rate}


STATIC = Model(
    name="static",
    doc="test model: static geometry",
    params=[Param("n", 4, "points", kind="int", bounds=(1, None)), Param("rate", 1.0, "scale")],
    state=[Var("x", 0.0, "sized by n", shape=("n",)), Var("y", 0.0, "y")],
    step=[_travel],
    static=_geometry,
)


def test_static_data_is_computed_once_per_batch_values_shared_and_read_only():
    CALLS.clear()
    sim = Simulation(STATIC, {"rate": [1.0, 2.0, 3.0]})
    sim.run(3)
    np.testing.assert_array_equal(sim.state.y, [6.0, 12.0, 18.0])  # 0 + 1 + 2 + 3
    Simulation(STATIC, {"rate": 5.0}).run(1)  # same per-batch values: reused
    Simulation(STATIC, {"n": 3}).run(1)  # another geometry: computed anew
    assert CALLS == [4, 3]
    with pytest.raises(ValueError, match="read-only"):
        sim.params.dist_nn[0, 0] = 1.0


# --- invariants -------------------------------------------------------------------------------------


def _grow(s, p, rng):
    leak = np.where(s.stock > p.leak_above, 1e-3, 0.0)  # a flow not booked in ``inflow``
    return {"stock": s.stock + p.inflow + leak, "inflow_booked": p.inflow + 0.0 * s.stock}


LEAKY = Model(
    name="leaky",
    doc="test model: a stock that leaks past a threshold",
    params=[Param("inflow", 1.0, "inflow per step"), Param("leak_above", 1e9, "leak threshold")],
    state=[Var("stock", 100.0, "stock"), Var("inflow_booked", 0.0, "booked inflow")],
    step=[_grow],
    invariants=[
        Invariant(
            "stock_flow",
            lambda s, p, prev: s.stock - (prev.stock + s.inflow_booked),
            tol=1e-9,
            scale=lambda s, p, prev: s.stock,
        )
    ],
)


def test_an_invariant_that_holds_passes_and_one_that_fails_names_identity_step_run_and_residual():
    Simulation(LEAKY, {"inflow": [1.0, 2.0]}).run(20)
    sim = Simulation(LEAKY, {"leak_above": [1e9, 104.5]}, subset=[3, 3], run=[0, 7])
    with pytest.raises(InvariantError, match=r"'stock_flow' failed at step 6 \(subset 3, run 7\)") as info:
        sim.run(20)
    err = info.value
    assert err.step == 6 and err.run == 7  # the stock passed 104.5 in step 5
    np.testing.assert_allclose(err.residual, 1e-3, rtol=1e-9)
    assert err.bound == pytest.approx(1e-9 * 106.001)
    assert sim.t == 6  # stopped at once
    Simulation(LEAKY, {"leak_above": 104.5}, strict=False).run(20)  # not checked outside strict mode


def test_honey_declares_its_supply_identity_and_it_holds():
    honey = get_model("honey")
    assert [i.name for i in honey.invariants] == ["supply"]
    sim = Simulation(honey, {"throttle": [0.0, 0.008, 0.05], "growth": 0.01}, seed=2)
    sim.run(300)  # strict: checked every step
    prev = dict(sim.state)
    sim.step()
    supply = sim.state.reserve + sim.state.circulation
    np.testing.assert_allclose(
        supply, prev["reserve"] + prev["circulation"] + sim.state.adjustment, rtol=1e-12
    )


# --- schedules --------------------------------------------------------------------------------------


def _count(name):
    def stage(s, p, rng):
        return {name: s[name] + 1.0}

    stage.__name__ = f"count_{name}"
    return stage


def _last_seen(s, p, rng):
    return {"seen": np.where(s.q > s.q_before, s.clock, s.seen), "q_before": s.q}


SCHEDULED = Model(
    name="scheduled",
    doc="test model: blocks on schedules",
    params=[Param("quarter", 3, "steps per quarter", kind="int", bounds=(1, None))],
    state=[Var(n, 0.0, n) for n in ("clock", "q", "q_before", "seen", "o", "tax")],
    step=[
        _count("clock"),
        Block(_count("q"), every="quarter"),
        Block(_count("o"), every=4, offset=1),
        Block(_count("tax"), at=(2, 7)),
        _last_seen,
    ],
)


def test_blocks_run_every_k_steps_from_an_offset_or_at_given_steps():
    assert "quarter" in SCHEDULED.per_batch
    sim = Simulation(SCHEDULED, record_every=1)
    _times, rec = sim.run(10)
    np.testing.assert_array_equal(rec["q"][:, 0], np.arange(11) // 3)  # steps 3, 6, 9
    np.testing.assert_array_equal(np.diff(rec["o"][:, 0]).nonzero()[0] + 1, [1, 5, 9])
    np.testing.assert_array_equal(np.diff(rec["tax"][:, 0]).nonzero()[0] + 1, [2, 7])
    assert rec["seen"][-1, 0] == 9
    monthly = Simulation(SCHEDULED, {"quarter": 1}).run(4)
    np.testing.assert_array_equal(monthly.columns["q"][:, 0], np.arange(5))
    with pytest.raises(ValueError, match="either at"):
        Block(_count("q"), every=2, at=(1,))


# --- the Simulation step API ------------------------------------------------------------------------


def test_step_by_step_equals_one_run_and_records_follow_record_every():
    honey = get_model("honey")
    whole = Simulation(honey, {"throttle": [0.01, 0.02]}, seed=5, record_every=4).run(10)
    np.testing.assert_array_equal(whole.times, [0, 4, 8, 10])
    sim = Simulation(honey, {"throttle": [0.01, 0.02]}, seed=5, record_every=4)
    sim.step(3)
    assert sim.t == 3
    sim.run(7)  # records 4 and 8 on the grid, and 10 at its end
    np.testing.assert_array_equal(sim.records.times, whole.times)
    for name, values in whole.columns.items():
        np.testing.assert_array_equal(sim.records.columns[name], values)


def test_simulation_from_a_planned_task_is_what_the_runner_computes():
    cfg = load_config(
        {
            "model": "honey",
            "runs": 3,
            "steps": 12,
            "seed": 9,
            "common_random_numbers": False,
            "sweep": {"grid": {"throttle": [0.01, 0.03]}},
        }
    )
    plan = make_plan(cfg)
    df = econsim.run(cfg).to_pandas()
    for index, (start, stop) in enumerate(plan.batches):
        _times, columns = Simulation.from_task(batch_task(plan, index, None), plan.model).run(cfg.steps)
        mine = df[(df.subset * 3 + df.run >= start) & (df.subset * 3 + df.run < stop)]
        price = mine.pivot(index="timestep", columns=["subset", "run"], values="price").to_numpy()
        np.testing.assert_array_equal(price, columns["price"])


def test_profile_times_every_block_and_the_cli_profiles_the_planned_first_batch(tmp_path):
    from typer.testing import CliRunner

    from econsim.cli import app

    sim = Simulation(get_model("honey"), runs=2)
    seconds = sim.profile(5, warmup=2)
    assert list(seconds) == ["supply_policy+saturation_process+price_walk"] and sim.t == 7
    # without common random numbers a run's identity is (subset, run): the profile builds it so too
    cfg = load_config(
        {
            "model": "honey",
            "runs": 2,
            "steps": 5,
            "common_random_numbers": False,
            "sweep": {"grid": {"throttle": [0.01, 0.02]}},
        }
    )
    plan = make_plan(cfg)
    task_sim = Simulation.from_task(batch_task(plan, 0, None), plan.model)
    np.testing.assert_array_equal(task_sim.rng.identity_rk, [[0, 0], [0, 1], [1, 0], [1, 1]])
    config = tmp_path / "h.yaml"
    config.write_text("model: honey\nruns: 2\nsteps: 5\nseed: 1\ncommon_random_numbers: false\n")
    result = CliRunner().invoke(app, ["profile", str(config), "--steps", "3", "--warmup", "0"])
    assert result.exit_code == 0, result.output
    assert "honey: 2 run(s), 3 steps" in result.output


def test_plain_arguments_are_validated():
    honey = get_model("honey")
    with pytest.raises(ConfigError, match="did you mean 'throttle'"):
        Simulation(honey, {"throtle": 0.1})
    with pytest.raises(ConfigError, match="out of range"):
        Simulation(honey, {"throttle": [0.1, 2.0]})
    with pytest.raises(ConfigError, match="disagree on the number of runs"):
        Simulation(honey, {"throttle": [0.1, 0.2]}, runs=3)
    df = pd.DataFrame(Simulation(honey, runs=4).run(2).columns["price"])
    assert df.shape == (3, 4)


# --- arithmetic independent of the batch ------------------------------------------------------------


def test_per_run_power_gives_each_run_what_it_gets_alone():
    from econsim.engine.numerics import per_run_power

    x = np.random.default_rng(0).random((6, 300)) * 3
    e = np.array([2.0, 0.5, -1.0, 2.0, 1.7, 0.5])
    together = per_run_power(x, e)
    for b in range(6):
        alone = per_run_power(x[b : b + 1], e[b : b + 1])
        np.testing.assert_array_equal(together[b : b + 1], alone)
        np.testing.assert_array_equal(alone, x[b : b + 1] ** float(e[b]))
    np.testing.assert_array_equal(per_run_power(x, 2.0), x * x)  # numpy's exact square for 2
