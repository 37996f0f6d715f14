"""Who the agents are: strategy codes, the intelligence mix, and the initial endowments.

Strategies, in increasing intelligence (the ``strategy_n`` code of each agent):

    rule-based   0 threshold · 1 momentum · 2 mean reversion · 3 noise · 4 liquidity provision
    strategic    5 arbitrage (between venues) · 6 manipulation (pump-and-dump, colluding in groups)
    learning     7 tabular Q-learning on the agent's own reward

The mix is the parameter ``population``: a preset, or ``custom`` for the ``share_*`` parameters.
Agents are assigned to strategies by the largest-remainder rule, so a population of N holds
round(N·share) agents of each strategy, in a random order drawn from the ``population`` stream.
"""

from __future__ import annotations

import numpy as np

from econsim.engine import Arrays, RandomStreams

STRATEGIES = (
    "threshold",
    "momentum",
    "mean_reversion",
    "noise",
    "liquidity",
    "arbitrage",
    "manipulation",
    "learning",
)
K = len(STRATEGIES)
THRESHOLD, MOMENTUM, MEAN_REVERSION, NOISE, LIQUIDITY, ARBITRAGE, MANIPULATION, LEARNING = range(K)
#: strategies whose profits count as exploitation of the rest of the market
EXPLOITERS = (ARBITRAGE, MANIPULATION, LEARNING)

PRESETS: dict[str, tuple[float, ...]] = {
    "rule_based": (0.2, 0.2, 0.2, 0.2, 0.2, 0.0, 0.0, 0.0),
    "strategic": (0.15, 0.15, 0.15, 0.15, 0.15, 0.1, 0.15, 0.0),
    "learning": (0.15, 0.15, 0.15, 0.15, 0.15, 0.0, 0.0, 0.25),
    "mixed": (0.12, 0.12, 0.12, 0.12, 0.12, 0.1, 0.1, 0.2),
}
POPULATIONS = (*PRESETS, "custom")


def mix_bk(p: Arrays) -> np.ndarray:
    """Strategy shares (B, K), summing to one per run."""
    custom = np.stack([p[f"share_{name}"] for name in STRATEGIES], axis=-1).astype(float)
    out = custom.copy()
    for name, shares in PRESETS.items():
        out[p.population == name] = shares
    total = out.sum(axis=-1, keepdims=True)
    # an all-zero custom mix means nobody trades with intent: treat it as pure noise traders
    out = np.where(total > 0, out / np.where(total > 0, total, 1.0), np.eye(K)[NOISE])
    return out


def counts_bk(shares_bk: np.ndarray, n: int) -> np.ndarray:
    """Whole agents per strategy, summing to n: floor, then one more for the largest remainders."""
    ideal = shares_bk * n
    base = np.floor(ideal).astype(np.int64)
    left = n - base.sum(axis=-1)
    rank = np.argsort(-(ideal - base), axis=-1, kind="stable")
    extra = np.arange(K)[None, :] < left[:, None]
    np.put_along_axis(base, rank, np.take_along_axis(base, rank, axis=-1) + extra, axis=-1)
    return base


def assign_strategies(shares_bk: np.ndarray, n: int, rng: RandomStreams) -> np.ndarray:
    """strategy_n (B, N): counts by ``counts_bk``, positions shuffled by a random key per agent."""
    counts = counts_bk(shares_bk, n)
    edges = np.cumsum(counts, axis=-1)
    sorted_codes = (np.arange(n)[None, :, None] >= edges[:, None, :]).sum(axis=-1)
    order = np.argsort(rng("population").random((n,)), axis=-1)
    return np.take_along_axis(sorted_codes, order, axis=-1)


def gini_b(wealth_bn: np.ndarray) -> np.ndarray:
    """Gini coefficient of wealth per run: G = Σ_i (2i − n − 1)·w_(i) / (n·Σw), w sorted ascending."""
    n = wealth_bn.shape[-1]
    w = np.sort(np.maximum(wealth_bn, 0.0), axis=-1)
    rank = 2.0 * np.arange(1, n + 1) - n - 1
    total = w.sum(axis=-1)
    # a row-wise sum, not ``w @ rank``: BLAS blocks a matrix-vector product over the rows, so a run's
    # result would depend on how many runs share its batch
    return np.where(total > 0, (w * rank).sum(axis=-1) / (n * np.where(total > 0, total, 1.0)), 0.0)
