"""Calibration by the method of simulated moments: the parameters whose simulated moments match the data's.

    θ̂ = argmin_θ  g(θ)ᵀ W g(θ),   g(θ) = m̄_sim(θ) − m_data,   m̄_sim = mean over R runs of m(run)

A moment is ``COLUMN:STAT`` of a recorded series over steps 1…T (STAT: mean, std, final, acf1 — the
lag-1 autocorrelation — or dmean, the mean step change). W is diagonal, 1/variance of each moment across
the runs of a pilot experiment at the centre of the bounds, so every moment counts in units of its own
seed noise. The search is optuna's TPE (reusing ``econsim optimize``'s parsing), several trials asked at
once and run as ONE experiment: a ``sweep.zip`` of the trials' values × R runs, with common random
numbers (every trial sees the same R seeds).

Uncertainty: from the Hessian of the objective in its Gauss–Newton form, H = GᵀWG. The Jacobian
G = ∂m̄_sim/∂θ is taken by central differences (±5 % of each range) under common random numbers (all
2D + 1 points in one experiment); Ω is the covariance of the moments across the R runs at θ̂ (the runs
are draws of the data-generating process). The covariance of θ̂ is the MSM sandwich for the W used,
(1 + 1/R) H⁻¹ GᵀWΩWG H⁻¹ (the data's noise plus the simulation's). No bootstrap over the data is done.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from econsim.engine.errors import ConfigError, unknown
from econsim.experiment.checks import check_writable
from econsim.experiment.config import ExperimentConfig, load_config
from econsim.experiment.optimize import parse_space
from econsim.models.registry import get_model

STATS = ("mean", "std", "final", "acf1", "dmean")


@dataclass
class CalibrationResult:
    names: list[str]
    values: dict[str, float]
    #: standard errors from the Gauss–Newton Hessian (see the module doc)
    se: dict[str, float]
    moments: pd.DataFrame
    trials: pd.DataFrame
    objective: float
    config: dict[str, Any]
    files: dict[str, Path] = field(default_factory=dict)


def moment_values(series_rt: np.ndarray, stat: str) -> np.ndarray:
    """One moment of each run's series (runs, T)."""
    x = np.asarray(series_rt, dtype=float)
    if stat == "mean":
        return x.mean(axis=1)
    if stat == "std":
        return x.std(axis=1)
    if stat == "final":
        return x[:, -1]
    if stat == "dmean":
        return np.diff(x, axis=1).mean(axis=1)
    d = x - x.mean(axis=1, keepdims=True)
    denom = np.sum(d * d, axis=1)
    return np.where(denom > 0, np.sum(d[:, 1:] * d[:, :-1], axis=1) / np.where(denom > 0, denom, 1.0), 0.0)


def parse_moments(model_name: str, moments: list[str], data: pd.DataFrame) -> list[tuple[str, str]]:
    model = get_model(model_name)
    out = []
    for spec in [m.strip() for item in moments for m in item.split(",") if m.strip()]:
        column, sep, stat = spec.partition(":")
        if not sep or stat not in STATS:
            raise ConfigError(f"--moments {spec}: expected COLUMN:STAT with STAT one of {', '.join(STATS)}")
        if column not in model.recorded:
            raise unknown("recorded column", column, model.recorded, where=f" of model '{model.name}'")
        if column not in data.columns:
            raise ConfigError(
                f"--moments {spec}: the data has no column '{column}'; it has {list(data.columns)}"
            )
        out.append((column, stat))
    if not out:
        raise ConfigError("give at least one moment: --moments COLUMN:STAT")
    return out


