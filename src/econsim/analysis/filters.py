"""Trend–cycle decomposition and time aggregation of simulated series, vectorized over runs.

Hodrick–Prescott: the trend τ of a series y minimises Σ (y_t − τ_t)² + λ Σ (Δ²τ_t)², i.e. solves

    (I + λ DᵀD) τ = y,        D the (T−2) × T second-difference matrix,

a symmetric pentadiagonal system solved once for all runs (one right-hand side per run). The cycle is
y − τ. λ = 1600 for quarterly data (the convention of the business-cycle literature), 129 600 for monthly
and 6.25 for annual (Ravn and Uhlig's frequency scaling λ_m = 1600·(m/4)⁴).
"""

from __future__ import annotations

import numpy as np

HP_LAMBDA = {"annual": 6.25, "quarterly": 1600.0, "monthly": 129_600.0}


def hp_filter(y_rt: np.ndarray, lam: float = 1600.0) -> tuple[np.ndarray, np.ndarray]:
    """(trend, cycle) of each row of ``y_rt`` (runs × time): the HP filter with smoothing ``lam``."""
    from scipy.linalg import solveh_banded

    y_rt = np.atleast_2d(np.asarray(y_rt, dtype=float))
    n_t = y_rt.shape[1]
    if n_t < 3:
        raise ValueError(f"the HP filter needs at least 3 observations, got {n_t}")
    # upper banded form of I + λ DᵀD: diagonals 0, 1, 2 above the main one (rows 2, 1, 0)
    main = np.full(n_t, 6.0)
    main[[0, -1]], main[[1, -2]] = 1.0, 5.0
    first = np.full(n_t - 1, -4.0)
    first[[0, -1]] = -2.0
    ab = np.zeros((3, n_t))
    ab[2] = 1.0 + lam * main
    ab[1, 1:] = lam * first
    ab[0, 2:] = lam
    trend_rt = solveh_banded(ab, y_rt.T, lower=False).T
    return trend_rt, y_rt - trend_rt


def aggregate(y_rt: np.ndarray, factor: int, how: str = "mean") -> np.ndarray:
    """Non-overlapping blocks of ``factor`` periods (e.g. 3 months → quarters): their mean (stocks, rates)
    or sum (flows). A trailing incomplete block is dropped."""
    y_rt = np.atleast_2d(np.asarray(y_rt, dtype=float))
    n_blocks = y_rt.shape[1] // factor
    blocks = y_rt[:, : n_blocks * factor].reshape(y_rt.shape[0], n_blocks, factor)
    if how == "mean":
        return blocks.mean(axis=2)
    if how == "sum":
        return blocks.sum(axis=2)
    raise ValueError(f"aggregate how={how!r}: use 'mean' or 'sum'")
