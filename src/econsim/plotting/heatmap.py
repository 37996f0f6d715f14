"""Heatmaps of a final value over two swept names: the mean (or median) over the runs of each cell.

Runs of every other swept name that fall into a cell are pooled. Only the last recorded timestep of
the variable and the two swept names are read, one part at a time (``plotting.aggregate``).
"""

from __future__ import annotations

import warnings
from typing import Any

import matplotlib
import numpy as np
from matplotlib.figure import Figure

from econsim.plotting.aggregate import RunIndex, centre, check_statistic
from econsim.plotting.timeseries import divergence_note

_MIN_FONT = 5.0  # below this, cell labels are dropped rather than overlap or shrink out of sight


def final_grid(
    index: RunIndex, x: str, y: str, finals: np.ndarray, statistic: str, keep: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(x values, y values, statistic per cell (ny, nx), runs per cell (ny, nx)) of the final values."""
    keep = np.ones(len(finals), dtype=bool) if keep is None else keep
    xs_r, ys_r = index.values[x], index.values[y]
    xs, ys = np.unique(xs_r), np.unique(ys_r)
    xi, yi = np.searchsorted(xs, xs_r), np.searchsorted(ys, ys_r)
    grid = np.full((len(ys), len(xs)), np.nan)
    count = np.zeros((len(ys), len(xs)), dtype=np.int64)
    cell = yi * len(xs) + xi
    for c in np.unique(cell):
        rows = (cell == c) & keep
        count.reshape(-1)[c] = int(rows.sum())
        if rows.any():
            grid.reshape(-1)[c] = centre(finals[rows], statistic)
    return xs, ys, grid, count


def _cell_font(fig: Figure, ax, nx: int, ny: int, labels: list[str]) -> float:
    """The largest font (≤ 8 pt) at which the longest label fits its cell, or 0 if under 5 pt."""
    fig.draw_without_rendering()  # the axes get their final size from the layout engine
    box = ax.get_window_extent()
    points_per_pixel = 72.0 / fig.dpi
    cell_w, cell_h = box.width * points_per_pixel / nx, box.height * points_per_pixel / ny
    longest = max((len(s) for s in labels), default=1)
    size = min(8.0, 0.9 * cell_w / (0.62 * longest), 0.55 * cell_h)
    return size if size >= _MIN_FONT else 0.0


def heatmap_figure(
    results: Any,
    x: str,
    y: str,
    value: str,
    *,
    statistic: str = "mean",
    exclude_diverged: bool = True,
    diverged: dict[str, Any] | None = None,
    title: str | None = None,
    index: RunIndex | None = None,
) -> Figure:
    check_statistic(statistic)
    index = index or RunIndex(results, [x, y])
    finals = index.matrix(value, last_only=True)
    keep = np.isfinite(finals)
    if diverged and exclude_diverged:
        keep &= ~index.mask_of(diverged["keys"])
    xs, ys, grid, _count = final_grid(index, x, y, finals, statistic, keep)
    width = float(np.clip(2.2 + 0.62 * len(xs), 4.5, 16.0))
    height = float(np.clip(1.9 + 0.42 * len(ys), 3.5, 12.0))
    fig = Figure(figsize=(width, height), layout="constrained")
    ax = fig.subplots()
    masked = np.ma.masked_invalid(grid)
    cmap = matplotlib.colormaps["viridis"].with_extremes(bad="0.85")  # a cell without runs: grey
    image = ax.imshow(masked, origin="lower", aspect="auto", cmap=cmap)
    ax.set_xticks(np.arange(len(xs)), [_label(v) for v in xs], rotation=45, fontsize=7)
    ax.set_yticks(np.arange(len(ys)), [_label(v) for v in ys], fontsize=7)
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    centre_name = "median" if statistic == "median" else "mean"
    fig.colorbar(image, ax=ax, label=f"final {value} ({centre_name} over runs)")
    notes = [f"{centre_name} over the runs of each cell"]
    note = divergence_note(diverged, exclude_diverged)
    if note:
        notes.append(note)
    ax.set_title("\n".join([title or f"final {value}", *notes]), fontsize=8)
    labels = [f"{v:.3g}" if np.isfinite(v) else "–" for v in grid.reshape(-1)]
    size = _cell_font(fig, ax, len(xs), len(ys), labels)
    if size:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            lo, hi = np.nanmin(grid), np.nanmax(grid)
        middle = lo + 0.6 * (hi - lo) if np.isfinite(lo) else 0.0
        for (r, c), v in np.ndenumerate(grid):
            ax.text(
                c,
                r,
                labels[r * len(xs) + c],
                ha="center",
                va="center",
                fontsize=size,
                color="black" if (np.isfinite(v) and v > middle) or not np.isfinite(v) else "white",
            )
    return fig


def _label(value: Any) -> str:
    return f"{value:g}" if isinstance(value, (float, np.floating)) else str(value)
