"""Calibration by the method of simulated moments: the parameters whose simulated moments match the data's.

    θ̂ = argmin_θ  g(θ)ᵀ W g(θ),   g(θ) = m̄_sim(θ) − m_data,   m̄_sim = mean over R runs of m(run)

A moment is ``COLUMN:STAT`` of a series over steps 1…T: COLUMN a recorded name, a ratio ``A/B`` or a
log, ``log(A)`` or ``log(A/B)``; STAT mean, std, final, acf1 (the lag-1 autocorrelation) or dmean (the
mean step change). W is diagonal, 1/variance of each moment across the runs of a pilot experiment at
the centre of the bounds, so every moment counts in units of its own seed noise. The search is optuna's
TPE (reusing ``econsim optimize``'s parsing), several trials asked at once and run as ONE experiment: a
``sweep.zip`` of the trials' values × R runs, with common random numbers (every trial sees the same R
seeds).

The estimate: every point simulated with those seeds — the pilot's centre and 16 space-filling points,
the trials, a local design (a 3^D grid at ±10 % of each range; 5 points for one parameter; a star
beyond 3 parameters) around the best — gives the mean moments a smooth response surface: a local
linear regression with Gaussian weights (bandwidth 12 % of each range). θ̂ minimizes the objective on
that surface over a fine grid of the bounds (4 096 Sobol' points beyond 3 parameters).

Uncertainty: a parametric bootstrap. B runs at θ̂ with fresh seeds are B synthetic data sets of the
fitted process; each is calibrated again on the surface (bounded: the bounds are part of the fit), and
the spread of those B estimates, × √(1 + 1/R) for the simulation noise in m̄_sim, is the standard
error. A second round puts a design over the bootstrap cloud (±2.5 of its spreads) so the surface is
right where the estimates may fall, then estimates and bootstraps again. Where the moments do not
identify a parameter the surface is flat along it and the bootstrap estimates spread to the bounds; its
standard error is then at least the spread of a uniform over the bounds, (high − low)/√12 (what the
bounds alone say), instead of blowing up or collapsing (as the Hessian's did), and a
``CalibrationWarning`` names the parameter (a quarter or more of its bootstrap estimates on a bound, or a
singular Gauss–Newton Hessian H = GᵀWG of the surface). The Hessian's MSM sandwich,
(1 + 1/R) H⁻¹ GᵀWΩWG H⁻¹ with Ω the moments' covariance across the runs at θ̂, is reported beside it
(``se_hessian``, inf when singular) for comparison.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from econsim.engine.errors import ConfigError, EconsimWarning, unknown
from econsim.experiment.checks import check_writable
from econsim.experiment.config import ExperimentConfig, load_config
from econsim.experiment.optimize import parse_space
from econsim.models.registry import get_model

STATS = ("mean", "std", "final", "acf1", "dmean")
#: the local design's half-width and the surface's kernel bandwidth (shares of each range)
STEP = 0.1
BANDWIDTH = 0.12
#: space-filling points of the pilot; rounds of bootstrap-guided designs
PILOT = 16
ROUNDS = 2
#: a parameter is flagged as not identified when this share of its bootstrap estimates sit on a bound
PILED = 0.25


class CalibrationWarning(EconsimWarning):
    """A calibrated parameter the moments do not identify (its uncertainty is the bounds')."""


@dataclass
class CalibrationResult:
    names: list[str]
    values: dict[str, float]
    #: standard errors from the parametric bootstrap (see the module doc)
    se: dict[str, float]
    moments: pd.DataFrame
    trials: pd.DataFrame
    objective: float
    config: dict[str, Any]
    #: the MSM sandwich's standard errors from the surface's Gauss–Newton Hessian (inf: singular)
    se_hessian: dict[str, float] = field(default_factory=dict)
    #: whether the moments identify each parameter (see the module doc); False ones were warned about
    identified: dict[str, bool] = field(default_factory=dict)
    #: the bootstrap estimates (B, D)
    bootstrap: np.ndarray | None = None
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


def series_of(expr: str, column) -> np.ndarray:
    """The series a moment's COLUMN names: a recorded column ``NAME``, a ratio ``A/B``, or the log of
    either, ``log(A/B)``; ``column(name)`` gives a recorded column's array."""
    inner = expr[4:-1] if expr.startswith("log(") and expr.endswith(")") else expr
    num, _, den = inner.partition("/")
    with np.errstate(divide="ignore", invalid="ignore"):
        x = np.asarray(column(num), dtype=float)
        if den:
            x = x / np.asarray(column(den), dtype=float)
        return np.log(x) if inner is not expr else x


def _columns_of(expr: str) -> list[str]:
    inner = expr[4:-1] if expr.startswith("log(") and expr.endswith(")") else expr
    return [c for c in inner.split("/") if c]


def parse_moments(model_name: str, moments: list[str], data: pd.DataFrame) -> list[tuple[str, str]]:
    """``COLUMN:STAT`` items (comma-separated) as (COLUMN, STAT); COLUMN is a recorded name, ``A/B`` or
    ``log(A)``/``log(A/B)``, each name checked against the model and the data."""
    model = get_model(model_name)
    out = []
    for spec in [m.strip() for item in moments for m in item.split(",") if m.strip()]:
        column, sep, stat = spec.rpartition(":")
        if not sep or not column or stat not in STATS:
            raise ConfigError(f"--moments {spec}: expected COLUMN:STAT with STAT one of {', '.join(STATS)}")
        names = _columns_of(column)
        if not 1 <= len(names) <= 2 or column.count("/") > 1:
            raise ConfigError(
                f"--moments {spec}: COLUMN is a recorded name, a ratio A/B, or log(A) or log(A/B)"
            )
        for name in names:
            if name not in model.recorded:
                raise unknown("recorded column", name, model.recorded, where=f" of model '{model.name}'")
            if name not in data.columns:
                raise ConfigError(
                    f"--moments {spec}: the data has no column '{name}'; it has {list(data.columns)}"
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
    bootstrap: int = 64,
    **overrides: Any,
) -> CalibrationResult:
    """Fit ``params`` (``NAME=LOW:HIGH``) to the ``moments`` of ``data``; see the module doc.
    ``bootstrap``: synthetic data sets for the standard errors (8 or more)."""
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
    if bootstrap < 8:
        raise ConfigError(f"bootstrap = {bootstrap}: the standard errors need 8 or more synthetic data sets")
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
    m_data = np.array(
        [moment_values(series_of(c, lambda n: frame[n].to_numpy(float))[None, :], s)[0] for c, s in specs]
    )
    if not np.all(np.isfinite(m_data)):
        bad = [f"{c}:{s}" for (c, s), v in zip(specs, m_data, strict=True) if not math.isfinite(v)]
        raise ConfigError(
            f"the data's moments {', '.join(bad)} are not finite (a log of a non-positive value?)"
        )
    if out is not None:
        check_writable(out, "calibration folder (out)", folder=True)
    exp_seed = cfg.seed if cfg.seed is not None else 0
    base = cfg.model_dump(exclude_unset=True)
    for key in ("out", "save_fig", "save_metrics", "sweep"):
        base.pop(key, None)
    base.update({"seed": exp_seed, "reports": [], "figures": None, "common_random_numbers": True})
    base["params"] = {k: v for k, v in base.get("params", {}).items() if k not in names}
    from econsim.experiment.runner import run

    # every point simulated with the experiment's seeds and its mean moments: the response surface's data
    bank_theta: list[list[float]] = []
    bank_m: list[np.ndarray] = []

    def simulate(points: list[dict[str, float]], runs: int = cfg.runs, seed: int = exp_seed):
        """Per-run moments (points, R, K) of the points, run as one experiment."""
        raw = {
            **base,
            "runs": runs,
            "seed": seed,
            "sweep": {"zip": {n: [float(p[n]) for p in points] for n in names}},
        }
        res = run(raw, progress=False)
        out_prk = np.stack(
            [moment_values(series_of(c, lambda n: res.stacked(n)[:, 1:]), s) for c, s in specs], axis=-1
        ).reshape(len(points), runs, len(specs))
        if seed == exp_seed and runs == cfg.runs:  # the same seeds: comparable means, for the surface
            bank_theta.extend([p[n] for n in names] for p in points)
            bank_m.extend(out_prk.mean(axis=1))
        return out_prk, res

    ranges = {sp.name: (float(sp.low or 0.0), float(sp.high or 0.0)) for sp in spaces}
    centre = {n: 0.5 * (lo + hi) for n, (lo, hi) in ranges.items()}
    # the pilot: the centre (whose runs' spread scales the moments) and a space-filling design over the
    # bounds, so that the response surface knows the whole box, not only where the search went
    from scipy.stats import qmc

    unit = qmc.Sobol(len(names), seed=exp_seed).random(PILOT)
    spread = [{n: lo + u[j] * (hi - lo) for j, (n, (lo, hi)) in enumerate(ranges.items())} for u in unit]
    pilot, _ = simulate([centre, *spread])
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
    low = np.array([ranges[n][0] for n in names])
    high = np.array([ranges[n][1] for n in names])
    h = STEP * (high - low)
    candidates = _candidates(low, high, exp_seed)

    def surface() -> tuple[_Smoother, np.ndarray]:
        smooth = _Smoother(np.array(bank_theta), np.array(bank_m), low, high)
        return smooth, smooth.fit(candidates)[0]

    def fit_to(targets_bk: np.ndarray, mhat_ck: np.ndarray) -> np.ndarray:
        """The candidate minimizing the objective on the surface, for each target (B, K) -> (B, D)."""
        cost = np.nansum((mhat_ck[None, :, :] - targets_bk[:, None, :]) ** 2 / scale_k, axis=2)
        return candidates[np.argmin(cost, axis=1)]

    smooth, mhat = surface()
    # a local design around the surface's minimum adds detail where the answer is
    around = np.clip(fit_to(m_data[None, :], mhat)[0], low + h, high - h)
    simulate([dict(zip(names, (around + u * h).tolist(), strict=True)) for u in _design(len(names))])
    for round_ in range(ROUNDS):
        smooth, mhat = surface()
        theta = fit_to(m_data[None, :], mhat)[0]
        best = dict(zip(names, theta.tolist(), strict=True))
        check, res = simulate([best])
        centre_sims = check[0]
        # the parametric bootstrap: B synthetic data sets at θ̂ (fresh seeds), each calibrated on the
        # surface
        synthetic, _ = simulate([best], runs=bootstrap, seed=exp_seed + 1 + round_)
        estimates = fit_to(synthetic[0], mhat)
        if round_ == ROUNDS - 1:
            break
        # a design over the bootstrap cloud: the surface must be right where the estimates may fall
        half = np.maximum(2.5 * estimates.std(axis=0), h)
        middle = np.clip(theta, low + half, high - half)
        simulate(
            [
                dict(zip(names, np.clip(middle + u * half / 2, low, high).tolist(), strict=True))
                for u in _design(len(names))
            ]
        )
    best_objective = loss(centre_sims.mean(axis=0))
    se_v = estimates.std(axis=0, ddof=1) * math.sqrt(1 + 1 / cfg.runs)
    se = {n: float(se_v[j]) for j, n in enumerate(names)}
    # the Gauss–Newton Hessian of the surface at θ̂ and the MSM sandwich, for comparison
    G = smooth.fit(theta[None, :])[1][0]
    W = np.diag(1 / scale_k)
    H = G.T @ W @ G
    omega = np.atleast_2d(np.cov(centre_sims, rowvar=False)) if cfg.runs > 1 else np.diag(scale_k)
    scaled_h = H * np.outer(high - low, high - low)
    if np.all(np.isfinite(scaled_h)):
        eigval, eigvec = np.linalg.eigh(scaled_h)
        flat = eigval <= 1e-8 * max(float(eigval[-1]), 1e-300)
        # a parameter is in the flat directions when it weighs in one of their eigenvectors
        in_flat = np.any(np.abs(eigvec[:, flat]) > 0.3, axis=1) if flat.any() else np.zeros(len(names), bool)
    else:
        flat, in_flat = np.ones(1, bool), np.ones(len(names), bool)
    singular = bool(flat.any())
    if singular:
        se_h = np.full(len(names), np.inf)
    else:
        bread = np.linalg.inv(H)
        cov = (1 + 1 / cfg.runs) * bread @ (G.T @ W @ omega @ W @ G) @ bread
        se_h = np.sqrt(np.maximum(np.diag(cov), 0.0))
    se_hessian = {n: float(se_h[j]) for j, n in enumerate(names)}
    edge = 1e-6 * (high - low)
    piled = np.mean((estimates <= low + edge) | (estimates >= high - edge), axis=0)
    identified = {n: bool(piled[j] < PILED and not in_flat[j]) for j, n in enumerate(names)}
    for j, n in enumerate(names):
        if not identified[n]:
            # what is known of it is the bounds: at least a uniform's spread over them
            se[n] = max(se[n], float((high[j] - low[j]) / math.sqrt(12)))
            why = (
                f"{piled[j]:.0%} of its {bootstrap} bootstrap estimates sit on the bounds "
                f"[{low[j]:g}, {high[j]:g}]"
                if piled[j] >= PILED
                else "the Gauss–Newton Hessian of the moments is singular along it"
            )
            warnings.warn(
                CalibrationWarning(
                    f"calibrated parameter '{n}' is not identified by the moments {', '.join(f'{c}:{t}' for c, t in specs)}: "
                    f"{why}; its standard error {se[n]:.3g} is mostly the bounds' — add moments that "
                    "it moves, or narrow its bounds"
                ),
                stacklevel=2,
            )
    means = centre_sims.mean(axis=0)[None, :]
    sims = centre_sims[None, :, :]
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
        names,
        {n: float(best[n]) for n in names},
        se,
        moments_frame,
        frame_t,
        best_objective,
        fitted,
        se_hessian=se_hessian,
        identified=identified,
        bootstrap=estimates,
    )
    if out is not None:
        result.files = _write(result, Path(out), frame, specs, res, cfg.runs)
    return result


