"""The six-panel summary figure of the original (SPEC.md §7.2), for the first run of the results."""

from __future__ import annotations

from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd


def _region_matrix(df: pd.DataFrame, name: str) -> np.ndarray:
    cols = sorted(
        (c for c in df.columns if c.startswith(name + "_") and c[len(name) + 1 :].isdigit()),
        key=lambda c: int(c[len(name) + 1 :]),
    )
    return df[cols].to_numpy(dtype=float)


def atp_panels(results: Any, df: pd.DataFrame, options: dict[str, Any]) -> plt.Figure:
    """AEC, GDP flow, mean μ and λ, sink utilisation, GDP per capita, exergy productivity and sink intensity."""
    first = df[(df["subset"] == df["subset"].min())]
    first = first[first["run"] == first["run"].min()].sort_values("timestep")
    t = first["timestep"].to_numpy()
    style = options.get("style", "default")
    with plt.style.context(style if style in plt.style.available or style == "default" else "default"):
        fig, axes = plt.subplots(3, 2, figsize=(14, 11))
        ax = axes[0, 0]
        ax.plot(t, _region_matrix(first, "AEC_region"), lw=0.8)
        ax.set_ylim(0, 1)
        ax.set_title("AEC by Region (Spatial)")
        ax = axes[0, 1]
        ax.plot(
            t,
            np.where(
                _region_matrix(first, "GDP_flow_region") > 0, _region_matrix(first, "GDP_flow_region"), np.nan
            ),
            lw=0.8,
        )
        ax.set_yscale("log")
        ax.set_title("GDP (Value Added) by Region (Spatial)")
        ax = axes[1, 0]
        ax.plot(t, _region_matrix(first, "mu_ex").mean(axis=1), color="tab:blue", label="μ (exergy)")
        ax.set_ylabel("μ")
        right = ax.twinx()
        right.plot(t, _region_matrix(first, "lambda_sink").mean(axis=1), color="tab:red", label="λ (sink)")
        right.set_ylabel("λ")
        ax.set_title("Exergy μ and Sink λ (means)")
        ax = axes[1, 1]
        util = _region_matrix(first, "sink_utilization")
        ax.plot(t, util, lw=0.8)
        ax.set_ylim(0, 1.1 * max(float(np.nanmax(util)) if util.size else 1.0, 1e-9))
        ax.set_title("Sink Utilization (Spatial)")
        ax = axes[2, 0]
        gdppc = _region_matrix(first, "GDP_pc_region")
        ax.plot(t, np.where(gdppc > 0, gdppc, np.nan), lw=0.8)
        ax.set_yscale("log")
        ax.set_title("GDP per Capita by Region (Spatial)")
        ax = axes[2, 1]
        ax.plot(t, _region_matrix(first, "exergy_productivity_region").mean(axis=1), color="tab:green")
        ax.set_ylabel("exergy productivity")
        right = ax.twinx()
        intensity = _region_matrix(first, "sink_intensity_region").mean(axis=1)
        right.plot(t, np.where(intensity > 0, intensity, np.nan), color="tab:purple")
        right.set_yscale("log")
        right.set_ylabel("sink intensity")
        ax.set_title("Exergy Productivity & Sink Intensity (means)")
        for a in axes.flat:
            a.set_xlabel("step")
            a.grid(alpha=0.3)
        fig.tight_layout()
    return fig
