"""Jobs: configurations run in background threads into results folders under the server's data dir.

A job runs through ``econsim.run`` with the arguments ``econsim run`` gives it (``out`` the job's folder,
figures into ``<out>/figures``), so the same configuration and seed give the same files. A job's id is
a digest of its validated configuration with the seed resolved: posting an identical configuration
again answers with the job there is (or, after a restart, with the finished folder in the store).

Progress comes from the runner's progress hook, in run-steps; the hook is also where a cancelled job
stops (it raises between two steps, so the batches already sealed stay in the folder and posting the
same configuration again resumes from them) and where the job time limit is enforced.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from econsim.engine.errors import ConfigError, EconsimError, unknown
from econsim.engine.model import Model
from econsim.experiment.checks import preflight
from econsim.experiment.config import ExperimentConfig, Range, load_config
from econsim.experiment.store import MANIFEST, digest_of, read_manifest_file
from econsim.models.registry import get_model, model_names

#: a request's parts that would reach outside the server's data dir or run other code
_REFUSED_KEYS = {
    "out": "the server chooses each job's results folder",
    "address": "the server does not connect to Ray clusters",
    "workers": "the server runs each job in its own thread",
}


class LimitError(ConfigError):
    """A request over one of the server's limits; ``limit`` names it, ``status`` is the HTTP status."""

    def __init__(self, message: str, limit: str, status: int = 413) -> None:
        super().__init__(message)
        self.limit, self.status = limit, status


class JobCancelled(Exception):
    """Raised from the progress hook of a cancelled job (not an EconsimError: nothing is wrong)."""


class JobTimeLimit(Exception):
    """Raised from the progress hook when a job ran past the server's job time limit."""


def builtin_model(name: Any) -> Model:
    """The built-in model called ``name``; import paths are refused (no endpoint runs user code)."""
    if not isinstance(name, str):
        raise ConfigError(f"model: {name!r} must be a model name (a string)")
    if name not in model_names():
        if ":" in name:
            raise ConfigError(
                f"model '{name}': the server runs built-in models only, not import paths; valid: "
                + ", ".join(model_names())
            )
        raise unknown("model", name, model_names())
    return get_model(name)


def agents_per_run(model: Model, params: dict[str, Any], sweep_values: dict[str, list[Any]]) -> int:
    """The agents of one run: the sum of the model's population sizes (the largest a sweep reaches),
    1 for a model without populations."""
    total = 0
    for pop in model.populations:
        if isinstance(pop.size, int):
            total += pop.size
            continue
        values = sweep_values.get(pop.size) or [params.get(pop.size, model.param(pop.size).default)]
        total += max(int(v) for v in values if isinstance(v, int | float) and not isinstance(v, bool))
    return max(total, 1)


@dataclass(frozen=True)
class Limits:
    #: agents × steps × runs of one job (runs over every sweep point), or of one session request
    max_work: int = 200_000_000
    #: jobs running at once
    max_jobs: int = 2
    #: wall-clock seconds one job may run
    max_job_seconds: float = 600.0
    #: live interactive sessions
    max_sessions: int = 16
    #: steps one ``step`` request may take
    max_session_steps: int = 10_000


def check_work(agents: int, steps: int, runs: int, limits: Limits, what: str) -> None:
    work = agents * steps * runs
    if work > limits.max_work:
        raise LimitError(
            f"{what} is {agents} agents × {steps} steps × {runs} runs = {work}, over the server's limit "
            f"max_work = {limits.max_work}; ask for fewer runs or steps (or start the server with a "
            "larger --max-work)",
            "max_work",
            413,
        )


def prepare(raw: Any, limits: Limits) -> ExperimentConfig:
    """A request body as a validated configuration with its seed resolved, or a ConfigError (the same
    messages as ``econsim run``) or LimitError."""
    if not isinstance(raw, dict):
        raise ConfigError(
            f"configuration (request body) must be a mapping of keys to values, got {type(raw).__name__}"
        )
    model = builtin_model(raw.get("model"))
    for key, why in _REFUSED_KEYS.items():
        if raw.get(key) is not None:
            raise ConfigError(f"{key}: not accepted by the server ({why}); leave it out")
    if raw.get("executor", "inprocess") != "inprocess" and isinstance(raw.get("executor"), str):
        raise ConfigError(
            f"executor = '{raw['executor']}': the server runs jobs in process; leave it out or give inprocess"
        )
    for key in ("save_fig", "save_metrics"):
        value = raw.get(key)
        if isinstance(value, str) and (Path(value).is_absolute() or ".." in Path(value).parts):
            raise ConfigError(
                f"{key} = '{value}': give a path inside the job's results folder (relative, no '..')"
            )
    cfg = load_config(raw, source="(request body)")
    if cfg.seed is None:  # drawn here so that the job's id (and folder) is known before it runs
        cfg = load_config({**raw, "seed": secrets.randbits(63)}, source="(request body)")
    preflight(cfg, model)
    from econsim.experiment.plan import make_plan

    make_plan(cfg, workers=1)  # parameter names and values are checked when the plan is made
    sweep_values = {
        name: (values.values() if isinstance(values, Range) else list(values))
        for name, values in {**cfg.sweep.grid, **cfg.sweep.zip}.items()
    }
    agents = agents_per_run(model, cfg.params, sweep_values)
    check_work(agents, cfg.steps, cfg.runs * cfg.sweep.n_points(), limits, "the job's work")
    return cfg


def job_id(cfg: ExperimentConfig) -> str:
    """What determines the job's files: everything but its name and description."""
    return digest_of(cfg.model_dump(mode="json", exclude={"name", "description"}))