def samples_config(result: CalibrationResult, runs: int = 1) -> dict[str, Any]:
    """The calibrated configuration with its parameters swept over the bootstrap estimates (a
    ``sweep.zip``): running it runs the model across the calibration's uncertainty, ``runs`` each."""
    if result.bootstrap is None:
        raise ConfigError("this calibration has no bootstrap estimates")
    cfg = {k: v for k, v in result.config.items() if k != "sweep"}
    cfg["params"] = {k: v for k, v in cfg.get("params", {}).items() if k not in result.names}
    cfg["sweep"] = {
        "zip": {n: [float(v) for v in result.bootstrap[:, j]] for j, n in enumerate(result.names)}
    }
    cfg["runs"] = runs
    cfg["max_sweep_points"] = max(int(cfg.get("max_sweep_points", 0) or 0), len(result.bootstrap))
    load_config(dict(cfg))  # a valid configuration
    return cfg


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
            "se_hessian": [result.se_hessian.get(n, math.nan) for n in result.names],
            "identified": [result.identified.get(n, True) for n in result.names],
        }
    ).to_csv(files["fit"], index=False)
    files["config"].write_text(
        "# calibrated by econsim calibrate (method of simulated moments); standard errors in fit.csv\n"
        + yaml.safe_dump(result.config, sort_keys=False)
    )
    result.moments.to_csv(files["moments"], index=False)
    result.trials.to_csv(files["trials"], index=False)
    if result.bootstrap is not None:
        files["bootstrap"] = folder / "bootstrap.csv"
        pd.DataFrame(result.bootstrap, columns=result.names).to_csv(files["bootstrap"], index=False)
        files["samples"] = folder / "samples.yaml"
        samples = samples_config(result)
        files["samples"].write_text(
            "# the calibration's bootstrap estimates as a sweep: one point per plausible parameter set\n"
            + yaml.safe_dump(samples, sort_keys=False)
        )
    columns = list(dict.fromkeys(c for c, _ in specs))
    fig = Figure(figsize=(5.5 * len(columns), 4))
    axes = fig.subplots(1, len(columns), squeeze=False)
    for ax, column in zip(axes[0], columns, strict=True):
        sim = series_of(column, lambda n: res.stacked(n)[:runs, 1:])  # the runs at θ̂ (its only point)
        t = np.arange(1, sim.shape[1] + 1)
        ax.fill_between(t, *np.percentile(sim, [5, 95], axis=0), alpha=0.3, label="simulated 5–95 %")
        ax.plot(t, sim.mean(axis=0), color="tab:blue", label="simulated mean")
        observed = series_of(column, lambda n: data[n].to_numpy(float))
        ax.plot(t, observed, color="black", linewidth=1.2, label="data")
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


