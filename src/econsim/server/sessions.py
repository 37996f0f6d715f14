"""Interactive sessions: a ``Simulation`` of any built-in model held in memory and stepped on request.

A session holds B Monte Carlo runs stepped together (``runs``). Its state is read as the recorded
columns (aggregates, one value per run, with their mean over runs), the recorded series so far, and
for a model with populations pages of per-agent arrays. A per-run parameter may change between steps
(it takes effect from the next step); a per-batch one (a size, a schedule) shapes the state and needs a
new session (or ``reset`` with it).
"""

from __future__ import annotations

import math
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from econsim.engine.errors import ConfigError
from econsim.engine.model import Model
from econsim.engine.simulation import Simulation
from econsim.server.jobs import LimitError, Limits, agents_per_run, builtin_model, check_work


def _json_number(value: Any) -> Any:
    """A JSON-ready scalar: non-finite floats become None (JSON has no NaN)."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def json_array(values: np.ndarray) -> Any:
    array = np.asarray(values)
    if array.dtype.kind == "f" and not np.isfinite(array).all():
        return (
            [json_array(row) for row in array]
            if array.ndim > 1
            else [_json_number(v) for v in array.tolist()]
        )
    return array.tolist()


def recorded_columns(model: Model, observed: dict[str, np.ndarray], time_axis: bool) -> dict[str, np.ndarray]:
    """Observed arrays, (B,) or (B, k) — (T, B) or (T, B, k) with a ``time_axis`` — as the results table
    names them: a vector observable's k columns as ``name_<label>`` or ``name_j``, each (B,) or (T, B)."""
    scalar_ndim = 2 if time_axis else 1
    out: dict[str, np.ndarray] = {}
    for name, values in observed.items():
        values = np.asarray(values)
        if values.ndim > scalar_ndim:
            for j, column in enumerate(model.columns_of(name, values.shape[-1])):
                out[column] = values[..., j]
        else:
            out[name] = values
    return out


@dataclass
class Session:
    id: str
    model: Model
    spec: dict[str, Any]
    sim: Simulation
    lock: threading.Lock = field(default_factory=threading.Lock)
    created: float = field(default_factory=time.time)
    #: parameter values changed between steps (``reset`` starts again from ``spec``)
    changed: dict[str, Any] = field(default_factory=dict)

    @property
    def agents(self) -> int:
        return agents_per_run(self.model, self.spec["params"], {})

    def info(self) -> dict[str, Any]:
        base = f"/sessions/{self.id}"
        return {
            "id": self.id,
            "model": self.model.name,
            "runs": self.sim.n_runs,
            "seed": self.sim.seed,
            "t": self.sim.t,
            "params": {**self.spec["params"], **self.changed},
            "links": {
                "self": base,
                "step": f"{base}/step",
                "state": f"{base}/state",
                "records": f"{base}/records",
                "reset": f"{base}/reset",
                "params": f"{base}/params",
            },
        }

    def aggregates(self) -> dict[str, dict[str, Any]]:
        columns = recorded_columns(self.model, self.model.observe(self.sim.state, self.sim.params), False)
        out = {}
        for name, values_b in columns.items():
            values = np.asarray(values_b, dtype=float)
            out[name] = {
                "runs": json_array(values),
                "mean": _json_number(float(np.mean(values))) if values.size else None,
            }
        return out

    def records(self, since: int = -1) -> dict[str, Any]:
        """The recorded series after timestep ``since``: times (T,), each column (T, B)."""
        rec = self.sim.records
        keep = rec.times > since
        columns = recorded_columns(self.model, {k: v[keep] for k, v in rec.columns.items()}, True)
        return {
            "times": rec.times[keep].tolist(),
            "columns": {k: json_array(np.asarray(v, dtype=float)) for k, v in columns.items()},
        }

    def agents_page(self, population: str, page: int, page_size: int) -> dict[str, Any]:
        pops = {pop.name: pop for pop in self.model.populations}
        if population not in pops:
            valid = ", ".join(pops) or "this model has no populations"
            raise ConfigError(
                f"unknown population '{population}' of model '{self.model.name}'; valid: {valid}"
            )
        pop = pops[population]
        alive = np.asarray(self.sim.state[pop.alive])
        size = alive.shape[1]
        pages = max(1, math.ceil(size / page_size))
        if page > pages:
            raise ConfigError(f"page = {page} is past the last page ({pages}) of {size} {population}")
        lo, hi = (page - 1) * page_size, min(page * page_size, size)
        arrays = {}
        for var in pop.state_vars():
            values = np.asarray(self.sim.state[var.name])[:, lo:hi]
            arrays[var.name.removeprefix(f"{population}.")] = json_array(values)
        return {
            "population": population,
            "size": size,
            "alive": int(alive.sum()),
            "page": page,
            "page_size": page_size,
            "pages": pages,
            "agents": [lo, hi],
            "arrays": arrays,
        }


def build(model: Model, spec: dict[str, Any]) -> Simulation:
    return Simulation(
        model,
        spec["params"],
        runs=spec["runs"],
        seed=spec["seed"],
        initial_state=spec["initial_state"],
        record_every=spec["record_every"],
        strict=spec["strict"],
    )


class SessionManager:
    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.sessions: dict[str, Session] = {}
        self.lock = threading.Lock()

    def create(self, spec: dict[str, Any], key: str | None = None) -> Session:
        model = builtin_model(spec["model"])
        with self.lock:
            if key not in self.sessions and len(self.sessions) >= self.limits.max_sessions:
                raise LimitError(
                    f"{len(self.sessions)} sessions are open, the server's limit max_sessions = "
                    f"{self.limits.max_sessions}; delete one (DELETE /sessions/ID) first",
                    "max_sessions",
                    422,
                )
        check_work(agents_per_run(model, spec["params"], {}), 1, spec["runs"], self.limits, "the session")
        sim = build(model, spec)
        session = Session(key or secrets.token_hex(8), model, spec, sim)
        with self.lock:
            self.sessions[session.id] = session
        return session

    def get(self, key: str) -> Session | None:
        return self.sessions.get(key)

    def delete(self, key: str) -> bool:
        with self.lock:
            return self.sessions.pop(key, None) is not None

    def step(self, session: Session, n: int) -> None:
        if n > self.limits.max_session_steps:
            raise LimitError(
                f"n = {n} steps in one request, over the server's limit max_session_steps = "
                f"{self.limits.max_session_steps}; step in smaller pieces",
                "max_session_steps",
                413,
            )
        check_work(session.agents, n, session.sim.n_runs, self.limits, "the step request")
        with session.lock:
            session.sim.step(n)

    def reset(self, session: Session) -> None:
        with session.lock:
            session.sim = build(session.model, session.spec)
            session.changed = {}

    def patch(self, session: Session, values: dict[str, Any]) -> None:
        """Change per-run parameters from the next step on; every value is checked before any changes."""
        model = session.model
        checked = {}
        for name, value in values.items():
            param = model.param(name)
            if name in model.per_batch:
                raise ConfigError(
                    f"params.{name}: '{name}' sizes the state or a schedule (one value per batch), so it "
                    "cannot change between steps; create a new session with it"
                )
            checked[name] = param.validate(value, "params.")
        with session.lock:
            for name, value in checked.items():
                session.sim.params[name] = np.full(session.sim.n_runs, value, dtype=model.param(name).dtype)
            session.changed.update(checked)
