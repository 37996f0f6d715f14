"""Static data (the interaction graph and the bridges' delays, shared by the batch) and the economy at t = 0.

The graph is drawn ONCE per batch by ``mechanisms.graph`` from ``run_generator(graph_seed, (0,),
"network")``: every run of a batch (and every batch with the same per-batch values) starts on the same
graph, which is what lets a 10⁶-agent graph be held once; the runs' links then evolve apart
(``edges.target``, ``edges.eta``).

At t = 0 agent i has value V_i = initial_cash · exp(σ z − σ²/2) split evenly over the chains; on each chain
it holds the share μ_i1 of that value in the risky tokens (equally, at price 1) and the rest in
numeraire. Strategies: activity μ_i0 ~ U(0, 1), risk target μ_i1 ~ U(risk_target ± risk_spread). Each
pool holds pool_depth times the agents' total of its token and as much numeraire, times the chain's
price offset 1 + price_offset·(c − (C − 1)/2); the desk holds arb_capital of each chain's pool cash.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from econsim.engine import Arrays, ConfigError, RandomStreams, run_generator
from econsim.mechanisms import graph as graphs
from econsim.models.network.edgelist import read_graph
from econsim.models.network.hierarchy import dispersion, grid_cells, wealth
from econsim.models.network.metrics import gini
from econsim.models.network.state import UNIT


def build_graph(p: Any) -> graphs.Graph:
    n, k = int(p.n_agents), int(p.mean_degree)
    if p.edge_list:
        return read_graph(p.edge_list, n)
    if k >= n:
        raise ConfigError(f"mean_degree = {k} must be below n_agents = {n}")
    rng = run_generator(int(p.graph_seed), (0,), "network")
    if p.graph == "erdos_renyi":
        return graphs.erdos_renyi(n, k, rng)
    if k % 2:
        raise ConfigError(f"mean_degree = {k} must be even for graph = {p.graph}")
    if p.graph == "watts_strogatz":
        return graphs.watts_strogatz(n, k, float(p.rewire_p), rng)
    return graphs.barabasi_albert(n, k // 2, rng)


def static(p: Any) -> dict[str, Any]:
    g = build_graph(p)
    C = int(p.n_chains)
    chains = np.arange(C)
    grid = math.ceil(2.0 * math.sqrt(2.0) / float(p.theta_c))
    return {
        "graph_indptr": np.ascontiguousarray(g.indptr[0]),
        "graph_sources": np.ascontiguousarray(g.sources[0]),
        "graph_indices": np.ascontiguousarray(g.indices[0]),
        "n_slots": int(g.n_slots),
        "n_risky": int(p.n_assets) - 1,
        "n_lags": int(p.bridge_delay) * max(C - 1, 0) + 1,
        "n_markets": grid * grid,
        "bridge_tau": (int(p.bridge_delay) * np.abs(chains[:, None] - chains[None, :])).astype(np.int64),
    }


def initial_economy(s: Arrays, p: Any, rng: RandomStreams) -> dict[str, np.ndarray]:
    B = p.n_runs
    N, C, K = int(p.n_agents), int(p.n_chains), int(p.n_assets)
    A = K - 1
    draws = rng("setup")
    u = draws.random((N, 2))
    z = draws.standard_normal((N,))
    col = lambda x: np.asarray(x, float).reshape(-1, 1)  # noqa: E731
    mu = np.empty((B, N, 2))
    mu[..., 0] = u[..., 0]
    mu[..., 1] = np.clip(col(p.risk_target) + col(p.risk_spread) * (2.0 * u[..., 1] - 1.0), 0.0, 1.0)
    sigma = col(p.wealth_dispersion)
    value = col(p.initial_cash) * np.exp(sigma * z - 0.5 * sigma**2) / C  # per chain, tokens
    holdings = np.empty((B, N, C, K), np.int64)
    holdings[..., 0] = np.floor((1.0 - mu[..., 1]) * value * UNIT).astype(np.int64)[:, :, None]
    holdings[..., 1:] = np.floor(mu[..., 1] * value / A * UNIT).astype(np.int64)[:, :, None, None]
    offset = 1.0 + np.asarray(p.price_offset, float).reshape(-1, 1) * (np.arange(C) - (C - 1) / 2.0)
    pool_asset = np.maximum(
        np.floor(np.asarray(p.pool_depth, float).reshape(-1, 1, 1) * holdings[..., 1:].sum(axis=1)),
        1000 * UNIT,
    ).astype(np.int64)
    pool_cash = np.floor(pool_asset * offset[:, :, None]).astype(np.int64)
    arb = np.zeros((B, C, K), np.int64)
    arb[..., 0] = np.floor(np.asarray(p.arb_capital, float).reshape(-1, 1) * pool_cash.sum(axis=2)).astype(
        np.int64
    )
    L = int(p.n_lags)
    price = pool_cash / pool_asset
    disp0 = dispersion(mu)
    theta = float(p.theta_c) * np.ones(B)
    cells = np.stack([grid_cells(mu[b], float(p.theta_c)) for b in range(B)])
    wealth_bn = wealth(holdings, pool_cash, pool_asset)
    return {
        "agents.mu": mu,
        "agents.holdings": holdings,
        "agents.wealth": wealth_bn,
        "gini": gini(wealth_bn),
        "agents.cluster": cells,
        "edges.target": np.broadcast_to(p.graph_indices, (B, p.n_slots)).copy(),
        "pool_cash": pool_cash,
        "pool_asset": pool_asset,
        "price_hist": np.broadcast_to(price[:, None], (B, L, C, A)).copy(),
        "arb_holdings": arb,
        "arb_wealth": arb[..., 0].sum(axis=1) / UNIT,
        "dispersion0": disp0,
        "threshold": theta,
        "n_clusters": np.array([len(np.unique(c)) for c in cells], float),
        "active_edges": np.ones(B),
        "mean_eta": np.full(B, 0.5),
    }
