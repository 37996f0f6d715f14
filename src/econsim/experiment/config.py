"""The experiment configuration: a typed, validated object read from YAML, a dict, or overrides.

A configuration names its model, fixed parameters, initial-state overrides, sweep, Monte Carlo runs,
steps, seed, executor and outputs. Every problem — an unknown key, a wrong type, an out-of-range
value, broken YAML, a key given twice — is a ``ConfigError`` that names the key, says what is valid
and, for a typo, suggests the nearest valid key. A value given on the command line (or as an override
from Python) is blamed on the flag that gave it, not on the file.

YAML is read with numbers spelled as YAML 1.2 spells them: ``1e-3`` and ``5e6`` are numbers (PyYAML's
YAML 1.1 rules would read them as text), the same as on the command line.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from econsim.engine.errors import ConfigError, suggest

#: sweeps with more points than this are refused before anything is expanded (``max_sweep_points``)
MAX_SWEEP_POINTS = 100_000
_INT64_MAX = 2**63 - 1


class _DuplicateKey(yaml.constructor.ConstructorError):
    def __init__(self, key: Any, first: int, second: int, mark: Any) -> None:
        super().__init__(None, None, f"duplicate key '{key}' (lines {first} and {second})", mark)
        self.key, self.lines = key, (first, second)


class YamlLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing a key given twice in one mapping (where PyYAML keeps the last)
    and reading ``1e-3``, ``5e6``, ``1.0e10`` as numbers (YAML 1.2's floats; YAML 1.1 wants a dot and
    a signed exponent)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        lines: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            try:
                first = lines.get(key)
            except TypeError:  # an unhashable key: the base constructor names it
                continue
            if first is not None:
                raise _DuplicateKey(key, first, line, key_node.start_mark)
            lines[key] = line
        return super().construct_mapping(node, deep=deep)


YamlLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9_]+)[eE][-+]?[0-9]+$"),
    list("-+.0123456789"),
)


def load_yaml_text(text: str) -> Any:
    """``text`` read as econsim reads YAML files (see ``YamlLoader``)."""
    return yaml.load(text, Loader=YamlLoader)  # a SafeLoader: plain data only, no objects


def _not_bool(value: Any) -> Any:
    # pydantic's lax int and float take true/false for 1/0: in a configuration that is always a slip
    if isinstance(value, bool):
        raise ValueError(f"must be a number, not {str(value).lower()}")
    return value


#: a count or an identifier: a whole number, not a boolean, that fits in 64 bits
Count = Annotated[int, BeforeValidator(_not_bool), Field(le=_INT64_MAX)]
#: a finite real number, not a boolean
Real = Annotated[float, BeforeValidator(_not_bool), Field(allow_inf_nan=False)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


def ray_address(address: str) -> tuple[str, int]:
    """(host, port) of a Ray address ``host:port`` or ``ray://host:port``, or a ValueError saying what is
    valid (``auto`` and ``local`` are Ray's own words and have no host)."""
    from urllib.parse import urlsplit

    valid = "valid: host:port, ray://host:port, auto or local"
    scheme, sep, rest = address.rpartition("://")
    if sep and scheme != "ray":
        raise ValueError(f"'{address}' is not a Ray address ({scheme}:// is not ray://); {valid}")
    try:
        parts = urlsplit(f"//{rest}")
        host, port = parts.hostname, parts.port
    except ValueError:
        host, port = None, None
    if not host or port is None or parts.path or parts.query or port == 0:
        raise ValueError(f"'{address}' is not a Ray address; {valid}")
    return host, port


class Range(_Strict):
    """Evenly spaced values from ``start`` to ``stop`` inclusive, by ``step`` or as ``num`` values."""

    start: Real
    stop: Real
    step: Real | None = None
    num: Count | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _one_of_step_num(self) -> Range:
        if (self.step is None) == (self.num is None):
            raise ValueError("give exactly one of 'step' or 'num'")
        if self.step is not None and (self.step == 0 or (self.stop - self.start) * self.step < 0):
            raise ValueError(f"step {self.step} does not lead from {self.start} to {self.stop}")
        return self

    def count(self) -> int:
        """How many values ``values()`` gives, computed without listing them."""
        if self.num is not None:
            return self.num
        assert self.step is not None
        span = (self.stop - self.start) / self.step
        return math.floor(span + 1e-9) + 1 if span < 1e15 else _INT64_MAX

    def values(self) -> list[float]:
        if self.num is not None:
            if self.num == 1:
                return [self.start]
            return [self.start + (self.stop - self.start) * i / (self.num - 1) for i in range(self.num)]
        step = self.step
        assert step is not None  # one of step and num is given (validated)
        n = math.floor((self.stop - self.start) / step + 1e-9) + 1
        # round away the float noise of start + i·step so that 0.1 + 3·0.025 prints as 0.175
        return [round(self.start + i * step, 12) for i in range(n)]


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

    def where(self) -> dict[str, str]:
        """Each swept name and the key that sweeps it (``sweep.grid.throttle``)."""
        return {
            **{k: f"sweep.grid.{k}" for k in self.grid},
            **{k: f"sweep.zip.{k}" for k in self.zip},
        }

    def n_points(self) -> int:
        """The number of sweep points, computed without expanding the sweep."""
        sizes = [v.count() if isinstance(v, Range) else len(v) for v in self.grid.values()]
        return math.prod(sizes) * max((len(v) for v in self.zip.values()), default=1)

    def without(self, names: set[str]) -> Sweep:
        """This sweep with ``names`` taken out of it."""
        return Sweep(
            grid={k: v for k, v in self.grid.items() if k not in names},
            zip={k: v for k, v in self.zip.items() if k not in names},
        )


class Figure(_Strict):
    """A figure drawn from the results.

    ``timeseries``: ``vars`` over time, one panel per value of ``facet`` (a swept name), the Monte
    Carlo cloud and its mean. ``heatmap``: mean of ``value`` at the last recorded step over the ``x`` and
    ``y`` swept names. ``model``: the model's own figure called ``name`` (its ``ModelExtras.figures``), drawn with
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
        if self.kind == "heatmap" and self.x == self.y:
            raise ValueError(
                f"a heatmap needs two different swept names for 'x' and 'y', got {self.x!r} twice"
            )
        dpi = self.options.get("dpi", 110)
        if isinstance(dpi, bool) or not isinstance(dpi, int | float) or not 0 < dpi < 10_000:
            raise ValueError(
                f"options.dpi = {dpi!r} must be a number of dots per inch, above 0 and below 10000"
            )
        return self


class ExperimentConfig(_Strict):
    """Everything that defines an experiment and where its results go."""

    model: str
    name: str | None = None
    description: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    initial_state: dict[str, Any] = Field(default_factory=dict)
    sweep: Sweep = Field(default_factory=Sweep)
    runs: Count = Field(default=1, ge=1)
    steps: Count = Field(default=100, ge=1)
    record_every: Count = Field(default=1, ge=1)
    seed: Count | None = Field(default=None, ge=0)
    common_random_numbers: bool = True
    strict: bool = True
    #: an executor registered by name (``experiment.executors``): inprocess, process, ray, ...
    executor: str = "inprocess"
    workers: Count | None = Field(default=None, ge=1)
    address: str | None = None
    memory_budget_mb: Real = Field(default=256.0, gt=0)
    #: split each run's agents over this many partitions (``engine.partition``): Ray actors with
    #: executor ray, local workers with inprocess; results are the same for every value
    partitions: Count = Field(default=1, ge=1)
    #: how agents are assigned to partitions: metis (graph), hilbert (coordinates) or random
    partition_method: str = "metis"
    #: a larger sweep is refused before it is expanded
    max_sweep_points: Count = Field(default=MAX_SWEEP_POINTS, ge=1)
    out: str | None = None
    #: a batch running into ``out`` saves a checkpoint every this many steps and/or seconds of wall
    #: time, and an interrupted run resumes from it (results are the same either way; null: never)
    checkpoint_every_steps: Count | None = Field(default=None, ge=1)
    checkpoint_every_s: Real | None = Field(default=120.0, gt=0)
    figures: list[Figure] | None = None
    save_fig: str | None = None
    #: file (.npz) for every recorded observable as a (steps,) or (steps, k) array (runs stacked first if several)
    save_metrics: str | None = None
    reports: list[str] = Field(default_factory=list)

    @field_validator("executor")
    @classmethod
    def _registered_executor(cls, name: str) -> str:
        from econsim.experiment.executors import executor_names

        valid = executor_names()
        if name not in valid:
            raise ValueError(f"unknown executor '{name}'{suggest(name, valid)}; valid: {', '.join(valid)}")
        return name

    @field_validator("partition_method")
    @classmethod
    def _known_partition_method(cls, method: str) -> str:
        from econsim.engine.partition.partition import METHODS

        if method not in METHODS:
            raise ValueError(f"unknown partition method '{method}'; valid: {', '.join(METHODS)}")
        return method

    @model_validator(mode="after")
    def _partitions_run_on_actors(self) -> ExperimentConfig:
        if self.partitions > 1 and self.executor not in ("ray", "inprocess"):
            raise ValueError(
                f"partitions = {self.partitions} splits each run over Ray actors (executor: ray) or "
                f"local workers (executor: inprocess), not over executor '{self.executor}'"
            )
        return self

    @field_validator("address")
    @classmethod
    def _address_form(cls, address: str | None) -> str | None:
        if address is not None and address not in ("auto", "local"):
            ray_address(address)
        return address

    @model_validator(mode="after")
    def _each_name_fixed_or_swept(self) -> ExperimentConfig:
        swept = self.sweep.where()
        for section in ("params", "initial_state"):
            for name in getattr(self, section):
                if name in swept:
                    raise ValueError(
                        f"'{name}' is both fixed ({section}.{name}) and swept ({swept[name]}); "
                        "keep one of the two"
                    )
        return self

    @model_validator(mode="after")
    def _sweep_size(self) -> ExperimentConfig:
        n = self.sweep.n_points()
        if n > self.max_sweep_points:
            sizes = ", ".join(
                f"{k}: {v.count() if isinstance(v, Range) else len(v)} values"
                for k, v in {**self.sweep.grid, **self.sweep.zip}.items()
            )
            raise ValueError(
                f"the sweep has {n} points ({sizes}), more than max_sweep_points = {self.max_sweep_points}; "
                "narrow the sweep, or raise max_sweep_points if you mean it"
            )
        return self

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


def _friendly(exc: ValidationError, source: str, flags: Mapping[str, str] | None = None) -> ConfigError:
    """One line per problem, each naming the key path (or the flag that gave the value) and what is valid.

    ``flags`` maps a top-level key that was given as an override to its label (``"--runs "``).
    """
    flags = flags or {}
    lines = []
    flag_lines = []
    for err in exc.errors():
        loc = [
            str(x)
            for x in err["loc"]
            if not str(x).startswith(("list[", "function-after", "function-before", "Range"))
        ]
        where = ".".join(loc) or "(top level)"
        msg = err["msg"].removeprefix("Value error, ")
        # a sweep entry is a list or a Range: report the branch the user meant, not both
        branches = [str(x) for x in err["loc"]]
        if err["type"] == "list_type" and any(b.startswith("list[") for b in branches):
            if isinstance(err.get("input"), dict):
                continue
            msg = "must be a list of values, {start, stop, step} or {start, stop, num}"
        elif err["type"] == "model_type" and any(b.endswith("Range]") for b in branches):
            continue
        if loc and loc[0] in flags and err["type"] != "extra_forbidden":
            flag_lines.append(f"{flags[loc[0]]}{_short(err.get('input'))}: {msg}")
            continue
        if not loc:
            lines.append(msg)
            continue
        if err["type"] == "extra_forbidden":
            parent, key = loc[:-1], loc[-1]
            model: type[BaseModel] | None = ExperimentConfig
            for part in parent:
                field = model.model_fields.get(part) if model is not None else None
                annotation = getattr(field, "annotation", None)
                model = (
                    annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None
                )
                if model is None:
                    break
            valid = list(model.model_fields) if model is not None else []
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
            got_text = (
                f" (got {_short(err.get('input'))})" if not isinstance(err.get("input"), dict | list) else ""
            )
            lines.append(f"{where}: {msg}{got_text}")
    head = f"invalid configuration {source}" if lines else "invalid value"
    return ConfigError(f"{head}:\n  " + "\n  ".join(dict.fromkeys([*flag_lines, *lines])))


def _short(value: Any) -> str:
    """``repr(value)``, its middle elided when long (a 400-digit number is not worth printing whole)."""
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:28]}…{text[-28:]}"


def parse_config(raw: Any, source: str = "", flags: Mapping[str, str] | None = None) -> ExperimentConfig:
    """Validate a configuration mapping; ``flags`` labels the keys given as overrides (see ``_friendly``)."""
    if not isinstance(raw, dict):
        raise ConfigError(
            f"configuration {source} must be a mapping of keys to values, got {type(raw).__name__}"
        )
    try:
        return ExperimentConfig.model_validate(raw)
    except ValidationError as exc:
        raise _friendly(exc, source, flags) from None


def read_yaml(path: str | Path) -> dict[str, Any]:
    """The mapping in a YAML file, or a ConfigError saying where the YAML is broken."""
    path = Path(path)
    if path.is_dir():
        raise ConfigError(f"'{path}' is a folder; give a configuration file (YAML)")
    if path.exists() and not path.is_file():
        raise ConfigError(f"'{path}' is not a regular file; give a configuration file (YAML)")
    if not path.is_file():
        raise ConfigError(f"configuration file '{path}' does not exist")
    try:
        raw = load_yaml_text(path.read_text())
    except _DuplicateKey as exc:
        first, second = exc.lines
        raise ConfigError(
            f"duplicate key '{exc.key}' in '{path}' at lines {first} and {second}: give each key once"
        ) from None
    except UnicodeDecodeError:
        raise ConfigError(f"configuration file '{path}' is not a text (UTF-8) file") from None
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
    config: str | Path | dict[str, Any] | ExperimentConfig,
    source: str | None = None,
    *,
    flags: Mapping[str, str] | None = None,
    **overrides: Any,
) -> ExperimentConfig:
    """A validated configuration from a path, a dict or a config, with top-level ``overrides`` applied.

    Overrides whose value is None are ignored; ``params`` and ``initial_state`` overrides are merged
    into the file's. A file without a ``name`` is named after its stem. A bad override is named by its
    label in ``flags`` (the command line passes ``{"runs": "--runs "}``), by default ``runs=``.
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
    if isinstance(model_name, str):  # another type is reported by validation
        from econsim.models.registry import get_extras

        adapt = get_extras(model_name).adapt_config
        if adapt is not None:
            raw = adapt({**raw, "model": model_name})
    labels: dict[str, str] = {}
    for key, value in overrides.items():
        if value is None:
            continue
        if key not in _TOP_KEYS:
            raise ConfigError(
                f"unknown override '{key}'{suggest(key, _TOP_KEYS)}; valid: {', '.join(_TOP_KEYS)}"
            )
        labels[key] = (flags or {}).get(key, f"{key}=")
        if key in ("params", "initial_state"):
            _check_not_swept(raw.get("sweep"), value, labels[key])
            raw[key] = {**(raw.get(key) or {}), **value}
        else:
            raw[key] = value
    return parse_config(raw, source, labels)


def outputs_in_results_folder(cfg: ExperimentConfig, file_keys: Iterable[str] = ()) -> ExperimentConfig:
    """``cfg`` with a relative ``save_fig`` and ``save_metrics`` placed inside its results folder ``out``
    (a scenario's ``save_fig: H1.png`` lands beside its results, not in the working directory).

    Without a results folder (a run kept in memory), a relative one of ``file_keys`` — the outputs a
    configuration file named, not the caller — has no folder to go in and is not written: a scenario run
    in memory writes nothing into the working directory."""
    relative = [
        key
        for key in ("save_fig", "save_metrics")
        if (value := getattr(cfg, key)) and not Path(value).is_absolute()
    ]
    if not cfg.out:
        dropped = {key: None for key in relative if key in set(file_keys)}
        return cfg.model_copy(update=dropped) if dropped else cfg
    inside = {key: str(Path(cfg.out) / getattr(cfg, key)) for key in relative}
    return cfg.model_copy(update=inside) if inside else cfg


def _check_not_swept(sweep: Any, values: Mapping[str, Any], label: str) -> None:
    """An override may not fix a name the configuration sweeps: say which flag and which sweep key."""
    if not isinstance(sweep, dict):
        return  # a malformed sweep is reported by validation
    for part in ("grid", "zip"):
        swept = sweep.get(part)
        for name in values:
            if isinstance(swept, dict) and name in swept:
                raise ConfigError(
                    f"{label}{name}: the configuration sweeps '{name}' (sweep.{part}.{name}); "
                    "a value is either fixed or swept — remove it from the sweep to fix it"
                )
