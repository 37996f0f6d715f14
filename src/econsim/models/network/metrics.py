"""Recorded aggregates and the token-conservation invariant.

token_total_k   Σ over chains and holders of asset k (tokens): agents, pools, desk, in flight, fees
price           pool price of each risky asset on each chain, columns c<chain>_a<asset>
price_spread    mean over risky assets of (max_c P − min_c P) / mean_c P
"""

from __future__ import annotations

import numpy as np

from econsim.engine import Invariant, per_run
from econsim.models.network.state import UNIT


def _token_units_one(holdings, arb, inflight, fees, pool_cash, pool_asset, total, low):
    # one pass over the agents' balances (integers: the sums are exact in any order)
    N, C, K = holdings.shape
    for k in range(K):
        total[k] = fees[k]
    smallest = 0
    for i in range(N):
        for c in range(C):
            for k in range(K):
                h = holdings[i, c, k]
                total[k] += h
                if h < smallest:
                    smallest = h
    for c in range(C):
        for k in range(K):
            total[k] += arb[c, k]
            smallest = min(smallest, arb[c, k])
        for a in range(K - 1):
            total[0] += pool_cash[c, a]
            total[a + 1] += pool_asset[c, a]
            smallest = min(smallest, pool_cash[c, a], pool_asset[c, a])
    for slot in range(inflight.shape[0]):
        for c in range(C):
            for k in range(K):
                total[k] += inflight[slot, c, k]
    low[0] = smallest


_token_units = per_run(_token_units_one, cache=True)


def _ledger(s) -> tuple[np.ndarray, np.ndarray]:
    holdings = s["agents.holdings"]
    B, K = holdings.shape[0], holdings.shape[-1]
    total, low = np.empty((B, K), np.int64), np.empty((B, 1), np.int64)
    _token_units(
        holdings, s.arb_holdings, s.bridge_inflight, s.bridge_fees, s.pool_cash, s.pool_asset, total, low
    )
    return total, low[:, 0]


def token_units(s, p=None) -> np.ndarray:
    """(B, K) int64: every base unit of each asset, summed over chains and every place a token can be."""
    return _ledger(s)[0]


def gini(values_bn: np.ndarray) -> np.ndarray:
    """G = 2·Σ_i i·x_(i) / (n·Σx) − (n + 1)/n over the sorted non-negative values, per run."""
    # run by run: a batched matrix product's rounding may depend on how many runs share the batch
    out = np.zeros(values_bn.shape[0])
    for b, row in enumerate(values_bn):
        x = np.sort(np.maximum(row, 0.0))
        n, total = x.size, x.sum()
        if total > 0:
            out[b] = 2.0 * np.dot(x, np.arange(1.0, n + 1.0)) / (n * total) - (n + 1) / n
    return out


def _prices(s, p):
    return (s.pool_cash / s.pool_asset).reshape(s.pool_cash.shape[0], -1)


def _spread(s, p):
    price = s.pool_cash / s.pool_asset
    return ((price.max(axis=1) - price.min(axis=1)) / price.mean(axis=1)).mean(axis=1)


def _in_flight(s, p):
    return s.bridge_inflight.sum(axis=(1, 2, 3)) / UNIT


def mean_over_agents(x_bn: np.ndarray) -> np.ndarray:
    """Per-run mean over the agent axis, one run at a time (sums independent of the batch)."""
    return np.array([np.ascontiguousarray(row).mean() for row in x_bn])


def _risky_share(s, p):
    return mean_over_agents(s["agents.mu"][..., 1])


OBSERVABLES = {
    "price": _prices,
    "price_spread": _spread,
    "token_total": lambda s, p: token_units(s) / UNIT,
    "in_flight": _in_flight,
    "mean_risk_target": _risky_share,
    "mean_activity": lambda s, p: mean_over_agents(s["agents.mu"][..., 0]),
}

COLUMN_LABELS = {
    "price": tuple(f"c{c}_a{a + 1}" for c in range(3) for a in range(2)),
    "token_total": ("numeraire", "a1", "a2"),
}


def _conservation(s, p, prev):
    return (token_units(s) - token_units(prev)).astype(np.float64)


def _negative(s, p, prev):
    """The most negative balance anywhere (0 when none is)."""
    return _ledger(s)[1].astype(np.float64)


INVARIANTS = [
    Invariant(
        "tokens_conserved",
        _conservation,
        tol=0.0,
        doc="every asset's base units summed over chains, agents, pools, desk, bridges and fees never change",
    ),
    Invariant(
        "no_negative_balance", _negative, tol=0.0, doc="no holder's balance of any token is below zero"
    ),
]