def calibrate(
    config: str | Path | dict[str, Any] | ExperimentConfig,
    data: str | Path | pd.DataFrame,
    moments: list[str],
    params: list[str],
    *,
    trials: int = 32,
    batch: int = 4,
    runs: int | None = None,
    seed: int | None = None,
    out: str | Path | None = None,
    **overrides: Any,
) -> CalibrationResult:
    """Fit ``params`` (``NAME=LOW:HIGH``) to the ``moments`` of ``data``; see the module doc."""
    try:
        import optuna
    except ImportError:
        raise ConfigError("econsim calibrate needs optuna: pip install 'econsim[opt]'") from None
    if isinstance(data, pd.DataFrame):
        frame = data
    else:
        if not Path(data).is_file():
            raise ConfigError(f"data file '{data}' does not exist")
        frame = pd.read_csv(data)
    if "timestep" in frame.columns:
        frame = frame[frame["timestep"] > 0].sort_values("timestep")
    if len(frame) < 3:
        raise ConfigError(f"the data has {len(frame)} step(s) after timestep 0; calibration needs 3 or more")
    cfg = load_config(config, runs=runs, seed=seed, steps=len(frame), **overrides)
    spaces = [parse_space(cfg.model, s) for s in params]
    if not spaces:
        raise ConfigError("give at least one --param NAME=LOW:HIGH to fit")
    for sp in spaces:
        if sp.choices or sp.integer or sp.log:
            raise ConfigError(f"--param {sp.name}: calibration fits real-valued parameters over LOW:HIGH")
    names = [sp.name for sp in spaces]
    if cfg.sweep.without(set(names)).where():
        raise ConfigError(
            "calibration runs the trials as the sweep: fix the configuration's other swept names"
        )
    specs = parse_moments(cfg.model, moments, frame)
    m_data = np.array([moment_values(frame[c].to_numpy(float)[None, :], s)[0] for c, s in specs])
    if out is not None:
        check_writable(out, "calibration folder (out)", folder=True)
    exp_seed = cfg.seed if cfg.seed is not None else 0
    base = cfg.model_dump(exclude_unset=True)
    for key in ("out", "save_fig", "save_metrics", "sweep"):
        base.pop(key, None)
    base.update({"seed": exp_seed, "reports": [], "figures": None, "common_random_numbers": True})
    base["params"] = {k: v for k, v in base.get("params", {}).items() if k not in names}
    from econsim.experiment.runner import run

    def simulate(points: list[dict[str, float]]) -> tuple[np.ndarray, Any]:
        """Per-run moments (points, R, K) of the points, run as one experiment."""
        raw = {**base, "sweep": {"zip": {n: [float(p[n]) for p in points] for n in names}}}
        res = run(raw, progress=False)
        out_prk = np.stack([moment_values(res.stacked(c)[:, 1:], s) for c, s in specs], axis=-1).reshape(
            len(points), cfg.runs, len(specs)
        )
        return out_prk, res

    ranges = {sp.name: (float(sp.low or 0.0), float(sp.high or 0.0)) for sp in spaces}
    centre = {n: 0.5 * (lo + hi) for n, (lo, hi) in ranges.items()}
    pilot, _ = simulate([centre])
    var_k = pilot[0].var(axis=0, ddof=1) if cfg.runs > 1 else np.zeros(len(specs))
    scale_k = np.where(var_k > 0, var_k, np.maximum(m_data**2, 1e-12))

    def loss(mean_k: np.ndarray) -> float:
        value = float(np.sum((mean_k - m_data) ** 2 / scale_k))
        return value if math.isfinite(value) else float("nan")

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=exp_seed))
    done = 0
    while done < trials:
        asked = [study.ask() for _ in range(min(batch, trials - done))]
        points = [{n: t.suggest_float(n, lo, hi) for n, (lo, hi) in ranges.items()} for t in asked]
        sims, _ = simulate(points)
        for t, sim in zip(asked, sims, strict=True):
            study.tell(t, loss(np.nanmean(sim, axis=0)))
        done += len(asked)
    best = dict(study.best_params)
    # the Jacobian by central differences (under common random numbers) and the moments' spread at θ̂
    points = [best]
    for n, (low, high) in ranges.items():
        h = 0.05 * (high - low)
        points += [{**best, n: max(low, best[n] - h)}, {**best, n: min(high, best[n] + h)}]
    sims, res = simulate(points)
    means = sims.mean(axis=1)
    G = np.column_stack(
        [
            (means[2 + 2 * j] - means[1 + 2 * j]) / (points[2 + 2 * j][n] - points[1 + 2 * j][n])
            for j, n in enumerate(names)
        ]
    )
    omega = np.atleast_2d(np.cov(sims[0], rowvar=False)) if cfg.runs > 1 else np.diag(scale_k)
    # the sandwich for the diagonal W the search used: (GᵀWG)⁻¹ GᵀWΩWG (GᵀWG)⁻¹ (1 + 1/R)
    W = np.diag(1 / scale_k)
    bread = np.linalg.pinv(G.T @ W @ G)
    cov = (1 + 1 / cfg.runs) * bread @ (G.T @ W @ omega @ W @ G) @ bread
    se = {n: float(math.sqrt(max(cov[j, j], 0.0))) for j, n in enumerate(names)}
    moments_frame = pd.DataFrame(
        {
            "moment": [f"{c}:{s}" for c, s in specs],
            "data": m_data,
            "simulated": means[0],
            "sim_sd": sims[0].std(axis=0, ddof=1) if cfg.runs > 1 else np.nan,
        }
    )
    fitted = cfg.model_dump(exclude_unset=True, mode="json")
    for key in ("out", "save_fig", "save_metrics"):
        fitted.pop(key, None)
    fitted["params"] = {**fitted.get("params", {}), **{n: float(best[n]) for n in names}}
    sweep = cfg.sweep.without(set(names))
    if sweep.where():
        fitted["sweep"] = sweep.model_dump(mode="json")
    else:
        fitted.pop("sweep", None)
    load_config(dict(fitted))  # the calibrated set is a valid configuration
    frame_t = study.trials_dataframe(attrs=("number", "value", "params"))
    frame_t.columns = [c.removeprefix("params_") for c in frame_t.columns]
    result = CalibrationResult(
        names, {n: float(best[n]) for n in names}, se, moments_frame, frame_t, float(study.best_value), fitted
    )
    if out is not None:
        result.files = _write(result, Path(out), frame, specs, res, cfg.runs)
    return result


