"""One batch of runs: build its parameters, state and streams, step it, and tabulate the records.

A batch is the unit of work every executor ships: it is self-contained and picklable, it writes its
own sealed Parquet part when given a target (``store.write_part``), and it returns that part's path
(never the data) with its row count.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from econsim.engine.errors import ConfigError
from econsim.engine.partition.runtime import PartitionedSimulation
from econsim.engine.simulation import Simulation
from econsim.experiment.checkpoint import run_with_checkpoints
from econsim.experiment.store import PartTarget, write_part
from econsim.models.registry import ModelSource, builtin_model_names, get_extras, get_model


@dataclass(frozen=True)
class BatchTask:
    """Global runs [start, stop) of a plan, in a size that does not grow with the runs: the run labels
    (subset g // runs, run g % runs) and the swept values per run are computed from the range."""

    index: int
    model_name: str
    seed: int
    start: int
    stop: int
    #: Monte Carlo runs per sweep point
    runs: int
    #: fixed parameter values and initial-state overrides (scalars)
    params: dict[str, Any]
    initial_state: dict[str, Any]
    #: swept name -> its value at each sweep point the batch covers (subset ``first_subset`` on)
    subset_values: dict[str, list[Any]]
    #: the swept names that are state variables (the others are parameters)
    swept_state: tuple[str, ...]
    steps: int
    record_every: int
    strict: bool
    common_random_numbers: bool
    #: where the batch's part goes (None: the table comes back in memory)
    part: PartTarget | None = None
    #: how a worker process registers the model (``models.registry.ModelSource``); None in this process
    model_source: ModelSource | None = None
    #: partitions of the (single) run, their method, where they run (local | ray) and the Ray cluster
    partitions: int = 1
    partition_method: str = "metis"
    partition_backend: str = "local"
    address: str | None = None

    @property
    def n_runs(self) -> int:
        return self.stop - self.start

    @property
    def first_subset(self) -> int:
        return self.start // self.runs

    @property
    def subset_b(self) -> np.ndarray:
        return np.arange(self.start, self.stop) // self.runs

    @property
    def run_b(self) -> np.ndarray:
        return np.arange(self.start, self.stop) % self.runs

    @property
    def swept(self) -> dict[str, np.ndarray]:
        """Each swept value per run: (B,) arrays."""
        index_b = self.subset_b - self.first_subset
        return {name: np.asarray(values)[index_b] for name, values in self.subset_values.items()}

    def inputs(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """Parameter values and initial-state overrides of the batch's runs: scalars or (B,) arrays."""
        params, state = dict(self.params), dict(self.initial_state)
        for name, values_b in self.swept.items():
            (state if name in self.swept_state else params)[name] = values_b
        return params, state


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
    # a float column that is a (T, B) view of the simulation's (K, B, T) record block is read as it lies
    # (no copy); any other is transposed into one (K, B, T) block: one allocation instead of one per
    # column (each a fresh mapping to fault in) makes the transposes several times faster
    model = get_model(task.model_name)
    flat = [
        (model.columns_of(name, v.shape[2])[j] if v.ndim == 3 else name, v[:, :, j] if v.ndim == 3 else v)
        for name, v in columns.items()
        for j in range(v.shape[2] if v.ndim == 3 else 1)  # a vector observable (T, B, k): k named columns
    ]
    by_name = {n: v.T.reshape(-1) for n, v in flat if v.dtype == np.float64 and v.T.flags.c_contiguous}
    floats = [(n, v) for n, v in flat if v.dtype == np.float64 and n not in by_name]
    block_kbt = np.empty((len(floats), n_b, n_t), dtype=np.float64)
    for i, (name, values_tb) in enumerate(floats):
        block_kbt[i] = values_tb.T
        by_name[name] = block_kbt[i].reshape(-1)
    for name, values_tb in flat:
        data[name] = by_name[name] if name in by_name else np.ascontiguousarray(values_tb.T).reshape(-1)
    for name, values_b in task.swept.items():
        data[name] = np.repeat(values_b, n_t)
    return pa.table(data)


def execute_batch(
    task: BatchTask,
    on_step: Callable[[int], Any] | None = None,
    on_fields: Callable[[dict[str, float]], Any] | None = None,
) -> BatchResult:
    """Run one batch; write its part atomically if it has a path, else return its table.

    ``on_fields`` receives the model's progress fields (``ModelExtras.progress_fields``) whenever
    ``on_step`` is called."""
    started = time.perf_counter()
    sim = simulation_of(task)
    try:
        return _execute(task, sim, started, on_step, on_fields)
    finally:
        if isinstance(sim, PartitionedSimulation):
            sim.close()


def partitioner_path(model_name: str) -> str:
    """The model's partitioner ("module:factory"), or a ConfigError naming the models that have one."""
    path = get_extras(model_name).partitioner
    if path is None:
        raise ConfigError(
            f"model '{model_name}' cannot be split over partitions; models that can: "
            + ", ".join(n for n in builtin_model_names() if get_extras(n).partitioner is not None)
        )
    return path


def simulation_of(task: BatchTask) -> Simulation:
    """The batch's simulation: in this process, or split over partitions when the task says so."""
    model = get_model(task.model_name)
    if task.partitions <= 1:
        return Simulation.from_task(task, model)
    params, initial_state = task.inputs()
    return PartitionedSimulation(
        model,
        params,
        partitioner=partitioner_path(task.model_name),
        partitions=task.partitions,
        method=task.partition_method,
        backend=task.partition_backend,
        address=task.address,
        seed=task.seed,
        initial_state=initial_state,
        subset=task.subset_b,
        run=task.run_b,
        common_random_numbers=task.common_random_numbers,
        strict=task.strict,
        record_every=task.record_every,
        validate=False,
    )


def _execute(
    task: BatchTask,
    sim: Simulation,
    started: float,
    on_step: Callable[[int], Any] | None,
    on_fields: Callable[[dict[str, float]], Any] | None,
) -> BatchResult:
    fields = get_extras(task.model_name).progress_fields if on_fields is not None else None
    if task.part is not None and task.part.checkpoints:
        times, columns = run_with_checkpoints(sim, task.part, task.steps, on_step, on_fields, fields)
    else:
        times, columns = sim.run(task.steps, on_step=on_step, on_fields=on_fields, progress_fields=fields)
    model, state = sim.model, sim.state
    table = tidy_table(times, columns, task)
    final = None
    if model.final_state:
        final = {
            "subset": task.subset_b,
            "run": task.run_b,
            **{out: np.asarray(state[var]) for out, var in model.final_state.items()},
        }
    if task.part is None:
        return BatchResult(
            task.index, table.num_rows, time.perf_counter() - started, table=table, final=final
        )
    # dictionary-encode only the columns that repeat (run labels, swept values): on the float state
    # columns it costs three times the write and saves nothing; lz4 is the fastest codec both ways
    repeating = ["subset", "run", "timestep", *task.swept]
    write_part(task.part, table, final, use_dictionary=repeating)
    return BatchResult(task.index, table.num_rows, time.perf_counter() - started, part_path=task.part.path)
