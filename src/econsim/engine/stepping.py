"""Helpers of the step loop (``simulation.Simulation``): the recording schedule and the strict
finite-value check.

Records are taken at t = 0, every ``record_every`` steps, and at the last step.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from econsim.engine.errors import NonFiniteStateError


def record_steps(steps: int, record_every: int) -> np.ndarray:
    """The timesteps recorded: 0, k, 2k, … and always the last one."""
    t = np.arange(0, steps + 1, record_every)
    if t[-1] != steps:
        t = np.append(t, steps)
    return t


def record_count(steps: int, record_every: int) -> int:
    """``len(record_steps(steps, record_every))`` without building the array (steps may be huge)."""
    return steps // record_every + 1 + (steps % record_every != 0)


def check_finite(
    arrays: Mapping[str, np.ndarray],
    step: int,
    run_labels,
    kind: str = "state variable",
    allow_nan: bool = False,
) -> None:
    """Raise ``NonFiniteStateError`` at the first NaN or infinite value of a float array (only an
    infinite one with ``allow_nan``); ``kind`` says what the arrays are (state variables, observables)."""
    bad_of = np.isinf if allow_nan else (lambda a: ~np.isfinite(a))
    for name, arr in arrays.items():
        # one reduction per array: a finite sum proves every element finite; only a non-finite sum
        # (a NaN/Inf, or an overflow of finite values) needs the element-wise look
        if arr.dtype.kind == "f" and not np.isfinite(np.add.reduce(arr, axis=None)) and bad_of(arr).any():
            bad = np.argwhere(bad_of(arr))[0]
            b = int(bad[0])
            subset, run = (int(run_labels[0][b]), int(run_labels[1][b])) if run_labels else (0, b)
            raise NonFiniteStateError(name, step, subset, run, float(arr[tuple(bad)]), kind)
