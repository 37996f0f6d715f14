"""The experiment configuration: a typed, validated object read from YAML, a dict, or overrides.

A configuration names its model, fixed parameters, initial-state overrides, sweep, Monte Carlo runs,
steps, seed, executor and outputs. Every problem — an unknown key, a wrong type, an out-of-range
value, broken YAML — is a ``ConfigError`` that names the key, says what is valid and, for a typo,
suggests the nearest valid key.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from econsim.engine.errors import ConfigError, suggest

ExecutorKind = Literal["inprocess", "process", "ray"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class Range(_Strict):
    """Evenly spaced values from ``start`` to ``stop`` inclusive, by ``step`` or as ``num`` values."""

    start: float
    stop: float
    step: float | None = None
    num: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _one_of_step_num(self) -> Range:
        if (self.step is None) == (self.num is None):
            raise ValueError("give exactly one of 'step' or 'num'")
        if self.step is not None and (self.step == 0 or (self.stop - self.start) * self.step < 0):
            raise ValueError(f"step {self.step} does not lead from {self.start} to {self.stop}")
        return self

    def values(self) -> list[float]:
        if self.num is not None:
            if self.num == 1:
                return [self.start]
            return [self.start + (self.stop - self.start) * i / (self.num - 1) for i in range(self.num)]
        n = math.floor((self.stop - self.start) / self.step + 1e-9) + 1
        # round away the float noise of start + i·step so that 0.1 + 3·0.025 prints as 0.175
        return [round(self.start + i * self.step, 12) for i in range(n)]


SweepValues = list[Any] | Range


class Sweep(_Strict):
    """Swept names (parameters or initial state variables).

    ``grid``: every combination of the listed values. ``zip``: lists of equal length taken together,
    length-1 lists broadcast (cadCAD's convention). Both together: the grid times the zipped list.
    """

    grid: dict[str, SweepValues] = Field(default_factory=dict)
    zip: dict[str, list[Any]] = Field(default_factory=dict)

    @field_validator("grid")
    @classmethod
    def _nonempty(cls, grid: dict[str, SweepValues]) -> dict[str, SweepValues]:
        for k, v in grid.items():
            if isinstance(v, list) and not v:
                raise ValueError(f"sweep.grid.{k} is an empty list")
        return grid

    @model_validator(mode="after")
    def _zip_lengths(self) -> Sweep:
        lengths = {len(v) for v in self.zip.values() if len(v) != 1}
        if len(lengths) > 1:
            sizes = ", ".join(f"{k}: {len(v)}" for k, v in self.zip.items())
            raise ValueError(f"lists in sweep.zip must have equal lengths (or length 1); got {sizes}")
        if any(len(v) == 0 for v in self.zip.values()):
            raise ValueError("sweep.zip lists must not be empty")
        both = set(self.grid) & set(self.zip)
        if both:
            raise ValueError(f"{sorted(both)} appear in both sweep.grid and sweep.zip")
        return self


class Figure(_Strict):
    """A figure drawn from the results.

    ``timeseries``: ``vars`` over time, one panel per value of ``facet`` (a swept name), the Monte
    Carlo cloud and its mean. ``heatmap``: mean of ``value`` at the last recorded step over the ``x`` and
    ``y`` swept names. ``model``: the model's own figure called ``name`` (``Model.figures``), drawn with
    ``options``.
    """

    kind: Literal["timeseries", "heatmap", "model"]
    name: str | None = None
    options: dict[str, Any] = Field(default_factory=dict)
    vars: list[str] = Field(default_factory=list)
    facet: str | None = None
    x: str | None = None
    y: str | None = None
    value: str | None = None
    file: str | None = None

    @model_validator(mode="after")
    def _fields_for_kind(self) -> Figure:
        if self.kind == "timeseries" and not self.vars:
            raise ValueError("a timeseries figure needs 'vars'")
        if self.kind == "heatmap" and not (self.x and self.y and self.value):
            raise ValueError("a heatmap figure needs 'x', 'y' and 'value'")
        if self.kind == "model" and not self.name:
            raise ValueError("a model figure needs 'name' (one of the model's figures)")
        return self


class ExperimentConfig(_Strict):
    """Everything that defines an experiment and where its results go."""

    model: str
    name: str | None = None
    description: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    initial_state: dict[str, Any] = Field(default_factory=dict)
    sweep: Sweep = Field(default_factory=Sweep)
    runs: int = Field(default=1, ge=1)
    steps: int = Field(default=100, ge=0)
    record_every: int = Field(default=1, ge=1)
    seed: int | None = Field(default=None, ge=0)
    common_random_numbers: bool = True
    strict: bool = True
    executor: ExecutorKind = "inprocess"
    workers: int | None = Field(default=None, ge=1)
    address: str | None = None
    memory_budget_mb: float = Field(default=256.0, gt=0)
    out: str | None = None
    figures: list[Figure] | None = None
    save_fig: str | None = None
    #: file (.npz) for every recorded observable as a (steps,) or (steps, k) array (runs stacked first if several)
    save_metrics: str | None = None
    reports: list[str] = Field(default_factory=list)

    def results_fingerprint(self) -> dict[str, Any]:
        """The fields that determine the results (not where or how they are computed)."""
        return self.model_dump(
            include={
                "model",
                "params",
                "initial_state",
                "sweep",
                "runs",
                "steps",
                "record_every",
                "seed",
                "common_random_numbers",
            },
            mode="json",
        )


_TOP_KEYS = list(ExperimentConfig.model_fields)


def _friendly(exc: ValidationError, source: str) -> ConfigError:
    """One line per problem, each naming the key path and what is valid."""
    lines = []
    for err in exc.errors():
        loc = [str(x) for x in err["loc"] if not str(x).startswith(("list[", "function-after", "Range"))]
        where = ".".join(loc) or "(top level)"
        if err["type"] == "extra_forbidden":
            parent, key = loc[:-1], loc[-1]
            model = ExperimentConfig
            for part in parent:
                field = model.model_fields.get(part)
                annotation = getattr(field, "annotation", None)
                model = (
                    annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None
                )
                if model is None:
                    break
            valid = list(model.model_fields) if model else []
            hint = suggest(key, valid)
            listing = (
                f"; valid keys{' in ' + '.'.join(parent) if parent else ''}: {', '.join(valid)}"
                if valid
                else ""
            )
            lines.append(f"unknown key '{where}'{hint}{listing}")
        elif err["type"] == "missing":
            lines.append(f"missing key '{where}'")
        else:
            got = err.get("input")
            got_text = f" (got {got!r})" if not isinstance(got, dict | list) else ""
            lines.append(f"{where}: {err['msg']}{got_text}")
    return ConfigError(f"invalid configuration {source}:\n  " + "\n  ".join(dict.fromkeys(lines)))


def parse_config(raw: Any, source: str = "") -> ExperimentConfig:
    """Validate a configuration mapping."""
    if not isinstance(raw, dict):
        raise ConfigError(
            f"configuration {source} must be a mapping of keys to values, got {type(raw).__name__}"
        )
    try:
        return ExperimentConfig.model_validate(raw)
    except ValidationError as exc:
        raise _friendly(exc, source) from None


def read_yaml(path: str | Path) -> dict[str, Any]:
    """The mapping in a YAML file, or a ConfigError saying where the YAML is broken."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"configuration file '{path}' does not exist")
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"broken YAML in '{path}'{at}: {problem}") from None
    if raw is None:
        raise ConfigError(f"configuration file '{path}' is empty")
    if not isinstance(raw, dict):
        raise ConfigError(f"configuration file '{path}' must hold a mapping of keys to values")
    return raw


