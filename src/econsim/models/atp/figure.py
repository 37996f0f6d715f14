"""The six-panel summary figure of the original (SPEC.md §7.2), over the Monte Carlo runs of one sweep
point: per-region panels draw each region's median across runs, the panels of means over regions draw
the median across runs with its 10–90 % band (a single run is drawn as it is)."""

from __future__ import annotations

import warnings
from typing import Any

import matplotlib.style
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D


def _region_columns(df: pd.DataFrame, name: str) -> list[str]:
    return sorted(
        (c for c in df.columns if c.startswith(name + "_") and c[len(name) + 1 :].isdigit()),
        key=lambda c: int(c[len(name) + 1 :]),
    )


def _stack(part: pd.DataFrame, name: str, n_runs: int) -> np.ndarray:
    """(runs, timesteps, regions) of a per-region observable; ``part`` sorted by run, timestep."""
    values = part[_region_columns(part, name)].to_numpy(dtype=float)
    return values.reshape(n_runs, -1, values.shape[1])


def _median(values: np.ndarray) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmedian(values, axis=0)


def _band(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        low, high = np.nanpercentile(values, [10.0, 90.0], axis=0)
    return low, high


def _positive(values: np.ndarray) -> np.ndarray:
    return np.where(values > 0, values, np.nan)


def _robust_ylim(ax, values: np.ndarray, log: bool = False) -> None:
    """Limits from the 1st–99th percentiles after the first step: the opening step (an empty economy's
    first exchange) is orders of magnitude off the rest and would flatten the whole curve."""
    later = values[1:] if len(values) > 2 else values
    finite = later[np.isfinite(later)]
    if log:
        finite = finite[finite > 0]
    if not finite.size:
        return
    lo, hi = np.percentile(finite, [1.0, 99.0])
    if log:
        ax.set_ylim(lo / 1.5, float(finite.max()) * 1.5)
    else:
        pad = 0.08 * (hi - lo) if hi > lo else max(abs(hi) * 0.05, 1e-12)
        ax.set_ylim(lo - pad, hi + pad)


def _centre_and_band(ax, t: np.ndarray, values_rt: np.ndarray, color: str, label: str) -> None:
    ax.plot(t, _median(values_rt), color=color, lw=1.6, label=label, zorder=3)
    if len(values_rt) > 1:
        low, high = _band(values_rt)
        ax.fill_between(t, low, high, color=color, alpha=0.2, linewidth=0, zorder=2)


def atp_panels(results: Any, df: pd.DataFrame, options: dict[str, Any]) -> Figure:
    """AEC, GDP flow, mean μ and λ, sink utilisation, GDP per capita, exergy productivity and sink intensity."""
    subset = df["subset"].min()
    part = df[df["subset"] == subset].sort_values(["run", "timestep"])
    n_runs = part["run"].nunique()
    t = np.sort(part["timestep"].unique())
    style = options.get("style", "default")
    style = style if style in matplotlib.style.available or style == "default" else "default"
    which = f"median over {n_runs} runs" if n_runs > 1 else "one run"
    if results.swept:
        point = results.manifest["subsets"][int(subset)]
        which += " at " + ", ".join(
            f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in point.items()
        )
        if len(results.manifest["subsets"]) > 1:
            which += f" (sweep point {int(subset)} of {len(results.manifest['subsets'])})"
    with matplotlib.style.context(style):
        fig = Figure(figsize=(14, 11.5), layout="constrained")
        axes = fig.subplots(3, 2)
        ax = axes[0, 0]
        ax.plot(t, _median(_stack(part, "AEC_region", n_runs)), lw=0.8)
        ax.set_ylim(0, 1)
        ax.set_ylabel("AEC (adenylate energy charge)")
        ax.set_title("AEC by Region (Spatial)")
        ax = axes[0, 1]
        gdp = _positive(_median(_stack(part, "GDP_flow_region", n_runs)))
        ax.plot(t, gdp, lw=0.8)
        ax.set_yscale("log")
        _robust_ylim(ax, gdp, log=True)
        ax.set_ylabel("GDP flow (value added per step)")
        ax.set_title("GDP (Value Added) by Region (Spatial)")
        ax = axes[1, 0]
        mu = _stack(part, "mu_ex", n_runs).mean(axis=2)
        lam = _stack(part, "lambda_sink", n_runs).mean(axis=2)
        _centre_and_band(ax, t, mu, "tab:blue", "μ (exergy price), mean over regions")
        ax.set_ylabel("μ")
        right = ax.twinx()
        right.grid(False)  # the left axis carries the grid: the right one's would cut through the μ line
        _centre_and_band(right, t, lam, "tab:red", "λ (sink price), mean over regions")
        right.set_ylabel("λ")
        ax.set_zorder(right.get_zorder() + 1)  # μ above λ's band, the left axes transparent over it
        ax.patch.set_visible(False)
        ax.legend(
            handles=[
                Line2D([], [], color="tab:blue", lw=1.6, label="μ (exergy), mean over regions"),
                Line2D([], [], color="tab:red", lw=1.6, label="λ (sink), mean over regions"),
            ],
            fontsize=8,
            loc="center right",
        )
        ax.set_title("Exergy μ and Sink λ (means)")
        ax = axes[1, 1]
        util = _median(_stack(part, "sink_utilization", n_runs))
        ax.plot(t, util, lw=0.8)
        ax.set_ylim(0, 1.1 * max(float(np.nanmax(util)) if util.size else 1.0, 1e-9))
        ax.set_ylabel("sink utilization (load / capacity)")
        ax.set_title("Sink Utilization (Spatial)")
        ax = axes[2, 0]
        gdppc = _positive(_median(_stack(part, "GDP_pc_region", n_runs)))
        ax.plot(t, gdppc, lw=0.8)
        ax.set_yscale("log")
        _robust_ylim(ax, gdppc, log=True)
        ax.set_ylabel("GDP per capita")
        ax.set_title("GDP per Capita by Region (Spatial)")
        ax = axes[2, 1]
        productivity = _stack(part, "exergy_productivity_region", n_runs).mean(axis=2)
        _centre_and_band(ax, t, productivity, "tab:green", "exergy productivity")
        _robust_ylim(
            ax,
            np.concatenate([_median(productivity), *_band(productivity)])
            if n_runs > 1
            else _median(productivity),
        )
        ax.set_ylabel("exergy productivity (GDP per exergy)")
        right = ax.twinx()
        right.grid(False)
        intensity = _positive(_stack(part, "sink_intensity_region", n_runs).mean(axis=2))
        _centre_and_band(right, t, intensity, "tab:purple", "sink intensity")
        right.set_yscale("log")
        _robust_ylim(right, _median(intensity), log=True)
        right.set_ylabel("sink intensity (sink load per GDP)")
        ax.set_zorder(right.get_zorder() + 1)
        ax.patch.set_visible(False)
        ax.legend(
            handles=[
                Line2D([], [], color="tab:green", lw=1.6, label="exergy productivity (left)"),
                Line2D([], [], color="tab:purple", lw=1.6, label="sink intensity (right, log)"),
            ],
            fontsize=8,
            loc="best",
        )
        ax.set_title("Exergy Productivity & Sink Intensity (means; y range from step 2 on)")
        for a in axes.flat:
            a.set_xlabel("step")
            a.grid(alpha=0.3)
        fig.suptitle(f"ATP economy — {which}; region panels: one line per region")
    return fig
