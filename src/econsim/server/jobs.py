"""Jobs: configurations run in background threads into results folders under the server's data dir.

A job runs through ``econsim.run`` with the arguments ``econsim run`` gives it (``out`` the job's folder,
figures into ``<out>/figures``), so the same configuration and seed give the same files. A job's id is
a digest of its validated configuration with the seed resolved: posting an identical configuration
again answers with the job there is (or, after a restart, with the finished folder in the store).

Progress comes from the runner's progress hook, in run-steps; the hook is also where a cancelled job
stops (it raises between two steps, so the batches already sealed stay in the folder and posting the
same configuration again resumes from them) and where the job time limit is enforced.

A configuration with an ``optimize`` section (``objective``, ``params``: ``NAME=LOW:HIGH`` strings as
``econsim optimize --param`` takes them, ``maximize``, ``trials``, ``search_seed``) is a search job: it
runs ``econsim optimize``'s search (every trial with the configuration's seed) and then the best
parameters as an ordinary experiment into the job's folder, so its results and figures are the best
configuration's; the search's evidence (``trials.csv``, ``best.json``, ``convergence.png``, and
``job.json``: the request and, once done, the answer) goes to ``<folder>.search`` beside the job's folder,
and the convergence figure is served among the job's figures.
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

from pydantic import BaseModel, ConfigDict, Field, ValidationError

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


class OptimizeSection(BaseModel):
    """A configuration's ``optimize`` section: what ``econsim optimize`` takes on its command line."""

    model_config = ConfigDict(extra="forbid")

    objective: str = Field(description="a final-step column (mean over runs) or REPORT:KEY")
    params: list[str] = Field(min_length=1, description="NAME=LOW:HIGH[:log] or NAME=A,B,C to search")
    maximize: bool = False
    trials: int = Field(default=30, ge=1, le=10_000)
    search_seed: int = Field(default=0, ge=0, le=2**63 - 1)


def optimize_section(raw: Any, cfg: ExperimentConfig) -> OptimizeSection:
    """The validated ``optimize`` section, its names and objective checked against the model."""
    from econsim.experiment.optimize import _check_objective, _searched_not_swept, parse_space

    if not isinstance(raw, dict):
        raise ConfigError(
            f"optimize: must be a mapping (objective, params, maximize, trials, search_seed), got {raw!r}"
        )
    try:
        section = OptimizeSection.model_validate(raw)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            where = ".".join(str(x) for x in err["loc"])
            if err["type"] == "extra_forbidden":
                lines.append(
                    f"optimize: unknown key '{where}'; valid: {', '.join(OptimizeSection.model_fields)}"
                )
            else:
                lines.append(f"optimize.{where}: {err['msg']}")
        raise ConfigError("\n".join(lines)) from None
    names = [parse_space(cfg.model, spec).name for spec in section.params]
    searched, _ = _searched_not_swept(cfg, names)
    _check_objective(cfg.model, section.objective, list(searched.sweep.where()))
    return section


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
    raw = {k: v for k, v in raw.items() if k != "optimize"}
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


def prepare_job(raw: Any, limits: Limits) -> tuple[ExperimentConfig, OptimizeSection | None]:
    """``prepare`` and, for a search job, its validated ``optimize`` section (the work limit then
    counts every trial and the best configuration's run)."""
    cfg = prepare(raw, limits)
    assert isinstance(raw, dict)  # prepare refuses anything else
    if raw.get("optimize") is None:
        return cfg, None
    section = optimize_section(raw["optimize"], cfg)
    model = get_model(cfg.model)
    sweep_values = {
        name: (values.values() if isinstance(values, Range) else list(values))
        for name, values in {**cfg.sweep.grid, **cfg.sweep.zip}.items()
    }
    agents = agents_per_run(model, cfg.params, sweep_values)
    check_work(
        agents,
        cfg.steps,
        cfg.runs * cfg.sweep.n_points() * (section.trials + 1),
        limits,
        f"the search's work ({section.trials} trials and the best one's run)",
    )
    return cfg, section