def load_config(
    config: str | Path | dict[str, Any] | ExperimentConfig, source: str | None = None, **overrides: Any
) -> ExperimentConfig:
    """A validated configuration from a path, a dict or a config, with top-level ``overrides`` applied.

    Overrides whose value is None are ignored; ``params`` and ``initial_state`` overrides are merged
    into the file's. A file without a ``name`` is named after its stem.
    """
    if isinstance(config, ExperimentConfig):
        raw = config.model_dump(exclude_unset=True)
        source = "(object)"
    elif isinstance(config, dict):
        raw = dict(config)
        source = source or "(dict)"
    else:
        raw = read_yaml(config)
        raw.setdefault("name", Path(config).stem)
        source = f"'{config}'"
    model_name = overrides.get("model") or raw.get("model")
    if model_name is not None:
        from econsim.models.registry import get_model

        adapt = get_model(model_name).adapt_config
        if adapt is not None:
            raw = adapt({**raw, "model": model_name})
    for key, value in overrides.items():
        if value is None:
            continue
        if key not in _TOP_KEYS:
            raise ConfigError(
                f"unknown override '{key}'{suggest(key, _TOP_KEYS)}; valid: {', '.join(_TOP_KEYS)}"
            )
        if key in ("params", "initial_state"):
            raw[key] = {**(raw.get(key) or {}), **value}
        else:
            raw[key] = value
    return parse_config(raw, source)
