"""What a model is: typed parameters, a state of named arrays, an ordered step, recorded observables.

A model is data plus pure functions, written once for a batch of B runs:

- ``Param``: name, default, bounds, kind and a one-line meaning; parameters reach stages as (B,) arrays
  so sweeps are vectorized (a swept value differs along the run axis). A parameter the model needs as
  one value per batch (it sizes arrays, indexes a slice, picks a code path) is declared
  ``per_batch=True`` and reaches stages as a plain Python scalar; the planner cuts batches wherever it
  changes. Parameters named in a state shape or a schedule are per batch implicitly.
- ``Var``: a state variable, its initial value and per-run shape (``()`` for a scalar per run). A shape
  entry may name an integer parameter (``shape=("R", "G")``): it is resolved from the batch's values.
- ``Block``: stages that all read the same state and whose updates are applied together (cadCAD's
  partial state update block). A bare stage in ``Model.step`` is a block of one. A block may run on a
  schedule: ``Block(policy, every=3)`` at steps 3, 6, 9 …, ``offset=1`` at 1, 4, 7 …, ``at=(10, 20)``.
- ``Population`` (``engine.population``): named groups of per-agent state with an alive mask;
  ``static``: data shared by every run of a batch, held once; ``Invariant`` (``engine.invariants``):
  identities strict mode checks every step.
- A stage is ``stage(s, p, rng) -> dict[str, array]``: state ``s`` and parameters ``p`` are
  ``Arrays``; ``rng`` is the batch's ``RandomStreams``.
- ``observables``: derived quantities recorded next to the scalar state variables.

Figures, reports, progress fields and configuration adapters are not part of a model: they are
registered beside it (``econsim.models.registry.ModelExtras``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from econsim.engine.errors import ConfigError, unknown
from econsim.engine.state import Arrays, Params
from econsim.engine.streams import RandomStreams

if TYPE_CHECKING:
    from econsim.engine.invariants import Invariant
    from econsim.engine.population import Population

Stage = Callable[[Arrays, Arrays, RandomStreams], Mapping[str, np.ndarray]]
Observable = Callable[[Arrays, Arrays], np.ndarray]  # (B,) or (B, k): k recorded columns name_0 … name_{k-1}

_KINDS = ("float", "int", "bool", "choice", "text")


@dataclass(frozen=True)
class Param:
    """A model parameter: default, inclusive bounds, kind, and what it means."""

    name: str
    default: Any
    doc: str
    bounds: tuple[float | None, float | None] = (None, None)
    kind: str = "float"
    choices: tuple[str, ...] = ()
    #: one value per batch: stages receive a Python scalar, and batches are cut where it changes
    per_batch: bool = False

    def __post_init__(self) -> None:
        if self.kind not in _KINDS:
            raise ValueError(f"Param {self.name}: kind must be one of {_KINDS}")
        if self.kind == "choice" and self.default not in self.choices:
            raise ValueError(f"Param {self.name}: default {self.default!r} not in {self.choices}")

    def validate(self, value: Any, where: str = "") -> Any:
        """The value converted to this parameter's kind, or a ConfigError naming it and what is valid."""
        at = f"{where}{self.name}"
        if self.kind == "choice":
            if value not in self.choices:
                raise ConfigError(f"{at} = {value!r} is not valid; choose one of: {', '.join(self.choices)}")
            return value
        if self.kind == "text":  # a name or a file path, taken as it is
            if not isinstance(value, (str, np.str_)):
                raise ConfigError(f"{at} = {value!r} must be text (a string), got {type(value).__name__}")
            return str(value)
        if self.kind == "bool":
            if not isinstance(value, (bool, np.bool_)):
                raise ConfigError(f"{at} = {value!r} must be true or false")
            return bool(value)
        number = _finite_number(value, at, self.kind)
        if self.kind == "int":
            if not number.is_integer():
                raise ConfigError(f"{at} = {value!r} must be a whole number")
            value = int(value)
            if not -(2**63) <= value < 2**63:
                raise ConfigError(f"{at} = {value} is too large for a 64-bit integer")
        else:
            value = number
        return _in_bounds(value, self.bounds, at)

    @property
    def dtype(self) -> Any:
        return {"float": np.float64, "int": np.int64, "bool": np.bool_, "choice": np.str_, "text": np.str_}[
            self.kind
        ]

    def describe_bounds(self) -> str:
        if self.kind == "choice":
            return " | ".join(self.choices)
        if self.kind == "bool":
            return "true | false"
        if self.kind == "text":
            return "text"
        return _range_text(self.bounds)


