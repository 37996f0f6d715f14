"""A cadCAD experiment as plain data: its models, its sweep points and the list of runs to execute.

cadCAD describes an experiment through ``Experiment.append_model`` (or ``config_sim``); radCAD through
``Experiment``/``Simulation``/``Model``; econsim's ``run()`` through keyword arguments. Each is turned
into one ``Spec`` here, with cadCAD 0.5.3's rules for everything that shows in the results:

- sweep points: lists in the parameter dict zip into subsets, length-1 lists broadcast, and a dict
  without lists is one subset whose values are passed as they are (``config_sim``);
- run numbering: ``run`` counts 1..N within each subset, except that with N = 1 it counts the subsets
  1, 2, 3, ... (``Experiment.append_model``);
- blocks: every block gets every policy and every variable named in any block; the missing ones are
  identities (policy ``{'identity': 0}``, variable unchanged), so policy inputs carry that key and
  policies are aggregated in the order of the union of names (``Processor.generate_config``).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from econsim.engine.errors import ConfigError

IDENTITY_POLICY_INPUT = {"identity": 0}
INDEX_COLUMNS = ["simulation", "subset", "run", "substep", "timestep"]


def identity_policy(params, substep, state_history, previous_state):
    """cadCAD's stand-in for a policy a block does not have."""
    return IDENTITY_POLICY_INPUT


@dataclass(frozen=True)
class Block:
    """One partial state update block: its policies in aggregation order and its update functions."""

    policies: tuple[Callable, ...]
    updates: tuple[Callable, ...]


@dataclass(frozen=True)
class Model:
    """What evolves: the initial state, the blocks, how policy outputs combine, environment processes."""

    initial_state: dict[str, Any]
    blocks: tuple[Block, ...]
    policy_ops: tuple[Callable, ...] = (operator.add,)
    env_processes: dict[str, Any] = field(default_factory=dict)

    @property
    def state_names(self) -> list[str]:
        return list(self.initial_state)


@dataclass(frozen=True)
class RunSpec:
    """One Monte Carlo run: its labels in the results and what it executes."""

    simulation: int
    subset: int
    run: int
    model: int  # index into Spec.models
    point: int  # index into Spec.points (the parameter dict of this sweep point)
    time_seq: tuple[int, ...]  # the timestep labels, cadCAD's ``[t + 1 for t in T]``


@dataclass(frozen=True)
class Spec:
    models: tuple[Model, ...]
    points: tuple[Any, ...]  # one parameter dict per (simulation, subset)
    point_ids: tuple[tuple[int, int], ...]  # (simulation, subset) of each point
    runs: tuple[RunSpec, ...]

    @property
    def n_steps(self) -> int:
        return max((len(r.time_seq) for r in self.runs), default=0)

    def swept(self) -> dict[str, list[Any]]:
        """Parameter names whose scalar value differs between sweep points, with the value per point."""
        dicts = [p for p in self.points if isinstance(p, Mapping)]
        if len(dicts) < 2 or len(dicts) != len(self.points):
            return {}
        names = [k for k in dicts[0] if all(k in d for d in dicts)]
        out = {}
        for k in names:
            values = [d[k] for d in dicts]
            if (
                all(isinstance(v, (bool, int, float, str)) for v in values)
                and len({repr(v) for v in values}) > 1
            ):
                out[k] = values
        return out


# --------------------------------------------------------------------------- blocks