@dataclass
class Event:
    id: int
    event: str
    data: dict[str, Any]

    def sse(self) -> str:
        return f"id: {self.id}\nevent: {self.event}\ndata: {json.dumps(self.data)}\n\n"


@dataclass
class Job:
    id: str
    config: ExperimentConfig
    folder: Path
    total: int
    status: str = "running"
    done: int = 0
    error: str | None = None
    from_store: bool = False
    created: float = field(default_factory=time.time)
    finished: float | None = None
    events: list[Event] = field(default_factory=list)
    cond: threading.Condition = field(default_factory=threading.Condition)
    cancel: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None

    @property
    def active(self) -> bool:
        return self.status == "running"

    def emit(self, event: str, data: dict[str, Any]) -> None:
        with self.cond:
            self.events.append(Event(len(self.events) + 1, event, data))
            self.cond.notify_all()

    def progress_data(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "done": self.done,
            "total": self.total,
            "fraction": self.done / self.total if self.total else 1.0,
        }

    def stream(self, after: int, keepalive_s: float = 10.0) -> Iterator[str]:
        """Server-sent events after the event ``after`` (a ``Last-Event-ID``), up to the next ``end``."""
        position = max(after, 0)
        while True:
            with self.cond:
                if len(self.events) <= position:
                    self.cond.wait(keepalive_s)
                new = self.events[position:]
            if not new:
                yield ": keep-alive\n\n"
                continue
            for event in new:
                yield event.sse()
                position = event.id
                if event.event == "end":
                    return


class JobManager:
    """Starts, tracks and cancels jobs; finds finished ones in the store."""

    def __init__(self, data_dir: Path, limits: Limits) -> None:
        self.runs_dir = Path(data_dir) / "runs"
        self.limits = limits
        self.jobs: dict[str, Job] = {}
        self.lock = threading.Lock()

    def running(self) -> int:
        return sum(job.active for job in self.jobs.values())

    def submit(self, raw: Any) -> tuple[Job, bool]:
        """The job of this configuration and whether it was started now (False: answered from the
        jobs there are, or from a finished folder in the store)."""
        cfg = prepare(raw, self.limits)
        key = job_id(cfg)
        with self.lock:
            job = self.jobs.get(key) or self._from_store(key)
            if job is not None and job.status in ("running", "complete"):
                return job, False
            if self.running() >= self.limits.max_jobs:
                raise LimitError(
                    f"{self.running()} jobs are running, the server's limit max_jobs = {self.limits.max_jobs}; "
                    "wait for one to finish (or cancel one) and post again",
                    "max_jobs",
                    422,
                )
            total = cfg.runs * cfg.sweep.n_points() * cfg.steps
            if job is None:
                job = Job(key, cfg, self.runs_dir / key, total)
                self.jobs[key] = job
            # a cancelled or failed job starts again in its folder: the runner resumes its sealed batches
            job.status, job.done, job.error, job.finished = "running", 0, None, None
            job.cancel.clear()
            job.emit("status", job.progress_data())
            job.thread = threading.Thread(target=self._work, args=(job,), name=f"job-{key}", daemon=True)
            job.thread.start()
        return job, True

    def _from_store(self, key: str) -> Job | None:
        """A job finished by an earlier server on this data dir, read from its folder's manifest."""
        folder = self.runs_dir / key
        try:
            manifest = read_manifest_file(folder / MANIFEST)
        except EconsimError:
            return None
        if not isinstance(manifest, dict) or not isinstance(manifest.get("config"), dict):
            return None
        try:
            cfg = load_config(dict(manifest["config"], out=None, save_fig=None))
        except EconsimError:
            return None
        total = int(manifest.get("n_runs_total", 0)) * int(manifest.get("steps", 0))
        complete = manifest.get("status") == "complete"
        job = Job(key, cfg, folder, total, status="complete" if complete else "cancelled", from_store=True)
        job.done = total if complete else 0
        job.emit("status", job.progress_data())
        if complete:
            job.finished = folder.joinpath(MANIFEST).stat().st_mtime
            job.emit("end", job.progress_data())
        self.jobs[key] = job
        return job

    def get(self, key: str) -> Job | None:
        with self.lock:
            return self.jobs.get(key) or self._from_store(key)

    def cancel(self, job: Job, wait_s: float = 2.0) -> None:
        job.cancel.set()
        if job.thread is not None:
            job.thread.join(wait_s)

    def _work(self, job: Job) -> None:
        from econsim.experiment.runner import run

        started = time.monotonic()
        last = [0.0]
        limit = self.limits.max_job_seconds

        def hook(n: int) -> None:
            if job.cancel.is_set():
                raise JobCancelled
            if time.monotonic() - started > limit:
                raise JobTimeLimit
            job.done += n
            now = time.monotonic()
            if now - last[0] >= 0.05 or job.done >= job.total:
                last[0] = now
                job.emit("progress", job.progress_data())

        cfg = job.config
        try:
            run(
                cfg,
                out=str(job.folder),
                save_fig=None if cfg.save_fig else "figures",
                progress=hook,
            )
            job.status, job.done = "complete", job.total
        except JobCancelled:
            job.status = "cancelled"
        except JobTimeLimit:
            job.status = "failed"
            job.error = (
                f"the job ran past the server's job time limit max_job_seconds = {limit:g} s and was "
                "stopped; its finished batches are kept"
            )
        except EconsimError as exc:
            job.status, job.error = "failed", str(exc)
        except Exception as exc:  # a model's own failure: reported on the job, the server goes on
            job.status, job.error = "failed", f"{type(exc).__name__}: {exc}"
        job.finished = time.time()
        job.emit("end", {**job.progress_data(), "error": job.error})