def _design(d: int) -> np.ndarray:
    """The local design in standardized coordinates (points, d): 5 points for one parameter, the 3^d
    grid up to 3, else the centre and ±1, ±2 on each axis."""
    if d == 1:
        return np.array([[0.0], [-1.0], [1.0], [-2.0], [2.0]])
    if d <= 3:
        return np.array(np.meshgrid(*[[0.0, -1.0, 1.0]] * d, indexing="ij")).reshape(d, -1).T
    star = [np.zeros(d)]
    for j in range(d):
        for step in (-1.0, 1.0, -2.0, 2.0):
            u = np.zeros(d)
            u[j] = step
            star.append(u)
    return np.array(star)


def _candidates(low: np.ndarray, high: np.ndarray, seed: int) -> np.ndarray:
    """Where the surface is searched (C, d): a grid over the bounds (bounds included) up to 3
    parameters, else 4096 scrambled Sobol' points and the corners' centre."""
    d = len(low)
    if d <= 3:
        n = {1: 201, 2: 41, 3: 17}[d]
        axes = [np.linspace(lo, hi, n) for lo, hi in zip(low, high, strict=True)]
        return np.array(np.meshgrid(*axes, indexing="ij")).reshape(d, -1).T
    from scipy.stats import qmc

    unit = qmc.Sobol(d, seed=seed).random(4096)
    return low + np.vstack([unit, np.full((1, d), 0.5)]) * (high - low)