def job_id(cfg: ExperimentConfig, section: OptimizeSection | None = None) -> str:
    """What determines the job's files: everything but its name and description (and the search)."""
    key = cfg.model_dump(mode="json", exclude={"name", "description"})
    if section is not None:
        key["optimize"] = section.model_dump(mode="json")
    return digest_of(key)


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
    #: a search job's ``optimize`` section, and once done its answer (best_params, best_value, ...)
    optimize: OptimizeSection | None = None
    result: dict[str, Any] | None = None
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
        cfg, section = prepare_job(raw, self.limits)
        key = job_id(cfg, section)
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
            if section is not None:
                total = _search_total(cfg, section)
            if job is None:
                job = Job(key, cfg, self.runs_dir / key, total, optimize=section)
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
        search = _read_search(folder)
        try:
            manifest = read_manifest_file(folder / MANIFEST)
        except EconsimError:
            return None
        if not isinstance(manifest, dict) or not isinstance(manifest.get("config"), dict):
            return None
        section = None
        try:
            if search is not None:  # a search job: its request, not the best run's configuration
                cfg = load_config(dict(search["config"], out=None, save_fig=None))
                section = OptimizeSection.model_validate(search["optimize"])
            else:
                cfg = load_config(dict(manifest["config"], out=None, save_fig=None))
        except (EconsimError, ValidationError):
            return None
        total = int(manifest.get("n_runs_total", 0)) * int(manifest.get("steps", 0))
        complete = manifest.get("status") == "complete"
        if section is not None:
            total = _search_total(cfg, section)
            complete = complete and isinstance(search, dict) and isinstance(search.get("result"), dict)
        job = Job(key, cfg, folder, total, status="complete" if complete else "cancelled", from_store=True)
        if section is not None and isinstance(search, dict):
            job.optimize, job.result = section, search.get("result")
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
            if job.optimize is not None:
                self._search(job, hook)
            else:
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

    def _search(self, job: Job, hook) -> None:
        """A search job: ``econsim optimize``'s search, then the best parameters' experiment."""
        import shutil

        from econsim.experiment.optimize import _searched_not_swept
        from econsim.experiment.optimize import optimize as search
        from econsim.experiment.runner import run

        section, cfg = job.optimize, job.config
        assert section is not None
        evidence = search_folder(job.folder)
        evidence.mkdir(parents=True, exist_ok=True)
        request = {"config": cfg.model_dump(mode="json", exclude_none=True), "optimize": section.model_dump()}
        (evidence / "job.json").write_text(json.dumps(request, indent=2))
        found = search(
            cfg,
            section.objective,
            section.params,
            maximize=section.maximize,
            trials=section.trials,
            out=evidence,
            search_seed=section.search_seed,
            progress=hook,
        )
        names = list(found.best_params)
        best_cfg, _ = _searched_not_swept(cfg, names)
        best_cfg = best_cfg.model_copy(update={"params": {**best_cfg.params, **found.best_params}})
        run(best_cfg, out=str(job.folder), save_fig=None if cfg.save_fig else "figures", progress=hook)
        figures = job.folder / "figures"
        figures.mkdir(exist_ok=True)
        shutil.copyfile(found.files["figure"], figures / "convergence.png")
        job.result = {
            "objective": found.objective,
            "direction": found.direction,
            "best_value": found.best_value,
            "best_params": found.best_params,
            "trials": len(found.trials),
            "notes": found.notes,
        }
        # written last: a folder with a result is a finished search (see _from_store)
        (evidence / "job.json").write_text(
            json.dumps({**request, "result": job.result}, indent=2, default=float)
        )


def _search_total(cfg: ExperimentConfig, section: OptimizeSection) -> int:
    """The run-steps of a search job: every trial's experiment and the best one's."""
    from econsim.experiment.optimize import _searched_not_swept, parse_space

    names = [parse_space(cfg.model, spec).name for spec in section.params]
    searched, _ = _searched_not_swept(cfg, names)
    return cfg.runs * searched.sweep.n_points() * cfg.steps * (section.trials + 1)


def search_folder(folder: Path) -> Path:
    """Where a search job's evidence goes: beside its results folder (the results store owns that)."""
    return folder.with_name(folder.name + ".search")


def _read_search(folder: Path) -> dict[str, Any] | None:
    """A search job's request (and answer, once done) from ``<folder>.search/job.json``."""
    path = search_folder(folder) / "job.json"
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("config"), dict):
        return None
    return data
