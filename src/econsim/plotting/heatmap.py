"""Heatmaps of a final value over two swept parameters (mean over Monte Carlo runs)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd


def final_means(df: pd.DataFrame, x: str, y: str, value: str) -> pd.DataFrame:
    """Mean of ``value`` at the last recorded timestep, as a table with y as rows and x as columns.

    Other swept names, if any, are averaged over too.
    """
    last = df[df["timestep"] == df["timestep"].max()]
    return last.pivot_table(index=y, columns=x, values=value, aggfunc="mean")


def heatmap_figure(df: pd.DataFrame, x: str, y: str, value: str, title: str | None = None) -> plt.Figure:
    grid = final_means(df, x, y, value)
    fig, ax = plt.subplots(figsize=(1.0 + 0.75 * grid.shape[1], 1.2 + 0.5 * grid.shape[0]))
    image = ax.imshow(grid.to_numpy(), origin="lower", aspect="auto", cmap="viridis")
    ax.set_xticks(np.arange(grid.shape[1]), [f"{v:g}" for v in grid.columns], rotation=45)
    ax.set_yticks(np.arange(grid.shape[0]), [f"{v:g}" for v in grid.index])
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    values = grid.to_numpy()
    middle = np.nanmin(values) + 0.6 * (np.nanmax(values) - np.nanmin(values))
    for (r, c), v in np.ndenumerate(values):
        ax.text(
            c, r, f"{v:.3g}", ha="center", va="center", fontsize=7, color="black" if v > middle else "white"
        )
    fig.colorbar(image, ax=ax, label=f"final {value} (mean over runs)")
    ax.set_title(title or f"final {value}")
    fig.tight_layout()
    return fig
