"""A batch of cadCAD runs: the unit every econsim executor ships (in process, process pool, Ray).

The task carries the experiment as pickled bytes plus the files of the user modules its functions live
in, so a fresh worker (spawned process, Ray node) can load those modules before unpickling. Each run
seeds numpy's global RNG and ``random`` from the experiment seed and the run's identity; the caller's
generator states are restored afterwards. Rows become one table per batch: a DataFrame in cadCAD's
column order, or a sealed Parquet part (plus the swept parameter values) of the results folder when the
task has a target there.
"""

from __future__ import annotations

import gc
import importlib
import importlib.util
import os
import pickle
import random
import sys
import sysconfig
import time
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from econsim.cadcad.simulate import (
    InPlacePlan,
    genesis_row,
    in_place_plan,
    is_atomic,
    run_in_place,
    simulate_run,
)
from econsim.cadcad.spec import INDEX_COLUMNS, RunSpec, Spec
from econsim.engine.errors import ConfigError
from econsim.experiment.batch import BatchResult
from econsim.experiment.store import PartTarget
from econsim.experiment.store import write_part as write_sealed_part

# --------------------------------------------------------------------------- shipping the experiment


def _system_dirs() -> list[str]:
    paths = sysconfig.get_paths()
    dirs = {paths[k] for k in ("stdlib", "platstdlib", "purelib", "platlib") if k in paths}
    return [str(Path(d).resolve()) for d in dirs]


def _user_module_file(name: str | None) -> str | None:
    """The file of a module that a fresh worker may not be able to import by name, else None."""
    if not name or name in ("__main__", "builtins") or name.split(".")[0] in ("econsim", "numpy", "pandas"):
        return None
    module = sys.modules.get(name)
    file = getattr(module, "__file__", None)
    if not file:
        return None
    resolved = str(Path(file).resolve())
    if any(resolved.startswith(d + os.sep) for d in _system_dirs()):
        return None
    return resolved