def _finite_number(value: Any, at: str, kind: str = "float") -> float:
    """``value`` as a finite float, or a ConfigError: booleans, text, NaN and ±inf are refused."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ConfigError(f"{at} = {value!r} must be a number ({kind}), got {type(value).__name__}")
    try:
        number = float(value)
    except OverflowError:
        raise ConfigError(f"{at} = {value} is too large for a 64-bit float") from None
    if not math.isfinite(number):
        raise ConfigError(f"{at} = {value!r} is not a finite number")
    return number


def _in_bounds(value: Any, bounds: tuple[float | None, float | None], at: str) -> Any:
    low, high = bounds
    if (low is not None and value < low) or (high is not None and value > high):
        raise ConfigError(f"{at} = {value!r} is out of range; valid: {_range_text(bounds)}")
    return value


def _range_text(bounds: tuple[float | None, float | None]) -> str:
    low, high = bounds
    return f"[{'-inf' if low is None else low}, {'inf' if high is None else high}]"


@dataclass(frozen=True)
class Var:
    """A state variable: initial value and per-run shape (``()`` is one number per run)."""

    name: str
    initial: float
    doc: str
    shape: tuple[int | str, ...] = ()
    dtype: Any = np.float64
    #: inclusive bounds a value set or swept in a configuration must respect (the model may cross them)
    bounds: tuple[float | None, float | None] = (None, None)

    def validate(self, value: Any, where: str = "") -> float:
        """A scalar initial value as a float, or a ConfigError naming it and what is valid."""
        at = f"{where}{self.name}"
        return _in_bounds(_finite_number(value, at), self.bounds, at)

    def resolve_shape(self, sizes: Mapping[str, Any]) -> tuple[int, ...]:
        """The per-run shape with every named entry replaced by that parameter's value in ``sizes``."""
        out = []
        for dim in self.shape:
            if isinstance(dim, str):
                values = np.unique(np.asarray(sizes[dim]))  # a scalar (per batch) or a uniform column
                if values.size != 1:
                    raise ConfigError(
                        f"state variable '{self.name}' is sized by '{dim}', which must take one "
                        f"value within a batch; got {values.tolist()}"
                    )
                dim = int(values[0])
            out.append(int(dim))
        return tuple(out)


@dataclass(frozen=True)
class Block:
    """Stages that read the same state; their updates apply together once all have run.

    Schedule: the block runs at steps t = offset + k·every (k = 0, 1, …; t ≥ 1), or only at the steps
    listed in ``at``. ``every`` and ``offset`` may name an integer parameter (then per batch).
    """

    stages: tuple[Stage, ...]
    name: str = ""
    every: int | str = 1
    offset: int | str = 0
    at: tuple[int, ...] | None = None

    def __init__(
        self,
        *stages: Stage,
        name: str = "",
        every: int | str = 1,
        offset: int | str = 0,
        at: Sequence[int] | None = None,
    ) -> None:
        if not stages:
            raise ValueError("Block needs at least one stage")
        if isinstance(every, int) and every < 1:
            raise ValueError(f"Block every = {every} must be 1 or more")
        if isinstance(offset, int) and offset < 0:
            raise ValueError(f"Block offset = {offset} must be 0 or more")
        if at is not None and (every != 1 or offset != 0):
            raise ValueError("Block: give either at=(...) or every/offset, not both")
        object.__setattr__(self, "stages", tuple(stages))
        object.__setattr__(self, "name", name or "+".join(s.__name__ for s in stages))
        object.__setattr__(self, "every", every)
        object.__setattr__(self, "offset", offset)
        object.__setattr__(self, "at", None if at is None else tuple(sorted(int(t) for t in at)))

    def schedule_params(self) -> list[str]:
        """Parameters the schedule names (they take one value per batch)."""
        return [x for x in (self.every, self.offset) if isinstance(x, str)]

    def due(self, step: int, values: Mapping[str, Any]) -> bool:
        """Whether the block runs at ``step`` (1-based), schedule parameters taken from ``values``."""
        if self.at is not None:
            return step in self.at
        every = int(values[self.every]) if isinstance(self.every, str) else self.every
        offset = int(values[self.offset]) if isinstance(self.offset, str) else self.offset
        return step >= offset and (step - offset) % every == 0


