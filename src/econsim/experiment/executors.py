"""How batches are executed: executors registered by name, behind one task and progress protocol.

A task is one batch of runs: an ``experiment.batch.BatchTask``, or any object with ``index``,
``n_runs``, ``steps`` and ``execute(on_step)`` (the cadCAD layer's batches), so every executor ships
both unchanged. An executor takes tasks and yields their results as they finish; meanwhile it passes
on their ``ProgressReport``s (run-steps done, the model's progress fields). ``Executor.run`` makes the
reports of every executor add up to exactly the work of the batches finished: it tops up each batch
when its result arrives and drops the reports that arrive after it.

Executors are found by name (``make_executor("process", workers=2)``); a backend with heavy imports
(Ray) is registered by import path, so it is imported only when asked for. A new backend is a subclass
implementing ``_execute`` and one ``register_executor`` call.
"""

from __future__ import annotations

import importlib
import multiprocessing as mp
import os
import pickle
import queue
import sys
import traceback
from abc import ABC, abstractmethod
from collections.abc import Callable, Generator, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any, ClassVar, Protocol

from econsim.engine.errors import ConfigError, EconsimError, unknown
from econsim.experiment.batch import BatchResult, execute_batch
from econsim.experiment.progress import ProgressReport

Report = Callable[[ProgressReport], object]


class Task(Protocol):
    """What every executor needs of a task (besides being picklable and executable)."""

    @property
    def index(self) -> int: ...

    @property
    def n_runs(self) -> int: ...

    @property
    def steps(self) -> int: ...


def execute_task(task: Any, report: Report | None = None) -> BatchResult:
    """Run one task here, sending its progress to ``report``."""
    on_step: Callable[[int], object] | None = None
    on_fields: Callable[[dict[str, float]], object] | None = None
    if report is not None:
        index, n_runs = task.index, task.n_runs

        def on_step(n: int) -> None:
            report(ProgressReport(index, n * n_runs))

        def on_fields(values: dict[str, float]) -> None:
            report(ProgressReport(index, 0, dict(values)))

    execute = getattr(task, "execute", None)
    if execute is not None:
        return execute(on_step)
    return execute_batch(task, on_step, on_fields)


def execute_shipped(task: Any, report: Report | None = None) -> BatchResult:
    """Run a task that travelled to this (worker) process: register its model here first, and make
    sure an error it raises can travel back."""
    source = getattr(task, "model_source", None)
    if source is not None:
        source.install()
    try:
        return execute_task(task, report)
    except EconsimError:
        raise  # pickles with its fields (EconsimError.__reduce__)
    except Exception as exc:
        try:
            pickle.loads(pickle.dumps(exc))
        except Exception:
            # an exception that cannot be rebuilt on the other side would break the pool instead
            text = "".join(traceback.format_exception(exc))
            raise RuntimeError(
                f"batch {task.index} failed with {type(exc).__name__}: {exc}\n{text}"
            ) from None
        raise


class Executor(ABC):
    """Runs batch tasks; ``workers`` is how many run at once."""

    name: ClassVar[str] = "base"
    #: whether tasks travel to other processes (they then carry what rebuilds their model there)
    ships_tasks: ClassVar[bool] = True

    @classmethod
    def configure(cls, workers: int | None = None, address: str | None = None) -> Executor:
        """The executor for the configuration's ``workers`` and ``address`` (each may be ignored)."""
        return cls()

    @property
    def workers(self) -> int:
        return 1

    def run(self, tasks: Sequence[Any], report: Report | None = None) -> Iterator[BatchResult]:
        """Yield each task's result as it finishes. ``report`` (if given) receives ProgressReports
        whose run-steps add up to each finished batch's runs × steps."""
        tasks = list(tasks)
        if report is None:
            yield from self._execute(tasks, None)
            return
        work = {t.index: t.n_runs * t.steps for t in tasks}
        counted: dict[int, int] = {}

        def relay(r: ProgressReport) -> None:
            if r.batch not in work:  # finished: its late reports are already counted
                return
            steps = max(0, min(r.run_steps, work[r.batch] - counted.get(r.batch, 0)))
            counted[r.batch] = counted.get(r.batch, 0) + steps
            if steps or r.fields:
                report(ProgressReport(r.batch, steps, r.fields))

        results = self._execute(tasks, relay)
        try:
            for result in results:
                rest = work.pop(result.index) - counted.pop(result.index, 0)
                if rest:
                    report(ProgressReport(result.index, rest))
                yield result
        finally:
            results.close()

    @abstractmethod
    def _execute(self, tasks: list[Any], report: Report | None) -> Generator[BatchResult, None, None]:
        """Yield each task's result as it finishes, passing progress reports to ``report``."""


class InProcessExecutor(Executor):
    """Batches one after another in this process, with progress step by step."""

    name = "inprocess"
    ships_tasks = False

    def _execute(self, tasks: list[Any], report: Report | None) -> Generator[BatchResult, None, None]:
        for task in tasks:
            yield execute_task(task, report)


