"""Analyses of honey experiments: the productivity range where market saturation is undecided."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from econsim.analysis.divergence import diverged_runs
from econsim.models.honey import DIVERGENCE

LOW, HIGH = 0.1, 0.8


def _finals(results, columns: list[str]) -> pd.DataFrame:
    """``columns`` of every run at the last recorded step, read part by part."""
    last = int(results.manifest["steps"])
    tables = [t.to_pandas() for t in results.iter_tables(columns, filters=[("timestep", "=", last)])]
    return pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(columns=columns)


def productivity_range(results) -> dict[str, Any]:
    """Productivity values whose saturation trend (mean final saturation over the runs that did not
    diverge) lies in [0.1, 0.8].

    Below that range the market is almost never captured; above it, almost always. The range is where
    parameter choices matter (the notebook's planned analysis 1); its median is analysis 2's value.
    A diverged run (its price turned ≤ 0 under the notebook's walk) ends with a saturation near 0
    whatever its productivity, so it is left out of the trend; ``saturation_trend_all_runs`` keeps it,
    and ``diverged_by_productivity`` counts such runs.
    """
    if "productivity" not in results.swept:
        raise ValueError("productivity_range needs productivity to be swept")
    final = _finals(results, ["subset", "run", "productivity", "saturation"])
    summary = diverged_runs(results, DIVERGENCE)
    bad = set(summary["keys"]) if summary else set()
    diverged = np.array(
        [(s, r) in bad for s, r in zip(final["subset"], final["run"], strict=True)], dtype=bool
    )
    trend_all = final.groupby("productivity")["saturation"].mean().sort_index()
    trend = final[~diverged].groupby("productivity")["saturation"].mean().reindex(trend_all.index)
    n_diverged = final[diverged].groupby("productivity").size().reindex(trend_all.index, fill_value=0)
    inside = trend[(trend >= LOW) & (trend <= HIGH)]
    below = trend[trend < LOW]
    above = trend[trend > HIGH]
    left_out = f"; {int(diverged.sum())} diverged run(s) left out" if diverged.any() else ""
    if len(inside):
        headline = (
            f"saturation trend between {LOW} and {HIGH} for productivity {inside.index.min():g} … "
            f"{inside.index.max():g} (median {np.median(inside.index):g}){left_out}"
        )
    else:
        headline = f"no productivity value has a saturation trend between {LOW} and {HIGH}{left_out}"
    return {
        "headline": headline,
        "statistic": "mean final saturation over the runs that did not diverge",
        "saturation_trend": {f"{k:g}": float(v) for k, v in trend.items()},
        "saturation_trend_all_runs": {f"{k:g}": float(v) for k, v in trend_all.items()},
        "diverged_by_productivity": {f"{k:g}": int(v) for k, v in n_diverged.items()},
        "range": [float(inside.index.min()), float(inside.index.max())] if len(inside) else None,
        "median": float(np.median(inside.index)) if len(inside) else None,
        "last_below_0.1": float(below.index.max()) if len(below) else None,
        "first_above_0.8": float(above.index.min()) if len(above) else None,
    }
