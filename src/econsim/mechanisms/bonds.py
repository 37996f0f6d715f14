"""Fixed-coupon bonds: cash-flow schedules, price ↔ yield, and the Nelson–Siegel yield curve.

A bond of face F pays a coupon c·F/f every 1/f years (f coupons a year) and F at maturity. With τ years
left, n = ⌈τ·f⌉ coupons remain, the next one in s = τ − (n − 1)/f years. At a yield y (compounded f times a
year; discount per period v = 1/(1 + y/f)) its (dirty) price is

    P(y) = v^{f·s} · [ (c·F/f) · (1 − vⁿ)/(1 − v) + F · v^{n−1} ]        ((1 − vⁿ)/(1 − v) = n at y = 0)

(a zero-coupon bond, c = 0, is P = F·v^{f·τ}). P falls and is convex in y, so ``yield_from_price`` solves
P(y) = P* by Newton's method on the exact derivative, kept inside a bisection bracket [y_lo, y_hi] (it
converges to round-off in a handful of steps; a price outside [P(y_hi), P(y_lo)] is refused). Every
function broadcasts over numpy arrays of bonds (and runs).

**Nelson–Siegel (1987).** Yields by maturity τ from a level β₀, slope β₁ and curvature β₂ at a decay λ:

    y(τ) = β₀ + β₁ · (1 − e^{−τ/λ})/(τ/λ) + β₂ · [(1 − e^{−τ/λ})/(τ/λ) − e^{−τ/λ}]

so y(0⁺) = β₀ + β₁ and y(∞) = β₀. For a given λ the β are linear least squares; ``nelson_siegel_fit``
scans a log grid of λ and then nested finer grids around the best point (the residual sum of squares),
every curve and grid point at once (batched 3 × 3 normal equations).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from econsim.engine.errors import ConfigError

__all__ = [
    "NelsonSiegel",
    "cash_flow_schedule",
    "nelson_siegel_fit",
    "nelson_siegel_yield",
    "price_from_yield",
    "yield_from_price",
]


def _remaining(maturity: np.ndarray, frequency: float) -> tuple[np.ndarray, np.ndarray]:
    """(n coupons left, years to the next one) for τ > 0."""
    n = np.maximum(np.ceil(maturity * frequency - 1e-9), 1.0)
    return n, maturity - (n - 1.0) / frequency


def _check(maturity: Any, frequency: float, face: Any) -> tuple[np.ndarray, np.ndarray]:
    if not frequency > 0:
        raise ConfigError(f"frequency (coupons a year) must be positive, got {frequency}")
    tau = np.asarray(maturity, dtype=np.float64)
    if np.any(~(tau > 0)):
        raise ConfigError("maturity (years left) must be positive")
    fv = np.asarray(face, dtype=np.float64)
    if np.any(~(fv > 0)):
        raise ConfigError("face must be positive")
    return tau, fv


def price_from_yield(
    yld: Any, coupon: Any, maturity: Any, frequency: float = 2.0, face: Any = 1.0
) -> np.ndarray:
    """Dirty price at yield y of a bond paying ``coupon`` (annual rate) f times a year, τ years left."""
    tau, fv = _check(maturity, frequency, face)
    return _price(
        np.asarray(yld, dtype=np.float64), np.asarray(coupon, dtype=np.float64), tau, frequency, fv
    )[0]


def _price(
    y: np.ndarray, c: np.ndarray, tau: np.ndarray, f: float, fv: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """P(y) and dP/dy from the closed form of the module docstring."""
    n, s = _remaining(tau, f)
    g = 1.0 + y / f
    v = 1.0 / g
    small = np.abs(y) < 1e-10
    safe = np.where(small, 1.0, 1.0 - v)
    annuity = np.where(small, n, (1.0 - v**n) / safe)
    # d/dv of (1 − vⁿ)/(1 − v) = Σ_{k<n} k v^{k−1}
    d_ann = np.where(small, n * (n - 1) / 2.0, (1.0 - n * v ** (n - 1.0) + (n - 1.0) * v**n) / safe**2)
    lead = v ** (f * s)
    body = c * fv / f * annuity + fv * v ** (n - 1.0)
    d_body = c * fv / f * d_ann + fv * (n - 1.0) * v ** (n - 2.0)
    price = lead * body
    dp_dv = f * s * v ** (f * s - 1.0) * body + lead * d_body
    dv_dy = -1.0 / (f * g * g)
    return price, dp_dv * dv_dy


def yield_from_price(
    price: Any,
    coupon: Any,
    maturity: Any,
    frequency: float = 2.0,
    face: Any = 1.0,
    bracket: tuple[float, float] = (-0.5, 5.0),
    tol: float = 1e-14,
    max_iter: int = 100,
) -> np.ndarray:
    """The yield y with P(y) = ``price`` (see the module docstring), elementwise over arrays of bonds."""
    tau, fv = _check(maturity, frequency, face)
    target = np.asarray(price, dtype=np.float64)
    c = np.asarray(coupon, dtype=np.float64)
    lo_y, hi_y = float(bracket[0]), float(bracket[1])
    if not -frequency < lo_y < hi_y:
        raise ConfigError(f"bracket must satisfy -frequency < low < high, got {bracket}")
    shape = np.broadcast_shapes(target.shape, c.shape, tau.shape, fv.shape)
    target, c, tau, fv = (np.broadcast_to(a, shape) for a in (target, c, tau, fv))
    lo, hi = np.full(shape, lo_y), np.full(shape, hi_y)
    p_lo, p_hi = _price(lo, c, tau, frequency, fv)[0], _price(hi, c, tau, frequency, fv)[0]
    if np.any(~((target <= p_lo) & (target >= p_hi))):
        bad = np.flatnonzero(~((target <= p_lo) & (target >= p_hi)).ravel())[0]
        raise ConfigError(
            f"price {target.ravel()[bad]} has no yield in {bracket}: prices there run from "
            f"{p_hi.ravel()[bad]} to {p_lo.ravel()[bad]}"
        )
    y = np.where(c > 0, np.clip(c, lo_y, hi_y), 0.03)
    # a bond stops at its own convergence: its yield never depends on the other bonds of the array
    active = np.ones(shape, dtype=bool)
    for _ in range(max_iter):
        p, dp = _price(y, c, tau, frequency, fv)
        err = p - target
        # P falls in y: too high a price means y is too low.
        lo = np.where(err > 0, y, lo)
        hi = np.where(err <= 0, y, hi)
        step = np.where(dp != 0, err / np.where(dp != 0, dp, 1.0), 0.0)
        y_new = y - step
        outside = ~((y_new > lo) & (y_new < hi))
        y_new = np.where(outside, 0.5 * (lo + hi), y_new)
        done = np.abs(y_new - y) <= tol * np.maximum(1.0, np.abs(y))
        y = np.where(active, y_new, y)
        active &= ~done
        if not active.any():
            break
    return y


def cash_flow_schedule(
    maturity: Any, coupon: Any, frequency: float = 2.0, face: Any = 1.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(times, amounts, valid) of each bond's remaining payments, padded to the longest: times in years
    from now, amounts coupon c·F/f plus F at the last; ``valid`` marks the real slots. Shapes (..., K)."""
    tau, fv = _check(maturity, frequency, face)
    c = np.asarray(coupon, dtype=np.float64)
    shape = np.broadcast_shapes(tau.shape, c.shape, fv.shape)
    tau, c, fv = (np.broadcast_to(a, shape) for a in (tau, c, fv))
    n, s = _remaining(tau, frequency)
    k_max = int(n.max()) if n.size else 0
    k = np.arange(k_max)
    times = s[..., None] + k / frequency
    valid = k < n[..., None]
    last = k == (n[..., None] - 1)
    amounts = np.where(valid, (c * fv / frequency)[..., None] + np.where(last, fv[..., None], 0.0), 0.0)
    return np.where(valid, times, 0.0), amounts, valid


