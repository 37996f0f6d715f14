"""Parameter search for any model: the parameters that minimize (or maximize) a metric averaged over
the Monte Carlo runs of an experiment.

    best θ = argmin_θ  mean_{runs r} metric(run r of the experiment at θ)

The metric is a recorded column at the final step (``volatility``; a vector observable's column as
``return_by_strategy_arbitrage``), or a number a model report returns, as ``REPORT:KEY`` (``summary:volatility``).
Every trial reruns the configuration with the same seed, so trials differ only by their parameters
(common random numbers) and the comparison is not blurred by fresh noise. A searched name that the
configuration sweeps is taken out of the sweep (each trial runs the values it names) and the result's
``notes`` say so; a searched value replaces a fixed one. The search is optuna's TPE
sampler (seeded, so a search is reproducible). The evidence is written next to the answer: every trial
(``trials.csv``), the best parameters (``best.json``) and the convergence figure (``convergence.png``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from econsim.engine.errors import ConfigError, unknown
from econsim.experiment.checks import check_reports, check_writable, recorded_column
from econsim.experiment.config import ExperimentConfig, load_config
from econsim.models.registry import get_extras, get_model


@dataclass(frozen=True)
class SearchSpace:
    """One searched parameter: a numeric range (optionally log-scaled) or a list of choices."""

    name: str
    low: float | None = None
    high: float | None = None
    log: bool = False
    choices: tuple[Any, ...] = ()
    integer: bool = False


@dataclass
class OptimizeResult:
    best_params: dict[str, Any]
    best_value: float
    objective: str
    direction: str
    trials: pd.DataFrame
    files: dict[str, Path] = field(default_factory=dict)
    #: what the search changed in the configuration (searched names taken out of its sweep, …)
    notes: list[str] = field(default_factory=list)


def parse_space(model_name: str, spec: str) -> SearchSpace:
    """``NAME=LOW:HIGH`` (``:log`` for a log scale) or ``NAME=A,B,C`` (choices), checked against the model."""
    name, sep, text = spec.partition("=")
    name = name.strip()
    if not sep or not name or not text:
        raise ConfigError(f"--param expects NAME=LOW:HIGH or NAME=A,B,C, got '{spec}'")
    param = get_model(model_name).param(name)
    if param.kind in ("choice", "bool") or ("," in text and ":" not in text):
        raw = [t.strip() for t in text.split(",")] if text != "*" else []
        values: tuple[Any, ...]
        if param.kind == "bool":
            flags = {"true": True, "false": False}
            if any(t.lower() not in flags for t in raw):
                raise ConfigError(f"--param {name}: the choices of a true/false parameter are true, false")
            values = tuple(flags[t.lower()] for t in raw) if raw else (False, True)
        elif param.kind == "choice":
            values = tuple(param.validate(t, "--param ") for t in raw) if raw else param.choices
        else:
            values = tuple(param.validate(_number(name, t, text), "--param ") for t in raw)
        return SearchSpace(name, choices=values)
    parts = text.split(":")
    if len(parts) not in (2, 3) or (len(parts) == 3 and parts[2] != "log"):
        raise ConfigError(f"--param {name}: expected LOW:HIGH or LOW:HIGH:log, got '{text}'")
    low, high = _number(name, parts[0], text), _number(name, parts[1], text)
    if not low < high:
        raise ConfigError(f"--param {name}: LOW must be below HIGH, got {low} and {high}")
    param.validate(int(low) if param.kind == "int" else low, "--param ")
    param.validate(int(high) if param.kind == "int" else high, "--param ")
    log = len(parts) == 3
    if log and low <= 0:
        raise ConfigError(f"--param {name}: a log scale needs LOW > 0")
    return SearchSpace(name, low, high, log=log, integer=param.kind == "int")


def _number(name: str, token: str, text: str) -> float:
    try:
        value = float(token)
    except ValueError:
        raise ConfigError(f"--param {name}: bounds and choices must be numbers, got '{text}'") from None
    if not math.isfinite(value):
        raise ConfigError(f"--param {name}: bounds and choices must be finite numbers, got '{text}'")
    return value


def _check_objective(model_name: str, objective: str, swept: list[str]) -> None:
    model = get_model(model_name)
    if ":" in objective:
        report = objective.split(":", 1)[0]
        check_reports([report], model_name, swept)
        return
    base = objective.rsplit("_", 1)[0] if objective.rsplit("_", 1)[-1].isdigit() else objective
    if (
        objective not in model.recorded
        and base not in model.observables
        and not recorded_column(model, objective, swept)
    ):
        raise unknown("recorded column", objective, model.recorded, where=f" of model '{model.name}'")


def metric_value(results, objective: str) -> float:
    """The objective of one experiment: a final-step column averaged over runs, or ``REPORT:KEY``."""
    if ":" in objective:
        report, key = objective.split(":", 1)
        values = get_extras(results.manifest["model"]).reports[report](results)
        if key not in values:
            raise ConfigError(f"report '{report}' has no number '{key}'; it has: {', '.join(values)}")
        return float(values[key])
    final = results.final()
    if objective not in final.columns:
        raise unknown("recorded column", objective, [c for c in final.columns if c not in ("subset", "run")])
    return float(np.nanmean(final[objective].to_numpy(dtype=float)))


def optimize(
    config: str | Path | dict[str, Any] | ExperimentConfig,
    objective: str,
    space: list[str],
    *,
    maximize: bool = False,
    trials: int = 30,
    out: str | Path | None = None,
    search_seed: int = 0,
    progress: bool | Callable[[int], object] = False,
    **overrides: Any,
) -> OptimizeResult:
    """Search ``space`` (``NAME=LOW:HIGH`` strings) for the best mean ``objective``; see the module doc.
    ``progress`` is each trial's (the runner's: a bar, or a callable given the run-steps done)."""
    try:
        import optuna
    except ImportError:
        raise ConfigError(
            "econsim optimize needs optuna: pip install 'econsim[opt]' (or pip install optuna)"
        ) from None
    if trials < 1:
        raise ConfigError(f"trials = {trials} must be 1 or more")
    cfg = load_config(config, **overrides)
    spaces = [parse_space(cfg.model, s) for s in space]
    if not spaces:
        raise ConfigError("give at least one --param NAME=LOW:HIGH to search")
    cfg, notes = _searched_not_swept(cfg, [sp.name for sp in spaces])
    _check_objective(cfg.model, objective, list(cfg.sweep.where()))
    if out is not None:
        check_writable(out, "evidence folder (out)", folder=True)
    seed = cfg.seed if cfg.seed is not None else 0
    base = cfg.model_dump(exclude_unset=True)

    def suggest(trial) -> dict[str, Any]:
        values = {}
        for sp in spaces:
            if sp.choices:
                values[sp.name] = trial.suggest_categorical(sp.name, list(sp.choices))
            elif sp.integer:
                assert sp.low is not None and sp.high is not None
                values[sp.name] = trial.suggest_int(sp.name, int(sp.low), int(sp.high), log=sp.log)
            else:
                values[sp.name] = trial.suggest_float(sp.name, sp.low, sp.high, log=sp.log)
        return values

    from econsim.experiment.runner import run

    def evaluate(trial) -> float:
        values = suggest(trial)
        raw = {
            **base,
            "params": {**base.get("params", {}), **values},
            "seed": seed,
            "reports": [],
            "figures": None,
        }
        for key in ("out", "save_fig", "save_metrics"):
            raw.pop(key, None)
        results = run(raw, progress=progress)
        value = metric_value(results, objective)
        return value if math.isfinite(value) else float("nan")  # optuna records a nan trial as failed

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        direction="maximize" if maximize else "minimize", sampler=optuna.samplers.TPESampler(seed=search_seed)
    )
    study.optimize(evaluate, n_trials=trials)
    frame = study.trials_dataframe(attrs=("number", "value", "params", "state"))
    frame.columns = [c.removeprefix("params_") for c in frame.columns]
    done = [t for t in study.trials if t.value is not None and math.isfinite(t.value)]
    if not done:
        raise ConfigError(f"every trial failed to give a finite '{objective}'")
    result = OptimizeResult(
        dict(study.best_params),
        float(study.best_value),
        objective,
        "maximize" if maximize else "minimize",
        frame,
        notes=notes,
    )
    if out is not None:
        result.files = write_evidence(result, Path(out), cfg)
    return result


def _searched_not_swept(cfg: ExperimentConfig, searched: list[str]) -> tuple[ExperimentConfig, list[str]]:
    """The configuration each trial runs: the searched names taken out of its sweep (a trial runs the
    values it names, not the sweep's), and notes saying so and what a trial's value is a mean over."""
    notes = []
    where = cfg.sweep.where()
    taken = [name for name in searched if name in where]
    if taken:
        cfg = cfg.model_copy(update={"sweep": cfg.sweep.without(set(taken))})
        notes.append(
            "searched names are no longer swept: "
            + ", ".join(f"{name} (was {where[name]})" for name in taken)
            + "; each trial runs the values it names"
        )
    fixed = [name for name in searched if name in cfg.params]
    if fixed:
        notes.append(
            "the searched values replace the fixed "
            + ", ".join(f"params.{name} = {cfg.params[name]!r}" for name in fixed)
        )
    rest = list(cfg.sweep.where())
    if rest:
        notes.append(
            f"each trial's value is the mean over {cfg.sweep.n_points()} sweep points of "
            f"{', '.join(rest)} and {cfg.runs} run(s) each"
        )
    return cfg, notes


def write_evidence(result: OptimizeResult, folder: Path, cfg: ExperimentConfig) -> dict[str, Path]:
    """trials.csv, best.json and convergence.png in ``folder``."""
    from matplotlib.figure import Figure  # without pyplot: the caller's backend is left alone

    folder.mkdir(parents=True, exist_ok=True)
    files = {
        "trials": folder / "trials.csv",
        "best": folder / "best.json",
        "figure": folder / "convergence.png",
    }
    result.trials.to_csv(files["trials"], index=False)
    files["best"].write_text(
        json.dumps(
            {
                "objective": result.objective,
                "direction": result.direction,
                "best_value": result.best_value,
                "best_params": result.best_params,
                "trials": len(result.trials),
                "model": cfg.model,
                "runs_per_trial": cfg.runs,
                "steps": cfg.steps,
                "seed": cfg.seed if cfg.seed is not None else 0,
                "notes": result.notes,
            },
            indent=2,
            default=float,
        )
    )
    values = result.trials["value"].to_numpy(dtype=float)
    best = (np.fmax.accumulate if result.direction == "maximize" else np.fmin.accumulate)(
        np.where(np.isfinite(values), values, np.nan)
    )
    fig = Figure(figsize=(11, 4))
    axes = fig.subplots(1, 2)
    axes[0].plot(result.trials["number"], values, "o", color="tab:blue", alpha=0.6, label="trial")
    axes[0].plot(result.trials["number"], best, color="tab:orange", linewidth=2, label="best so far")
    axes[0].set_xlabel("trial")
    axes[0].set_ylabel(f"{result.objective} (mean over {cfg.runs} run(s))")
    axes[0].legend()
    axes[0].grid(alpha=0.3)
    numeric = [
        c
        for c in result.best_params
        if pd.api.types.is_numeric_dtype(result.trials[c])
        and not pd.api.types.is_bool_dtype(result.trials[c])
    ]
    if numeric:
        x = result.trials[numeric[0]].to_numpy(dtype=float)
        sc = axes[1].scatter(x, values, c=result.trials["number"], cmap="viridis")
        axes[1].axvline(float(result.best_params[numeric[0]]), color="tab:red", linestyle="--", label="best")
        axes[1].set_xlabel(numeric[0])
        axes[1].set_ylabel(result.objective)
        fig.colorbar(sc, ax=axes[1], label="trial")
        axes[1].legend()
        axes[1].grid(alpha=0.3)
    else:
        axes[1].axis("off")
    fig.suptitle(
        f"{result.direction} {result.objective}: best {result.best_value:.6g} at "
        + ", ".join(
            f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in result.best_params.items()
        ),
        fontsize=9,
    )
    fig.tight_layout()
    fig.savefig(files["figure"], dpi=110)
    return files
