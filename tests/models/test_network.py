"""The network model: exact token conservation, bridge delays, the arbitrage closed form, the graph,
the hierarchy's grid clustering and a run through econsim.run."""

from __future__ import annotations

import functools
import math

import numpy as np
import pytest

import econsim
from econsim.engine import Simulation
from econsim.mechanisms.amm import swap_output
from econsim.models.network.bridges import arbitrage_size, delay_slot
from econsim.models.network.hierarchy import grid_cells
from econsim.models.network.links import systemic_risk
from econsim.models.network.metrics import gini, token_units
from econsim.models.network.trading import rebalance_fraction
from econsim.models.registry import get_model

SMALL = {"n_agents": 300, "n_chains": 3, "n_assets": 3, "mean_degree": 10, "cluster_every": 2}


@pytest.fixture(scope="module")
def sim():
    return Simulation(get_model("network"), SMALL, runs=2, seed=5)


def test_tokens_are_conserved_exactly_every_step_and_never_negative(sim):
    start = token_units(sim.state).copy()
    for _ in range(15):
        sim.step()  # strict: the tokens_conserved invariant (tolerance 0) is checked after each step
        assert np.array_equal(token_units(sim.state), start)
        assert sim.state["agents.holdings"].min() >= 0
    # and tokens did move: along edges, through the pools and over the bridges
    rec = sim.records.columns
    assert (rec["p2p_volume"][1:] > 0).all() and (rec["amm_volume"][1:] > 0).all()
    assert rec["arb_volume"][1:].sum() > 0 and (rec["in_flight"][1:] > 0).any()


def test_strict_mode_stops_a_run_that_creates_tokens():
    from econsim.engine import InvariantError
    from econsim.models.network.metrics import INVARIANTS

    s = Simulation(get_model("network"), {**SMALL, "n_agents": 50}, runs=1, seed=1)
    prev = dict(s.state)
    after = dict(s.state)
    after["agents.holdings"] = s.state["agents.holdings"].copy()
    after["agents.holdings"][0, 3, 1, 0] += 1  # one base unit appears
    from econsim.engine import Arrays

    with pytest.raises(InvariantError, match="tokens_conserved"):
        INVARIANTS[0].check(Arrays(after), s.params, Arrays(prev), 1, None)


def test_bridged_tokens_arrive_exactly_tau_steps_later():
    s = Simulation(get_model("network"), {**SMALL, "n_agents": 100, "bridge_delay": 3}, runs=1, seed=2)
    tau = s.params.bridge_tau
    assert tau[0, 2] == 6 and tau[0, 1] == 3 and s.params.n_lags == 7
    L = s.params.n_lags
    for _ in range(12):
        before = s.state.bridge_inflight.copy()
        t = int(s.state.day[0]) + 1
        s.step()
        after = s.state.bridge_inflight
        # the slot of step t is emptied on arrival; tokens sent at t sit in slot (t + τ) mod L
        assert after[0, t % L].sum() == 0
        sent = after[0] - before[0]
        sent[t % L] = 0
        for slot in np.flatnonzero(sent.sum(axis=(1, 2)) > 0):
            lag = (slot - t) % L
            assert lag in set(tau[tau > 0].tolist())
    assert delay_slot(10, 3, 7) == 0 and delay_slot(2, 3, 7) == 6 and delay_slot(5, -3, 7) == 1


def test_price_history_ring_holds_the_prices_recorded_tau_steps_before():
    s = Simulation(get_model("network"), {**SMALL, "n_agents": 100, "bridge_delay": 2}, runs=1, seed=3)
    L = s.params.n_lags
    seen = {}
    for _ in range(9):
        s.step()
        t = int(s.state.day[0])
        seen[t] = s.state.price_hist[0, t % L].copy()
    t = int(s.state.day[0])
    for tau in range(1, L):
        assert np.array_equal(s.state.price_hist[0, delay_slot(t, tau, L)], seen[t - tau])


def test_arbitrage_size_is_the_argmax_of_the_quadratic_objective():
    gaps = np.array([-0.3, 0.0, 0.05, 0.4, 2.0])
    cost, cap = 0.5, 1.0
    alpha = arbitrage_size(gaps, cost, cap)
    np.testing.assert_allclose(alpha, [0.0, 0.0, 0.1, 0.8, 1.0])
    grid = np.linspace(0, cap, 100001)
    for g, a in zip(gaps, alpha, strict=True):
        best = grid[np.argmax(grid * g - 0.5 * cost * grid**2)]
        assert abs(best - a) < 1e-4


def test_rebalancing_fraction_minimises_risk_plus_cost():
    lam, kappa, gap = 1.0, 4.0, 10.0
    phi = float(rebalance_fraction(lam, kappa))
    r = np.linspace(-20, 20, 400001)
    best = r[np.argmin(0.5 * lam * (gap - r) ** 2 + 0.5 * kappa * r**2)]
    assert phi == pytest.approx(0.2) and best == pytest.approx(phi * gap, abs=1e-4)


