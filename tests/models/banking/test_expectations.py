"""Heuristic switching of inflation expectations (Brock–Hommes discrete choice) and consumption that
follows the neighbours' spending on the households' network — closed forms and strict runs."""

from __future__ import annotations

import numpy as np
import pytest

from econsim.engine import Simulation
from econsim.models.banking import expectations, model, peers
from econsim.models.banking.setup import ARCHETYPE_PROPENSITY

SMALL = {"n_households": 120, "n_firms": 12, "n_banks": 3}


def test_the_shares_are_the_multinomial_logit_of_the_fitness():
    n = expectations.shares(np.array([[0.0, -1.0, -2.0], [5.0, 5.0, 5.0]]), np.array([1.0, 3.0]))
    e = np.exp([0.0, -1.0, -2.0])
    np.testing.assert_allclose(n[0], e / e.sum(), rtol=1e-15)  # 0.6652, 0.2447, 0.0900
    assert n[0, 0] == pytest.approx(0.665240955774822, rel=1e-12)
    np.testing.assert_allclose(n[1], 1 / 3, rtol=1e-15)  # equal fitness, equal shares
    # no overflow for large fitness gaps
    assert expectations.shares(np.array([[0.0, -1e6, -2e6]]), np.array([10.0]))[0, 0] == 1.0


def test_a_step_of_switching_scores_switches_and_forecasts():
    params = {**SMALL, "expectation_switching": True}
    sim = Simulation(model, params, runs=2, seed=3, strict=True)
    sim.run(4)
    s, p = sim.state, sim.params
    out = expectations.heuristic_switching(s, p, None)
    pi, last = s["inflation"], s["last_inflation"]
    made = np.stack([s[f"forecast_{n}"] for n in expectations.HEURISTICS], axis=1)
    old = np.stack([s[f"fitness_{n}"] for n in expectations.HEURISTICS], axis=1)
    fitness = 0.7 * old - 0.3 * (1200 * (pi[:, None] - made)) ** 2
    z = np.exp(0.5 * (fitness - fitness.max(axis=1, keepdims=True)))
    share = z / z.sum(axis=1, keepdims=True)
    forecast = np.stack(
        [made[:, 0] + 0.2 * (pi - made[:, 0]), pi + 1.0 * (pi - last), np.full(2, 1.02 ** (1 / 12) - 1)],
        axis=1,
    )
    for j, name in enumerate(expectations.HEURISTICS):
        np.testing.assert_allclose(out[f"fitness_{name}"], fitness[:, j], rtol=1e-12)
        np.testing.assert_allclose(out[f"heuristic_share_{name}"], share[:, j], rtol=1e-12)
        np.testing.assert_allclose(out[f"forecast_{name}"], forecast[:, j], rtol=1e-12, atol=1e-18)
    np.testing.assert_allclose(out["expected_inflation"], (share * forecast).sum(axis=1), rtol=1e-12)
    np.testing.assert_allclose(sum(out[f"heuristic_share_{n}"] for n in expectations.HEURISTICS), 1.0)


def test_shares_move_with_performance_and_stay_equal_without_choice():
    sim = Simulation(model, {**SMALL, "expectation_switching": True}, runs=1, seed=3, strict=True)
    cols = sim.run(14).columns
    shares = np.stack([cols[f"heuristic_share_{n}"][:, 0] for n in expectations.HEURISTICS], axis=1)
    assert shares.max() > 0.9 and shares[1:].min() < 0.05  # the households switch
    still = Simulation(
        model, {**SMALL, "expectation_switching": True, "forecast_intensity": 0.0}, runs=1, seed=3
    )
    cols = still.run(6).columns
    np.testing.assert_allclose(cols["heuristic_share_trend"], 1 / 3, rtol=1e-15)  # β = 0: 1/3 each
    # π^e is then the mean of the three forecasts
    mean = sum(cols[f"forecast_{n}"] for n in expectations.HEURISTICS) / 3
    np.testing.assert_allclose(cols["expected_inflation"][1:], mean[1:], rtol=1e-12, atol=1e-18)


def test_the_peer_gap_is_the_clipped_relative_gap():
    gap = peers.peer_gap(
        np.array([[100.0, 100.0, 100.0, 0.0, 0.0]]), np.array([[150.0, 50.0, 400.0, 10.0, 0.0]])
    )
    np.testing.assert_allclose(gap, [[0.5, -0.5, 1.0, 1.0, 0.0]])


def test_spending_multipliers_follow_the_neighbours_on_the_depositor_network():
    params = {**SMALL, "peer_effect": 0.4}
    sim = Simulation(model, params, runs=2, seed=3, strict=True)
    sim.run(3)
    s = sim.state
    out = peers.peer_spending(s, sim.params, None)
    spending = s["households.spending"]
    src, dst = s["depositor_edges"][:, 0], s["depositor_edges"][:, 1]
    for b in range(2):  # the neighbours' mean by hand, from the undirected links
        total, count = np.zeros(120), np.zeros(120)
        np.add.at(total, src[b], spending[b, dst[b]])
        np.add.at(total, dst[b], spending[b, src[b]])
        np.add.at(count, src[b], 1)
        np.add.at(count, dst[b], 1)
        mean = total / count
        with np.errstate(divide="ignore", invalid="ignore"):  # one who spent nothing: +1 if they did
            gap = np.where(spending[b] > 0, np.clip(mean / spending[b] - 1, -1, 1), 1.0 * (mean > 0))
        base = ARCHETYPE_PROPENSITY[s["households.archetype"][b]]
        np.testing.assert_allclose(out["households.propensity"][b], base * (1 + 0.4 * gap), rtol=1e-12)
        assert out["peer_gap"][b] == pytest.approx(gap.mean(), rel=1e-12)
    # the effect reaches spending: a different path than without it, every identity intact (strict)
    off = Simulation(model, SMALL, runs=2, seed=3).run(3).columns
    assert not np.allclose(sim.run(2).columns["consumption"][-1], off["consumption"][-1])
