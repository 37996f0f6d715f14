"""Contagion probabilities and cascades (known points of the formula), the adaptive step rule with its
step-doubling error estimate, and the event clock."""

from __future__ import annotations

import math

import numpy as np
import pytest

from econsim.engine import run_generator
from econsim.engine.adaptive import EventClock, doubled_step, integrate, next_step
from econsim.mechanisms.contagion import cascade, cascade_sizes, conditional_default, default_probability


def test_default_probability_known_points():
    assert default_probability(0.3, 0.1, 0.3) == pytest.approx(0.5)  # θ = c
    assert default_probability(1.0, 0.5, 0.0) == pytest.approx(1 - 0.9772498680518208)  # Φ(2)
    assert default_probability(0.2, 0.1, 0.3) == pytest.approx(0.8413447460685429)  # 1 − Φ(−1)


def test_conditional_default_sums_repeated_slots_and_cascades_follow_thresholds():
    # a chain 0 → 1 → 2 (i is exposed to its target), plus a repeated slot 2 → 3 twice
    indptr = np.array([0, 1, 2, 4, 4])
    indices = np.array([1, 2, 3, 3])
    weights = np.array([0.4, 0.5, 0.2, 0.2])
    theta, sigma = np.array([0.4, 0.6, 0.4, 1.0]), np.full(4, 0.1)
    i, j, p = conditional_default(indptr, indices, weights, theta, sigma)
    got = {(a, b): v for a, b, v in zip(i.tolist(), j.tolist(), p.tolist(), strict=True)}
    assert got[(0, 1)] == pytest.approx(0.5) and got[(2, 3)] == pytest.approx(0.5)  # 0.2 + 0.2 = θ_2
    assert got[(1, 2)] == pytest.approx(1 - 0.8413447460685429)
    # z = 0: default when the loss reaches θ. Stressing 3 topples 2 (0.4 ≥ 0.4) but not 1 (0.5 < 0.6)
    stressed = np.array([False, False, False, True])
    final = cascade(indptr, indices, weights, theta, sigma, stressed, np.zeros((1, 4)))
    assert final[0].tolist() == [False, False, True, True]
    # a shock z = 1.5 on agent 1 lowers its barrier to 0.45: the cascade runs to the top
    final = cascade(indptr, indices, weights, theta, sigma, stressed, np.array([[0, 1.5, 0, 0]]))
    assert final[0].all()
    # over many draws, the first-round default frequency of agent 2 is the formula's ½
    z = run_generator(5, (0,), "test").standard_normal((20000, 4))
    only = np.array([False, False, False, True])
    hit = cascade(np.array([0, 0, 0, 2, 2]), np.array([3, 3]), np.array([0.2, 0.2]), theta, sigma, only, z)
    assert hit[:, 2].mean() == pytest.approx(0.5, abs=0.015)
    assert (
        cascade_sizes(indptr, indices, weights, theta, sigma, stressed, np.zeros((3, 4))).tolist()
        == [0.5] * 3
    )


def test_step_rule_is_clamped_between_half_and_double():
    assert next_step(1.0, 0.0, 1e-3) == 2.0
    assert next_step(1.0, 1e-6, 1e-3) == 2.0
    assert next_step(1.0, 1e-3, 1e-3) == pytest.approx(1.5)
    assert next_step(0.4, 1e-3, 2e-3) == pytest.approx(0.4 * 2.0)  # 1.5·2 = 3 → capped at 2
    assert next_step(1.0, 2e-3, 1e-3) == pytest.approx(0.75)
    assert next_step(1.0, 1.0, 1e-3) == 0.5


def test_step_doubling_estimates_the_local_error_and_the_integrator_meets_the_tolerance():
    f = lambda t, y: -y  # noqa: E731
    y, err = doubled_step(f, 0.0, np.array([1.0]), 0.1, "euler")
    # Euler: half-step local error ≈ 2·(Δt/2)²/2·y'' = Δt²/4; the estimate is |y_half − y_big|/(2 − 1)
    assert err == pytest.approx(0.0025, rel=1e-12)
    assert abs(y[0] - math.exp(-0.1)) < 2 * err
    res = integrate(f, 0.0, [1.0], 5.0, 0.01, tol=1e-6, method="heun")
    assert res.t[-1] == pytest.approx(5.0) and (res.errors <= 1e-6).all()
    assert abs(res.y[-1, 0] - math.exp(-5.0)) < 1e-5
    # each step tried follows the rule from an accepted one, half of a rejected one (the last is cut to
    # end on t_end)
    tries = res.attempts
    for (dt, err, ok), nxt in zip(tries[:-2], tries[1:-1, 0], strict=True):
        assert nxt == pytest.approx(next_step(dt, err, 1e-6) if ok else 0.5 * dt)
    assert len(tries) == len(res.dt) + res.rejected and res.dt.max() > 10 * res.dt[0]
    # a stiff start forces rejections and small steps; then the step grows as the solution flattens
    stiff = integrate(lambda t, y: -50 * (y - np.cos(t)), 0.0, [0.0], 2.0, 0.5, tol=1e-5)
    assert stiff.rejected > 0 and stiff.dt[:5].max() < stiff.dt.max()
    exact = (2500 * math.cos(2.0) + 50 * math.sin(2.0)) / 2501 - 2500 / 2501 * math.exp(-100.0)
    assert abs(stiff.y[-1, 0] - exact) < 1e-4


def test_event_clock_jumps_to_the_next_event():
    clock = EventClock()
    for t, name in [(2.5, "b"), (0.7, "a"), (2.5, "c"), (9.0, "d")]:
        clock.schedule(t, name)
    assert clock.advance() == (0.7, ["a"])
    assert clock.advance() == (2.5, ["b", "c"]) and clock.now == 2.5
    with pytest.raises(ValueError, match="before the clock"):
        clock.schedule(1.0)
    assert clock.next_time() == 9.0 and len(clock) == 1
