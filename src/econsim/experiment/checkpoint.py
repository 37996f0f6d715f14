"""Checkpoints of a batch running into a results folder, so that an interrupted long run resumes
mid-way instead of from step 0.

    <out>/checkpoints/batch-000012.npz     the batch at step t: state, records so far, stream positions

A batch with a checkpoint cadence (``checkpoint_every_steps`` and/or ``checkpoint_every_s`` in the
configuration) steps in segments; after a segment that reaches the cadence its ``Simulation.snapshot``
is written atomically (temporary name, then rename). When the batch is run again, a checkpoint that
names this experiment (fingerprint), batch and runs is restored and stepping continues from its step:
states, records and random draws are bit-identical to an uninterrupted run's (segment ends add records
that an uninterrupted run would not take; they are dropped at the end). The checkpoint is deleted once
the batch's part is written. A checkpoint that cannot be read or does not fit is ignored, with a
warning, and the batch starts from step 0.
"""

from __future__ import annotations

import json
import os
import time
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from econsim.engine.simulation import Records, Simulation, Snapshot
from econsim.engine.stepping import record_steps
from econsim.experiment.store import PartTarget, StoreError, StoreWarning, checkpoint_path

FORMAT = 1
#: steps of the first segment when only a wall-time cadence is set (they measure the step time)
_PROBE_STEPS = 8


def save_checkpoint(sim: Simulation, target: PartTarget) -> Path:
    """Write the batch's snapshot beside the results (atomically); returns its path."""
    snap = sim.snapshot()
    path = checkpoint_path(target.path)
    arrays: dict[str, np.ndarray] = {"times": np.asarray(snap.times)}
    names = {"state": list(snap.state), "columns": list(snap.columns), "streams": list(snap.streams)}
    for i, name in enumerate(names["state"]):
        arrays[f"state_{i}"] = np.asarray(snap.state[name])
    for i, name in enumerate(names["columns"]):
        arrays[f"column_{i}"] = np.asarray(snap.columns[name])
    for i, name in enumerate(names["streams"]):
        words, buffer = snap.streams[name]
        arrays[f"stream_{i}_words"] = np.asarray(words, dtype=np.int64)
        arrays[f"stream_{i}_buffer"] = buffer
    meta = {
        "format": FORMAT,
        "fingerprint": target.fingerprint,
        "batch": target.index,
        "runs": list(target.runs),
        "t": snap.t,
        **names,
    }
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.npz")
    try:
        path.parent.mkdir(exist_ok=True)
        try:
            with open(tmp, "wb") as f:
                np.savez(f, allow_pickle=False, **arrays)
        except ValueError:
            tmp.unlink(missing_ok=True)
            raise
        os.replace(tmp, path)
    except OSError as exc:
        raise StoreError(
            f"cannot write the checkpoint '{path}': {(exc.strerror or str(exc)).lower()}"
        ) from None
    return path


def read_checkpoint(target: PartTarget) -> Snapshot | str | None:
    """The batch's checkpoint; None if there is none; why it cannot be used, if it cannot."""
    path = checkpoint_path(target.path)
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(data["meta"].tobytes())
            if meta.get("format") != FORMAT:
                return f"it has format {meta.get('format')!r}, not {FORMAT}"
            if meta["fingerprint"] != target.fingerprint:
                return "it belongs to another experiment"
            if meta["batch"] != target.index or list(meta["runs"]) != list(target.runs):
                return f"it holds batch {meta['batch']} (runs {meta['runs']}), not this one"
            state = {name: data[f"state_{i}"] for i, name in enumerate(meta["state"])}
            columns = {name: data[f"column_{i}"] for i, name in enumerate(meta["columns"])}
            streams = {
                name: (int(data[f"stream_{i}_words"]), data[f"stream_{i}_buffer"])
                for i, name in enumerate(meta["streams"])
            }
            return Snapshot(int(meta["t"]), state, data["times"], columns, streams)
    except (OSError, ValueError, KeyError, TypeError, zipfile.BadZipFile, EOFError) as exc:
        return f"it cannot be read ({type(exc).__name__}: {exc})"


def resume_from_checkpoint(sim: Simulation, target: PartTarget) -> bool:
    """Put a fresh batch at its checkpoint when it has a usable one; say why not when it has one."""
    snap = read_checkpoint(target)
    if snap is None:
        return False
    if not isinstance(snap, str):
        try:
            sim.restore(snap)
            return True
        except ValueError as exc:
            snap = f"it does not fit the batch ({exc})"
    warnings.warn(
        f"ignoring the checkpoint '{checkpoint_path(target.path)}' ({snap}); batch {target.index} "
        "starts from step 0",
        StoreWarning,
        stacklevel=2,
    )
    return False


def run_with_checkpoints(
    sim: Simulation,
    target: PartTarget,
    steps: int,
    on_step: Callable[[int], Any] | None = None,
    on_fields: Callable[[dict[str, float]], Any] | None = None,
    progress_fields: Callable[[Any, Any], dict[str, float]] | None = None,
) -> Records:
    """Step the batch to ``steps`` as ``sim.run(steps)`` would — same records, bit for bit — resuming
    from its checkpoint and writing checkpoints at the target's cadence (``on_step``, ``on_fields`` and
    ``progress_fields`` as for ``Simulation.run``)."""
    every_n, every_s = target.checkpoint_every_steps, target.checkpoint_every_s
    if resume_from_checkpoint(sim, target) and on_step is not None:
        on_step(sim.t)  # the progress bar counts the steps the checkpoint saved
    last_saved = time.monotonic()
    seconds_per_step: float | None = None
    while sim.t < steps:
        n = steps - sim.t
        if every_n:
            n = min(n, every_n - sim.t % every_n)
        if every_s:
            if seconds_per_step is None:
                n = min(n, _PROBE_STEPS)
            else:
                left = every_s - (time.monotonic() - last_saved)
                n = min(n, max(1, int(left / max(seconds_per_step, 1e-9)) + 1))
        started = time.monotonic()
        sim.run(n, on_step=on_step, on_fields=on_fields, progress_fields=progress_fields)
        seconds_per_step = (time.monotonic() - started) / n
        if sim.t >= steps:
            break
        if (every_n and sim.t % every_n == 0) or (every_s and time.monotonic() - last_saved >= every_s):
            try:
                save_checkpoint(sim, target)
            except ValueError as exc:  # a state value numpy cannot store without pickling
                warnings.warn(
                    f"batch {target.index} cannot be checkpointed ({exc}); it runs on without checkpoints",
                    StoreWarning,
                    stacklevel=2,
                )
                every_n = every_s = None
            last_saved = time.monotonic()
    records = sim.records
    keep = np.isin(records.times, record_steps(steps, sim.record_every))
    if keep.all():
        return records
    return Records(records.times[keep], {k: v[keep] for k, v in records.columns.items()})