@dataclass
class Model:
    """A model: parameters, state, the ordered step, and what is recorded (the economics only)."""

    name: str
    doc: str
    params: Sequence[Param]
    state: Sequence[Var]
    step: Sequence[Stage | Block]
    observables: Mapping[str, Observable] = field(default_factory=dict)
    #: builds the initial state for a batch when it is more than each Var's constant initial value
    init: Callable[[Arrays, Arrays, RandomStreams], Mapping[str, np.ndarray]] | None = None
    #: state kept at the end of every run, by output name: {"pop_age_final": "pop_ra"}
    final_state: Mapping[str, str] = field(default_factory=dict)
    # --- declarations of the engine (populations, static data, invariants) -------------------------
    #: named groups of per-agent state: arrays "<population>.<var>" (B, size, ...) and "<population>.alive"
    populations: Sequence[Population] = ()
    #: data shared by every run of a batch, computed once from the per-batch parameters (plain scalars):
    #: fn(p) -> {name: value}; stages read it as ``p.<name>`` (no run axis; arrays are read-only)
    static: Callable[[Arrays], Mapping[str, Any]] | None = None
    #: identities checked after every step in strict mode
    invariants: Sequence[Invariant] = ()
    #: array sizes that ``static`` derives from the per-batch parameters (e.g. a ledger's holder count,
    #: the sum of several population sizes): a state shape may name them as it names a parameter
    static_sizes: Sequence[str] = ()
    #: names of the k columns of a vector observable, in tables and figures: {"strategy_share":
    #: ("threshold", …)} records ``strategy_share_threshold`` …; unlabelled ones are ``name_0 … name_{k-1}``
    column_labels: Mapping[str, Sequence[str]] = field(default_factory=dict)
    #: an optional compiled equivalent of ``step`` over whole stretches of steps, for models whose
    #: per-step Python overhead dominates (``engine.simulation.Stretch`` says what it receives and must
    #: return); it must give the blocks' bits exactly. ``Simulation.run`` uses it where it applies.
    fast_steps: Callable[[Any], tuple[int, Mapping[str, np.ndarray]]] | None = None

    def columns_of(self, name: str, k: int) -> list[str]:
        """The recorded column names of observable ``name`` with ``k`` columns."""
        labels = self.column_labels.get(name)
        if labels is not None and len(labels) == k:
            return [f"{name}_{label}" for label in labels]
        return [f"{name}_{j}" for j in range(k)]

    def __post_init__(self) -> None:
        self.blocks: tuple[Block, ...] = tuple(b if isinstance(b, Block) else Block(b) for b in self.step)
        self.param_by_name = {p.name: p for p in self.params}
        if len(self.param_by_name) != len(self.params):
            # two modules declaring the same name would share one value, whichever default came last
            names = [p.name for p in self.params]
            twice = sorted({n for n in names if names.count(n) > 1})
            raise ValueError(f"model {self.name}: parameters declared twice: {', '.join(twice)}")
        #: every state variable: the plain ones, then each population's (prefixed) ones
        self.variables: tuple[Var, ...] = (
            *self.state,
            *(v for pop in self.populations for v in pop.state_vars()),
        )
        self.var_by_name = {v.name: v for v in self.variables}
        if len(self.var_by_name) != len(self.variables):
            raise ValueError(f"model {self.name}: a state variable is declared twice")
        both = set(self.param_by_name) & set(self.var_by_name)
        if both:
            raise ValueError(
                f"model {self.name}: names used for both a parameter and a state variable: {both}"
            )
        for pop in self.populations:
            clash = {pop.name} & (set(self.param_by_name) | set(self.var_by_name))
            if clash:
                raise ValueError(
                    f"model {self.name}: population name '{pop.name}' is also a parameter or variable"
                )
        derived = set(self.static_sizes)
        if derived and self.static is None:
            raise ValueError(f"model {self.name}: static_sizes {sorted(derived)} need a static function")
        self.per_batch: frozenset[str] = frozenset(
            {p.name for p in self.params if p.per_batch}
            | {d for v in self.variables for d in v.shape if isinstance(d, str) and d not in derived}
            | {x for pop in self.populations for x in (pop.active,) if isinstance(x, str)}
            | {x for b in self.blocks for x in b.schedule_params()}
        )
        for name in sorted(self.per_batch):
            if name not in self.param_by_name:
                raise ValueError(
                    f"model {self.name}: '{name}' sizes the state or a schedule but is no parameter"
                )
        self._static_cache: tuple[tuple, dict[str, Any]] | None = None

    # --- names -------------------------------------------------------------------------------------
    @property
    def recorded(self) -> list[str]:
        """Columns recorded each timestep: every scalar state variable, then the observables."""
        return [v.name for v in self.state if v.shape == ()] + list(self.observables)

    def param(self, name: str) -> Param:
        try:
            return self.param_by_name[name]
        except KeyError:
            raise unknown("parameter", name, self.param_by_name, where=f" of model '{self.name}'") from None

    def defaults(self) -> dict[str, Any]:
        return {p.name: p.default for p in self.params}

    # --- building a batch --------------------------------------------------------------------------
    def param_arrays(self, values: Mapping[str, Any], n_runs: int) -> Params:
        """The batch's parameters from ``values`` (scalars or (B,) arrays; the default elsewhere):
        per-run parameters as (B,) arrays, per-batch ones as Python scalars, then the static data."""
        out = Params(n_runs=n_runs)
        for p in self.params:
            v = values.get(p.name, p.default)
            arr = np.asarray(v, dtype=p.dtype)
            if p.name in self.per_batch:
                distinct = np.unique(arr)
                if distinct.size != 1:
                    raise ConfigError(
                        f"parameter '{p.name}' of model '{self.name}' takes one value per batch; this batch "
                        f"has {distinct.tolist()} (the planner cuts batches where it changes)"
                    )
                out[p.name] = distinct[0].item()
            else:
                out[p.name] = np.broadcast_to(arr, (n_runs,)).copy() if arr.ndim == 0 else arr
        if self.static is not None:
            out.update(self.static_data(out))
        return out

    def shape_sizes(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """``values`` (every per-batch parameter) plus the ``static_sizes`` the static data derives from
        them: what state shapes are resolved against when planning."""
        sizes = dict(values)
        if self.static is not None and self.static_sizes:
            sizes.update(self.static_data(Params({k: sizes[k] for k in self.per_batch}, n_runs=1)))
        return sizes

    def static_data(self, p: Params) -> dict[str, Any]:
        """The model's static data for the per-batch values in ``p``, computed once and reused by
        consecutive batches with the same values; arrays are read-only (every run shares them)."""
        assert self.static is not None
        batch = Arrays({k: p[k] for k in sorted(self.per_batch)})
        key = tuple(batch.items())
        if self._static_cache is None or self._static_cache[0] != key:
            data = dict(self.static(batch))
            missing = sorted(set(self.static_sizes) - set(data))
            if missing:
                raise ValueError(f"model {self.name}: static data lacks the declared static_sizes {missing}")
            clash = set(data) & (set(self.param_by_name) | set(self.var_by_name))
            if clash:
                raise ValueError(
                    f"model {self.name}: static data names {sorted(clash)} are parameters or variables"
                )
            for value in data.values():
                if isinstance(value, np.ndarray):
                    value.flags.writeable = False
            self._static_cache = (key, data)
        return self._static_cache[1]

    def initial_state(self, p: Arrays, overrides: Mapping[str, Any], rng: RandomStreams) -> Arrays:
        """The state at timestep 0: each Var's initial value, the model's ``init`` hook, then overrides."""
        n = p.n_runs
        s = Arrays(
            {v.name: np.full((n, *v.resolve_shape(p)), v.initial, dtype=v.dtype) for v in self.variables}
        )
        for pop in self.populations:
            if pop.active is not None:
                active = p[pop.active] if isinstance(pop.active, str) else pop.active
                size = s[pop.alive].shape[1]
                s[pop.alive] = np.arange(size)[None, :] < np.reshape(np.asarray(active), (-1, 1))
                s[pop.alive] = np.broadcast_to(s[pop.alive], (n, size)).copy()
        if self.init is not None:
            s.update(self.init(s, p, rng))
        for name, value in overrides.items():
            var = self.var_by_name[name]
            shape = var.resolve_shape(p)
            s[name] = np.broadcast_to(
                np.asarray(value, dtype=var.dtype).reshape((-1,) + (1,) * len(shape))
                if np.ndim(value)
                else np.asarray(value, dtype=var.dtype),
                (n, *shape),
            ).copy()
        return s

    def observe(self, s: Arrays, p: Arrays) -> dict[str, np.ndarray]:
        """The recorded columns for the current state: name -> (B,) array, or (B, k) for k columns."""
        out = {v.name: s[v.name] for v in self.state if v.shape == ()}
        for name, fn in self.observables.items():
            out[name] = np.asarray(fn(s, p), dtype=np.float64)
        return out