def _write(
    result: CalibrationResult, folder: Path, data: pd.DataFrame, specs, res, runs: int
) -> dict[str, Path]:
    from matplotlib.figure import Figure  # without pyplot: the caller's backend is left alone

    folder.mkdir(parents=True, exist_ok=True)
    files = {
        "fit": folder / "fit.csv",
        "config": folder / "calibrated.yaml",
        "moments": folder / "moments.csv",
        "trials": folder / "trials.csv",
        "figure": folder / "fit.png",
    }
    pd.DataFrame(
        {
            "param": result.names,
            "value": [result.values[n] for n in result.names],
            "se": [result.se[n] for n in result.names],
            "low95": [result.values[n] - 1.96 * result.se[n] for n in result.names],
            "high95": [result.values[n] + 1.96 * result.se[n] for n in result.names],
        }
    ).to_csv(files["fit"], index=False)
    files["config"].write_text(
        "# calibrated by econsim calibrate (method of simulated moments); standard errors in fit.csv\n"
        + yaml.safe_dump(result.config, sort_keys=False)
    )
    result.moments.to_csv(files["moments"], index=False)
    result.trials.to_csv(files["trials"], index=False)
    columns = list(dict.fromkeys(c for c, _ in specs))
    fig = Figure(figsize=(5.5 * len(columns), 4))
    axes = fig.subplots(1, len(columns), squeeze=False)
    for ax, column in zip(axes[0], columns, strict=True):
        sim = res.stacked(column)[:runs, 1:]  # the runs at θ̂ (the first sweep point)
        t = np.arange(1, sim.shape[1] + 1)
        ax.fill_between(t, *np.percentile(sim, [5, 95], axis=0), alpha=0.3, label="simulated 5–95 %")
        ax.plot(t, sim.mean(axis=0), color="tab:blue", label="simulated mean")
        ax.plot(t, data[column].to_numpy(float), color="black", linewidth=1.2, label="data")
        ax.set_xlabel("step")
        ax.set_ylabel(column)
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=8)
    fig.suptitle(
        "calibrated: "
        + ", ".join(f"{n} = {result.values[n]:.4g} ± {result.se[n]:.2g}" for n in result.names),
        fontsize=9,
    )
    fig.tight_layout()
    fig.savefig(files["figure"], dpi=110)
    return files
