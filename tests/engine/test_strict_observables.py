"""Strict mode checks what is recorded, not only the state: an observable that overflows to infinity
while every state array stays finite stops the run, naming it; NaN is an observable's "undefined"."""

from __future__ import annotations

import numpy as np
import pytest

import econsim
from econsim.engine import Model, Param, Var
from econsim.engine.errors import NonFiniteStateError
from econsim.engine.simulation import Simulation
from econsim.models.registry import register


def grow(s, p, rng):
    """x' = g·x: finite for as long as the test runs (g = 10, 40 steps: x ≤ 1e40)."""
    return {"x": s.x * p.g}


model = Model(
    name="cap",
    doc="a finite state whose observable overflows: cap = x^10 passes 1e308 once x > 1e30.8",
    params=[Param("g", 10.0, "growth per step", bounds=(0.0, None))],
    state=[Var("x", 1.0, "size")],
    step=[grow],
    observables={
        "cap": lambda s, p: s.x**10,
        # undefined (NaN) whenever x is below 10: a mean over an empty group, say
        "big_share": lambda s, p: np.where(s.x >= 10.0, 1.0, np.nan),
    },
)
register("cap_test", model)


def test_an_infinite_observable_of_a_finite_state_stops_the_run_naming_it():
    sim = Simulation(model, runs=3)
    with pytest.raises(NonFiniteStateError) as err:
        sim.run(40)
    # x = 10^t: x^10 = 10^(10t) overflows first at t = 31
    assert (err.value.variable, err.value.step, err.value.kind) == ("cap", 31, "recorded observable")
    assert str(err.value).startswith("recorded observable 'cap' became inf at step 31 (subset 0, run 0)")
    assert np.isfinite(sim.state.x).all()


def test_the_check_covers_records_taken_by_step_and_through_the_runner():
    sim = Simulation(model, runs=1)
    with pytest.raises(NonFiniteStateError, match="recorded observable 'cap' became inf at step 31"):
        sim.step(40)
    with pytest.raises(NonFiniteStateError, match="recorded observable 'cap' became inf at step 31"):
        econsim.run({"model": "cap_test", "steps": 40, "seed": 1}, progress=False)


def test_nan_observables_are_recorded_and_non_strict_lets_infinity_through():
    _times, columns = Simulation(model, runs=2).run(20)
    share = columns["big_share"][:, 0]
    assert np.isnan(share[0]) and (share[1:] == 1.0).all()  # x = 1 at t = 0, then ≥ 10
    _, loose = Simulation(model, runs=2, strict=False).run(40)
    assert np.isinf(loose["cap"][31:]).all() and np.isfinite(loose["cap"][:31]).all()
