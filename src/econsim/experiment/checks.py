"""Checks of a configuration against its model that need no simulation, run before any work.

Whatever would otherwise fail after the experiment has run — a report whose preconditions do not hold,
a figure naming a variable the model does not record or an axis that is not swept, an output path that
cannot be written — is a ``ConfigError`` here, before the first step.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

from econsim.engine.errors import ConfigError, unknown
from econsim.engine.model import Model
from econsim.engine.report import Report
from econsim.experiment.config import ExperimentConfig, Figure
from econsim.models.registry import get_extras

IMAGE_SUFFIXES = (".png", ".pdf", ".svg", ".jpg")
_VECTOR_COLUMN = re.compile(r"^(?P<name>.+)_(?P<k>\d+)$")


def preflight(cfg: ExperimentConfig, model: Model) -> None:
    """Every check below, in the order a user would fix them (``model``: the one ``cfg.model`` names)."""
    swept = list(cfg.sweep.where())
    check_reports(cfg.reports, cfg.model, swept)
    check_figures(cfg.figures or [], cfg.model, model, swept)
    check_outputs(cfg)


def check_reports(names: list[str], model_name: str, swept: list[str]) -> None:
    """Each report is one the model registered (its ``ModelExtras.reports``), with what it needs swept."""
    reports = get_extras(model_name).reports
    for name in names:
        if name not in reports:
            raise unknown("report", name, reports, where=f" of model '{model_name}'")
        report = reports[name]
        if isinstance(report, Report):
            report.check(name, swept)


def recorded_column(model: Model, name: str, swept: list[str]) -> bool:
    """Whether the results table of the model will have a column ``name`` (vector observables are
    recorded as ``name_0 … name_{k-1}``, or ``name_<label>`` when the model labels its columns; k is
    known only once the state is built, so any k passes)."""
    if name in model.recorded or name in swept:
        return True
    if any(
        name == c for obs, labels in model.column_labels.items() for c in model.columns_of(obs, len(labels))
    ):
        return True
    match = _VECTOR_COLUMN.match(name)
    return bool(match and match["name"] in model.observables)


def check_figures(figures: list[Figure], model_name: str, model: Model, swept: list[str]) -> None:
    for i, spec in enumerate(figures):
        where = f"figures.{i}"
        for key, names in (("vars", spec.vars), ("value", [spec.value] if spec.value else [])):
            for name in names:
                if not recorded_column(model, name, swept):
                    raise unknown(
                        "variable",
                        name,
                        [*model.recorded, *swept],
                        where=f" in {where}.{key} (recorded by model '{model.name}' or swept)",
                    )
        for key in ("facet", "x", "y"):
            name = getattr(spec, key)
            if name and name not in swept:
                raise ConfigError(
                    f"{where}.{key} = '{name}' is not swept; a figure's {key} must be one of the swept "
                    f"names: {', '.join(swept) or 'nothing is swept'}"
                )
        model_figures = get_extras(model_name).figures
        if spec.kind == "model" and spec.name not in model_figures:
            raise unknown(
                f"figure of model '{model_name}'", str(spec.name), model_figures, where=f" in {where}"
            )


def check_outputs(cfg: ExperimentConfig) -> None:
    """The results folder, the figure destination and the metrics file can be created and written."""
    if cfg.out:
        check_writable(cfg.out, "results folder (out)", folder=True)
    if cfg.save_fig:
        check_writable(cfg.save_fig, "figure destination (save_fig)", folder=not _is_image(cfg.save_fig))
    if cfg.save_metrics:
        check_writable(cfg.save_metrics, "metrics file (save_metrics)", folder=False)


def _is_image(path: str | Path) -> bool:
    return Path(path).suffix.lower() in IMAGE_SUFFIXES


def check_writable(path: str | Path, what: str, folder: bool) -> None:
    """A ConfigError unless ``path`` (a folder, or a file) exists as such and is writable, or can be
    created: its nearest existing ancestor is a folder this process can write in (tried with an anonymous
    temporary file, gone when closed). Nothing is left behind."""
    target = Path(path).absolute()
    if target.exists():
        if folder and not target.is_dir():
            raise ConfigError(f"{what} '{path}' is a file, not a folder")
        if not folder and target.is_dir():
            raise ConfigError(f"{what} '{path}' is a folder, not a file")
        if not os.access(target, os.W_OK):
            raise ConfigError(f"{what} '{path}' is not writable")
        return
    ancestor = target.parent
    while not ancestor.exists():
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise ConfigError(f"{what} '{path}' cannot be created: '{ancestor}' is a file, not a folder")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise ConfigError(f"{what} '{path}' cannot be created: no permission to write in '{ancestor}'")
    try:  # permissions do not tell everything (root, read-only or virtual file systems): try it
        with tempfile.TemporaryFile(dir=ancestor):
            pass
    except PermissionError:
        raise ConfigError(
            f"{what} '{path}' cannot be created: no permission to write in '{ancestor}'"
        ) from None
    except OSError as exc:
        raise ConfigError(f"{what} '{path}' cannot be created in '{ancestor}': {exc.strerror}") from None
