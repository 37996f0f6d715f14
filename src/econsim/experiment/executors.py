"""How batches are executed: in this process, or over a local process pool. One small interface.

An executor takes batch tasks and yields their results as they finish; it reports progress in
run-steps (runs × steps). A new backend (Ray) is one more class with the same ``run`` method.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import queue
import sys
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait

from econsim.engine.errors import ConfigError
from econsim.experiment.batch import BatchResult, BatchTask, execute_batch

Progress = Callable[[int], object]


def execute_task(
    task: BatchTask,
    on_step: Callable[[int], object] | None = None,
    on_fields: Callable[[dict[str, float]], object] | None = None,
) -> BatchResult:
    """Run one task: a native ``BatchTask``, or any task that brings its own ``execute(on_step)``.

    Tasks of other kinds (the cadCAD compatibility layer's batches) only need ``index``, ``n_runs``,
    ``steps`` and ``execute``, so every executor can ship them unchanged.
    """
    execute = getattr(task, "execute", None)
    return execute(on_step) if execute is not None else execute_batch(task, on_step, on_fields)


class Executor(ABC):
    """Runs batch tasks; ``workers`` is how many run at once."""

    name = "base"
    workers = 1

    @abstractmethod
    def run(self, tasks: Sequence[BatchTask], progress: Progress) -> Iterator[BatchResult]:
        """Yield each task's result as it finishes; report progress in run-steps."""


class InProcessExecutor(Executor):
    """Batches one after another in this process, with progress step by step."""

    name = "inprocess"

    def run(self, tasks: Sequence[BatchTask], progress: Progress) -> Iterator[BatchResult]:
        for task in tasks:
            # the model's progress fields (e.g. mean AEC) go beside the bar when it can show them
            yield execute_task(
                task,
                on_step=lambda n, k=task.n_runs: progress(n * k),
                on_fields=getattr(progress, "fields", None),
            )


class ProcessExecutor(Executor):
    """Batches spread over a pool of local processes.

    On Linux the workers are forked: they start in milliseconds with everything already imported,
    where a spawned worker pays a second or more of imports (more than a short experiment takes).
    A batch depends only on its task, so nothing a worker inherits can change its results.
    Elsewhere, and with ``start_method="spawn"``, workers are spawned.
    """

    name = "process"

    def __init__(self, workers: int | None = None, start_method: str | None = None) -> None:
        self.workers = workers or os.cpu_count() or 1
        self.start_method = start_method or ("fork" if sys.platform == "linux" else "spawn")

    def run(self, tasks: Sequence[BatchTask], progress: Progress) -> Iterator[BatchResult]:
        context = mp.get_context(self.start_method)
        # a live bar gets step-by-step reports (and a model's progress fields) from the workers
        reports = context.Queue() if getattr(progress, "live", True) else None
        pool = ProcessPoolExecutor(
            # a forking pool starts all its workers at once: never more than there are tasks
            max_workers=max(1, min(self.workers, len(tasks))),
            mp_context=context,
            initializer=_set_report_queue,
            initargs=(reports,),
        )
        reported: dict[int, int] = {}
        finished: set[int] = set()
        fields = getattr(progress, "fields", None)

        def drain() -> None:
            while reports is not None:
                try:
                    kind, index, value = reports.get_nowait()
                except queue.Empty:
                    return
                if kind == "fields":
                    if fields is not None:
                        fields(value)
                elif index not in finished:  # a finished batch's late step reports are already counted
                    reported[index] = reported.get(index, 0) + value
                    progress(value)

        try:
            pending: dict[Future, BatchTask] = {pool.submit(_execute_reporting, t): t for t in tasks}
            while pending:
                done, _ = wait(
                    pending, timeout=0.2 if reports is not None else None, return_when=FIRST_COMPLETED
                )
                drain()
                for fut in done:
                    task = pending.pop(fut)
                    result = fut.result()
                    # whatever the worker's reports did not cover (all of it, without reports)
                    progress(task.n_runs * task.steps - reported.pop(task.index, 0))
                    finished.add(task.index)
                    yield result
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
            if reports is not None:
                reports.close()


# A worker process's channel back to the parent's progress bar, set once when the pool starts the
# worker (a queue can only reach a process that way, not through a task's arguments).
_report_queue = None


def _set_report_queue(reports) -> None:
    global _report_queue
    _report_queue = reports


def _execute_reporting(task: BatchTask) -> BatchResult:
    reports = _report_queue
    if reports is None:
        return execute_task(task)
    return execute_task(
        task,
        on_step=lambda n: reports.put(("steps", task.index, n * task.n_runs)),
        on_fields=lambda values: reports.put(("fields", task.index, values)),
    )


def make_executor(kind: str, workers: int | None = None, address: str | None = None) -> Executor:
    if kind == "inprocess":
        return InProcessExecutor()
    if kind == "process":
        cpus = os.cpu_count() or 1
        if workers is not None and workers > max(32, 8 * cpus):
            raise ConfigError(
                f"workers = {workers}: more than {max(32, 8 * cpus)} local processes (this machine has "
                f"{cpus} CPUs) only slows the run down; use at most that many, or --executor ray for a cluster"
            )
        return ProcessExecutor(workers)
    if kind == "ray":
        try:
            from econsim.experiment.ray_executor import RayExecutor
        except ImportError as exc:
            raise ConfigError(
                f"the ray executor needs the 'ray' extra: pip install 'econsim[ray]' ({exc})"
            ) from None
        return RayExecutor(workers=workers, address=address)
    raise ConfigError(f"unknown executor '{kind}'; valid: inprocess, process, ray")
