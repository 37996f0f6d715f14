"""Adaptive clustering and the market-level and global aggregators (§2.1).

Clusters by grid hashing, O(N): μ ∈ [0, 1]² is cut into square cells of side s = θ_c(t)/√2, whose
diagonal is θ_c(t), so any two agents in one cell satisfy ‖μ_i − μ_j‖ < θ_c(t) — each cell is a clique of
the relation c_ij = 1 and is taken as one cluster (pairs across neighbouring cells may also be within
θ_c; the links' exact c_ij is counted in ``cluster_edge_share``). Cell of agent i:

    cell_i = min(⌊μ_i0/s⌋, G − 1)·G + min(⌊μ_i1/s⌋, G − 1),     G = ⌈1/s⌉

The threshold adapts to how spread the strategies are: θ_c(t) = θ_c · clip(σ_μ(t)/σ_μ(0), ½, 2), with
σ_μ the root-mean variance of μ's two components; the market arrays hold G_max² = ⌈2√2/θ_c⌉² cells.

Each cluster m is a market-level agent, the global aggregator sums the markets (w_i = w_m = 1: value
adds up), over the steps since the last re-clustering:

    dS_m = Σ_{i∈m} dS_i + ε_m,   ε_m ~ N(0, market_noise²·n_m)      dS_g = Σ_m dS_m + ε_g,  ε_g ~ N(0, global_noise²·N)

with S_i the agent's portfolio value at the current pool prices (tokens of numeraire). The sums over
agents (σ_μ's moments, each market's Σ dS_i) are exact (``engine.partition.exact``): the same however the
agents are split or ordered.
"""

from __future__ import annotations

import math

import numpy as np

from econsim.engine import Arrays, RandomStreams
from econsim.engine.kernels import jit
from econsim.engine.partition import exact
from econsim.models.network.draws import normal, stream_word
from econsim.models.network.metrics import gini
from econsim.models.network.state import UNIT


def grid_cells(mu_n2: np.ndarray, theta: float) -> np.ndarray:
    """Cluster cell of each μ (N, 2) for threshold θ (see the module docstring)."""
    side = theta / math.sqrt(2.0)
    g = math.ceil(1.0 / side)
    ij = np.minimum((np.asarray(mu_n2) / side).astype(np.int64), g - 1)
    return ij[:, 0] * g + ij[:, 1]


def moments(mu_n2: np.ndarray, mean: np.ndarray | None = None) -> np.ndarray:
    """Exact accumulators (2, LIMBS) of Σ μ_k — or, given the means, of Σ (μ_k − mean_k)²."""
    acc = exact.zeros(2)
    for k in range(2):
        x = np.ascontiguousarray(mu_n2[:, k])
        exact.add_array(acc[k], x if mean is None else (x - mean[k]) ** 2)
    return acc


def dispersion(mu_bn2: np.ndarray) -> np.ndarray:
    """σ_μ per run: the root of the mean of μ's two component variances (two passes, exact sums)."""
    out = np.empty(len(mu_bn2))
    for b, mu in enumerate(mu_bn2):
        n = mu.shape[0]
        mean = exact.values_of(moments(mu)) / n
        var = exact.values_of(moments(mu, mean)) / n
        out[b] = np.sqrt(0.5 * (var[0] + var[1]))
    return out


def adaptive_theta(theta_c, disp, disp0):
    """θ_c(t) = θ_c · clip(σ_μ(t)/σ_μ(0), ½, 2)."""
    ratio = np.where(disp0 > 0, disp / np.where(disp0 > 0, disp0, 1.0), 1.0)
    return theta_c * np.clip(ratio, 0.5, 2.0)


def wealth(holdings_bnck: np.ndarray, pool_cash, pool_asset) -> np.ndarray:
    """S_i: each agent's holdings at the pools' prices, tokens of numeraire: (B, N)."""
    price_bca = pool_cash / pool_asset
    value = holdings_bnck[..., 0].sum(axis=2).astype(float)  # integers: exact in any order
    for c in range(price_bca.shape[1]):  # elementwise, in a fixed order: independent of the batch
        for a in range(price_bca.shape[2]):
            value += holdings_bnck[:, :, c, a + 1] * price_bca[:, c, a][:, None]
    return value / UNIT


def _cells_one(
    holdings, pool_cash, pool_asset, mu, wealth_prev, theta, wealth_out, cell_out, flow_acc, size_m
):
    """Each agent's value and cell; each cell's Σ dS_i (exact accumulators (M, LIMBS)) and size."""
    N, C, K = holdings.shape
    A = K - 1
    side = theta / math.sqrt(2.0)
    g = math.ceil(1.0 / side)
    for i in range(N):
        v = 0.0
        for c in range(C):
            v += holdings[i, c, 0]
            for a in range(A):
                v += holdings[i, c, a + 1] * (pool_cash[c, a] / pool_asset[c, a])
        v /= UNIT
        wealth_out[i] = v
        x = min(int(mu[i, 0] / side), g - 1)
        y = min(int(mu[i, 1] / side), g - 1)
        m = x * g + y
        cell_out[i] = m
        exact.add(flow_acc[m], v - wealth_prev[i])
        size_m[m] += 1


def _markets_one(flow_m, size_m, n_agents, word, market_noise, global_noise, out):
    """The markets' noise and the global aggregator, from the cells' exact totals."""
    total = 0.0
    occupied = 0
    for m in range(flow_m.shape[0]):
        if size_m[m] > 0:
            occupied += 1
            flow_m[m] += market_noise * math.sqrt(size_m[m]) * normal(word, m)
        total += flow_m[m]
    out[0] = total + global_noise * math.sqrt(n_agents) * normal(word, flow_m.shape[0])
    out[1] = occupied


_cells = jit(_cells_one, cache=True)
_markets = jit(_markets_one, cache=True)


def aggregate(s: Arrays, p, rng: RandomStreams) -> dict[str, np.ndarray]:
    """Re-cluster on the current strategies and roll the agents' value changes up the hierarchy."""
    theta = adaptive_theta(np.asarray(p.theta_c, float), dispersion(s.agents.mu), s.dispersion0)
    B, N = s.agents.wealth.shape
    wealth_n, cell = np.empty((B, N)), np.empty((B, N), np.int64)
    flow_m, size_m = np.empty_like(s.market_flow), np.empty_like(s.market_size)
    out = np.zeros((B, 2))
    words = stream_word(rng, "markets")
    M = flow_m.shape[1]
    for b in range(B):
        acc, size = exact.zeros(M), np.zeros(M, np.int64)
        _cells(
            s.agents.holdings[b],
            s.pool_cash[b],
            s.pool_asset[b],
            s.agents.mu[b],
            s.agents.wealth[b],
            float(theta[b]),
            wealth_n[b],
            cell[b],
            acc,
            size,
        )
        flow_m[b], size_m[b] = exact.values_of(acc), size
        _markets(flow_m[b], size_m[b], N, words[b], _at(p.market_noise, b), _at(p.global_noise, b), out[b])
    return {
        "threshold": theta,
        "agents.wealth": wealth_n,
        "agents.cluster": cell,
        "market_flow": flow_m,
        "market_size": size_m,
        "global_flow": out[:, 0],
        "global_value": s.global_value + out[:, 0],
        "n_clusters": out[:, 1],
        "gini": gini(wealth_n),
    }


def _at(value, b: int) -> float:
    v = np.asarray(value, float)
    return float(v if v.ndim == 0 else v[b])
