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
from collections.abc import Iterator, Sequence
from typing import Any

import ray

from econsim.experiment.batch import BatchResult, BatchTask
from econsim.experiment.executors import Executor, Progress, execute_task


def _run_batch(task: BatchTask) -> BatchResult:
    return execute_task(task)


class RayExecutor(Executor):
    """Batches as Ray tasks, one CPU each, on the cluster at ``address`` or on a local Ray instance.

    ``workers`` caps how many batches run at once (and, for a local instance started here, its CPUs);
    by default every CPU of the cluster. An already initialized Ray (``ray.init(...)`` by the caller)
    is used as it is.
    """

    name = "ray"

    def __init__(self, workers: int | None = None, address: str | None = None, max_retries: int = 3) -> None:
        if not ray.is_initialized():
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
