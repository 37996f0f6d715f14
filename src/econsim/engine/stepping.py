"""Advancing a batch of runs: the step loop, recording, and the strict finite-value check.

    s_{t+1} = block_K ∘ … ∘ block_1 (s_t)        block_k(s) = s ⊕ ⋃_{stage ∈ block_k} stage(s, p, rng)

Records are taken at t = 0, every ``record_every`` steps, and at the last step.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from econsim.engine.errors import ConfigError, NonFiniteStateError
from econsim.engine.model import Model
from econsim.engine.state import Arrays
from econsim.engine.streams import RandomStreams


def record_steps(steps: int, record_every: int) -> np.ndarray:
    """The timesteps recorded: 0, k, 2k, … and always the last one."""
    t = np.arange(0, steps + 1, record_every)
    if t[-1] != steps:
        t = np.append(t, steps)
    return t


def simulate(
    model: Model,
    params: Arrays,
    state: Arrays,
    rng: RandomStreams,
    steps: int,
    record_every: int = 1,
    strict: bool = True,
    on_step: Callable[[int], Any] | None = None,
    run_labels: tuple[np.ndarray, np.ndarray] | None = None,
    on_fields: Callable[[dict[str, float]], Any] | None = None,
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Advance B runs together for ``steps`` steps.

    Returns the recorded timesteps (T,) and, per recorded column, an array of shape (T, B) — or
    (T, B, k) for an observable of k columns.
    ``on_step(n)`` is called with the number of steps just completed (for progress bars); ``on_fields``
    then receives the model's ``progress_fields`` of the current state, when the model has them.
    ``run_labels`` = (subset_b, run_b) names runs in error messages.
    """
    if steps < 0:
        raise ConfigError(f"steps = {steps} must be zero or more")
    if record_every < 1:
        raise ConfigError(f"record_every = {record_every} must be 1 or more")
    times = record_steps(steps, record_every)
    first = model.observe(state, params)
    columns = {k: np.empty((len(times), *np.shape(v)), dtype=np.asarray(v).dtype) for k, v in first.items()}
    for k, v in first.items():
        columns[k][0] = v
    if strict:
        _check_finite(state, 0, run_labels)
    # invalid operations are caught by the strict check below, by array and step; numpy's warnings
    # would only repeat them without saying where
    with np.errstate(all="ignore"):
        _loop(model, params, state, rng, steps, times, columns, strict, on_step, run_labels, on_fields)
    return times, columns


def _loop(model, params, state, rng, steps, times, columns, strict, on_step, run_labels, on_fields) -> None:
    row = 1
    report_every = max(1, min(100, steps // 100 or 1))
    pending = 0
    for t in range(1, steps + 1):
        for block in model.blocks:
            updates: dict[str, np.ndarray] = {}
            for stage in block.stages:
                updates.update(stage(state, params, rng))
            if strict:
                _check_finite(updates, t, run_labels)
            state.update(updates)
        if row < len(times) and times[row] == t:
            for k, v in model.observe(state, params).items():
                columns[k][row] = v
            row += 1
        if on_step is not None:
            pending += 1
            if pending >= report_every:
                on_step(pending)
                pending = 0
                if on_fields is not None and model.progress_fields is not None:
                    on_fields(model.progress_fields(state, params))
    if on_step is not None and pending:
        on_step(pending)


def profile_blocks(
    model: Model, params: Arrays, state: Arrays, rng: RandomStreams, steps: int, warmup: int = 0
) -> dict[str, float]:
    """Seconds spent in each block of the step over ``steps`` steps (after ``warmup`` untimed steps)."""
    import time

    seconds = {block.name: 0.0 for block in model.blocks}
    for t in range(warmup + steps):
        for block in model.blocks:
            started = time.perf_counter()
            updates: dict[str, np.ndarray] = {}
            for stage in block.stages:
                updates.update(stage(state, params, rng))
            state.update(updates)
            if t >= warmup:
                seconds[block.name] += time.perf_counter() - started
    return seconds


def _check_finite(arrays: Mapping[str, np.ndarray], step: int, run_labels) -> None:
    for name, arr in arrays.items():
        # one reduction per array: a finite sum proves every element finite; only a non-finite sum
        # (a NaN/Inf, or an overflow of finite values) needs the element-wise look
        if (
            arr.dtype.kind == "f"
            and not np.isfinite(np.add.reduce(arr, axis=None))
            and not np.isfinite(arr).all()
        ):
            bad = np.argwhere(~np.isfinite(arr))[0]
            b = int(bad[0])
            subset, run = (int(run_labels[0][b]), int(run_labels[1][b])) if run_labels else (0, b)
            raise NonFiniteStateError(name, step, subset, run, float(arr[tuple(bad)]))
