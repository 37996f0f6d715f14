"""``econsim.cadcad.run``: a cadCAD experiment → batches of runs on an econsim executor → one DataFrame.

With ``out=`` the batches stream into an econsim results folder (manifest + Parquet parts), which
``econsim.load`` reads like a native model's and ``econsim.cadcad.load`` turns back into cadCAD's table.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from econsim import __version__
from econsim.cadcad import spec as specs
from econsim.cadcad.batch import CadcadTask, dump_spec
from econsim.cadcad.spec import INDEX_COLUMNS, Spec
from econsim.engine.errors import ConfigError
from econsim.experiment.executors import Executor, InProcessExecutor, make_executor
from econsim.experiment.progress import progress_bar
from econsim.experiment.store import MANIFEST, ResultStore, git_revision

MODEL_NAME = "cadcad"


def make_spec(
    experiment: Any = None,
    *,
    initial_state=None,
    partial_state_update_blocks=None,
    params=None,
    runs: int = 1,
    timesteps: int | range = 100,
    policy_ops=None,
    env_processes=None,
) -> Spec:
    if experiment is not None:
        if initial_state is not None or partial_state_update_blocks is not None:
            raise ConfigError("give either an experiment object or initial_state/partial_state_update_blocks")
        if specs.is_radcad_experiment(experiment):
            return specs.from_radcad(experiment)
        if specs.is_cadcad_experiment(experiment):
            return specs.from_cadcad(experiment)
        raise ConfigError(
            f"cannot run a {type(experiment).__name__}: expected a cadCAD Experiment (or its "
            "configs list), or a radCAD Experiment/Simulation"
        )
    if initial_state is None or partial_state_update_blocks is None:
        raise ConfigError("run() needs initial_state= and partial_state_update_blocks= (or an experiment)")
    return specs.from_arguments(
        initial_state, partial_state_update_blocks, params, runs, timesteps, policy_ops, env_processes
    )


def _batches(n_runs: int, workers: int, batch_runs: int | None) -> list[range]:
    if batch_runs is None:
        batch_runs = max(1, min(256, math.ceil(n_runs / (4 * max(1, workers)))))
    return [range(i, min(i + batch_runs, n_runs)) for i in range(0, n_runs, batch_runs)]


def run(
    experiment: Any = None,
    *,
    initial_state: dict | None = None,
    partial_state_update_blocks: Any = None,
    params: dict | None = None,
    runs: int = 1,
    timesteps: int | range = 100,
    policy_ops=None,
    env_processes=None,
    seed: int | None = None,
    executor: str | Executor = "inprocess",
    workers: int | None = None,
    address: str | None = None,
    out: str | Path | None = None,
    overwrite: bool = False,
    name: str | None = None,
    deepcopy: bool = False,
    check: bool = False,
    batch_runs: int | None = None,
    progress: bool | None = False,
) -> pd.DataFrame:
    """Run a cadCAD model unchanged and return cadCAD's table.

    Give the model as cadCAD's pieces (``initial_state``, ``partial_state_update_blocks``, ``params``
    with cadCAD's sweep rules, ``runs`` = N, ``timesteps`` = len(T), optional ``policy_ops``), or pass a
    configured ``cadCAD.configuration.Experiment`` / radCAD ``Experiment`` as ``experiment``.

    The result has cadCAD 0.5.3's rows and columns: the state variables, then
    ``simulation, subset, run, substep, timestep``, initial rows at timestep 0.

    - ``seed``: each run seeds numpy's global RNG and ``random`` from (seed, simulation, subset, run), so
      runs differ and a rerun repeats them exactly. None draws a seed (kept in ``df.attrs['seed']``).
    - ``executor``: ``inprocess``, ``process`` (``workers`` processes) or ``ray`` (``address``), or an
      Executor instance; runs go out in batches of ``batch_runs``.
    - ``out``: also write the results folder (manifest + Parquet parts) there.
    - ``deepcopy``: copy the state before each substep as cadCAD does (for models that mutate state in
      place); ``check``: detect functions that change the state or parameters they are given.
    """
    spec = make_spec(
        experiment,
        initial_state=initial_state,
        partial_state_update_blocks=partial_state_update_blocks,
        params=params,
        runs=runs,
        timesteps=timesteps,
        policy_ops=policy_ops,
        env_processes=env_processes,
    )
    if seed is None:
        seed = int(np.random.SeedSequence().entropy % (2**63))
    ex = executor if isinstance(executor, Executor) else make_executor(executor, workers, address)
    store = _prepare_store(out, overwrite) if out is not None else None
    # in this process the experiment needs no pickling; elsewhere it travels as bytes
    shipped = (
        {"spec": spec}
        if isinstance(ex, InProcessExecutor)
        else dict(zip(("spec_blob", "preload"), dump_spec(spec), strict=True))
    )
    steps = spec.n_steps
    tasks = [
        CadcadTask(
            index=i,
            **shipped,
            runs=tuple(b),
            seed=seed,
            steps=steps,
            deepcopy=deepcopy,
            check=check,
            part_path=str(store.part_path(i)) if store else None,
        )
        for i, b in enumerate(_batches(len(spec.runs), ex.workers, batch_runs))
    ]
    started = time.perf_counter()
    frames: dict[int, pd.DataFrame] = {}
    status = "interrupted"
    if store:
        _write_manifest(store, spec, seed, name, "running", 0.0, ex.name)
    try:
        with progress_bar(len(spec.runs) * steps, name or "cadCAD model", progress) as advance:
            for result in ex.run(tasks, advance):
                if result.table is not None:
                    frames[result.index] = result.table
        status = "complete"
    finally:
        if store:
            _write_manifest(store, spec, seed, name, status, time.perf_counter() - started, ex.name)
    df = load(store.folder) if store else _concat([frames[i] for i in sorted(frames)])
    df.attrs["seed"] = seed
    return df


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    if len(frames) == 1:
        return frames[0]
    return pd.concat(frames, ignore_index=True)


# --------------------------------------------------------------------------- results folder


def _prepare_store(out: str | Path, overwrite: bool) -> ResultStore:
    store = ResultStore(out)
    folder = store.folder
    if folder.exists() and any(folder.iterdir()):
        if not overwrite:
            raise ConfigError(f"results folder '{folder}' is not empty; choose another out, or overwrite")
        if not (folder / MANIFEST).is_file():
            raise ConfigError(f"'{folder}' is not an econsim results folder; will not delete it")
        shutil.rmtree(folder)
    store.parts.mkdir(parents=True, exist_ok=True)
    return store


def _json_safe(value: Any) -> Any:
    if isinstance(value, (bool, int, float, str)) or value is None:
        return value
    if hasattr(value, "item") and np.ndim(value) == 0:
        return value.item()
    return repr(value)


def _write_manifest(
    store: ResultStore,
    spec: Spec,
    seed: int,
    name: str | None,
    status: str,
    wall_time_s: float,
    executor: str,
) -> None:
    swept = spec.swept()
    state_names = list(dict.fromkeys(n for m in spec.models for n in m.state_names))
    numeric = [
        n
        for n in state_names
        if all(isinstance(m.initial_state.get(n, 0.0), (int, float, np.number)) for m in spec.models)
    ]
    now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    previous = store.read_manifest() or {}
    runs_per_point = {}
    for r in spec.runs:
        runs_per_point[r.point] = runs_per_point.get(r.point, 0) + 1
    manifest = {
        "format": 1,
        "model": MODEL_NAME,
        "name": name,
        "status": status,
        "seed": seed,
        "config": {
            "model": MODEL_NAME,
            "name": name,
            "seed": seed,
            "executor": executor,
            "figures": [{"kind": "timeseries", "vars": numeric[:4]}] if numeric else [],
        },
        "swept": list(swept),
        "subsets": [{k: _json_safe(v[i]) for k, v in swept.items()} for i in range(len(spec.points))],
        "runs": max(runs_per_point.values(), default=0),
        "n_runs_total": len(spec.runs),
        "steps": spec.n_steps,
        "record_every": 1,
        "cadcad": {
            "state_variables": state_names,
            "point_ids": [list(p) for p in spec.point_ids],
            "params": [
                {k: _json_safe(v) for k, v in p.items()} if isinstance(p, dict) else _json_safe(p)
                for p in spec.points
            ],
        },
        "econsim_version": __version__,
        "git_revision": git_revision(),
        "created": previous.get("created", now),
        "updated": now,
        "wall_time_s": round(wall_time_s, 6),
    }
    tmp = store.folder / f".{MANIFEST}.tmp"
    tmp.write_text(json.dumps(manifest, indent=2))
    os.replace(tmp, store.folder / MANIFEST)


def load(folder: str | Path) -> pd.DataFrame:
    """A results folder written by ``econsim.cadcad.run(out=...)`` as cadCAD's table."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    store = ResultStore(folder)
    manifest = store.read_manifest()
    if manifest is None or manifest.get("model") != MODEL_NAME:
        raise ConfigError(f"'{folder}' is not a results folder written by econsim.cadcad")
    parts = sorted(store.parts.glob("batch-*.parquet"))
    if not parts:
        raise ConfigError(f"results folder '{folder}' holds no finished batch")
    table = pa.concat_tables([pq.read_table(p) for p in parts], promote_options="default")
    df = table.to_pandas()
    point_ids = np.asarray(manifest["cadcad"]["point_ids"], dtype=np.int64).reshape(-1, 2)
    df["subset"] = point_ids[df["subset"].to_numpy(), 1]
    states = [c for c in manifest["cadcad"]["state_variables"] if c in df.columns]
    extra = [
        c for c in df.columns if c not in states and c not in INDEX_COLUMNS and c not in manifest["swept"]
    ]
    return df[[*states, *extra, *INDEX_COLUMNS]]
