"""Request and response bodies of the API (pydantic), and a model's parameters as JSON Schema."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from econsim.engine.model import Model, Param
from econsim.models.registry import ModelExtras

JobStatus = Literal["running", "complete", "cancelled", "failed"]


class Problem(BaseModel):
    """Every error answer: the message (a configuration's is the same text ``econsim run`` prints),
    its kind, and for a refused limit the limit's name."""

    error: str
    kind: str = "ConfigError"
    limit: str | None = None


class Health(BaseModel):
    status: Literal["ok"] = "ok"
    version: str
    models: list[str]
    jobs_running: int
    sessions: int


class ModelSummary(BaseModel):
    name: str
    doc: str
    url: str


class ModelDetail(BaseModel):
    name: str
    doc: str
    #: JSON Schema (an object schema) of the parameters: type, default, bounds, meaning of each
    params: dict[str, Any]
    #: state variables that an ``initial_state`` entry may set (scalar per run)
    initial_state: dict[str, Any]
    #: the columns recorded every timestep
    recorded: list[str]
    populations: list[str]
    figures: list[str]
    reports: list[str]


class JobInfo(BaseModel):
    id: str
    model: str
    status: JobStatus
    #: run-steps done and in all (runs × sweep points × steps)
    done: int
    total: int
    fraction: float
    error: str | None = None
    created: float
    finished: float | None = None
    #: the job was answered from the results store: an identical job had already finished
    from_store: bool = False
    config: dict[str, Any]
    #: a search job's answer once done: objective, direction, best_value, best_params, trials, notes
    result: dict[str, Any] | None = None
    links: dict[str, str]


class Heatmap(BaseModel):
    """A statistic over the runs of each cell of two swept names, of a column's last recorded value."""

    x: str
    y: str
    value: str
    statistic: Literal["mean", "median"]
    #: the swept values along each axis (sorted), and per cell (len(ys) rows × len(xs) columns) the
    #: statistic (None: no finite value in the cell) and the runs counted
    xs: list[Any]
    ys: list[Any]
    grid: list[list[float | None]]
    count: list[list[int]]
    #: the other swept names, whose runs are pooled into each cell
    pooled: list[str]


class SessionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: str = Field(description="a built-in model name (GET /models)")
    params: dict[str, Any] = Field(default_factory=dict, description="parameter values by name")
    initial_state: dict[str, Any] = Field(default_factory=dict, description="initial values by name")
    runs: int = Field(default=1, ge=1, description="Monte Carlo runs stepped together")
    seed: int = Field(default=0, ge=0, le=2**63 - 1)
    record_every: int = Field(default=1, ge=1)
    strict: bool = True


class ParamsPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    params: dict[str, Any] = Field(description="new values of per-run parameters, applied from the next step")


class SessionInfo(BaseModel):
    id: str
    model: str
    runs: int
    seed: int
    t: int
    params: dict[str, Any]
    links: dict[str, str]


_JSON_TYPES = {"float": "number", "int": "integer", "bool": "boolean", "choice": "string", "text": "string"}


def param_schema(param: Param) -> dict[str, Any]:
    """One parameter as a JSON Schema property (``econsim params`` prints the same declarations)."""
    out: dict[str, Any] = {
        "type": _JSON_TYPES[param.kind],
        "default": param.default,
        "description": param.doc,
    }
    low, high = param.bounds
    if param.kind in ("float", "int"):
        if low is not None:
            out["minimum"] = low
        if high is not None:
            out["maximum"] = high
    if param.kind == "choice":
        out["enum"] = list(param.choices)
    # sizes and code paths: one value per batch, so a session cannot change it between steps
    out["x-per-batch"] = bool(param.per_batch)
    return out


def model_detail(model: Model, per_batch: frozenset[str], extras: ModelExtras) -> ModelDetail:
    """The model's description for the API; its figures and reports are those of its ``extras``."""
    params = {
        "type": "object",
        "additionalProperties": False,
        "properties": {p.name: {**param_schema(p), "x-per-batch": p.name in per_batch} for p in model.params},
    }
    state: dict[str, Any] = {"type": "object", "additionalProperties": False, "properties": {}}
    for var in model.state:
        if var.shape != ():
            continue
        prop: dict[str, Any] = {"type": "number", "default": var.initial, "description": var.doc}
        low, high = var.bounds
        if low is not None:
            prop["minimum"] = low
        if high is not None:
            prop["maximum"] = high
        state["properties"][var.name] = prop
    return ModelDetail(
        name=model.name,
        doc=model.doc,
        params=params,
        initial_state=state,
        recorded=model.recorded,
        populations=[pop.name for pop in model.populations],
        figures=sorted(extras.figures),
        reports=sorted(extras.reports),
    )
