"""A Kalman filter for many independent scalar channels (one per chain and asset of a live feed, say),
with irregular time steps, and the closed form of its steady state.

State model of channel c, observed at irregular times (Δt since its last reading):

    x(t + Δt) = a·x(t) + w,   w ~ N(0, q·Δt)          (a = 1: a random walk, the default)
    z(t)      = h·x(t) + v,   v ~ N(0, r)

Predict:  x⁻ = a·x,   P⁻ = a²·P + q·Δt
Update:   K = P⁻·h / (h²·P⁻ + r),   x = x⁻ + K·(z − h·x⁻),   P = (1 − K·h)·P⁻

Steady state for a fixed Δt (q below stands for q·Δt): P⁻ solves the scalar Riccati equation
h²·P⁻² + (r(1 − a²) − q h²)·P⁻ − q r = 0, whose positive root is

    P⁻∞ = [−(r(1 − a²) − q h²) + √((r(1 − a²) − q h²)² + 4 h² q r)] / (2 h²),
    K∞ = P⁻∞ h / (h² P⁻∞ + r),   P∞ = (1 − K∞ h)·P⁻∞ = K∞·r / h.

For a random walk observed directly (a = h = 1): P⁻∞ = (q + √(q² + 4qr))/2.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np


def steady_state(q: float, r: float, a: float = 1.0, h: float = 1.0) -> tuple[float, float, float]:
    """(K∞, P⁻∞, P∞): the steady-state gain, prior and posterior variance of the scalar filter."""
    if q < 0 or r <= 0 or h == 0:
        raise ValueError(f"steady_state needs q ≥ 0, r > 0, h ≠ 0; got q={q}, r={r}, h={h}")
    b = r * (1.0 - a * a) - q * h * h
    prior = (-b + math.sqrt(b * b + 4.0 * h * h * q * r)) / (2.0 * h * h)
    gain = prior * h / (h * h * prior + r)
    return gain, prior, (1.0 - gain * h) * prior


@dataclass
class KalmanFilter:
    """Independent scalar filters for ``n`` channels; arrays of shape (n,). ``x``, ``P``: the current
    posterior mean and variance; ``seen``: whether a channel has had a reading (before its first, the
    first reading is taken as the estimate with variance r)."""

    q: np.ndarray
    r: np.ndarray
    a: np.ndarray
    h: np.ndarray
    x: np.ndarray
    P: np.ndarray
    seen: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))

    @classmethod
    def make(
        cls, n: int, q: float, r: float, a: float = 1.0, h: float = 1.0, x0=0.0, P0=1e12
    ) -> KalmanFilter:
        full = lambda v: np.full(n, float(v))  # noqa: E731
        x = np.broadcast_to(np.asarray(x0, float), (n,)).copy()
        return cls(full(q), full(r), full(a), full(h), x, full(P0), np.zeros(n, bool))

    def predict(self, dt=1.0, channels=None) -> None:
        """Move the channels (all, or the indices given) forward by ``dt``."""
        c = slice(None) if channels is None else channels
        self.x[c] = self.a[c] * self.x[c]
        self.P[c] = self.a[c] ** 2 * self.P[c] + self.q[c] * np.asarray(dt, float)

    def update(self, z, channels=None) -> np.ndarray:
        """Fold readings ``z`` of the channels in; returns the gains used."""
        c = slice(None) if channels is None else channels
        h, prior = self.h[c], self.P[c]
        gain = prior * h / (h * h * prior + self.r[c])
        self.x[c] = self.x[c] + gain * (np.asarray(z, float) - h * self.x[c])
        self.P[c] = (1.0 - gain * h) * prior
        self.seen[c] = True
        return gain

    def step(self, z, dt=1.0, channels=None) -> np.ndarray:
        """Predict over ``dt``, then update with ``z``; returns the posterior means of those channels."""
        self.predict(dt, channels)
        self.update(z, channels)
        c = slice(None) if channels is None else channels
        return self.x[c].copy()


def filter_series(z_t: np.ndarray, q: float, r: float, a: float = 1.0, h: float = 1.0, x0=0.0, P0=1e12):
    """Filter one or more series observed every step: z (T,) or (T, n) → (means, variances, gains),
    each shaped like z."""
    z = np.asarray(z_t, float)
    flat = z.reshape(z.shape[0], -1)
    kf = KalmanFilter.make(flat.shape[1], q, r, a, h, x0, P0)
    means, variances, gains = (np.empty_like(flat) for _ in range(3))
    for t, row in enumerate(flat):
        kf.predict(1.0)
        gains[t] = kf.update(row)
        means[t], variances[t] = kf.x, kf.P
    return means.reshape(z.shape), variances.reshape(z.shape), gains.reshape(z.shape)
