"""Running an experiment end to end: configuration → plan → batches on an executor → results.

``run(config, **overrides)`` is what ``econsim run`` does, from Python.
"""

from __future__ import annotations

import json
import os
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from econsim.analysis.divergence import DivergedRunsWarning, diverged_runs, divergence_report
from econsim.engine.errors import unknown
from econsim.experiment.batch import BatchTask, partitioner_path
from econsim.experiment.checks import preflight
from econsim.experiment.config import ExperimentConfig, load_config, outputs_in_results_folder
from econsim.experiment.executors import Executor, make_executor
from econsim.experiment.plan import Plan, make_plan
from econsim.experiment.progress import progress_bar, progress_message
from econsim.experiment.results import Results
from econsim.experiment.store import MANIFEST, PartTarget, ResultStore, fingerprint, plan_manifest
from econsim.models.registry import ModelSource, divergence_of, get_extras, get_model, model_source


def batch_task(
    plan: Plan, index: int, part: PartTarget | None, source: ModelSource | None = None
) -> BatchTask:
    start, stop = plan.batches[index]
    cfg = plan.config
    first, last = start // cfg.runs, (stop - 1) // cfg.runs + 1
    model = plan.model
    return BatchTask(
        index=index,
        model_name=plan.model_name,
        seed=plan.seed,
        start=start,
        stop=stop,
        runs=cfg.runs,
        params=dict(plan.fixed_params),
        initial_state=dict(plan.initial_state),
        subset_values={name: [plan.subsets[s][name] for s in range(first, last)] for name in plan.swept},
        swept_state=tuple(name for name in plan.swept if name not in model.param_by_name),
        steps=cfg.steps,
        record_every=cfg.record_every,
        strict=cfg.strict,
        common_random_numbers=cfg.common_random_numbers,
        part=part,
        model_source=source,
        partitions=cfg.partitions,
        partition_method=cfg.partition_method,
        partition_backend="ray" if cfg.executor == "ray" else "local",
        address=cfg.address,
    )


def make_reports(
    results: Results, names: list[str], folder: Path | None, before_each: Callable[[], object] | None = None
) -> dict[str, Any]:
    """Run the model's named analyses on the results; write them to ``report.json`` in the folder, with
    the count of diverged runs (``diverged_runs``) when the model declares when a run diverges."""
    model_name = results.manifest["model"]
    available = get_extras(model_name).reports
    reports = {}
    summary = diverged_runs(results, divergence_of(model_name))
    if summary is not None:
        reports["diverged_runs"] = divergence_report(summary)
        if summary["diverged"]:
            warnings.warn(reports["diverged_runs"]["headline"], DivergedRunsWarning, stacklevel=4)
    for name in names:
        if name not in available:
            raise unknown("report", name, available, where=f" of model '{model_name}'")
        if before_each is not None:
            before_each()
        reports[name] = available[name](results)
    if folder is not None and reports:
        (Path(folder) / "report.json").write_text(json.dumps(reports, indent=2, default=float))
    return reports


