"""What a model is: typed parameters, a state of named arrays, an ordered step, recorded observables.

A model is data plus pure functions, written once for a batch of B runs:

- ``Param``: name, default, bounds, kind and a one-line meaning; parameters reach stages as (B,) arrays
  so sweeps are vectorized (a swept value differs along the run axis).
- ``Var``: a state variable, its initial value and per-run shape (``()`` for a scalar per run). A shape
  entry may name an integer parameter (``shape=("R", "G")``): it is resolved from the batch's values.
- ``Block``: stages that all read the same state and whose updates are applied together (cadCAD's
  partial state update block). A bare stage in ``Model.step`` is a block of one.
- A stage is ``stage(s, p, rng) -> dict[str, array]``: state ``s`` and parameters ``p`` are
  ``Arrays``; ``rng`` is the batch's ``RandomStreams``.
- ``observables``: derived quantities recorded next to the scalar state variables.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from econsim.engine.errors import ConfigError, unknown
from econsim.engine.state import Arrays
from econsim.engine.streams import RandomStreams

Stage = Callable[[Arrays, Arrays, RandomStreams], Mapping[str, np.ndarray]]
Observable = Callable[[Arrays, Arrays], np.ndarray]  # (B,) or (B, k): k recorded columns name_0 … name_{k-1}

_KINDS = ("float", "int", "bool", "choice")


@dataclass(frozen=True)
class Param:
    """A model parameter: default, inclusive bounds, kind, and what it means."""

    name: str
    default: Any
    doc: str
    bounds: tuple[float | None, float | None] = (None, None)
    kind: str = "float"
    choices: tuple[str, ...] = ()

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
        return {"float": np.float64, "int": np.int64, "bool": np.bool_, "choice": np.str_}[self.kind]

    def describe_bounds(self) -> str:
        if self.kind == "choice":
            return " | ".join(self.choices)
        if self.kind == "bool":
            return "true | false"
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
                values = np.unique(np.asarray(sizes[dim]))
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
    """Stages that read the same state; their updates apply together once all have run."""

    stages: tuple[Stage, ...]
    name: str = ""

    def __init__(self, *stages: Stage, name: str = "") -> None:
        object.__setattr__(self, "stages", tuple(stages))
        object.__setattr__(self, "name", name or "+".join(s.__name__ for s in stages))


@dataclass
class Model:
    """A model: parameters, state, the ordered step, and what is recorded."""

    name: str
    doc: str
    params: Sequence[Param]
    state: Sequence[Var]
    step: Sequence[Stage | Block]
    observables: Mapping[str, Observable] = field(default_factory=dict)
    #: builds the initial state for a batch when it is more than each Var's constant initial value
    init: Callable[[Arrays, Arrays, RandomStreams], Mapping[str, np.ndarray]] | None = None
    #: figures drawn after a run when the configuration names none
    default_figures: Sequence[Mapping[str, Any]] = ()
    #: turns a model-specific configuration layout (e.g. sectioned YAML) into the engine's keys
    adapt_config: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    #: state kept at the end of every run, by output name: {"pop_age_final": "pop_ra"}
    final_state: Mapping[str, str] = field(default_factory=dict)
    #: analyses a configuration may ask for by name: fn(results) -> JSON-ready dict
    reports: Mapping[str, Callable[[Any], dict[str, Any]]] = field(default_factory=dict)
    #: a few numbers summarising the batch for the progress bar: fn(s, p) -> {label: value}
    progress_fields: Callable[[Arrays, Arrays], dict[str, float]] | None = None
    #: figures a configuration may ask for with ``kind: model, name: <key>``: fn(results, df, options) -> Figure
    figures: Mapping[str, Callable[..., Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.blocks: tuple[Block, ...] = tuple(b if isinstance(b, Block) else Block(b) for b in self.step)
        self.param_by_name = {p.name: p for p in self.params}
        self.var_by_name = {v.name: v for v in self.state}
        both = set(self.param_by_name) & set(self.var_by_name)
        if both:
            raise ValueError(
                f"model {self.name}: names used for both a parameter and a state variable: {both}"
            )

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
    def param_arrays(self, values: Mapping[str, Any], n_runs: int) -> Arrays:
        """(B,) arrays of every parameter: per-run arrays from ``values``, the default elsewhere."""
        out = Arrays()
        for p in self.params:
            v = values.get(p.name, p.default)
            arr = np.asarray(v, dtype=p.dtype)
            out[p.name] = np.broadcast_to(arr, (n_runs,)).copy() if arr.ndim == 0 else arr
        return out

    def initial_state(self, p: Arrays, overrides: Mapping[str, Any], rng: RandomStreams) -> Arrays:
        """The state at timestep 0: each Var's initial value, the model's ``init`` hook, then overrides."""
        n = p.n_runs
        s = Arrays({v.name: np.full((n, *v.resolve_shape(p)), v.initial, dtype=v.dtype) for v in self.state})
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
