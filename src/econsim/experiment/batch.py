"""One batch of runs: build its parameters, state and streams, step it, and tabulate the records.

A batch is the unit of work every executor ships: it is self-contained and picklable, it writes its
own Parquet part when given a path, and it returns that path (never the data) with its row count.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from econsim.engine.state import Arrays
from econsim.engine.stepping import simulate
from econsim.engine.streams import RandomStreams
from econsim.models.registry import get_model


@dataclass(frozen=True)
class BatchTask:
    index: int
    model_name: str
    seed: int
    subset_b: np.ndarray
    run_b: np.ndarray
    params: dict[str, Any]
    initial_state: dict[str, Any]
    swept: dict[str, np.ndarray]
    steps: int
    record_every: int
    strict: bool
    common_random_numbers: bool
    part_path: str | None = None

    @property
    def n_runs(self) -> int:
        return len(self.run_b)


@dataclass(frozen=True)
class BatchResult:
    index: int
    n_rows: int
    seconds: float
    part_path: str | None = None
    table: pa.Table | None = None
    #: the model's ``final_state`` arrays, (B, *shape) each, with ``subset`` and ``run`` (in memory only)
    final: dict[str, np.ndarray] | None = None


def tidy_table(times: np.ndarray, columns: dict[str, np.ndarray], task: BatchTask) -> pa.Table:
    """One row per run × recorded timestep: subset, run, timestep, the recorded columns, the swept values."""
    n_t, n_b = len(times), task.n_runs
    data: dict[str, Any] = {
        "subset": np.repeat(task.subset_b.astype(np.int32), n_t),
        "run": np.repeat(task.run_b.astype(np.int32), n_t),
        "timestep": np.tile(times.astype(np.int32), n_b),
    }
    # every float column is transposed into one (K, B, T) block: one allocation instead of one per column
    # (each a fresh mapping to fault in) makes the transposes several times faster
    flat = [
        (f"{name}_{j}" if v.ndim == 3 else name, v[:, :, j] if v.ndim == 3 else v)
        for name, v in columns.items()
        for j in range(v.shape[2] if v.ndim == 3 else 1)  # a vector observable (T, B, k): name_0 … name_{k-1}
    ]
    floats = [(n, v) for n, v in flat if v.dtype == np.float64]
    block_kbt = np.empty((len(floats), n_b, n_t), dtype=np.float64)
    for i, (_, values_tb) in enumerate(floats):
        block_kbt[i] = values_tb.T
    by_name = {n: block_kbt[i].reshape(-1) for i, (n, _) in enumerate(floats)}
    for name, values_tb in flat:
        data[name] = by_name[name] if name in by_name else np.ascontiguousarray(values_tb.T).reshape(-1)
    for name, values_b in task.swept.items():
        data[name] = np.repeat(values_b, n_t)
    return pa.table(data)


def final_state_path(part_path: str | Path) -> Path:
    """Where a part's final-state arrays live: beside it, ``batch-000012.final.npz``."""
    part_path = Path(part_path)
    return part_path.with_name(f"{part_path.stem}.final.npz")


def execute_batch(
    task: BatchTask,
    on_step: Callable[[int], Any] | None = None,
    on_fields: Callable[[dict[str, float]], Any] | None = None,
) -> BatchResult:
    """Run one batch; write its part atomically if it has a path, else return its table.

    ``on_fields`` receives the model's ``progress_fields`` whenever ``on_step`` is called."""
    started = time.perf_counter()
    model = get_model(task.model_name)
    identity = (
        task.run_b[:, None] if task.common_random_numbers else np.column_stack([task.subset_b, task.run_b])
    )
    rng = RandomStreams(task.seed, identity)
    params: Arrays = model.param_arrays(task.params, task.n_runs)
    state = model.initial_state(params, task.initial_state, rng)
    times, columns = simulate(
        model,
        params,
        state,
        rng,
        task.steps,
        task.record_every,
        task.strict,
        on_step=on_step,
        run_labels=(task.subset_b, task.run_b),
        on_fields=on_fields,
    )
    table = tidy_table(times, columns, task)
    final = None
    if model.final_state:
        final = {
            "subset": task.subset_b,
            "run": task.run_b,
            **{out: np.asarray(state[var]) for out, var in model.final_state.items()},
        }
    if task.part_path is None:
        return BatchResult(
            task.index, table.num_rows, time.perf_counter() - started, table=table, final=final
        )
    path = Path(task.part_path)
    if final is not None:  # written before the part, so a finished part always has its final state
        final_tmp = path.with_name(f".{path.stem}.final.{os.getpid()}.npz")
        np.savez_compressed(final_tmp, **final)
        os.replace(final_tmp, final_state_path(path))
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    # dictionary-encode only the columns that repeat (run labels, swept values): on the float state
    # columns it costs three times the write and saves nothing; lz4 is the fastest codec both ways
    repeating = ["subset", "run", "timestep", *task.swept]
    pq.write_table(table, tmp, compression="lz4", use_dictionary=repeating)
    os.replace(tmp, path)  # a part exists only once it is complete: resume trusts every part it sees
    return BatchResult(task.index, table.num_rows, time.perf_counter() - started, part_path=str(path))
