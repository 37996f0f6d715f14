"""The figures of an experiment: its configuration's ``figures`` entries, or its model's defaults, validated
and then drawn by ``econsim.plotting``.

    figures(results, specs)             -> the validated figure specifications
    save_figures(results, specs, dest)  -> the files written
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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
    results: Results, specs: Sequence[Figure | Mapping[str, Any]] | None, dest: str | Path
) -> list[Path]:
    """Draw the figures of ``specs`` (see ``figures``) and write them to ``dest``, a folder or the file
    of the first figure; returns the files written."""
    return draw_figures(results, figures(results, specs), dest)
