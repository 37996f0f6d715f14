"""Figures drawn from results: time series over the Monte Carlo cloud, and heatmaps over a sweep.

Time series and heatmaps read the results store part by part, only the columns they draw
(``plotting.aggregate``), so drawing the figures of a large sweep stays within the memory a batch
uses. Only a model's own figures (``kind: model``) are handed the whole table.

Options of ``timeseries`` and ``heatmap`` figures (the ``options:`` mapping of a figure entry):

``statistic``         ``median`` (time series default) or ``mean`` (heatmap default): the centre line
                      of a time series, the value of a heatmap cell
``exclude_diverged``  ``true`` (default): leave out runs the model declares diverged (honey: the
                      price turned ≤ 0); the figure says how many there were either way
``max_runs``          time series: individual runs drawn per panel (default 200)
``max_panels``        time series: facet values drawn, evenly spaced through the sweep (default 36)
``dpi``               resolution of the written file (default 110)

Figures are ``matplotlib.figure.Figure`` objects made without pyplot: drawing and saving them never
selects, or switches, the matplotlib backend of the program that called econsim. The specifications
handed in are already validated (``econsim.experiment.figures`` turns a configuration's ``figures``
entries, or a model's defaults, into them): this package reads only their attributes and depends on
neither the configuration schema nor the results store.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from econsim.analysis.divergence import diverged_runs
from econsim.engine.errors import ConfigError, unknown
from econsim.models.registry import divergence_of, get_extras
from econsim.plotting.aggregate import RunIndex
from econsim.plotting.heatmap import heatmap_figure
from econsim.plotting.timeseries import timeseries_figure

if TYPE_CHECKING:
    from econsim.experiment.config import Figure
    from econsim.experiment.results import Results

__all__ = ["draw_figure", "draw_figures", "figure_file", "heatmap_figure", "timeseries_figure"]

_IMAGE_SUFFIXES = {".png", ".pdf", ".svg", ".jpg"}
_OPTIONS = {
    "timeseries": {"statistic", "exclude_diverged", "max_runs", "max_panels", "dpi", "title"},
    "heatmap": {"statistic", "exclude_diverged", "dpi", "title"},
}


class _Drawing:
    """What the figures of one call share: the columns present, the diverged runs, the run indexes."""

    def __init__(self, results: Results) -> None:
        self.results = results
        self.columns = set(results.column_names())
        self._diverged: dict[str, Any] | bool | None = False
        self._indexes: dict[tuple[str, ...], RunIndex] = {}
        self._df = None

    @property
    def diverged(self) -> dict[str, Any] | None:
        if self._diverged is False:
            self._diverged = diverged_runs(self.results, divergence_of(self.results.manifest["model"]))
        return self._diverged  # type: ignore[return-value]

    def index(self, names: tuple[str, ...]) -> RunIndex:
        if names not in self._indexes:
            self._indexes[names] = RunIndex(self.results, list(names))
        return self._indexes[names]

    def frame(self):
        if self._df is None:
            self._df = self.results.to_pandas()
        return self._df


def _check_options(spec: Figure) -> dict[str, Any]:
    options = dict(spec.options)
    valid = _OPTIONS.get(spec.kind)
    if valid is None:
        return options
    for key in options:
        if key not in valid:
            raise unknown(f"option of a {spec.kind} figure", key, valid)
    if "exclude_diverged" in options and not isinstance(options["exclude_diverged"], bool):
        raise ConfigError(
            f"figure option exclude_diverged = {options['exclude_diverged']!r} must be true or false"
        )
    for key in ("max_runs", "max_panels"):
        if key in options and (not isinstance(options[key], int) or options[key] < 1):
            raise ConfigError(f"figure option {key} = {options[key]!r} must be a whole number ≥ 1")
    return options


def draw_figure(results: Results, spec: Figure, df=None, drawing: _Drawing | None = None):
    """One figure of the results (``df``: their table, for a model's own figure, when the caller has it)."""
    drawing = drawing or _Drawing(results)
    if df is not None:
        drawing._df = df
    options = _check_options(spec)
    for name in [*spec.vars, spec.value]:
        if name and name not in drawing.columns:
            raise unknown("variable in figure", name, drawing.columns - {"subset", "run", "timestep"})
    for name in (spec.facet, spec.x, spec.y):
        if name and name not in results.swept:
            raise ConfigError(
                f"figure uses '{name}', which is not swept; swept: {', '.join(results.swept) or 'nothing'}"
            )
    if spec.kind == "model":
        model_name = results.manifest["model"]
        model_figures = get_extras(model_name).figures
        if spec.name is None or spec.name not in model_figures:
            raise unknown(f"figure of model '{model_name}'", str(spec.name), model_figures)
        return model_figures[spec.name](results, drawing.frame(), spec.options)
    common = {
        "exclude_diverged": options.get("exclude_diverged", True),
        "diverged": drawing.diverged,
        "title": options.get("title"),
    }
    if spec.kind == "timeseries":
        return timeseries_figure(
            results,
            spec.vars,
            spec.facet,
            statistic=options.get("statistic", "median"),
            max_runs=options.get("max_runs", 200),
            max_panels=options.get("max_panels", 36),
            index=drawing.index((spec.facet,) if spec.facet else ()),
            **common,
        )
    if spec.x is None or spec.y is None or spec.value is None:
        raise ConfigError("a heatmap figure needs 'x', 'y' and 'value'")
    return heatmap_figure(
        results,
        spec.x,
        spec.y,
        spec.value,
        statistic=options.get("statistic", "mean"),
        index=drawing.index((spec.x, spec.y)),
        **common,
    )


def figure_file(spec: Figure) -> str:
    """The file name of a figure: its ``file``, else one made from its kind and contents."""
    if spec.file:
        return spec.file
    if spec.kind == "timeseries":
        return f"{spec.kind}-{'-'.join(spec.vars)}.png"
    if spec.kind == "model":
        return f"{spec.name}.png"
    return f"heatmap-{spec.value}.png"


def draw_figures(
    results: Results,
    figures: Sequence[Figure],
    dest: str | Path,
    before_each: Callable[[], object] | None = None,
) -> list[Path]:
    """Draw figures (validated specifications: see ``experiment.figures.save_figures`` for
    configuration entries and a model's defaults) and write them. ``dest`` is a folder, or a file name
    for the first figure (the rest go beside it as ``<stem>-<n>.<suffix>``). Returns the files written.
    ``before_each()`` is called before each figure is drawn (a cancelled job stops there by raising)."""
    dest = Path(dest)
    drawing = _Drawing(results)
    written = []
    for i, spec in enumerate(figures):
        if before_each is not None:
            before_each()
        name = figure_file(spec)
        if dest.suffix.lower() in _IMAGE_SUFFIXES:
            path = dest if i == 0 else dest.with_name(f"{dest.stem}-{Path(name).stem}{dest.suffix}")
        else:
            path = dest / name
        path.parent.mkdir(parents=True, exist_ok=True)
        fig = draw_figure(results, spec, drawing=drawing)
        fig.savefig(path, dpi=spec.options.get("dpi", 110))
        _close(fig)
        written.append(path)
    return written


def _close(fig) -> None:
    """Model figures may come from pyplot, which keeps them until closed; ours are plain Figures."""
    import sys

    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is not None:
        pyplot.close(fig)
