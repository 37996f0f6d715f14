"""Spectral cycle detection on trajectories (§8.2): principal components of many series, and the
periodogram of each component.

Periodogram of a series x_0 … x_{T−1} (sampled every ``dt``), after removing its mean (and, optionally,
its linear trend):

    I(f_k) = |Σ_t x_t e^{−2πi k t / T}|² / T,     f_k = k / (T·dt),  k = 1 … ⌊T/2⌋

A cycle of period P shows as a peak at f = 1/P. Fisher's g = max_k I(f_k) / Σ_k I(f_k) tests the peak
against white noise: P(g > x) ≈ m·(1 − x)^{m−1} for m Fourier frequencies (first term of the exact sum).

Principal components: the (T, n) matrix of series, each column centred and scaled to unit variance, is
factored X = U S Vᵀ; component j's trajectory is U[:, j]·S[j], its loadings V[:, j], and its share of the
variance S[j]² / Σ S².
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


def periodogram(x_t: np.ndarray, dt: float = 1.0, detrend: str = "mean") -> tuple[np.ndarray, np.ndarray]:
    """(frequencies (m,), power (..., m)) of series along the LAST axis, zero frequency left out.
    ``detrend``: 'mean' or 'linear'."""
    x = np.asarray(x_t, float)
    T = x.shape[-1]
    if T < 4:
        raise ValueError(f"a periodogram needs at least 4 observations, got {T}")
    if detrend == "linear":
        t = np.arange(T) - (T - 1) / 2.0
        slope = (x * t).sum(axis=-1, keepdims=True) / (t * t).sum()
        x = x - x.mean(axis=-1, keepdims=True) - slope * t
    elif detrend == "mean":
        x = x - x.mean(axis=-1, keepdims=True)
    else:
        raise ValueError(f"detrend={detrend!r}: use 'mean' or 'linear'")
    power = np.abs(np.fft.rfft(x, axis=-1)) ** 2 / T
    freqs = np.fft.rfftfreq(T, d=dt)
    return freqs[1:], power[..., 1:]


def fisher_g_pvalue(power_m: np.ndarray) -> float:
    """P-value of Fisher's g test of the largest periodogram ordinate against white noise."""
    power = np.asarray(power_m, float)
    m = power.size
    total = power.sum()
    if total <= 0:
        return 1.0
    g = power.max() / total
    return float(min(1.0, m * (1.0 - g) ** (m - 1)))


@dataclass
class Components:
    scores: np.ndarray  # (T, k): each component's trajectory
    loadings: np.ndarray  # (n, k)
    explained: np.ndarray  # (k,): share of the variance


def principal_components(x_tn: np.ndarray, k: int = 3) -> Components:
    """The first ``k`` principal components of the columns of ``x_tn`` (standardized; constant columns
    are left out of the scaling, they carry no variance)."""
    x = np.asarray(x_tn, float)
    x = x - x.mean(axis=0)
    sd = x.std(axis=0)
    x = x / np.where(sd > 0, sd, 1.0)
    u, s, vt = np.linalg.svd(x, full_matrices=False)
    k = min(k, s.size)
    total = (s**2).sum()
    explained = s[:k] ** 2 / total if total > 0 else np.zeros(k)
    return Components(u[:, :k] * s[:k], vt[:k].T, explained)


def dominant_cycles(x_tn: np.ndarray, k: int = 3, dt: float = 1.0, detrend: str = "linear") -> pd.DataFrame:
    """One row per principal component: its variance share, the frequency and period of its periodogram
    peak, the peak's share of the component's spectral power and Fisher's g p-value."""
    comp = principal_components(x_tn, k)
    freqs, power = periodogram(comp.scores.T, dt, detrend)
    rows = []
    for j in range(comp.scores.shape[1]):
        best = int(np.argmax(power[j]))
        total = power[j].sum()
        rows.append(
            {
                "component": j + 1,
                "variance_share": float(comp.explained[j]),
                "frequency": float(freqs[best]),
                "period": float(1.0 / freqs[best]),
                "peak_share": float(power[j, best] / total) if total > 0 else 0.0,
                "p_value": fisher_g_pvalue(power[j]),
            }
        )
    return pd.DataFrame(rows)