def dump_spec(spec: Spec) -> tuple[bytes, tuple[tuple[str, str], ...]]:
    """The pickled experiment, and (module name, file) of each user module its functions come from.

    cloudpickle (standalone, or Ray's copy once Ray is imported) is used when available, so functions
    defined in a script's ``__main__`` travel by value.
    """
    try:
        import cloudpickle as cp
    except ImportError:
        cp = sys.modules.get("ray.cloudpickle")
    base = cp.Pickler if cp is not None else pickle.Pickler
    if cp is None:
        try:
            pickle.dumps(spec, protocol=pickle.HIGHEST_PROTOCOL)
        except (pickle.PicklingError, AttributeError, TypeError) as exc:
            raise ConfigError(
                f"the model cannot be sent to worker processes ({exc}); define its functions at module "
                "level, install cloudpickle, or use executor='inprocess'"
            ) from None
    modules: dict[str, None] = {}

    class Recording(base):  # type: ignore[misc, valid-type]
        def reducer_override(self, obj):
            if isinstance(obj, (types.FunctionType, type)):
                modules[getattr(obj, "__module__", None) or ""] = None
            parent = getattr(super(), "reducer_override", None)
            return parent(obj) if parent is not None else NotImplemented

    import io

    buffer = io.BytesIO()
    Recording(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(spec)
    preload = tuple((name, file) for name in modules if (file := _user_module_file(name)) is not None)
    return buffer.getvalue(), preload


def load_spec(blob: bytes, preload: tuple[tuple[str, str], ...]) -> Spec:
    for name, file in preload:
        if name in sys.modules:
            continue
        try:
            importlib.import_module(name)
            continue
        except ImportError:
            pass
        spec = importlib.util.spec_from_file_location(name, file)
        if spec is None or spec.loader is None:
            continue
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return pickle.loads(blob)


# --------------------------------------------------------------------------- randomness


def run_seed(seed: int, run: RunSpec) -> np.ndarray:
    """128 bits of seed for one run, from the experiment seed and the run's (simulation, subset, run)."""
    return np.random.SeedSequence(seed, spawn_key=(run.simulation, run.subset, run.run)).generate_state(4)


def seed_globals(seed: int, run: RunSpec) -> None:
    words = run_seed(seed, run)
    np.random.seed(words)  # noqa: NPY002 - cadCAD models draw from numpy's global generator
    random.seed(int.from_bytes(words.tobytes(), "little"))


# --------------------------------------------------------------------------- the task


@dataclass(frozen=True)
class CadcadTask:
    """Some runs of an experiment. The experiment travels as ``spec`` (in this process) or as
    ``spec_blob`` + ``preload`` (to other processes)."""

    index: int
    runs: tuple[int, ...]  # indices into Spec.runs
    seed: int
    steps: int
    spec: Spec | None = None
    spec_blob: bytes = b""
    preload: tuple[tuple[str, str], ...] = ()
    deepcopy: bool = False
    check: bool = False
    call_all: bool = False
    #: where the batch's part goes in the results folder (None: the frame comes back in memory)
    part: PartTarget | None = None

    @property
    def n_runs(self) -> int:
        return len(self.runs)

    def execute(self, on_step=None) -> BatchResult:
        started = time.perf_counter()
        spec = self.spec if self.spec is not None else load_spec(self.spec_blob, self.preload)
        frame = simulate_batch(spec, self.runs, self.seed, self.deepcopy, self.check, self.call_all)
        if on_step is not None:
            on_step(self.steps)
        if self.part is None:
            return BatchResult(self.index, len(frame), time.perf_counter() - started, table=frame)
        write_part(frame, spec, self.part)
        return BatchResult(self.index, len(frame), time.perf_counter() - started, part_path=self.part.path)


def simulate_batch(
    spec: Spec,
    run_indices: tuple[int, ...],
    seed: int,
    deepcopy: bool = False,
    check: bool = False,
    call_all: bool = False,
) -> pd.DataFrame:
    """Every run of the batch, as one DataFrame in cadCAD's columns and row order.

    One-block models whose functions never read the state history run in place (``run_in_place``): each
    row's values go straight into one flat list, row after row, which becomes the columns (column k is
    ``flat[k::width]``, sliced at C speed). Other runs make rows (``simulate_run``); their values join the
    flat list while every row has the same keys in the same order, else the rows are kept.

    Runs that made no copies and end with a mutable value in a column (one that first appeared after the
    first timestep, where the run decides whether to copy) could have had it changed under an earlier
    row: the batch is then run again with deep copies, as cadCAD would have copied.

    The cyclic garbage collector is paused while the batch runs (and resumed after, if it was on): the
    rows are tens of thousands of live objects that every collection would walk again for nothing.
    Reference cycles a model makes are collected once the batch is done."""
    np_state, py_state = np.random.get_state(), random.getstate()  # noqa: NPY002
    rows: list[dict[str, Any]] = []
    names: list[str] = []
    # every row's values, row after row, while the rows all have the same keys in the same order
    flat: list[Any] | None = []
    keys: tuple[str, ...] | None = None
    uncopied = False  # some run made no copies to its end
    # (simulation, subset, run, timesteps) of each run whose rows the in-place loop wrote to ``flat``, while
    # they are all its rows: their index columns are then known without reading them (``rows_to_frame``)
    index: list[tuple[int, int, int, tuple[int, ...]]] | None = []
    plans: dict[int, InPlacePlan | None] = {}
    collecting = gc.isenabled()
    gc.disable()
    try:
        for i in run_indices:
            run = spec.runs[i]
            model = spec.models[run.model]
            seed_globals(seed, run)
            point = spec.points[run.point]
            params = dict(point) if isinstance(point, dict) else point
            for n in model.state_names:
                if n not in names:
                    names.append(n)
            if run.model not in plans:
                plans[run.model] = None if deepcopy or check else in_place_plan(model, call_all)
            plan = plans[run.model]
            genesis = genesis_row(model, run, deepcopy)
            history = None
            if plan is not None and is_atomic(genesis.values()):
                own_keys = tuple(genesis)
                if flat is not None and keys is None:
                    keys = own_keys
                shared = flat is not None and keys == own_keys
                target: list[Any] = flat if flat is not None and shared else []
                history = run_in_place(plan, params, run, genesis, target)
                if history is None:
                    uncopied = True
                    if shared and index is not None:
                        index.append((run.simulation, run.subset, run.run, run.time_seq))
                    elif not shared:
                        history = _as_history(own_keys, target)
            else:
                history = simulate_run(model, params, run, deepcopy=deepcopy, check=check)
            if history is None:
                continue
            index = None
            if not deepcopy and is_atomic(history[0][0].values()):
                uncopied = uncopied or len(history) < 2 or is_atomic(history[1][-1].values())
            for step_rows in history:
                for row in step_rows:
                    if flat is not None:
                        if keys is None:
                            keys = tuple(row)
                        if len(row) == len(keys) and tuple(row) == keys:
                            flat.extend(row.values())
                            continue
                        rows = [row for step in _as_history(keys, flat) for row in step]
                        flat = None
                    rows.append(row)
        if flat is not None and keys is not None and set(keys) != {*names, *INDEX_COLUMNS}:
            rows, flat = [row for step in _as_history(keys, flat) for row in step], None
        frame = rows_to_frame(rows, names, None if flat is None or keys is None else (keys, flat), index)
        if uncopied and not deepcopy and _holds_mutable(frame):
            del rows, flat, frame
            return simulate_batch(spec, run_indices, seed, True, check, call_all)
    finally:
        np.random.set_state(np_state)  # noqa: NPY002
        random.setstate(py_state)
        if collecting:
            gc.enable()
    return frame


def _holds_mutable(frame: pd.DataFrame) -> bool:
    """Whether a column of objects holds a value of a type outside ``ATOMIC_TYPES`` (numeric columns
    hold numbers)."""
    return any(frame[c].dtype == object and not is_atomic(frame[c].to_numpy()) for c in frame.columns)


def _as_history(keys: tuple[str, ...], values: list[Any]) -> list[list[dict[str, Any]]]:
    """Flat row values back into one-row steps of dicts."""
    width = len(keys)
    return [[dict(zip(keys, values[i : i + width], strict=True))] for i in range(0, len(values), width)]


def _column(values) -> np.ndarray | list:
    """A column of plain numbers as the numpy array pandas would infer from it (built from the list in one
    pass, several times faster than pandas' own inference); anything else stays a list for pandas."""
    try:
        arr = np.asarray(values)
    except (ValueError, TypeError):  # ragged values
        return list(values)
    # numpy reads 0-d arrays as numbers too, but they are mutable: a column of them stays objects, so that
    # ``_holds_mutable`` sees them (a 0-d array changed in place under an earlier row is a list's case)
    if arr.ndim == 1 and arr.dtype.kind in "biuf" and is_atomic(values):
        return arr
    return list(values)


def rows_to_frame(
    rows: list[dict[str, Any]],
    state_names: list[str],
    flat: tuple[tuple[str, ...], list[Any] | None] | None = None,
    index: list[tuple[int, int, int, tuple[int, ...]]] | None = None,
) -> pd.DataFrame:
    """Columns as cadCAD's DataFrame has them: state variables, the indices, then any names updates add.

    ``flat``: (keys, values) when every row has exactly ``keys`` in that order and ``values`` holds the
    rows' values one row after another (None if they do not): columns are then slices of it.
    ``index``: (simulation, subset, run, timesteps) of each run when the in-place loop wrote all of
    ``flat``: it writes ``run``, ``substep`` and ``timestep`` after the model's functions, so those columns
    are made from the runs, and ``simulation`` and ``subset`` are compared with what they started as."""
    columns = [*state_names, *INDEX_COLUMNS]
    width = len(columns)
    if flat is not None and flat[1] is not None and set(flat[0]) == set(columns):
        keys, values_flat = flat[0], flat[1]
        at = {k: i for i, k in enumerate(keys)}
        known = _index_columns(index, values_flat, at, len(keys)) if index else {}
        data: dict[str, Any] = {}
        for name in columns:
            if name in known:
                data[name] = known[name]
                continue
            column = values_flat[at[name] :: len(keys)]
            data[name] = np.asarray(column, dtype=np.int64) if name in INDEX_COLUMNS else _column(column)
        return pd.DataFrame(data, copy=False)
    if rows and any(len(r) != width for r in rows):  # an update returned a name not in the initial state
        extra: dict[str, None] = {}
        for r in rows:
            extra.update(dict.fromkeys(k for k in r if k not in extra))
        columns = [*state_names, *INDEX_COLUMNS, *(k for k in extra if k not in columns)]
        values = [[r.get(c, np.nan) for r in rows] for c in columns]
    else:
        values = [[r[c] for r in rows] for c in columns]  # a list per column: faster than zip(*rows)
    data = {}
    for name, column in zip(columns, values, strict=True):
        data[name] = np.asarray(column, dtype=np.int64) if name in INDEX_COLUMNS else _column(column)
    # cadCAD's table (pandas from its records) has the columns in the order they first appear: the
    # initial state's, the indices, then the names updates added
    return pd.DataFrame(data, copy=False)


def _index_columns(
    index: list[tuple[int, int, int, tuple[int, ...]]], values: list[Any], at: dict[str, int], width: int
) -> dict[str, np.ndarray]:
    """The index columns of runs the in-place loop wrote (see ``rows_to_frame``): ``simulation`` and
    ``subset`` only where every row still holds the run's own."""
    lengths = np.array([len(seq) + 1 for *_, seq in index], dtype=np.int64)
    out = {
        "run": np.repeat(np.array([r for _, _, r, _ in index], dtype=np.int64), lengths),
        "timestep": np.fromiter(
            (t for *_, seq in index for t in (0, *seq)), dtype=np.int64, count=int(lengths.sum())
        ),
    }
    substep = np.ones(int(lengths.sum()), dtype=np.int64)
    substep[np.cumsum(lengths) - lengths] = 0
    out["substep"] = substep
    for k, name in enumerate(("simulation", "subset")):
        started = [entry[k] for entry in index]
        expected: list[Any] = []
        for value, n in zip(started, lengths.tolist(), strict=True):
            expected += [value] * n
        if values[at[name] :: width] == expected:
            out[name] = np.repeat(np.array(started, dtype=np.int64), lengths)
    return out


def write_part(frame: pd.DataFrame, spec: Spec, target: PartTarget) -> None:
    """The batch as a sealed Parquet part of the results folder (as a native model's): econsim's global
    ``subset`` (sweep point), the cadCAD columns, and the swept parameter values. Columns Parquet
    cannot hold are written as their ``repr``."""
    import pyarrow as pa

    point_of = {ids: i for i, ids in enumerate(spec.point_ids)}
    table = frame.copy()
    table["subset"] = np.fromiter(
        (point_of[(s, c)] for s, c in zip(table["simulation"], table["subset"], strict=True)),
        dtype=np.int64,
        count=len(table),
    )
    for name, values in spec.swept().items():
        table[name] = np.asarray(values)[table["subset"].to_numpy()]
    arrays = {}
    for name in table.columns:
        try:
            arrays[name] = pa.array(table[name])
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
            arrays[name] = pa.array(table[name].map(repr).astype(object))
    write_sealed_part(target, pa.table(arrays))
