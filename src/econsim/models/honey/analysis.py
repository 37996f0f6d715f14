"""Analyses of honey experiments: the productivity range where market saturation is undecided."""

from __future__ import annotations

from typing import Any

import numpy as np

LOW, HIGH = 0.1, 0.8


def productivity_range(results) -> dict[str, Any]:
    """Productivity values whose saturation trend (mean over runs at the last step) lies in [0.1, 0.8].

    Below that range the market is almost never captured; above it, almost always. The range is where
    parameter choices matter (the notebook's planned analysis 1); its median is analysis 2's value.
    """
    final = results.final()
    if "productivity" not in final.columns:
        raise ValueError("productivity_range needs productivity to be swept")
    trend = final.groupby("productivity")["saturation"].mean().sort_index()
    inside = trend[(trend >= LOW) & (trend <= HIGH)]
    below = trend[trend < LOW]
    above = trend[trend > HIGH]
    if len(inside):
        headline = (
            f"saturation trend between {LOW} and {HIGH} for productivity {inside.index.min():g} … "
            f"{inside.index.max():g} (median {np.median(inside.index):g})"
        )
    else:
        headline = f"no productivity value has a saturation trend between {LOW} and {HIGH}"
    return {
        "headline": headline,
        "saturation_trend": {f"{k:g}": float(v) for k, v in trend.items()},
        "range": [float(inside.index.min()), float(inside.index.max())] if len(inside) else None,
        "median": float(np.median(inside.index)) if len(inside) else None,
        "last_below_0.1": float(below.index.max()) if len(below) else None,
        "first_above_0.8": float(above.index.min()) if len(above) else None,
    }
