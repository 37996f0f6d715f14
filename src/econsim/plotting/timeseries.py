"""Time series over the Monte Carlo cloud: every run faint, the mean across runs bold, one row per facet."""

from __future__ import annotations

import warnings

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.collections import LineCollection


def timeseries_figure(
    df: pd.DataFrame, variables: list[str], facet: str | None = None, title: str | None = None
) -> plt.Figure:
    """One panel per (facet value, variable): runs as thin lines, mean and 10–90 % band on top."""
    facet_values = sorted(df[facet].unique()) if facet else [None]
    n_rows, n_cols = len(facet_values), len(variables)
    fig, axes = plt.subplots(
        n_rows, n_cols, figsize=(4.2 * n_cols + 0.6, 2.4 * n_rows + 0.8), squeeze=False, sharex=True
    )
    # a timestep with several rows (cadCAD's substeps) is shown by its last one
    df = df.drop_duplicates(["subset", "run", "timestep"], keep="last")
    for i, fv in enumerate(facet_values):
        part = df if fv is None else df[df[facet] == fv]
        for j, var in enumerate(variables):
            ax = axes[i, j]
            # results are sorted by subset, run, timestep and every run records the same timesteps,
            # so each run is one row of a (runs, T) reshape
            t = np.unique(part["timestep"].to_numpy())
            if len(part) % len(t) == 0:
                values = part[var].to_numpy(dtype=float).reshape(-1, len(t)).T
            else:  # runs recorded at different timesteps
                values = part.pivot_table(index="timestep", columns=["subset", "run"], values=var).to_numpy()
            # a few hundred faint runs show the cloud; more only slow the drawing down
            shown = values[:, :: max(1, values.shape[1] // 200)]
            # one collection draws hundreds of runs far faster than one Line2D each
            ax.add_collection(
                LineCollection(
                    np.stack(np.broadcast_arrays(t[None, :], shown.T), axis=-1),
                    colors="tab:blue",
                    alpha=0.08,
                    linewidths=0.6,
                )
            )
            finite = np.where(np.isfinite(values), values, np.nan)
            with warnings.catch_warnings():  # a timestep where no run has a value stays a gap in the line
                warnings.simplefilter("ignore", RuntimeWarning)
                low, mean, high = (
                    np.nanpercentile(finite, 10, axis=1),
                    np.nanmean(finite, axis=1),
                    np.nanpercentile(finite, 90, axis=1),
                )
            ax.fill_between(t, low, high, color="tab:orange", alpha=0.25, linewidth=0)
            ax.plot(t, mean, color="tab:orange", linewidth=1.8)
            if i == 0 and j == 0:
                ax.legend(
                    handles=[
                        plt.Line2D([], [], color="tab:blue", alpha=0.5, label="runs"),
                        plt.Line2D([], [], color="tab:orange", linewidth=1.8, label="mean"),
                        plt.Rectangle((0, 0), 1, 1, color="tab:orange", alpha=0.25, label="10–90 %"),
                    ],
                    fontsize=7,
                    loc="upper left",
                )
            if i == 0:
                ax.set_title(var)
            if j == 0 and fv is not None:
                ax.set_ylabel(f"{facet} = {fv:g}" if isinstance(fv, float) else f"{facet} = {fv}")
            if i == n_rows - 1:
                ax.set_xlabel("timestep")
            ax.grid(alpha=0.3)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig
