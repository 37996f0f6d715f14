"""Time series over the Monte Carlo cloud: a sample of the runs faint, the median (or mean) across runs
bold with its 10–90 % band, one panel per (facet value, variable) in a grid of at most six columns.

Everything drawn is read from the results store one variable at a time (``plotting.aggregate``): a
figure of a sweep with thousands of runs holds one (runs, timesteps) array, draws at most ``max_runs``
runs per panel and at most ``max_panels`` facet values, evenly spaced through the sweep's order.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle

from econsim.plotting.aggregate import (
    RunIndex,
    band,
    centre,
    check_statistic,
    in_sweep_order,
    sample_rows,
)

MAX_COLUMNS = 6


def _label(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def divergence_note(diverged: dict[str, Any] | None, excluded: bool) -> str:
    if not diverged or not diverged["diverged"]:
        return ""
    what = "excluded" if excluded else "included"
    return (
        f"{diverged['diverged']:,} of {diverged['runs']:,} runs diverged "
        f"({diverged['rule']}, {100 * diverged['share']:.1f} %) — {what}"
    )


def timeseries_figure(
    results: Any,
    variables: list[str],
    facet: str | None = None,
    *,
    statistic: str = "median",
    exclude_diverged: bool = True,
    diverged: dict[str, Any] | None = None,
    max_runs: int = 200,
    max_panels: int = 36,
    title: str | None = None,
    index: RunIndex | None = None,
) -> Figure:
    """One panel per (facet value, variable): sampled runs as thin lines, the ``statistic`` across runs
    and the 10–90 % band on top. ``diverged`` (``aggregate.diverged_runs``) names runs to leave out
    when ``exclude_diverged``; the figure says how many diverged either way."""
    check_statistic(statistic)
    index = index or RunIndex(results, [facet] if facet else [])
    t = index.times
    keep = np.ones(index.n_runs, dtype=bool)
    if diverged and exclude_diverged:
        keep &= ~index.mask_of(diverged["keys"])
    facet_values: list[Any] = [None]
    skipped = 0
    if facet:
        facet_values = in_sweep_order(results, facet, index.values[facet])
        if len(facet_values) > max_panels:
            chosen = sample_rows(len(facet_values), max_panels)
            skipped = len(facet_values) - len(chosen)
            facet_values = [facet_values[i] for i in chosen]
    n_vars = len(variables)
    per_row = max(1, MAX_COLUMNS // n_vars) if facet else 1
    per_row = min(per_row, len(facet_values))
    n_rows, n_cols = math.ceil(len(facet_values) / per_row), per_row * n_vars
    fig, axes = _grid(n_rows, n_cols)
    for ax in axes.flat[len(facet_values) * n_vars :]:
        ax.set_visible(False)
    facet_of_run = (
        np.array([_plain(v) for v in index.values[facet].tolist()], dtype=object) if facet else None
    )
    shown_total = 0
    for j, var in enumerate(variables):
        values_rt = index.matrix(var)
        limits: list[tuple[Any, tuple[float, float] | None]] = []
        for i, fv in enumerate(facet_values):
            ax = axes[i // per_row, (i % per_row) * n_vars + j]
            rows = keep if facet_of_run is None else keep & (facet_of_run == fv)
            part = values_rt[rows]
            sample = part[sample_rows(len(part), max_runs)]
            shown_total += len(sample)
            finite = np.where(np.isfinite(part), part, np.nan)
            low, high = band(finite)
            mid = centre(finite, statistic)
            if len(sample):
                # one collection draws hundreds of runs far faster than one Line2D each
                ax.add_collection(
                    LineCollection(
                        list(np.stack(np.broadcast_arrays(t[None, :], sample), axis=-1)),
                        colors="tab:blue",
                        alpha=max(0.04, min(0.3, 6.0 / len(sample))),
                        linewidths=0.6,
                    )
                )
            ax.fill_between(t, low, high, color="tab:orange", alpha=0.3, linewidth=0)
            ax.plot(t, mid, color="tab:orange", linewidth=1.8)
            limits.append((ax, _robust_ylim(finite, mid)))
            ax.set_xlim(t[0], t[-1]) if len(t) > 1 else None
            heading = var if fv is None else f"{facet} = {_label(fv)}"
            if fv is not None and n_vars > 1:
                heading = f"{var} · {heading}"
            ax.set_title(f"{heading}  (n={int(rows.sum())})", fontsize=8)
            ax.tick_params(labelsize=7)
            if (i % per_row) == 0:
                ax.set_ylabel(var, fontsize=8)
            if i + per_row >= len(facet_values):  # nothing below this panel: it carries the x axis
                ax.set_xlabel("timestep", fontsize=8)
                ax.xaxis.set_tick_params(labelbottom=True)
            ax.grid(alpha=0.3)
        # one y range per variable across its facets, so that panels compare at a glance
        found = [lim for _, lim in limits if lim is not None]
        if found:
            lo, hi = min(a for a, _ in found), max(b for _, b in found)
            pad = 0.06 * (hi - lo) if hi > lo else max(abs(hi) * 0.05, 1e-9)
            for ax, _ in limits:
                ax.set_ylim(lo - pad, hi + pad)
    centre_name = "median" if statistic == "median" else "mean"
    axes[0, 0].legend(
        handles=[
            Line2D([], [], color="tab:blue", alpha=0.6, label=f"runs (≤ {max_runs} per panel)"),
            Line2D([], [], color="tab:orange", linewidth=1.8, label=centre_name),
            Rectangle((0, 0), 1, 1, color="tab:orange", alpha=0.3, label="10–90 %"),
        ],
        fontsize=7,
        loc="best",
    )
    notes = [f"{centre_name} and 10–90 % band over runs"]
    note = divergence_note(diverged, exclude_diverged)
    if note:
        notes.append(note)
    if skipped:
        notes.append(f"{len(facet_values)} of {len(facet_values) + skipped} values of {facet} shown")
    heading = title or ", ".join(variables)
    fig.suptitle("\n".join([heading, *notes]), fontsize=9, y=1 - 0.12 / fig.get_figheight())
    return fig


def _grid(n_rows: int, n_cols: int) -> tuple[Figure, np.ndarray]:
    """A figure of n_rows × n_cols panels of a fixed size in inches, margins fixed in inches too (a
    layout engine would cost seconds per figure of dozens of panels and gain nothing here)."""
    width, height = (3.1, 2.1) if n_cols > 1 else (6.0, 3.4)
    left, right, bottom, top, wspace, hspace = 0.75, 0.25, 0.55, 0.95, 0.6, 0.55
    fig_w = left + right + n_cols * width + (n_cols - 1) * wspace
    fig_h = bottom + top + n_rows * height + (n_rows - 1) * hspace
    fig = Figure(figsize=(fig_w, fig_h))
    axes = fig.subplots(n_rows, n_cols, squeeze=False, sharex=True)
    fig.subplots_adjust(
        left=left / fig_w,
        right=1 - right / fig_w,
        bottom=bottom / fig_h,
        top=1 - top / fig_h,
        wspace=wspace / width,
        hspace=hspace / height,
    )
    return fig, axes


def _robust_ylim(finite_rt: np.ndarray, mid: np.ndarray) -> tuple[float, float] | None:
    """y limits from the 1st–99th percentiles of the runs at each step and the centre line, not from
    the most extreme run: a few runaway runs would otherwise flatten every other line against the axis."""
    if not finite_rt.size:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        edges = np.nanpercentile(finite_rt, [1.0, 99.0], axis=0)
    values = np.concatenate([edges.reshape(-1), mid])
    values = values[np.isfinite(values)]
    if not values.size:
        return None
    return float(values.min()), float(values.max())


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value
