"""The stylized-facts figure: the Okun, Phillips and Beveridge scatters, and each moment beside its reference.

Drawn on a ``matplotlib.figure.Figure`` (no pyplot state, no backend switch), so it works in any program.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from econsim.analysis.stylized_facts import Fact, quarterly


def stylized_facts_figure(
    facts: list[Fact],
    series: Mapping[str, np.ndarray],
    steps_per_quarter: int = 3,
    burn_in: int = 0,
    max_points: int = 4000,
) -> Any:
    """Four panels: Okun (Δu on growth), Phillips (inflation on unemployment), Beveridge (vacancies on
    unemployment), and every fact's value with its Monte Carlo error beside the published band."""
    from matplotlib.figure import Figure

    trimmed = {k: np.atleast_2d(np.asarray(v, dtype=float))[:, burn_in:] for k, v in series.items()}
    q = quarterly(trimmed, steps_per_quarter, {"gdp", "consumption", "investment"})
    fig = Figure(figsize=(13, 9), layout="constrained")
    axes = fig.subplots(2, 2)
    rng = np.random.default_rng(0)  # only thins the scatter for drawing; no result depends on it

    def scatter(ax, x, y, xlabel, ylabel, title):
        x, y = np.ravel(x), np.ravel(y)
        keep = np.isfinite(x) & np.isfinite(y)
        x, y = x[keep], y[keep]
        if x.size > max_points:
            pick = rng.choice(x.size, max_points, replace=False)
            x, y = x[pick], y[pick]
        ax.scatter(x, y, s=4, alpha=0.35, color="tab:blue")
        if x.size > 2 and np.ptp(x) > 0:
            b, a = np.polyfit(x, y, 1)
            grid = np.linspace(x.min(), x.max(), 2)
            ax.plot(grid, a + b * grid, color="tab:red", label=f"slope {b:.3g}")
            ax.legend(loc="best", fontsize=8)
        ax.set(xlabel=xlabel, ylabel=ylabel, title=title)

    have = set(q)
    if {"gdp", "unemployment"} <= have:
        growth = 100 * np.diff(np.log(np.maximum(q["gdp"], 1e-12)), axis=1)
        scatter(
            axes[0, 0],
            growth,
            100 * np.diff(q["unemployment"], axis=1),
            "output growth (% per quarter)",
            "change in unemployment (points)",
            "Okun's law",
        )
    if {"inflation", "unemployment"} <= have:
        scatter(
            axes[0, 1],
            100 * q["unemployment"],
            100 * q["inflation"],
            "unemployment (%)",
            "inflation (% per step)",
            "Phillips curve",
        )
    if {"vacancy_rate", "unemployment"} <= have:
        scatter(
            axes[1, 0],
            100 * q["unemployment"],
            100 * q["vacancy_rate"],
            "unemployment (%)",
            "vacancy rate (%)",
            "Beveridge curve",
        )
    ax = axes[1, 1]
    names = [f.name for f in facts]
    ypos = np.arange(len(facts))[::-1]
    for y, f in zip(ypos, facts, strict=True):
        low, high = max(f.low, -3.0), min(f.high, 6.0)
        ax.plot([low, high], [y, y], color="0.8", lw=6, solid_capstyle="butt")
        if f.published is not None:
            ax.plot([f.published], [y], marker="|", color="k", ms=12)
        ax.text(6.15, y, f"{f.value:.3g}", va="center", ha="right", fontsize=7)
        ax.errorbar(
            [min(max(f.value, -3.0), 5.5)],  # a value off the scale sits at its edge; the text gives it
            [y],
            xerr=[[2 * f.stderr], [2 * f.stderr]],
            fmt="o",
            color="tab:green" if f.passed else "tab:red",
            ms=5,
        )
    ax.set_yticks(ypos, names, fontsize=7)
    ax.set(
        xlim=(-3.2, 6.2),
        xlabel="value (grey: accepted band, |: published, dot ± 2 s.e.: model)",
        title=f"moments: {sum(f.passed for f in facts)} of {len(facts)} pass",
    )
    return fig
