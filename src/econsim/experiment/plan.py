"""From a configuration to the list of runs and the batches they are computed in.

Runs are numbered subset-major: global run g is Monte Carlo repetition ``g % runs`` of sweep point
(subset) ``g // runs``. A batch is a contiguous range of global runs sized to a memory budget; all runs
of a batch step together along the leading array axis.
"""

from __future__ import annotations

import itertools
import math
import os
import secrets
import shutil
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from econsim.engine.errors import ConfigError, unknown
from econsim.engine.model import Model
from econsim.engine.stepping import record_count
from econsim.experiment.config import ExperimentConfig, Range
from econsim.models.registry import get_model


@dataclass
class Plan:
    """A resolved experiment: the sweep points, the runs and the batches, ready to execute."""

    config: ExperimentConfig
    model_name: str
    seed: int
    swept: list[str]
    #: one dict per subset: swept name -> value
    subsets: list[dict[str, Any]]
    fixed_params: dict[str, Any]
    initial_state: dict[str, Any]
    batches: list[tuple[int, int]] = field(default_factory=list)

    @property
    def model(self) -> Model:
        return get_model(self.model_name)

    @property
    def runs(self) -> int:
        return self.config.runs

    @property
    def n_runs_total(self) -> int:
        return len(self.subsets) * self.config.runs

    def subset_and_run(self, start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
        g = np.arange(start, stop)
        return g // self.config.runs, g % self.config.runs

    def batch_inputs(self, start: int, stop: int) -> tuple[dict[str, Any], dict[str, Any]]:
        """Parameter values and initial-state overrides of runs [start, stop): scalars or (B,) arrays."""
        model = self.model
        subset_b, _ = self.subset_and_run(start, stop)
        params: dict[str, Any] = dict(self.fixed_params)
        state: dict[str, Any] = dict(self.initial_state)
        for name in self.swept:
            column = [self.subsets[s][name] for s in range(len(self.subsets))]
            values_b = np.asarray(column)[subset_b]
            (params if name in model.param_by_name else state)[name] = values_b
        return params, state


def _sweep_values(name: str, values: Any) -> list[Any]:
    return values.values() if isinstance(values, Range) else list(values)


def _check_name(model: Model, name: str, where: str) -> str:
    if name in model.param_by_name:
        return "param"
    if name in model.var_by_name:
        if model.var_by_name[name].shape != ():
            raise ConfigError(f"{where}{name}: only scalar state variables can be set or swept")
        return "state"
    raise unknown(
        "parameter or state variable",
        name,
        [*model.param_by_name, *model.var_by_name],
        where=f" in {where.rstrip('.')} of model '{model.name}'",
    )


def _check_value(model: Model, name: str, value: Any, where: str) -> Any:
    if _check_name(model, name, where) == "param":
        return model.param(name).validate(value, where)
    return model.var_by_name[name].validate(value, where)


def expand_sweep(model: Model, config: ExperimentConfig) -> tuple[list[str], list[dict[str, Any]]]:
    """The swept names and one dict of values per sweep point (grid order: first key slowest)."""
    grid = {
        k: [_check_value(model, k, v, "sweep.grid.") for v in _sweep_values(k, vals)]
        for k, vals in config.sweep.grid.items()
    }
    zipped = {
        k: [_check_value(model, k, v, "sweep.zip.") for v in vals] for k, vals in config.sweep.zip.items()
    }
    n_zip = max((len(v) for v in zipped.values()), default=1)
    zip_points = [{k: v[i] if len(v) > 1 else v[0] for k, v in zipped.items()} for i in range(n_zip)]
    subsets = []
    for combo in itertools.product(*grid.values()):
        point = dict(zip(grid, combo, strict=True))
        for z in zip_points:
            subsets.append({**point, **z})
    return [*grid, *zipped], subsets


def batch_size_for(
    model: Model,
    config: ExperimentConfig,
    n_runs_total: int,
    workers: int,
    sizes: dict[str, Any] | None = None,
) -> int:
    """Runs per batch: as many as fit the memory budget, and enough batches to feed every worker.

    ``sizes`` gives the values of the parameters that size state arrays (default: the configuration's).
    """
    sizes = model.shape_sizes(sizes or {**model.defaults(), **config.params})
    state_elems = sum(math.prod(v.resolve_shape(sizes)) for v in model.variables)
    n_records = record_count(config.steps, config.record_every)
    n_columns = len(model.recorded) + 3 + len(config.sweep.grid) + len(config.sweep.zip)
    # live state plus temporaries of a step (~8 arrays) + records, their table and its parquet encoding (~3x)
    bytes_per_run = 8 * (8 * state_elems + 3 * n_records * n_columns)
    by_memory = max(1, int(config.memory_budget_mb * 2**20 // bytes_per_run))
    if workers > 1:
        by_memory = min(by_memory, max(1, math.ceil(n_runs_total / (4 * workers))))
    return by_memory


def make_plan(config: ExperimentConfig, workers: int = 1) -> Plan:
    """Check the configuration against its model and cut the experiment into batches."""
    model = get_model(config.model)
    fixed = {k: _check_value(model, k, v, "params.") for k, v in config.params.items()}
    for k in fixed:
        if k not in model.param_by_name:
            raise ConfigError(f"params.{k}: '{k}' is a state variable; set it under initial_state")
    initial = {k: _check_value(model, k, v, "initial_state.") for k, v in config.initial_state.items()}
    for k in initial:
        if k not in model.var_by_name:
            raise ConfigError(f"initial_state.{k}: '{k}' is a parameter; set it under params")
    swept, subsets = expand_sweep(model, config)
    seed = config.seed if config.seed is not None else secrets.randbits(63)
    plan = Plan(
        config=config,
        model_name=config.model,
        seed=seed,
        swept=swept,
        subsets=subsets,
        fixed_params=fixed,
        initial_state=initial,
    )
    check_size(model, config, plan)
    plan.batches = cut_batches(model, config, plan, workers)
    return plan


class ExperimentTooLargeError(ConfigError):
    """The experiment cannot be done as configured: too many runs, or more than memory or disk hold."""


#: runs × steps above this is refused: days of computing even for the fastest model (split the experiment)
MAX_RUN_STEPS = 10**12
#: run and sweep-point labels are int32 columns and 32-bit words of the random streams' identities
MAX_LABEL = 2**31 - 1
#: share of the free disk (or, without an out folder, of the available memory) the output may take
OUTPUT_SHARE = 0.9


@dataclass(frozen=True)
class SizeEstimate:
    """What an experiment will take, estimated before any work."""

    n_runs: int
    run_steps: int
    #: bytes of one run's state with a step's temporaries (the largest sweep point's sizes)
    state_bytes_per_run: int
    output_rows: int
    output_bytes: int

    def describe(self) -> str:
        return (
            f"{self.n_runs:,} run(s), {self.run_steps:,} run-steps, {_bytes(self.state_bytes_per_run)} of state "
            f"per run, {self.output_rows:,} output rows (~{_bytes(self.output_bytes)})"
        )


def estimate_size(model: Model, config: ExperimentConfig, plan: Plan) -> SizeEstimate:
    """Runs × steps, the state of one run, and the rows and bytes of the recorded output."""
    n_runs = plan.n_runs_total
    per_batch = [name for name in plan.swept if name in model.per_batch]
    combos = {tuple(s[k] for k in per_batch) for s in plan.subsets} if per_batch else {()}
    base = {**model.defaults(), **plan.fixed_params}
    state_elems = max(
        sum(
            math.prod(v.resolve_shape(model.shape_sizes({**base, **dict(zip(per_batch, c, strict=True))})))
            for v in model.variables
        )
        for c in combos
    )
    rows = n_runs * record_count(config.steps, config.record_every)
    n_columns = len(model.recorded) + 3 + len(plan.swept)
    return SizeEstimate(
        n_runs=n_runs,
        run_steps=n_runs * config.steps,
        state_bytes_per_run=8 * 8 * state_elems,
        output_rows=rows,
        output_bytes=8 * rows * n_columns,
    )


def check_size(model: Model, config: ExperimentConfig, plan: Plan) -> SizeEstimate:
    """Refuse, before any work, an experiment that cannot be done: an ``ExperimentTooLargeError``
    naming what is too large and by how much."""
    est = estimate_size(model, config, plan)
    what = f"this experiment ({est.describe()})"
    if config.runs > MAX_LABEL or len(plan.subsets) > MAX_LABEL:
        raise ExperimentTooLargeError(
            f"runs = {config.runs:,} × {len(plan.subsets):,} sweep point(s): at most {MAX_LABEL:,} of each "
            "(runs are labelled by 32-bit numbers)"
        )
    if est.run_steps > MAX_RUN_STEPS:
        raise ExperimentTooLargeError(
            f"{what} has more than {MAX_RUN_STEPS:.0e} run-steps (runs × steps); split it into smaller "
            "experiments (fewer runs or steps each)"
        )
    memory = available_memory()
    if memory is not None and est.state_bytes_per_run > memory:
        raise ExperimentTooLargeError(
            f"{what}: one run's state needs {_bytes(est.state_bytes_per_run)}, more than the "
            f"{_bytes(memory)} of memory available, even one run per batch; use smaller sizes"
        )
    if config.out:
        free = free_disk(config.out)
        if free is not None and est.output_bytes > OUTPUT_SHARE * free:
            raise ExperimentTooLargeError(
                f"{what}: its output (~{_bytes(est.output_bytes)}) would not fit the {_bytes(free)} free "
                f"for '{config.out}'; record less often (record_every), or fewer runs or steps"
            )
    elif memory is not None and est.output_bytes > OUTPUT_SHARE * memory:
        raise ExperimentTooLargeError(
            f"{what}: its output (~{_bytes(est.output_bytes)}) is kept in memory without an out folder and "
            f"would not fit the {_bytes(memory)} available; give an out folder, or record less often"
        )
    return est


def available_memory() -> int | None:
    """Bytes of memory available to new work (Linux's MemAvailable; else physical memory), if known."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def free_disk(folder: str) -> int | None:
    """Free bytes on the disk that holds ``folder`` (or its nearest existing parent), if known."""
    path = os.path.abspath(folder)
    while not os.path.exists(path) and os.path.dirname(path) != path:
        path = os.path.dirname(path)
    try:
        return shutil.disk_usage(path).free
    except OSError:
        return None


def _bytes(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB", "TB", "PB"):
        if n < 1000 or unit == "PB":
            return f"{n:.3g} {unit}"
        n /= 1000
    return f"{n:.3g} PB"


def cut_batches(model: Model, config: ExperimentConfig, plan: Plan, workers: int) -> list[tuple[int, int]]:
    """Batches over the global runs: cut by the memory budget, and wherever a sweep changes a per-batch
    parameter (one that sizes the state, or is declared ``per_batch``: a batch holds one value of it)."""
    per_batch = [name for name in plan.swept if name in model.per_batch]
    groups: list[tuple[int, int]] = []  # runs of consecutive subsets that agree on every per-batch value
    start = 0
    for i in range(1, len(plan.subsets) + 1):
        if i == len(plan.subsets) or any(plan.subsets[i][k] != plan.subsets[start][k] for k in per_batch):
            groups.append((start, i))
            start = i
    batches = []
    for first, last in groups:
        sizes = {**model.defaults(), **plan.fixed_params, **plan.subsets[first]}
        lo, hi = first * config.runs, last * config.runs
        # a partitioned run is a batch of its own: its partitions are the parallelism
        size = (
            1 if config.partitions > 1 else batch_size_for(model, config, plan.n_runs_total, workers, sizes)
        )
        batches += [(a, min(a + size, hi)) for a in range(lo, hi, size)]
    return batches
