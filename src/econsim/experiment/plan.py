"""From a configuration to the list of runs and the batches they are computed in.

Runs are numbered subset-major: global run g is Monte Carlo repetition ``g % runs`` of sweep point
(subset) ``g // runs``. A batch is a contiguous range of global runs sized to a memory budget; all runs
of a batch step together along the leading array axis.
"""

from __future__ import annotations

import itertools
import math
import secrets
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from econsim.engine.errors import ConfigError, unknown
from econsim.engine.model import Model
from econsim.engine.stepping import record_steps
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
    sizes = sizes or {**model.defaults(), **config.params}
    state_elems = sum(math.prod(v.resolve_shape(sizes)) for v in model.variables)
    n_records = len(record_steps(config.steps, config.record_every))
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
    plan.batches = cut_batches(model, config, plan, workers)
    return plan


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
        size = batch_size_for(model, config, plan.n_runs_total, workers, sizes)
        batches += [(a, min(a + size, hi)) for a in range(lo, hi, size)]
    return batches