class _Smoother:
    """Each mean moment as a function of θ: a local linear regression over the simulated points with
    Gaussian weights (bandwidth ``BANDWIDTH`` of each range), smooth between points, linear beyond."""

    def __init__(self, theta_pd: np.ndarray, m_pk: np.ndarray, low: np.ndarray, high: np.ndarray) -> None:
        keep = np.all(np.isfinite(m_pk), axis=1)
        self.low, self.span = low, high - low
        self.u = (theta_pd[keep] - low) / self.span
        self.m = m_pk[keep]

    def fit(self, theta_cd: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The moments (C, K) and their slopes ∂m/∂θ (C, K, d) at each θ."""
        q = (np.atleast_2d(theta_cd) - self.low) / self.span
        diff = self.u[None, :, :] - q[:, None, :]  # (C, P, d)
        w = np.exp(-0.5 * np.sum(diff**2, axis=2) / BANDWIDTH**2)  # (C, P)
        X = np.concatenate([np.ones((*diff.shape[:2], 1)), diff], axis=2)  # (C, P, d+1)
        XtW = np.transpose(X * w[:, :, None], (0, 2, 1))
        A = XtW @ X
        d = q.shape[1]
        # a slight ridge on the slopes: a direction no point varies along gets slope 0, not noise
        ridge = 1e-6 * np.maximum(A[:, 0, 0], 1e-12)
        A[:, 1:, 1:] += ridge[:, None, None] * np.eye(d)
        coef = np.linalg.solve(A, XtW @ self.m)  # (C, d+1, K)
        slopes = np.transpose(coef[:, 1:, :], (0, 2, 1)) / self.span  # per unit of θ
        return coef[:, 0, :], slopes