class ProcessExecutor(Executor):
    """Batches spread over a pool of local processes.

    On Linux the workers are forked: they start in milliseconds with everything already imported,
    where a spawned worker pays a second or more of imports (more than a short experiment takes).
    A batch depends only on its task, so nothing a worker inherits can change its results.
    Elsewhere, and with ``start_method="spawn"``, workers are spawned; a model registered at run time
    reaches them through its task (``models.registry.ModelSource``).
    """

    name = "process"

    def __init__(self, workers: int | None = None, start_method: str | None = None) -> None:
        self._workers = workers or os.cpu_count() or 1
        self.start_method = start_method or ("fork" if sys.platform == "linux" else "spawn")

    @classmethod
    def configure(cls, workers: int | None = None, address: str | None = None) -> Executor:
        cpus = os.cpu_count() or 1
        if workers is not None and workers > max(32, 8 * cpus):
            raise ConfigError(
                f"workers = {workers}: more than {max(32, 8 * cpus)} local processes (this machine has "
                f"{cpus} CPUs) only slows the run down; use at most that many, or --executor ray for a cluster"
            )
        return cls(workers)

    @property
    def workers(self) -> int:
        return self._workers

    def _execute(self, tasks: list[Any], report: Report | None) -> Generator[BatchResult, None, None]:
        # pickled here, so that a task that cannot travel fails now, naming why
        blobs = [_pickled(task) for task in tasks]
        context = mp.get_context(self.start_method)
        reports = context.Queue() if report is not None else None
        pool = ProcessPoolExecutor(
            # a forking pool starts all its workers at once: never more than there are tasks
            max_workers=max(1, min(self.workers, len(tasks))),
            mp_context=context,
            initializer=_set_report_queue,
            initargs=(reports,),
        )

        def drain() -> None:
            while reports is not None and report is not None:
                try:
                    report(reports.get_nowait())
                except queue.Empty:
                    return

        try:
            pending: dict[Future, int] = {
                pool.submit(_execute_pickled, blob): i for i, blob in enumerate(blobs)
            }
            while pending:
                done, _ = wait(
                    pending, timeout=0.2 if reports is not None else None, return_when=FIRST_COMPLETED
                )
                drain()
                for fut in done:
                    pending.pop(fut)
                    yield fut.result()
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
            if reports is not None:
                reports.close()


def _pickled(task: Any) -> bytes:
    try:
        return pickle.dumps(task, protocol=pickle.HIGHEST_PROTOCOL)
    except (pickle.PicklingError, AttributeError, TypeError) as exc:
        raise ConfigError(
            f"batch {task.index} cannot be sent to worker processes ({exc}); define the model's "
            "functions at module level, or use executor 'inprocess'"
        ) from None


# A worker process's channel back to the parent's progress display, set once when the pool starts the
# worker (a queue can only reach a process that way, not through a task's arguments).
_report_queue: Any = None


def _set_report_queue(reports: Any) -> None:
    global _report_queue
    _report_queue = reports


def _execute_pickled(blob: bytes) -> BatchResult:
    reports = _report_queue
    return execute_shipped(pickle.loads(blob), None if reports is None else reports.put)


# --------------------------------------------------------------------------- the registry

_EXECUTORS: dict[str, type[Executor] | str] = {
    "inprocess": InProcessExecutor,
    "process": ProcessExecutor,
    "ray": "econsim.experiment.ray_executor:RayExecutor",
}
# what to install when a registered executor's module cannot be imported
_EXTRA = {"ray": "the ray executor needs the 'ray' extra: pip install 'econsim[ray]'"}


def executor_names() -> list[str]:
    return sorted(_EXECUTORS)


def register_executor(name: str, executor: type[Executor] | str) -> None:
    """Make ``name`` refer to an Executor subclass, or its import path 'package.module:Class'."""
    _EXECUTORS[name] = executor


def executor_class(name: str) -> type[Executor]:
    entry = _EXECUTORS.get(name)
    if entry is None:
        raise unknown("executor", name, _EXECUTORS)
    if isinstance(entry, str):
        module, _, attr = entry.partition(":")
        try:
            entry = getattr(importlib.import_module(module), attr)
        except ImportError as exc:
            hint = _EXTRA.get(name, f"cannot import the '{name}' executor from '{module}'")
            raise ConfigError(f"{hint} ({exc})") from None
    if not (isinstance(entry, type) and issubclass(entry, Executor)):
        raise ConfigError(f"executor '{name}' is a {type(entry).__name__}, not an econsim Executor")
    return entry


def make_executor(name: str, workers: int | None = None, address: str | None = None) -> Executor:
    """The executor registered as ``name``, for ``workers`` at once (and a cluster ``address``)."""
    return executor_class(name).configure(workers, address)
