"""Recorded aggregates and the token-conservation invariant.

token_total_k   Σ over chains and holders of asset k (tokens): agents, pools, desk, in flight, fees
price           pool price of each risky asset on each chain, columns c<chain>_a<asset>
price_spread    mean over risky assets of (max_c P − min_c P) / mean_c P
gini            Gini coefficient of the agents' portfolio values S_i (at the last re-clustering)
"""

from __future__ import annotations

import numpy as np

from econsim.engine import Invariant
from econsim.models.network.state import UNIT


def token_units(s, p=None) -> np.ndarray:
    """(B, K) int64: every base unit of each asset, summed over chains and every place a token can be."""
    total = s["agents.holdings"].sum(axis=(1, 2))
    total += s.arb_holdings.sum(axis=1) + s.bridge_inflight.sum(axis=(1, 2)) + s.bridge_fees
    total[:, 0] += s.pool_cash.sum(axis=(1, 2))
    total[:, 1:] += s.pool_asset.sum(axis=1)
    return total


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
    "gini": lambda s, p: gini(s["agents.wealth"]),
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
    low = np.minimum(s["agents.holdings"].min(axis=(1, 2, 3)), s.arb_holdings.min(axis=(1, 2)))
    low = np.minimum(low, np.minimum(s.pool_cash.min(axis=(1, 2)), s.pool_asset.min(axis=(1, 2))))
    return np.minimum(low, 0).astype(np.float64)


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
