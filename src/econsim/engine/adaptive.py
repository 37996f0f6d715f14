"""Adaptive time-stepping with a step-doubling error estimate, and an event-driven clock (§5).

Step rule. After a step of size Δt_n with error estimate ε_n, the next step is

    Δt_{n+1} = Δt_n · min(2, max(0.5, 1.5·ε_tol/ε_n))           (ε_n = 0: Δt_{n+1} = 2·Δt_n)

Error estimate (step doubling). With a one-step method Φ of order p, one step of Δt gives y_big and two
steps of Δt/2 give y_half; their difference estimates the local error of y_half:

    ε_n = ‖y_half − y_big‖_∞ / (2^p − 1)

A step is accepted when ε_n ≤ ε_tol (the solution moves to y_half) and the next Δt follows the rule. The
rule still grows the step for ε_tol < ε_n < 1.5·ε_tol, so a rejected step is retried at half its size
(the rule's floor) until it passes. Methods: 'euler' (p = 1), 'heun' (p = 2), 'rk4' (p = 4).

Event-driven mode. ``EventClock`` holds the times of pending events; ``advance`` jumps the clock straight
to the next event (no fixed step in between) and returns what is due then.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

ORDERS = {"euler": 1, "heun": 2, "rk4": 4}


def next_step(dt: float, error: float, tol: float) -> float:
    """Δt_{n+1} = Δt_n · min(2, max(0.5, 1.5·ε_tol/ε_n))."""
    if error <= 0.0:
        return 2.0 * dt
    return dt * min(2.0, max(0.5, 1.5 * tol / error))


def _one_step(f: Callable, t: float, y: np.ndarray, dt: float, method: str) -> np.ndarray:
    if method == "euler":
        return y + dt * f(t, y)
    if method == "heun":
        k1 = f(t, y)
        k2 = f(t + dt, y + dt * k1)
        return y + 0.5 * dt * (k1 + k2)
    k1 = f(t, y)
    k2 = f(t + dt / 2, y + dt / 2 * k1)
    k3 = f(t + dt / 2, y + dt / 2 * k2)
    k4 = f(t + dt, y + dt * k3)
    return y + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4)


def doubled_step(f: Callable, t: float, y, dt: float, method: str = "heun") -> tuple[np.ndarray, float]:
    """(y_half, ε): two half steps from (t, y), and the step-doubling error estimate."""
    y = np.asarray(y, float)
    big = _one_step(f, t, y, dt, method)
    half = _one_step(f, t + dt / 2, _one_step(f, t, y, dt / 2, method), dt / 2, method)
    return half, float(np.max(np.abs(half - big))) / (2 ** ORDERS[method] - 1)


@dataclass
class AdaptiveResult:
    t: np.ndarray  # accepted times, t0 first
    y: np.ndarray  # (steps + 1, *shape)
    dt: np.ndarray  # accepted step sizes
    errors: np.ndarray  # their error estimates
    rejected: int
    attempts: np.ndarray  # (tries, 3): every step tried — Δt, ε, accepted (1) or not (0)


def integrate(
    f: Callable[[float, np.ndarray], np.ndarray],
    t0: float,
    y0,
    t_end: float,
    dt0: float,
    tol: float,
    method: str = "heun",
    max_steps: int = 100_000,
) -> AdaptiveResult:
    """Solve y' = f(t, y) from t0 to t_end with the adaptive rule above (the last step is cut to end on
    t_end)."""
    if method not in ORDERS:
        raise ValueError(f"method={method!r}: choose one of {', '.join(ORDERS)}")
    if tol <= 0 or dt0 <= 0:
        raise ValueError(f"tol = {tol} and dt0 = {dt0} must be positive")
    t, y, dt = float(t0), np.asarray(y0, float), float(dt0)
    ts, ys, rejected = [t], [y], 0
    dts: list[float] = []
    errs: list[float] = []
    tries: list[tuple[float, float, float]] = []
    while t < t_end and len(dts) < max_steps:
        h = min(dt, t_end - t)
        y_new, err = doubled_step(f, t, y, h, method)
        tries.append((h, err, float(err <= tol)))
        if err > tol:
            rejected += 1
            dt = 0.5 * h
            continue
        t, y = t + h, y_new
        ts.append(t)
        ys.append(y)
        dts.append(h)
        errs.append(err)
        dt = next_step(h, err, tol)
    return AdaptiveResult(
        np.array(ts), np.array(ys), np.array(dts), np.array(errs), rejected, np.array(tries)
    )


@dataclass
class EventClock:
    """Pending events (time, sequence, payload), the earliest first; ``now`` is the current time."""

    now: float = 0.0
    _queue: list[tuple[float, int, Any]] = field(default_factory=list)
    _count: int = 0

    def schedule(self, time: float, payload: Any = None) -> None:
        if time < self.now:
            raise ValueError(f"event at t = {time} is before the clock's time {self.now}")
        heapq.heappush(self._queue, (float(time), self._count, payload))
        self._count += 1

    def next_time(self) -> float | None:
        return self._queue[0][0] if self._queue else None

    def advance(self) -> tuple[float, list[Any]]:
        """Jump to the next event time; (that time, the payloads of every event due then)."""
        if not self._queue:
            raise IndexError("no pending event")
        time = self._queue[0][0]
        due = []
        while self._queue and self._queue[0][0] == time:
            due.append(heapq.heappop(self._queue)[2])
        self.now = time
        return time, due

    def __len__(self) -> int:
        return len(self._queue)
