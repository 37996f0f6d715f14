"""Figures drawn from results: time series over the Monte Carlo cloud, and heatmaps over a sweep."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt

from econsim.engine.errors import ConfigError, unknown
from econsim.experiment.config import Figure
from econsim.experiment.results import Results
from econsim.plotting.heatmap import heatmap_figure
from econsim.plotting.timeseries import timeseries_figure

_IMAGE_SUFFIXES = {".png", ".pdf", ".svg", ".jpg"}


def _figure_specs(results: Results, specs: Sequence[Figure | dict[str, Any]] | None) -> list[Figure]:
    if specs is None:
        from econsim.models.registry import get_model

        specs = get_model(results.manifest["model"]).default_figures
        # facet the time series by the first swept name, as the notebook facets by its sweep
        if results.swept:
            specs = [
                {**s, "facet": s.get("facet") or results.swept[0]} if s["kind"] == "timeseries" else s
                for s in specs
            ]
    return [s if isinstance(s, Figure) else Figure.model_validate(s) for s in specs]


def draw_figure(results: Results, spec: Figure, df=None) -> plt.Figure:
    df = results.to_pandas() if df is None else df
    columns = set(df.columns)
    for name in [*spec.vars, spec.value]:
        if name and name not in columns:
            raise unknown("variable in figure", name, columns - {"subset", "run", "timestep"})
    for name in (spec.facet, spec.x, spec.y):
        if name and name not in results.swept:
            raise ConfigError(
                f"figure uses '{name}', which is not swept; swept: {', '.join(results.swept) or 'nothing'}"
            )
    if spec.kind == "model":
        from econsim.models.registry import get_model

        model = get_model(results.manifest["model"])
        if spec.name not in model.figures:
            raise unknown(f"figure of model '{model.name}'", spec.name, model.figures)
        return model.figures[spec.name](results, df, spec.options)
    if spec.kind == "timeseries":
        return timeseries_figure(df, spec.vars, spec.facet)
    return heatmap_figure(df, spec.x, spec.y, spec.value)


def draw_figures(
    results: Results, specs: Sequence[Figure | dict[str, Any]] | None, dest: str | Path
) -> list[Path]:
    """Draw figures and write them. ``dest`` is a folder, or a file name for the first figure (the rest
    go beside it as ``<stem>-<n>.<suffix>``). Returns the files written."""
    dest = Path(dest)
    figures = _figure_specs(results, specs)
    df = results.to_pandas()
    written = []
    for i, spec in enumerate(figures):
        name = spec.file or (
            f"{spec.kind}-{'-'.join(spec.vars)}.png"
            if spec.kind == "timeseries"
            else f"{spec.name}.png"
            if spec.kind == "model"
            else f"heatmap-{spec.value}.png"
        )
        if dest.suffix.lower() in _IMAGE_SUFFIXES:
            path = dest if i == 0 else dest.with_name(f"{dest.stem}-{Path(name).stem}{dest.suffix}")
        else:
            path = dest / name
        path.parent.mkdir(parents=True, exist_ok=True)
        fig = draw_figure(results, spec, df)
        fig.savefig(path, dpi=spec.options.get("dpi", 110))
        plt.close(fig)
        written.append(path)
    return written
