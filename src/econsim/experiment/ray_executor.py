"""Batches on a Ray cluster (the optional ``ray`` extra): the same protocol as the local executors.

Each batch is one Ray task. A task that has a part path writes its Parquet part where it runs and
returns only that path and its row count, so results never travel through the object store; the
results folder must therefore be on storage every node can reach (a shared file system), as it is
on a local instance. A batch whose worker dies is run again by Ray (``max_retries``); batches
are deterministic (their random streams are keyed by run identity), so a retried batch writes the
same part, and results are bit-identical to the in-process and process-pool executors'.

Step progress travels through a small actor: tasks send it their reports without waiting, and the
driver collects them while it waits for results. Ray starts (or connects) only when there is work:
a local instance's size is known without starting it.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Generator
from typing import Any

import ray

from econsim.engine.errors import ConfigError, EconsimError
from econsim.experiment.batch import BatchResult
from econsim.experiment.config import ray_address
from econsim.experiment.executors import Executor, Report, execute_shipped
from econsim.experiment.progress import ProgressReport


@ray.remote(num_cpus=0)
class _Reports:
    """Progress reports of running tasks, until the driver collects them."""

    def __init__(self) -> None:
        self._reports: list[ProgressReport] = []

    def put(self, report: ProgressReport) -> None:
        self._reports.append(report)

    def collect(self) -> list[ProgressReport]:
        reports, self._reports = self._reports, []
        return reports


def _run_batch(task: Any, reports: Any) -> BatchResult:
    report = None if reports is None else (lambda r: reports.put.remote(r))
    return execute_shipped(task, report)


def _reachable(address: str | None, timeout_s: float = 5.0) -> None:
    """A ConfigError naming the address unless a cluster address answers within the timeout (ray.init
    itself keeps retrying an address where nothing listens)."""
    if address is None or address in ("auto", "local"):
        return
    try:
        host, port = ray_address(address)
        socket.create_connection((host, port), timeout=timeout_s).close()
    except ValueError as exc:
        raise ConfigError(f"address: {exc}") from None
    except OSError as exc:
        raise ConfigError(
            f"address '{address}': no Ray cluster answers there within {timeout_s:g} s ({exc}); "
            "start one (ray start --head) or leave --address out for a local instance"
        ) from None


class RayExecutor(Executor):
    """Batches as Ray tasks, one CPU each, on the cluster at ``address`` or on a local Ray instance.

    ``workers`` caps how many batches run at once (and, for a local instance started here, its CPUs);
    by default every CPU of the cluster. An already initialized Ray (``ray.init(...)`` by the caller)
    is used as it is.
    """

    name = "ray"

    def __init__(self, workers: int | None = None, address: str | None = None, max_retries: int = 3) -> None:
        self.requested_workers = workers
        self.address = address
        self.max_retries = max_retries
        self._workers: int | None = None

    @classmethod
    def configure(cls, workers: int | None = None, address: str | None = None) -> Executor:
        return cls(workers=workers, address=address)

    def _start(self) -> None:
        if not ray.is_initialized():
            _reachable(self.address)
            init: dict[str, Any] = {
                "address": self.address,
                "include_dashboard": False,
                "log_to_driver": True,
            }
            if self.address is None:
                init["num_cpus"] = self.requested_workers or os.cpu_count() or 1
            ray.init(**init)

    @property
    def workers(self) -> int:
        if self._workers is None:
            if self.address is None and not ray.is_initialized():
                # the local instance ``_start`` would create has this many CPUs: no need to start it
                return self.requested_workers or os.cpu_count() or 1
            self._start()
            cluster = int(ray.cluster_resources().get("CPU", 1))
            self._workers = max(
                1, min(self.requested_workers, cluster) if self.requested_workers else cluster
            )
        return self._workers

    def _execute(self, tasks: list[Any], report: Report | None) -> Generator[BatchResult, None, None]:
        self._start()
        remote = ray.remote(num_cpus=1, max_retries=self.max_retries)(_run_batch)
        reports = _Reports.remote() if report is not None else None  # type: ignore[attr-defined]
        waiting = list(tasks)
        pending: dict[Any, Any] = {}
        try:
            while waiting or pending:
                while waiting and len(pending) < self.workers:
                    task = waiting.pop(0)
                    pending[remote.remote(task, reports)] = task
                done, _ = ray.wait(list(pending), num_returns=1, timeout=0.2 if reports is not None else None)
                if reports is not None and report is not None:
                    for r in ray.get(reports.collect.remote()):
                        report(r)
                for ref in done:
                    pending.pop(ref)
                    yield _result(ref)
        finally:
            for ref in pending:
                ray.cancel(ref, force=True)
            if reports is not None:
                ray.kill(reports)


def _result(ref: Any) -> BatchResult:
    """The task's result; an econsim error it raised is raised here as itself (not wrapped by Ray)."""
    try:
        return ray.get(ref)
    except ray.exceptions.RayTaskError as exc:
        cause = getattr(exc, "cause", None)
        if isinstance(cause, EconsimError):
            raise cause from None
        raise