def normalize_blocks(partial_state_update_blocks: Any) -> tuple[Block, ...]:
    """cadCAD's block list (or the legacy dict of named blocks, 'behaviors'/'states' keys) as Blocks."""
    raw = partial_state_update_blocks
    if isinstance(raw, Mapping):
        raw = list(raw.values())
    if not isinstance(raw, Sequence) or not raw:
        raise ConfigError(
            "partial_state_update_blocks must be a non-empty list of blocks "
            "({'policies': {...}, 'variables': {...}})"
        )
    blocks = []
    for i, b in enumerate(raw):
        if not isinstance(b, Mapping):
            raise ConfigError(f"partial state update block {i} is a {type(b).__name__}, not a dict")
        unknown_keys = set(b) - {"policies", "variables", "behaviors", "states", "label"}
        if unknown_keys:
            raise ConfigError(
                f"partial state update block {i} has unknown keys {sorted(unknown_keys)}; "
                "valid: policies, variables"
            )
        blocks.append(
            (
                dict(b.get("policies", b.get("behaviors", {})) or {}),
                dict(b.get("variables", b.get("states", {})) or {}),
            )
        )
    policy_names = _union(p for p, _ in blocks)
    out = []
    for policies, variables in blocks:
        if policy_names:
            chosen = tuple(policies.get(name, identity_policy) for name in policy_names)
        else:  # no block has a policy: cadCAD runs one identity per block in every block
            chosen = (identity_policy,) * len(blocks)
        # a variable a block does not update keeps its value: nothing to call
        out.append(Block(policies=chosen, updates=tuple(variables.values())))
    return tuple(out)


def _union(dicts) -> list[str]:
    names: dict[str, None] = {}
    for d in dicts:
        names.update(dict.fromkeys(d))
    return list(names)


def _is_cadcad_default_op(op: Callable) -> bool:
    """cadCAD's default ``policy_ops`` entry is a module-level ``lambda a, b: a + b``: the same as
    ``operator.add``, which (unlike the lambda) can be pickled to workers."""
    return getattr(op, "__name__", "") == "<lambda>" and str(getattr(op, "__module__", "")).startswith(
        "cadCAD"
    )


def make_model(
    initial_state: Mapping[str, Any],
    partial_state_update_blocks: Any,
    policy_ops: Sequence[Callable] | None = None,
    env_processes: Mapping | None = None,
) -> Model:
    if not isinstance(initial_state, Mapping) or not initial_state:
        raise ConfigError("initial_state must be a non-empty dict of state variables")
    ops = (
        tuple(operator.add if _is_cadcad_default_op(op) else op for op in policy_ops)
        if policy_ops
        else (operator.add,)
    )
    return Model(
        initial_state=dict(initial_state),
        blocks=normalize_blocks(partial_state_update_blocks),
        policy_ops=ops,
        env_processes=dict(env_processes or {}),
    )


# --------------------------------------------------------------------------- sweeps


def sweep_points(params: Mapping[str, Any] | None) -> list[Any]:
    """cadCAD's ``config_sim`` sweep: one parameter dict per subset.

    Only ``list`` values sweep (tuples and arrays are single values, as in cadCAD). Lists must all have
    the same length, or length 1 (broadcast).
    """
    if not params:
        return [{}]
    lengths = {k: len(v) if type(v) is list else 0 for k, v in params.items()}
    distinct = set(lengths.values())
    if distinct == {0}:
        return [dict(params)]
    if 0 in distinct:
        scalars = sorted(k for k, n in lengths.items() if n == 0)
        raise ConfigError(
            f"params mixes lists and single values ({', '.join(scalars)}); as in cadCAD, "
            "wrap single values in a one-element list"
        )
    if len(distinct - {1}) > 1:
        raise ConfigError(
            f"swept parameter lists must have equal length or length 1, got lengths "
            f"{ {k: n for k, n in lengths.items() if n != 1} }"
        )
    n = max(distinct)
    return [{k: (v[i] if len(v) == n else v[-1]) for k, v in params.items()} for i in range(n)]


def run_numbers(n_subsets: int, n_runs: int) -> list[tuple[int, int]]:
    """(subset, run) of every run of one cadCAD model, in execution order."""
    if n_runs < 1:
        raise ConfigError(f"runs must be >= 1, got {n_runs}")
    if n_runs == 1:  # cadCAD numbers single runs across the subsets
        return [(s, s + 1) for s in range(n_subsets)]
    return [(s, n + 1) for s in range(n_subsets) for n in range(n_runs)]


