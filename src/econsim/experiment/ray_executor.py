"""Batches on a Ray cluster (the optional ``ray`` extra): the same ``run`` as the local executors.

Each batch is one Ray task. A task that has a part path writes its Parquet part where it runs and
returns only that path and its row count, so results never travel through the object store; the
results folder must therefore be on storage every node can reach (a shared file system), as it is
on a local instance. A batch whose worker dies is run again by Ray (``max_retries``); batches
are deterministic (their random streams are keyed by run identity), so a retried batch writes the
same part, and results are bit-identical to the in-process and process-pool executors'.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator, Sequence
from typing import Any

import ray

from econsim.engine.errors import ConfigError
from econsim.experiment.batch import BatchResult, BatchTask
from econsim.experiment.config import ray_address
from econsim.experiment.executors import Executor, Progress, execute_task


def _run_batch(task: BatchTask) -> BatchResult:
    return execute_task(task)


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
        if not ray.is_initialized():
            _reachable(address)
            init: dict[str, Any] = {"address": address, "include_dashboard": False, "log_to_driver": True}
            if address is None:
                init["num_cpus"] = workers or os.cpu_count() or 1
            ray.init(**init)
        cluster_cpus = int(ray.cluster_resources().get("CPU", 1))
        self.workers = max(1, min(workers, cluster_cpus) if workers else cluster_cpus)
        self.max_retries = max_retries
        self._remote = ray.remote(num_cpus=1, max_retries=max_retries)(_run_batch)

    def run(self, tasks: Sequence[BatchTask], progress: Progress) -> Iterator[BatchResult]:
        queue = list(tasks)
        pending: dict[Any, BatchTask] = {}
        try:
            while queue or pending:
                while queue and len(pending) < self.workers:
                    task = queue.pop(0)
                    pending[self._remote.remote(task)] = task
                done, _ = ray.wait(list(pending), num_returns=1)
                for ref in done:
                    task = pending.pop(ref)
                    result = ray.get(ref)
                    progress(task.n_runs * task.steps)
                    yield result
        finally:
            for ref in pending:
                ray.cancel(ref, force=True)