def test_pool_output_is_the_amm_closed_form_floored():
    from econsim.models.network.trading import _rebalance

    # one agent holding only cash with risk target 1 buys the asset on its single chain
    holdings = np.zeros((1, 1, 1, 2), np.int64)
    holdings[0, 0, 0, 0] = 10_000_000_000
    mu = np.array([[[1.0, 1.0]]])
    cash, asset = np.array([[[5 * 10**11]]]), np.array([[[4 * 10**11]]])
    orders = np.empty((1, 1, 1, 1), np.int64)
    traded, out = np.empty((1, 1)), np.zeros((1, 1))
    c0, a0 = cash.copy(), asset.copy()
    _rebalance(
        holdings,
        mu,
        np.zeros((1, 1, 1)),
        cash,
        asset,
        np.array([0.5]),
        np.array([0.003]),
        np.array([0.0]),
        orders,
        traded,
        out,
    )
    spend = orders[0, 0, 0, 0]
    assert spend == 5_000_000_000
    expected = math.floor(float(swap_output(c0[0, 0, 0], a0[0, 0, 0], spend, 0.003)))
    got = holdings[0, 0, 0, 1]
    assert expected - 1 <= got <= expected  # the pro-rata floor may keep one unit in the pool
    assert cash[0, 0, 0] == c0[0, 0, 0] + spend and asset[0, 0, 0] + got == a0[0, 0, 0]


@pytest.mark.parametrize("graph", ["erdos_renyi", "watts_strogatz", "barabasi_albert"])
def test_graph_has_the_requested_mean_degree_and_no_self_links(graph):
    p = get_model("network").param_arrays({**SMALL, "n_agents": 2000, "graph": graph, "mean_degree": 12}, 1)
    degree = np.diff(p.graph_indptr)
    assert p.n_slots == p.graph_indptr[-1]
    assert degree.mean() == pytest.approx(12.0, rel=0.01 if graph != "barabasi_albert" else 0.02)
    assert not (p.graph_sources == p.graph_indices).any()


def test_weak_links_dissolve_and_reform_never_pointing_to_their_own_agent():
    s = Simulation(
        get_model("network"), {**SMALL, "eta_min": 0.45, "delta": 0.3, "form_prob": 0.5}, runs=1, seed=4
    )
    s.run(8)
    rec = s.records.columns
    assert rec["active_edges"][1:].min() < 1.0 and rec["edges_formed"][1:].sum() > 0
    assert not (s.state["edges.target"] == s.params.graph_sources[None]).any()
    changed = s.state["edges.target"][0] != s.params.graph_indices
    assert changed.any()


def test_grid_cells_put_only_agents_closer_than_theta_together():
    rng = np.random.default_rng(0)
    mu = rng.random((3000, 2))
    theta = 0.1
    cells = grid_cells(mu, theta)
    assert cells.max() < math.ceil(math.sqrt(2) / theta) ** 2
    for c in np.unique(cells)[:50]:
        pts = mu[cells == c]
        if len(pts) > 1:
            d = np.sqrt(((pts[:, None] - pts[None]) ** 2).sum(-1))
            assert d.max() < theta


def test_gini_and_systemic_risk_known_values():
    assert gini(np.array([[1.0, 1.0, 1.0, 1.0]]))[0] == pytest.approx(0.0)
    assert gini(np.array([[0.0, 0.0, 0.0, 1.0]]))[0] == pytest.approx(0.75)
    assert systemic_risk(np.full(10, 4.0), np.ones(10)) == pytest.approx(1.0)
    d = np.array([1.0, 1.0, 1.0, 9.0])
    assert systemic_risk(d, np.ones(4)) == pytest.approx(1 - 48.0 / 84.0)


def test_a_small_run_through_econsim_run():
    res = econsim.run(
        {"model": "network", "params": {**SMALL, "n_agents": 200}, "runs": 2, "steps": 6, "seed": 1}
    )
    df = res.to_pandas()
    assert len(df) == 2 * 7
    for col in ("price_c0_a1", "price_c2_a2", "token_total_numeraire", "gini", "systemic_risk", "arb_profit"):
        assert col in df and np.isfinite(df[col]).all()
    totals = df.groupby("run")["token_total_a1"].nunique()
    assert (totals == 1).all()


@pytest.mark.parametrize("name", ["defi", "retail_payments", "remittances"])
def test_case_study_configs_run(name):
    import pathlib

    import yaml

    path = pathlib.Path(__file__).parents[2] / "configs" / "network" / f"{name}.yaml"
    cfg = yaml.safe_load(path.read_text())
    model = get_model("network")
    columns = set(model.recorded) | {"price_0", "price_1", "price_2", "price_3"}
    columns |= {f"price_c{c}_a{a}" for c in range(3) for a in (1, 2)}
    for fig in cfg.pop("figures"):
        assert set(fig.get("vars", ())) <= columns, fig
    cfg.update(steps=3, runs=1)
    cfg["params"]["n_agents"] = 300
    df = econsim.run(cfg).to_pandas()
    assert len(df) == 4 and np.isfinite(df["systemic_risk"]).all()