def time_labels(timesteps: int | range | Sequence[int]) -> tuple[int, ...]:
    seq = range(timesteps) if isinstance(timesteps, int) else timesteps
    return tuple(int(t) + 1 for t in seq)


# --------------------------------------------------------------------------- builders


def from_arguments(
    initial_state,
    partial_state_update_blocks,
    params=None,
    runs: int = 1,
    timesteps: int | range = 100,
    policy_ops=None,
    env_processes=None,
) -> Spec:
    model = make_model(initial_state, partial_state_update_blocks, policy_ops, env_processes)
    points = sweep_points(params)
    labels = time_labels(timesteps)
    run_specs = tuple(RunSpec(0, s, r, 0, s, labels) for s, r in run_numbers(len(points), runs))
    return Spec(
        models=(model,),
        points=tuple(points),
        point_ids=tuple((0, s) for s in range(len(points))),
        runs=run_specs,
    )


def from_cadcad(experiment: Any) -> Spec:
    """A configured ``cadCAD.configuration.Experiment`` (or its ``configs`` list), run by run as cadCAD would."""
    configs = list(getattr(experiment, "configs", experiment))
    if not configs:
        raise ConfigError("the cadCAD experiment has no configurations: call append_model first")
    models: list[Model] = []
    model_of: dict[int, int] = {}
    points: list[Any] = []
    point_of: dict[tuple[int, int], int] = {}
    runs = []
    for c in configs:
        if getattr(c, "exogenous_states", None):
            raise ConfigError("exogenous_states (deprecated in cadCAD) are not supported; use a policy")
        sim = int(c.simulation_id)
        if sim not in model_of:
            model_of[sim] = len(models)
            models.append(
                make_model(c.initial_state, c.partial_state_update_blocks, c.policy_ops, c.env_processes)
            )
        key = (sim, int(c.subset_id))
        if key not in point_of:
            point_of[key] = len(points)
            points.append(c.sim_config["M"])
        runs.append(
            RunSpec(
                sim,
                int(c.subset_id),
                int(c.run_id) + 1,
                model_of[sim],
                point_of[key],
                time_labels(c.sim_config["T"]),
            )
        )
    return Spec(models=tuple(models), points=tuple(points), point_ids=tuple(point_of), runs=tuple(runs))


def from_radcad(experiment: Any) -> Spec:
    """A radCAD ``Experiment`` or ``Simulation``: simulation index, sweep subset, runs 1..N."""
    from radcad.utils import generate_parameter_sweep

    simulations = experiment.get_simulations() if hasattr(experiment, "get_simulations") else [experiment]
    models: list[Any] = []
    points: list[Any] = []
    point_ids: list[Any] = []
    runs: list[Any] = []
    for sim, simulation in enumerate(simulations):
        m = simulation.model
        models.append(make_model(m.initial_state, m.state_update_blocks))
        labels = time_labels(simulation.timesteps)
        for subset, p in enumerate(generate_parameter_sweep(m.params) or [{}]):
            point_ids.append((sim, subset))
            points.append(p)
            runs.extend(
                RunSpec(sim, subset, r + 1, sim, len(points) - 1, labels) for r in range(simulation.runs)
            )
    return Spec(models=tuple(models), points=tuple(points), point_ids=tuple(point_ids), runs=tuple(runs))


def is_cadcad_experiment(obj: Any) -> bool:
    configs = getattr(obj, "configs", obj)
    return (
        isinstance(configs, list)
        and bool(configs)
        and all(type(c).__module__.startswith("cadCAD") for c in configs)
    )


def is_radcad_experiment(obj: Any) -> bool:
    return type(obj).__module__.startswith("radcad") and type(obj).__name__ in ("Experiment", "Simulation")
