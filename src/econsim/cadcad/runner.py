"""``econsim.cadcad.run``: a cadCAD experiment → batches of runs on an econsim executor → one DataFrame.

With ``out=`` the batches stream into an econsim results folder through the same store as a native
model's (owner lock, manifest, sealed Parquet parts): an interrupted run resumes when run again, computing
only the missing batches; ``econsim.load`` reads the folder like a native model's and
``econsim.cadcad.load`` turns it back into cadCAD's table.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import math
import re
import secrets
import time
import types
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from econsim.cadcad import spec as specs
from econsim.cadcad.batch import CadcadTask, dump_spec
from econsim.cadcad.spec import INDEX_COLUMNS, Spec
from econsim.engine.errors import ConfigError
from econsim.experiment.executors import Executor, InProcessExecutor, make_executor
from econsim.experiment.progress import progress_bar
from econsim.experiment.store import ResultStore, digest_of, read_part

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


def _batches(n_runs: int, workers: int, batch_runs: int | None) -> list[tuple[int, int]]:
    """Runs [start, stop) of each batch (indices into ``Spec.runs``)."""
    if batch_runs is None:
        batch_runs = max(1, min(256, math.ceil(n_runs / (4 * max(1, workers)))))
    return [(i, min(i + batch_runs, n_runs)) for i in range(0, n_runs, batch_runs)]


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
    call_all: bool = False,
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
    - ``out``: also write the results folder (manifest + Parquet parts) there. Running the same
      experiment into it again resumes an interrupted run (without ``seed`` the earlier attempt's seed
      is kept); a different experiment is refused unless ``overwrite``.
    - ``deepcopy``: deep-copy the state before every substep, as cadCAD does. Without it the state is
      deep-copied only when it holds mutable values (lists, dicts, arrays), where a copy can show in the
      results; either way a function that changes the state it is given gets cadCAD's table.
      ``check``: detect functions that change the state or parameters they are given, and name them.
    - ``call_all``: call every update function, even those that only copy a policy signal
      (``return 'x', _input['x']``), which are otherwise applied as that lookup (same results).
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
    ex = executor if isinstance(executor, Executor) else make_executor(executor, workers, address)
    store = ResultStore(out) if out is not None else None
    # the folder stays locked from before its manifest is read until the last part is in
    with store if store is not None else contextlib.nullcontext():
        previous = store.open(overwrite) if store is not None else None
        if seed is None:  # an earlier attempt in the folder drew the seed: keep its runs' streams
            seed = previous["seed"] if previous else secrets.randbits(63)
        fp = fingerprint(spec, seed, deepcopy)
        batches = _batches(len(spec.runs), ex.workers, batch_runs)
        done: set[int] = set()
        fields: dict[str, Any] = {}
        if store is not None:
            describe = (
                f"model {previous['model']}, {previous['n_runs_total']} runs, seed {previous['seed']}"
                if previous
                else ""
            )
            batches, done = store.resume(previous, fp, batches, describe)
            fields = _manifest_fields(spec, seed, name, ex.name, fp, batches)
            store.write_manifest(
                fields, "running", (previous or {}).get("wall_time_s", 0.0), (previous or {}).get("created")
            )
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
                runs=tuple(range(*b)),
                seed=seed,
                steps=steps,
                deepcopy=deepcopy,
                check=check,
                call_all=call_all,
                part=store.target(i, b, fp) if store is not None else None,
            )
            for i, b in enumerate(batches)
            if i not in done
        ]
        started = time.perf_counter()
        frames: dict[int, pd.DataFrame] = {}
        status = "interrupted"
        try:
            finished = sum(batches[i][1] - batches[i][0] for i in done) * steps
            with progress_bar(
                len(spec.runs) * steps, name or "cadCAD model", progress, done=finished
            ) as report:
                for result in ex.run(tasks, report):
                    if result.table is not None:
                        frames[result.index] = result.table
            status = "complete"
        finally:
            if store is not None:
                store.write_manifest(
                    fields,
                    status,
                    (previous or {}).get("wall_time_s", 0.0) + time.perf_counter() - started,
                    (previous or {}).get("created"),
                )
        df = load(store.folder) if store is not None else _concat([frames[i] for i in sorted(frames)])
    df.attrs["seed"] = seed
    return df


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    if len(frames) == 1:
        return frames[0]
    return pd.concat(frames, ignore_index=True)


# --------------------------------------------------------------------------- results folder


def _json_safe(value: Any) -> Any:
    if isinstance(value, (bool, int, float, str)) or value is None:
        return value
    if hasattr(value, "item") and np.ndim(value) == 0:
        return value.item()
    return repr(value)


def _manifest_fields(
    spec: Spec, seed: int, name: str | None, executor: str, fp: str, batches: list[tuple[int, int]]
) -> dict[str, Any]:
    swept = spec.swept()
    state_names = list(dict.fromkeys(n for m in spec.models for n in m.state_names))
    numeric = [
        n
        for n in state_names
        if all(isinstance(m.initial_state.get(n, 0.0), (int, float, np.number)) for m in spec.models)
    ]
    runs_per_point: dict[int, int] = {}
    for r in spec.runs:
        runs_per_point[r.point] = runs_per_point.get(r.point, 0) + 1
    return {
        "model": MODEL_NAME,
        "name": name,
        "fingerprint": fp,
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
        "batches": [list(b) for b in batches],
        "cadcad": {
            "state_variables": state_names,
            "point_ids": [list(p) for p in spec.point_ids],
            "params": [
                {k: _json_safe(v) for k, v in p.items()} if isinstance(p, dict) else _json_safe(p)
                for p in spec.points
            ],
        },
    }


# --------------------------------------------------------------------------- the experiment's identity


def fingerprint(spec: Spec, seed: int, deepcopy: bool = False) -> str:
    """Hash of what determines a cadCAD experiment's results: the models (initial state, and each
    function by module, name and compiled code, so an edited function is a different experiment), the
    parameters of every sweep point, the runs, the seed and ``deepcopy``."""
    models = [
        {
            "initial_state": _identity(m.initial_state),
            "blocks": [[_identity(b.policies), _identity(b.updates)] for b in m.blocks],
            "policy_ops": _identity(m.policy_ops),
            "env_processes": _identity(m.env_processes),
        }
        for m in spec.models
    ]
    return digest_of(
        {
            "model": MODEL_NAME,
            "models": models,
            "points": _identity(spec.points),
            "point_ids": [list(p) for p in spec.point_ids],
            "runs": [[r.simulation, r.subset, r.run, r.model, r.point, list(r.time_seq)] for r in spec.runs],
            "seed": seed,
            "deepcopy": deepcopy,
        }
    )


def _code_identity(code: types.CodeType) -> list[Any]:
    consts = [_code_identity(c) if isinstance(c, types.CodeType) else repr(c) for c in code.co_consts]
    return [hashlib.sha256(code.co_code).hexdigest(), consts, list(code.co_names)]


def _identity(obj: Any, depth: int = 0) -> Any:
    """JSON-ready data that is the same in every process for equal values and functions (``repr``
    of a function or of many objects carries a memory address, which is not)."""
    if depth > 12:
        return type(obj).__qualname__
    deeper = depth + 1
    if obj is None or isinstance(obj, (bool, int, str)):
        return obj
    if isinstance(obj, float):
        return repr(obj)
    if isinstance(obj, np.generic):
        return _identity(obj.item(), deeper)
    if isinstance(obj, np.ndarray):
        if obj.dtype.kind == "O":
            return ["ndarray", _identity(obj.tolist(), deeper)]
        return ["ndarray", obj.dtype.str, list(obj.shape), hashlib.sha256(obj.tobytes()).hexdigest()]
    if isinstance(obj, Mapping):
        return ["dict", [[_identity(k, deeper), _identity(v, deeper)] for k, v in obj.items()]]
    if isinstance(obj, (list, tuple)):
        return [type(obj).__name__, [_identity(x, deeper) for x in obj]]
    if isinstance(obj, (set, frozenset)):
        return ["set", sorted(json.dumps(_identity(x, deeper), default=str) for x in obj)]
    if isinstance(obj, functools.partial):
        return [
            "partial",
            _identity(obj.func, deeper),
            _identity(obj.args, deeper),
            _identity(obj.keywords, deeper),
        ]
    if isinstance(obj, types.FunctionType):
        cells = []
        for cell in obj.__closure__ or ():
            try:
                cells.append(_identity(cell.cell_contents, deeper))
            except ValueError:  # an empty cell
                cells.append(None)
        return [
            "function",
            obj.__module__,
            obj.__qualname__,
            _code_identity(obj.__code__),
            _identity(obj.__defaults__, deeper),
            cells,
        ]
    if isinstance(obj, (types.BuiltinFunctionType, type)):
        return ["callable", getattr(obj, "__module__", None), getattr(obj, "__qualname__", repr(obj))]
    state = getattr(obj, "__dict__", None)
    if state is not None:
        return ["object", type(obj).__module__, type(obj).__qualname__, _identity(state, deeper)]
    return [
        "object",
        type(obj).__module__,
        type(obj).__qualname__,
        re.sub(r" at 0x[0-9a-fA-F]+", "", repr(obj)),
    ]


def load(folder: str | Path, verify: bool = True) -> pd.DataFrame:
    """A results folder written by ``econsim.cadcad.run(out=...)`` as cadCAD's table; a damaged folder is
    refused as by ``econsim.load`` (``verify=False`` reads it as it is)."""
    import pyarrow as pa

    from econsim.experiment.results import load as load_results

    results = load_results(folder, verify=verify)
    manifest = results.manifest
    if manifest.get("model") != MODEL_NAME or "cadcad" not in manifest:
        raise ConfigError(f"'{folder}' is not a results folder written by econsim.cadcad")
    parts = ResultStore(folder).part_paths(manifest)
    if not parts:
        raise ConfigError(f"results folder '{folder}' holds no finished batch")
    table = pa.concat_tables([read_part(p, verify) for p in parts], promote_options="default")
    df = table.to_pandas()
    point_ids = np.asarray(manifest["cadcad"]["point_ids"], dtype=np.int64).reshape(-1, 2)
    df["subset"] = point_ids[df["subset"].to_numpy(), 1]
    states = [c for c in manifest["cadcad"]["state_variables"] if c in df.columns]
    extra = [
        c for c in df.columns if c not in states and c not in INDEX_COLUMNS and c not in manifest["swept"]
    ]
    return df[[*states, *INDEX_COLUMNS, *extra]]
