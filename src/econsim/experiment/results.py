"""Results of an experiment, from a results folder or from memory, as pandas or xarray."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from econsim.engine.errors import ConfigError
from econsim.experiment.store import (
    MANIFEST,
    ResultStore,
    StoreError,
    read_final,
    read_manifest_file,
    read_part,
)


class Results:
    """Tidy results: one row per run × recorded timestep.

    Columns: ``subset`` (sweep point), ``run`` (Monte Carlo repetition), ``timestep``, every recorded
    variable, then every swept name. ``manifest`` holds the resolved configuration and seed.
    """

    def __init__(
        self,
        manifest: dict[str, Any],
        folder: Path | None = None,
        tables: list[pa.Table] | None = None,
        finals: list[dict[str, np.ndarray]] | None = None,
        verify: bool = True,
    ) -> None:
        self.manifest = manifest
        self.folder = folder
        #: check each part's bytes against its seal as it is read
        self.verify = verify
        self._tables = tables
        self._finals = finals
        self._arrow: pa.Table | None = None
        #: analyses computed after the run (the configuration's ``reports``)
        self.reports: dict[str, Any] = {}
        #: batches the ``run`` call that returned these results computed (0: all were already in the
        #: folder); None for results loaded from a folder
        self.batches_computed: int | None = None
        if folder is not None and (folder / "report.json").is_file():
            import json

            self.reports = json.loads((folder / "report.json").read_text())

    def __repr__(self) -> str:
        where = f"'{self.folder}'" if self.folder else "memory"
        return (
            f"Results(model={self.manifest['model']!r}, subsets={len(self.manifest['subsets'])}, "
            f"runs={self.manifest['runs']}, steps={self.manifest['steps']}, in {where})"
        )

    @property
    def swept(self) -> list[str]:
        return list(self.manifest["swept"])

    @property
    def complete(self) -> bool:
        return self.manifest.get("status") == "complete"

    def to_arrow(self) -> pa.Table:
        if self._arrow is None:
            if self._tables is not None:
                table = _concat(self._tables) if self._tables else pa.table({})
            elif self.folder is not None:
                parts = ResultStore(self.folder).part_paths(self.manifest)
                if not parts:
                    raise ConfigError(f"results folder '{self.folder}' holds no finished batch yet")
                table = _concat([read_part(p, self.verify) for p in parts])
            else:
                table = pa.table({})
            self._arrow = table if _is_sorted(table) else _sorted(table)
        return self._arrow

    def column_names(self) -> list[str]:
        """Every column of the results (the union over parts), without reading any data."""
        if self._tables is not None:
            schemas = [t.schema for t in self._tables]
        else:
            # the schema alone: a part with no rows of one timestep still has every column
            schemas = [t.schema for t in self.iter_tables(filters=[("timestep", "<", 0)])]
        return list(dict.fromkeys(n for schema in schemas for n in schema.names))

    def iter_tables(self, columns: list[str] | None = None, filters: Any = None):
        """The results part by part (one batch at a time, in batch order), with only ``columns``
        (all when None) and only the rows that match ``filters`` (pyarrow's DNF, e.g.
        ``[("timestep", "=", 120)]``): what the figures read instead of the whole table."""
        if self._tables is not None:
            for part in self._tables:
                table = part.filter(pq.filters_to_expression(filters)) if filters else part
                yield table.select([c for c in columns if c in table.column_names]) if columns else table
            return
        if self.folder is None:
            return
        paths = ResultStore(self.folder).part_paths(self.manifest)
        if not paths:
            raise ConfigError(f"results folder '{self.folder}' holds no finished batch yet")
        for path in paths:
            yield read_part(path, self.verify, columns=columns, filters=filters)

    def to_pandas(self) -> pd.DataFrame:
        """The tidy table as a DataFrame (a fresh copy each call)."""
        table = self.to_arrow()
        if (
            table.num_columns
            and all(
                pa.types.is_integer(f.type) or pa.types.is_floating(f.type) or pa.types.is_boolean(f.type)
                for f in table.schema
            )
            and not any(table.column(i).null_count for i in range(table.num_columns))
        ):
            # numbers without nulls, as every model records them: their arrays copied straight into the
            # frame (what pyarrow's conversion does, without its pandas metadata: half the time)
            return pd.DataFrame({n: table.column(i).to_numpy() for i, n in enumerate(table.column_names)})
        return table.to_pandas()

    def subsets(self) -> pd.DataFrame:
        """One row per sweep point: its swept values, indexed by ``subset``."""
        frame = pd.DataFrame(self.manifest["subsets"])
        frame.index.name = "subset"
        return frame

    def final(self) -> pd.DataFrame:
        """The last recorded timestep of every run."""
        df = self.to_pandas()
        return df[df["timestep"] == df["timestep"].max()].reset_index(drop=True)

    def stacked(self, name: str) -> np.ndarray:
        """A recorded observable as an array (runs, timesteps) or, for a vector observable recorded as
        columns ``name_0 … name_{k-1}``, (runs, timesteps, k); runs in subset-major order."""
        table = self.to_arrow()
        n_runs = len(set(zip(table["subset"].to_pylist(), table["run"].to_pylist(), strict=True)))
        if name in table.column_names:
            return table[name].to_numpy().reshape(n_runs, -1)
        names = _vector_columns(self.manifest.get("model"), name, table.column_names)
        if not names:
            raise ConfigError(f"no recorded observable '{name}'")
        stacked = np.stack([table[c].to_numpy() for c in names], axis=-1)
        return stacked.reshape(n_runs, -1, len(names))

    def final_state(self) -> dict[str, np.ndarray]:
        """The model's ``final_state`` arrays at the last step: each (runs, *shape), runs ordered by
        (subset, run) as in ``to_pandas``, with ``subset`` and ``run`` arrays; empty if the model keeps none."""
        if self._finals is not None:
            parts = self._finals
        elif self.folder is not None:
            found = (read_final(p, self.verify) for p in ResultStore(self.folder).part_paths(self.manifest))
            parts = [f for f in found if f is not None]
        else:
            parts = []
        if not parts:
            return {}
        merged = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
        order = np.lexsort((merged["run"], merged["subset"]))
        return {k: v[order] for k, v in merged.items()}

    def save_metrics(self, path: str | Path, names: list[str]) -> Path:
        """Write the named observables to a compressed .npz: each (steps, k) for a single run, with a
        leading runs axis when there are several — one row per recorded step taken, as the original atp's
        metrics file (the initial state, timestep 0, is not a step's outcome and is left out; ``timestep``
        holds the steps of the rows); then the model's final-state arrays (e.g. atp's ``pop_age_final``),
        likewise without the runs axis for a single run."""
        table = self.to_arrow()
        first = (table["subset"].to_numpy() == table["subset"][0].as_py()) & (
            table["run"].to_numpy() == table["run"][0].as_py()
        )
        times = table["timestep"].to_numpy()[first]
        rows = times > 0
        arrays: dict[str, np.ndarray] = {"timestep": times[rows]}
        for name in names:
            values = self.stacked(name)[:, rows]
            arrays[name] = values[0] if values.shape[0] == 1 else values
        for name, values in self.final_state().items():
            if name not in ("subset", "run"):
                arrays[name] = values[0] if values.shape[0] == 1 else values
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(path, **cast(dict[str, Any], arrays))
        return path

    def to_xarray(self):
        """An xarray Dataset with dimensions (subset, run, timestep); swept values are subset coordinates."""
        import xarray as xr

        df = self.to_pandas()
        coords_cols = ["subset", "run", "timestep"]
        data_cols = [c for c in df.columns if c not in coords_cols and c not in self.swept]
        subsets = np.sort(df["subset"].unique())
        runs = np.sort(df["run"].unique())
        times = np.sort(df["timestep"].unique())
        shape = (len(subsets), len(runs), len(times))
        index = (
            np.searchsorted(subsets, df["subset"]),
            np.searchsorted(runs, df["run"]),
            np.searchsorted(times, df["timestep"]),
        )
        data_vars = {}
        for c in data_cols:
            values = np.full(shape, np.nan)
            values[index] = df[c].to_numpy(dtype=float)
            data_vars[c] = (("subset", "run", "timestep"), values)
        table = self.subsets()
        coords: dict[str, Any] = {"subset": subsets, "run": runs, "timestep": times}
        for name in self.swept:
            coords[name] = ("subset", table.loc[subsets, name].to_numpy())
        return xr.Dataset(
            data_vars, coords=coords, attrs={"model": self.manifest["model"], "seed": self.manifest["seed"]}
        )


def _vector_columns(model_name: str | None, name: str, present: list[str]) -> list[str]:
    """The columns of a vector observable: its model's labels (``Model.column_labels``), else name_0 …"""
    from econsim.models.registry import get_model

    try:
        labels = get_model(model_name).column_labels.get(name) if model_name else None
    except ConfigError:  # results of a model that is not registered here (a cadCAD experiment)
        labels = None
    if labels and all(f"{name}_{label}" in present for label in labels):
        return [f"{name}_{label}" for label in labels]
    k = 0
    while f"{name}_{k}" in present:
        k += 1
    return [f"{name}_{j}" for j in range(k)]


