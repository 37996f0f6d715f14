"""Invariants: accounting identities and conservation laws a model declares and strict mode checks.

    Invariant("supply", lambda s, p, prev: (s.reserve + s.circulation)
                                           - (prev.reserve + prev.circulation + s.adjustment),
              tol=1e-9, scale=lambda s, p, prev: s.reserve + s.circulation)

``residual(s, p, prev)`` returns the identity's residual per run, (B,) or (B, ...): ``s`` is the state
after a step, ``prev`` the state before it (stock identities ignore it). The identity holds where

    |residual| ≤ tol · max(1, |scale|)          (scale: a (B, ...) magnitude, default 1: absolute tol)

so a relative tolerance is ``tol`` with ``scale`` the size of the stocks involved. In strict mode every
invariant is checked after every step; the first failure stops the run with an ``InvariantError``
naming the identity, the step, the subset, the run and the residual.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from econsim.engine.errors import InvariantError

Residual = Callable[[Any, Any, Any], np.ndarray]


@dataclass(frozen=True)
class Invariant:
    """An identity that must hold after every step, up to ``tol`` (relative to ``scale`` if given)."""

    name: str
    residual: Residual
    tol: float = 1e-9
    scale: Residual | None = None
    doc: str = ""

    def check(self, s, p, prev, step: int, run_labels: tuple[np.ndarray, np.ndarray] | None) -> None:
        """Raise ``InvariantError`` at the worst violation, if any."""
        residual = np.asarray(self.residual(s, p, prev), dtype=np.float64)
        scale = 1.0 if self.scale is None else np.abs(np.asarray(self.scale(s, p, prev), dtype=np.float64))
        bound = self.tol * np.maximum(1.0, scale)
        excess = np.abs(residual) - bound
        # a NaN residual is a failure too: ``not (excess <= 0)`` catches it
        bad = ~(excess <= 0)
        if not bad.any():
            return
        where = np.argwhere(bad)[np.argmax(np.where(bad, np.nan_to_num(excess, nan=np.inf), -np.inf)[bad])]
        b = int(where[0])
        subset, run = (int(run_labels[0][b]), int(run_labels[1][b])) if run_labels is not None else (0, b)
        index = tuple(int(i) for i in where)
        at = f", element {index[1:]}" if len(index) > 1 else ""
        raise InvariantError(
            self.name,
            step,
            subset,
            run,
            float(residual[index]),
            float(np.broadcast_to(bound, residual.shape)[index]),
            at,
        )
