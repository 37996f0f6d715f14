"""The figures of an experiment: its configuration's ``figures`` entries, or its model's defaults, validated
and then drawn by ``econsim.plotting``.

    figures(results, specs)             -> the validated figure specifications
    save_figures(results, specs, dest)  -> the files written
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from econsim.experiment.config import Figure
from econsim.experiment.results import Results
from econsim.models.registry import get_extras
from econsim.plotting import draw_figures


def figures(results: Results, specs: Sequence[Figure | Mapping[str, Any]] | None) -> list[Figure]:
    """The figures to draw: ``specs`` (configuration entries or Figure objects), or, when None, the
    model's default figures with their time series faceted by the first swept name."""
    if specs is None:
        defaults = get_extras(results.manifest["model"]).default_figures
        # facet the time series by the first swept name, as the notebook facets by its sweep
        specs = [
            {**s, "facet": s.get("facet") or results.swept[0]}
            if results.swept and s["kind"] == "timeseries"
            else dict(s)
            for s in defaults
        ]
    return [s if isinstance(s, Figure) else Figure.model_validate(s) for s in specs]


def save_figures(
    results: Results,
    specs: Sequence[Figure | Mapping[str, Any]] | None,
    dest: str | Path,
    before_each: Callable[[], object] | None = None,
) -> list[Path]:
    """Draw the figures of ``specs`` (see ``figures``) and write them to ``dest``, a folder or the file
    of the first figure; returns the files written. ``before_each()`` is called before each figure."""
    return draw_figures(results, figures(results, specs), dest, before_each)


def heatmap_cells(results: Results, x: str, y: str, value: str, statistic: str = "mean"):
    """The cells of a heatmap figure without drawing it: (x values, y values, ``statistic`` over each
    cell's runs of ``value`` at the last recorded step (ny, nx), runs per cell (ny, nx)); runs whose
    value is not finite are left out of their cell."""
    import numpy as np

    from econsim.plotting.aggregate import RunIndex, check_statistic
    from econsim.plotting.heatmap import final_grid

    check_statistic(statistic)
    index = RunIndex(results, [x, y])
    finals = index.matrix(value, last_only=True)
    return final_grid(index, x, y, finals, statistic, np.isfinite(finals))


def figure_png(results: Results, spec: Figure | Mapping[str, Any], dpi: int = 110) -> bytes:
    """One figure of the results (a configuration entry or Figure) as PNG bytes."""
    import io

    from econsim.plotting import draw_figure

    fig = draw_figure(results, spec if isinstance(spec, Figure) else Figure.model_validate(spec))
    sink = io.BytesIO()
    fig.savefig(sink, format="png", dpi=dpi)
    return sink.getvalue()
