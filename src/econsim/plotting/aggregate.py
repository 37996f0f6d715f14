"""What figures draw, read part by part from a results store: per-run matrices of one variable, the
statistics of a group of runs per timestep, a sample of the cloud, and the runs that diverged.

A figure never holds the results table. ``RunIndex`` reads (subset, run, timestep) and the grouping
columns of one part at a time and numbers the runs; ``RunIndex.matrix(var)`` then reads only that
variable, again part by part, into a (runs, timesteps) array — 8 bytes per run and recorded step, about
3 MB for 3 000 runs × 121 steps, whatever the number of other columns. A timestep recorded in several
rows of a run (cadCAD's substeps) is represented by its last row.

Statistics per timestep over a group of runs, NaN (a run without that record) left out:

    mean     Σ x / n                          median, q10, q90: linear interpolation between order
                                              statistics (numpy's and pandas' default)

Diverged runs (``analysis.divergence``) are left out of figures unless asked for.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from econsim.engine.errors import ConfigError

__all__ = ["RunIndex", "band", "centre", "check_statistic", "in_sweep_order", "sample_rows"]

STATISTICS = ("median", "mean")
BAND = (10.0, 90.0)  # percentiles of the band around the centre line


def _keys(subset: np.ndarray, run: np.ndarray) -> np.ndarray:
    return (subset.astype(np.int64) << 32) | run.astype(np.int64)


class RunIndex:
    """The runs of a results store in (subset, run) order, the timesteps recorded, and per run the
    values of ``names`` (swept names used to group or facet runs)."""

    def __init__(self, results: Any, names: list[str] | tuple[str, ...] = ()) -> None:
        self.results = results
        names = list(dict.fromkeys(names))
        keys: list[np.ndarray] = []
        times: list[np.ndarray] = []
        first: dict[str, list[np.ndarray]] = {n: [] for n in names}
        for table in results.iter_tables(["subset", "run", "timestep", *names]):
            missing = [n for n in names if n not in table.column_names]
            if missing:
                raise ConfigError(f"figure groups by '{missing[0]}', which the results do not hold")
            k = _keys(table["subset"].to_numpy(), table["run"].to_numpy())
            k_unique, at = np.unique(k, return_index=True)
            keys.append(k_unique)
            for n in names:
                first[n].append(table[n].to_numpy(zero_copy_only=False)[at])
            times.append(np.unique(table["timestep"].to_numpy()))
        all_keys = np.concatenate(keys) if keys else np.empty(0, np.int64)
        self.keys, at = np.unique(all_keys, return_index=True)
        self.times = np.unique(np.concatenate(times)) if times else np.empty(0, np.int64)
        self.values = {n: np.concatenate(v)[at] if v else np.empty(0) for n, v in first.items()}
        self.subset = (self.keys >> 32).astype(np.int64)
        self.run = (self.keys & 0xFFFFFFFF).astype(np.int64)

    @property
    def n_runs(self) -> int:
        return len(self.keys)

    def matrix(self, var: str, last_only: bool = False) -> np.ndarray:
        """``var`` of every run at every recorded timestep, (runs, timesteps), NaN where a run has no
        record; with ``last_only`` just the last recorded timestep, (runs,)."""
        times = self.times[-1:] if last_only else self.times
        out = np.full((self.n_runs, len(times)), np.nan)
        filters = [("timestep", "=", int(times[0]))] if last_only and len(times) else None
        for table in self.results.iter_tables(["subset", "run", "timestep", var], filters=filters):
            if var not in table.column_names:
                raise ConfigError(f"no recorded variable '{var}'")
            if table.num_rows == 0:
                continue
            try:
                values = table[var].to_numpy(zero_copy_only=False).astype(float)
            except (TypeError, ValueError):
                raise ConfigError(f"variable '{var}' is not numeric; figures draw numbers") from None
            r = np.searchsorted(self.keys, _keys(table["subset"].to_numpy(), table["run"].to_numpy()))
            t = np.searchsorted(times, table["timestep"].to_numpy())
            flat = r * len(times) + t
            last = np.ones(len(flat), dtype=bool)  # of consecutive rows of one record, the last wins
            last[:-1] = flat[1:] != flat[:-1]
            out.reshape(-1)[flat[last]] = values[last]
        return out[:, 0] if last_only else out

    def mask_of(self, keys: list[tuple[int, int]]) -> np.ndarray:
        """Which runs (in this index's order) are among ``keys`` ((subset, run) pairs)."""
        if not keys:
            return np.zeros(self.n_runs, dtype=bool)
        arr = np.asarray(keys, dtype=np.int64)
        return np.isin(self.keys, _keys(arr[:, 0], arr[:, 1]))


def check_statistic(statistic: str) -> str:
    if statistic not in STATISTICS:
        raise ConfigError(
            f"figure option statistic = {statistic!r} is not valid; choose one of: median, mean"
        )
    return statistic


def centre(values: np.ndarray, statistic: str, axis: int = 0) -> np.ndarray:
    """Median or mean over ``axis``, NaN left out (all-NaN gives NaN, silently)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        if statistic == "mean":
            return np.nanmean(values, axis=axis)
        return np.nanmedian(values, axis=axis)


def band(values: np.ndarray, axis: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The 10th and 90th percentiles over ``axis``, NaN left out."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        low, high = np.nanpercentile(values, BAND, axis=axis)
    return low, high


def sample_rows(n: int, at_most: int) -> np.ndarray:
    """At most ``at_most`` evenly spaced row numbers of ``n`` (all of them when n is small)."""
    if n <= at_most:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, at_most).round().astype(np.int64))


def in_sweep_order(results: Any, name: str, values: np.ndarray) -> list[Any]:
    """The distinct ``values`` of a swept name in the order the sweep visits them (not sorted)."""
    order: dict[Any, None] = {}
    for point in results.manifest.get("subsets") or []:
        if isinstance(point, dict) and name in point:
            order.setdefault(_plain(point[name]), None)
    present = {_plain(v) for v in values.tolist()}
    listed = [v for v in order if v in present]
    return listed + sorted(present - set(listed), key=lambda v: (str(type(v)), v))


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value