def _run_value(v, b):
    return float(np.asarray(v, float).reshape(-1)[b if np.ndim(v) else 0])


def _links_split(s, p, rng):
    """evolve_links through the split kernels a partitioned run uses (update, closure, formed, strength)."""
    from econsim.engine.partition import exact
    from econsim.models.network import links
    from econsim.models.network.draws import stream_word

    target, eta = np.empty_like(s.edges.target), np.empty_like(s.edges.eta)
    B, N = s.agents.mu.shape[:2]
    out = np.zeros((B, 5))
    words = stream_word(rng, "links")
    indptr, n_slots = p.graph_indptr, p.n_slots
    for b in range(B):
        ask, ask_u = np.empty(n_slots, np.int64), np.empty(n_slots)
        eta_acc, counts = exact.zeros(), np.zeros(2, np.int64)
        at = functools.partial(_run_value, b=b)
        old = s.edges.target[b]
        links._update(
            indptr, indptr[:-1], old, s.edges.eta[b], s.edges.flow[b], s.agents.mu[b], words[b],
            at(p.gamma), at(p.delta), at(s.threshold), at(p.eta_min), at(p.form_prob),
            target[b], eta[b], ask, ask_u, eta_acc, counts,
        )  # fmt: skip
        pending = np.flatnonzero(ask >= 0)
        answer, k = np.full(n_slots, -1, np.int64), np.empty(len(pending), np.int64)
        links._closure(indptr, old, ask[pending], ask_u[pending], k)
        answer[pending] = k
        fresh = np.zeros(n_slots, np.bool_)
        n_formed = links.formed(
            ask, answer, p.graph_sources[:n_slots], at(p.eta_new), target[b], eta[b], fresh
        )
        strength, similar = np.empty(N), np.empty(N)
        sum_acc, den_acc, num_acc = exact.zeros(), exact.zeros(), exact.zeros()
        links._strength(
            indptr, old, eta[b], fresh, s.agents.mu[b], at(p.eta_min), strength, similar, sum_acc, den_acc
        )
        links._spread(strength, similar, exact.value_of(sum_acc) / N, num_acc)
        out[b] = links.summary(
            n_slots, counts[0], counts[1], n_formed, at(p.eta_new), eta_acc, num_acc, den_acc
        )
    return target, eta, out


@pytest.mark.parametrize("threads", [1, 2])
def test_fused_link_pass_equals_the_split_kernels_of_a_partitioned_run(threads):
    from econsim.models.network.links import evolve_links

    cfg = {**SMALL, "eta_min": 0.3, "form_prob": 0.4, "delta": 0.2, "threads": threads}
    s = Simulation(get_model("network"), cfg, runs=2, seed=11)
    s.run(4)
    target, eta, out = _links_split(s.state, s.params, s.rng)
    s2 = Simulation(get_model("network"), cfg, runs=2, seed=11)
    s2.run(4)
    got = evolve_links(s2.state, s2.params, s2.rng)
    assert out[:, 2].sum() > 0  # links did re-form
    assert np.array_equal(got["edges.target"], target) and np.array_equal(got["edges.eta"], eta)
    names = ("active_edges", "mean_eta", "edges_formed", "systemic_risk", "cluster_edge_share")
    for col, name in enumerate(names):
        assert np.array_equal(got[name], out[:, col]), name


def test_threads_change_no_number():
    cfg = {**SMALL, "eta_min": 0.3, "form_prob": 0.4}
    one = Simulation(get_model("network"), cfg, runs=2, seed=3)
    two = Simulation(get_model("network"), {**cfg, "threads": 2}, runs=2, seed=3)
    one.run(6)
    two.run(6)
    for name, value in one.state.items():
        assert np.array_equal(value, two.state[name]), name


@pytest.mark.parametrize("threads", [1, 2])
def test_imitation_fused_into_the_trades_walk_equals_the_imitate_stage(threads):
    from econsim.engine import Arrays, RandomStreams
    from econsim.models.network.payments import edge_flows
    from econsim.models.network.strategies import imitate

    s = Simulation(get_model("network"), {**SMALL, "eta_min": 0.3, "threads": threads}, runs=2, seed=4)
    s.run(3)
    state = Arrays(dict(s.state))
    fused = edge_flows(state, s.params, RandomStreams(s.seed, s.rng.identity_rk))
    alone = imitate(state, s.params, RandomStreams(s.seed, s.rng.identity_rk))
    assert not np.array_equal(fused["agents.mu"], state.agents.mu)  # the strategies did move
    assert np.array_equal(fused["agents.mu"], alone["agents.mu"])