def run(
    config: str | Path | dict[str, Any] | ExperimentConfig,
    *,
    progress: bool | Callable[[int], object] | None = None,
    overwrite: bool = False,
    **overrides: Any,
) -> Results:
    """Run an experiment and return its results.

    ``config`` is a YAML path, a dict or an ExperimentConfig; ``overrides`` replace top-level keys
    (``runs=``, ``steps=``, ``seed=``, ``out=``, ``executor=``, ``workers=``, ``params={...}``, ...).
    With an ``out`` folder the results stream to Parquet there and an interrupted run resumes when run
    again; without one they are kept in memory. ``progress`` is a bar (True, False, None: when stderr is
    a terminal) or a hook told each advance in run-steps. A relative ``save_fig`` or ``save_metrics`` is inside
    the ``out`` folder when there is one; without one, a relative output named by a configuration file is
    not written (a scenario run in memory writes nothing into the working directory).
    """
    from_file = isinstance(config, (str, os.PathLike))
    file_keys = [key for key in ("save_fig", "save_metrics") if from_file and key not in overrides]
    cfg = outputs_in_results_folder(load_config(config, **overrides), file_keys)
    preflight(cfg, get_model(cfg.model))  # fail before any work, not after it
    # the executor is made only when there is work (a finished experiment starts no Ray instance); a
    # fresh plan needs its worker count to cut batches, a resumed one keeps the folder's batches
    executor: Executor | None = None
    if not (cfg.out and not overwrite and (Path(cfg.out) / MANIFEST).is_file()):
        executor = _executor(cfg)
    plan = make_plan(cfg, workers=executor.workers if executor is not None else 1)
    if not cfg.out:
        assert executor is not None
        return _run_in_memory(cfg, plan, executor, progress)
    # the folder stays locked until the reports and figures written into it are done
    with ResultStore(cfg.out) as store:
        done = store.attach(plan, overwrite=overwrite)
        manifest_before = store.read_manifest() or {}
        fp = fingerprint(plan)
        todo = [i for i in range(len(plan.batches)) if i not in done]
        if todo and executor is None:
            executor = _executor(cfg)
        source = _shipped_source(plan, executor)
        every_steps, every_s = cfg.checkpoint_every_steps, cfg.checkpoint_every_s
        tasks = [
            batch_task(plan, i, store.target(i, plan.batches[i], fp, every_steps, every_s), source)
            for i in todo
        ]
        finished_work = sum(plan.batches[i][1] - plan.batches[i][0] for i in done) * cfg.steps
        started = time.perf_counter()
        status = "interrupted"
        try:
            if executor is not None and tasks:
                total = plan.n_runs_total * cfg.steps
                with progress_bar(total, f"{cfg.name or cfg.model}", progress, done=finished_work) as report:
                    for _ in executor.run(tasks, report):
                        pass
            status = "complete"
        finally:
            store.write_manifest(
                plan_manifest(plan),
                status=status,
                wall_time_s=manifest_before.get("wall_time_s", 0.0) + time.perf_counter() - started,
                created=manifest_before.get("created"),
            )
        results = Results(store.read_manifest() or {}, folder=store.folder)
        results.batches_computed = len(tasks)
        _finish(results, cfg, store.folder, progress)
    return results


def _executor(cfg: ExperimentConfig) -> Executor:
    """The configured executor; partitioned runs go one by one from here (their partitions are the
    workers: Ray actors, or local ones)."""
    if cfg.partitions > 1:
        partitioner_path(cfg.model)  # a model that cannot be split fails here, before any work
        return make_executor("inprocess")
    return make_executor(cfg.executor, cfg.workers, cfg.address)


def _shipped_source(plan: Plan, executor: Executor | None) -> ModelSource | None:
    """What tasks that travel to other processes carry to register their model there."""
    return model_source(plan.model_name) if executor is not None and executor.ships_tasks else None


def _run_in_memory(
    cfg: ExperimentConfig, plan: Plan, executor: Executor, progress: bool | Callable[[int], object] | None
) -> Results:
    source = _shipped_source(plan, executor)
    tasks = [batch_task(plan, i, None, source) for i in range(len(plan.batches))]
    tables = []
    finals: list[dict[str, np.ndarray]] = []
    started = time.perf_counter()
    with progress_bar(plan.n_runs_total * cfg.steps, f"{cfg.name or cfg.model}", progress) as report:
        for result in executor.run(tasks, report):
            if result.table is not None:
                tables.append(result.table)
            if result.final is not None:
                finals.append(result.final)
    manifest = {
        "model": plan.model_name,
        "name": cfg.name,
        "status": "complete",
        "seed": plan.seed,
        "config": cfg.model_dump(mode="json"),
        "swept": plan.swept,
        "subsets": plan.subsets,
        "runs": plan.runs,
        "n_runs_total": plan.n_runs_total,
        "steps": cfg.steps,
        "record_every": cfg.record_every,
        "wall_time_s": time.perf_counter() - started,
    }
    results = Results(manifest, tables=tables, finals=finals)
    results.batches_computed = len(tasks)
    _finish(results, cfg, None, progress)
    return results


def _finish(
    results: Results,
    cfg: ExperimentConfig,
    folder: Path | None,
    progress: bool | Callable[[int], object] | None,
) -> None:
    """The configuration's reports, metrics file and figures. A callable ``progress`` is called with 0
    before each report and each figure: a hook that stops its run by raising (a cancelled server job)
    stops there too, not only between batches."""
    tick = (lambda: progress(0)) if callable(progress) else None
    results.reports = make_reports(results, cfg.reports, folder, tick)
    if cfg.save_metrics:
        results.save_metrics(cfg.save_metrics, list(get_model(cfg.model).observables))
    if cfg.save_fig or (folder is not None and cfg.figures is not None):
        from econsim.experiment.figures import figures, save_figures  # matplotlib only when drawing

        specs = figures(results, cfg.figures)
        if specs:
            progress_message(f"drawing {len(specs)} figure{'s' * (len(specs) != 1)}…", progress)
        save_figures(results, specs, cfg.save_fig or str(Path(folder or ".") / "figures"), tick)