# --- Nelson–Siegel --------------------------------------------------------------------------------


@dataclass(frozen=True)
class NelsonSiegel:
    """Fitted factors (each shaped like the leading axes of the yields) and the residual RMS."""

    beta0: np.ndarray
    beta1: np.ndarray
    beta2: np.ndarray
    lam: np.ndarray
    rmse: np.ndarray

    def __call__(self, maturity: Any) -> np.ndarray:
        """Yields at ``maturity`` (trailing axis) for every fitted curve."""
        return nelson_siegel_yield(
            maturity, self.beta0[..., None], self.beta1[..., None], self.beta2[..., None], self.lam[..., None]
        )


def _loadings(tau: np.ndarray, lam: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x = tau / lam
    slope = np.where(x < 1e-8, 1.0 - x / 2.0, -np.expm1(-x) / np.where(x < 1e-8, 1.0, x))
    return slope, slope - np.exp(-x)


def nelson_siegel_yield(maturity: Any, beta0: Any, beta1: Any, beta2: Any, lam: Any) -> np.ndarray:
    """y(τ) of the module docstring, broadcasting every argument."""
    tau = np.asarray(maturity, dtype=np.float64)
    lam_a = np.asarray(lam, dtype=np.float64)
    if np.any(~(lam_a > 0)):
        raise ConfigError("Nelson–Siegel decay lam must be positive")
    slope, curve = _loadings(tau, lam_a)
    return np.asarray(beta0) + np.asarray(beta1) * slope + np.asarray(beta2) * curve


def _ols(tau: np.ndarray, y: np.ndarray, lam: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """β (..., 3) and residual sum of squares (...) for each curve's own λ (...)."""
    slope, curve = _loadings(tau, lam[..., None])
    x = np.stack(np.broadcast_arrays(np.ones_like(slope), slope, curve), axis=-1)  # (..., m, 3)
    xtx = np.einsum("...mi,...mj->...ij", x, x)
    xty = np.einsum("...mi,...m->...i", x, y)
    beta = np.linalg.solve(xtx + 1e-14 * np.eye(3), xty[..., None])[..., 0]
    resid = y - np.einsum("...mi,...i->...m", x, beta)
    return beta, np.einsum("...m,...m->...", resid, resid)


def nelson_siegel_fit(
    maturity: Any,
    yields: Any,
    lam_range: tuple[float, float] = (0.05, 30.0),
    grid: int = 40,
    refine: int = 40,
) -> NelsonSiegel:
    """Least-squares Nelson–Siegel fit of ``yields`` (..., m) observed at ``maturity`` (m,) years."""
    tau = np.asarray(maturity, dtype=np.float64)
    y = np.asarray(yields, dtype=np.float64)
    if tau.ndim != 1 or tau.size < 3 or np.any(~(tau > 0)):
        raise ConfigError(f"maturity must be a 1-d array of at least 3 positive maturities, got {tau}")
    if y.shape[-1:] != tau.shape or not np.all(np.isfinite(y)):
        raise ConfigError(
            f"yields must be finite with last axis {tau.size} (one per maturity), got {y.shape}"
        )
    lo, hi = np.log(lam_range[0]), np.log(lam_range[1])
    if not lo < hi:
        raise ConfigError(f"lam_range must be increasing and positive, got {lam_range}")
    lead = y.shape[:-1]
    # nested grids, each batched over every curve and λ at once: the best point of one grid and its
    # neighbours are spanned by the next, ``refine`` times (spacing shrinks by (grid − 1)/2 each time)
    centre = np.full(lead, 0.5 * (lo + hi))
    half = np.full(lead, 0.5 * (hi - lo))
    offsets = np.linspace(-1.0, 1.0, grid)
    for _ in range(1 + refine):
        logs = np.clip(centre[..., None] + half[..., None] * offsets, lo, hi)  # (..., G)
        sse = _ols(tau, y[..., None, :], np.exp(logs))[1]
        centre = np.take_along_axis(logs, np.argmin(sse, axis=-1)[..., None], axis=-1)[..., 0]
        half = half * 2.0 / (grid - 1)
    lam = np.exp(centre)
    beta, rss = _ols(tau, y, lam)
    return NelsonSiegel(
        beta0=beta[..., 0], beta1=beta[..., 1], beta2=beta[..., 2], lam=lam, rmse=np.sqrt(rss / tau.size)
    )