def _sorted(table: pa.Table) -> pa.Table:
    return table.sort_by([("subset", "ascending"), ("run", "ascending"), ("timestep", "ascending")])


def _is_sorted(table: pa.Table) -> bool:
    """Whether rows are already in (subset, run, timestep) order — the order batches are written in,
    so the sort (a gather of every column) is usually not needed."""
    if table.num_rows < 2 or not {"subset", "run", "timestep"} <= set(table.column_names):
        return True
    keys = [np.asarray(table[c].to_numpy(), dtype=np.int64) for c in ("subset", "run", "timestep")]
    ds, dr, dt = (np.diff(k) for k in keys)
    # lexicographic order between consecutive rows: a larger subset, or the same subset and a larger
    # run, or the same subset and run and a later timestep
    return bool(np.all((ds > 0) | ((ds == 0) & ((dr > 0) | ((dr == 0) & (dt > 0))))))


def _concat(tables: list[pa.Table]) -> pa.Table:
    """Batches of a sweep over a size parameter record different columns (``price_by_token_2`` exists
    only where there are 3 tokens): missing columns are null in the batches that lack them."""
    return pa.concat_tables(tables, promote_options="default")


def load(folder: str | Path, verify: bool = True) -> Results:
    """The results in a results folder written by ``econsim run``.

    With ``verify`` (the default) a damaged folder is refused, never read: the manifest must be whole,
    every part present must carry the seal of this experiment and batch with a matching size (checked
    now, without reading the parts) and matching bytes (checked as each part is read; hashing costs
    less than decoding). ``verify=False`` reads whatever parts are there, as they are."""
    folder = Path(folder)
    store = ResultStore(folder)
    if not verify:
        manifest = read_manifest_file(folder / MANIFEST)
        if not isinstance(manifest, dict):
            raise ConfigError(f"'{folder}' is not an econsim results folder (no manifest.json)")
        return Results(manifest, folder=folder, verify=False)
    manifest = store.read_manifest()
    if manifest is None:
        raise ConfigError(f"'{folder}' is not an econsim results folder (no manifest.json)")
    problems = store.problems(manifest, full=False)
    if problems:
        shown = "; ".join(problems[:5]) + (f"; and {len(problems) - 5} more" if len(problems) > 5 else "")
        raise StoreError(
            f"results folder '{folder}' is damaged: {shown}. Run the same command again to recompute "
            "the damaged parts (or load it with verify=False to read it as it is)"
        )
    return Results(manifest, folder=folder)
