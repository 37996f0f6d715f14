"""Global sensitivity analysis of any model: which parameters move a metric, and by how much.

    Y_i = mean_{runs r} metric(run r at sample row x_i),   x_i ~ SALib design over the given bounds

The sample rows of a SALib design (Saltelli's extension of Sobol' sequences, Morris trajectories or the
FAST search curve) become ONE experiment: a ``sweep.zip`` with one point per row × ``runs`` Monte Carlo
runs, stepped together in batches by the ordinary runner (so it is written to the results store and
resumes when interrupted). Common random numbers are on: run r of every row sees the same random draws,
so the difference between rows is the parameters' doing, not fresh seed noise.

The indices are SALib's with bootstrap confidence intervals (``num_resamples`` resamples, 95 %):

- ``sobol``: first-order S1 = V[E(Y|x_j)]/V(Y), total ST = E[V(Y|x_~j)]/V(Y) and second-order S2;
- ``morris``: μ* (mean absolute elementary effect), μ and σ (spread of the effects: non-linearity or
  interaction); ``samples`` is the number of trajectories;
- ``fast``: S1 and ST from the Fourier amplitudes of the search curve.

Over time windows (``windows``: K equal windows of the steps, or ``[(a, b), ...]`` — steps a…b), the
metric of each row is averaged over each window's recorded steps and analysed per window, so an output
whose driver changes over time shows it: a table (window, start, stop, param, index, value, conf) and
a figure of each index against the window.

The convergence table recomputes the indices on the first n base samples (n = powers of two for Sobol',
the first n trajectories for Morris) — unstable or negative indices at the right end mean too few
samples. FAST's design cannot be cut into smaller designs, so it has no convergence table.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from econsim.engine.errors import ConfigError
from econsim.experiment.checks import check_writable
from econsim.experiment.config import ExperimentConfig, load_config
from econsim.experiment.optimize import _check_objective, parse_space

METHODS = ("sobol", "morris", "fast")
#: Morris grid levels and FAST interference factor: SALib's defaults
MORRIS_LEVELS = 4
FAST_M = 4


@dataclass
class SensitivityResult:
    method: str
    names: list[str]
    bounds: list[tuple[float, float]]
    metric: str
    at: str | int
    runs: int
    #: sample rows (rows, D), integer parameters rounded, and the metric of each row (mean over runs)
    X: np.ndarray
    Y: np.ndarray
    #: one row per parameter: S1, S1_conf, ST, ST_conf (sobol, fast) or mu, mu_star, mu_star_conf, sigma
    table: pd.DataFrame
    #: second-order indices (sobol): (D, D), upper triangle filled, and their confidence intervals
    S2: pd.DataFrame | None = None
    S2_conf: pd.DataFrame | None = None
    #: the indices on sub-samples: columns n (base samples or trajectories), param, index, value, conf
    convergence: pd.DataFrame | None = None
    #: the indices per time window (``windows``): window, start, stop, param, index, value, conf
    windows: pd.DataFrame | None = None
    results: Any = None
    files: dict[str, Path] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def problem_of(
    model_name: str, params: dict[str, tuple[float, float]] | list[str]
) -> tuple[dict[str, Any], list[bool]]:
    """SALib's problem dict for ``params`` ({name: (low, high)} or ``NAME=LOW:HIGH`` strings), checked
    against the model (a name it lacks or bounds outside its Param bounds is a ConfigError naming it),
    and which of them are integers."""
    specs = [f"{k}={lo!r}:{hi!r}" for k, (lo, hi) in params.items()] if isinstance(params, dict) else params
    if not specs:
        raise ConfigError("give at least one parameter to vary: --param NAME=LOW:HIGH")
    spaces = [parse_space(model_name, spec) for spec in specs]
    for sp in spaces:
        if sp.choices or sp.log:
            raise ConfigError(
                f"--param {sp.name}: sensitivity varies numbers over LOW:HIGH "
                "(not choices, true/false parameters or log scales)"
            )
    names = [sp.name for sp in spaces]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ConfigError(f"--param {', '.join(twice)} given more than once")
    problem = {
        "num_vars": len(spaces),
        "names": names,
        "bounds": [[float(sp.low), float(sp.high)] for sp in spaces],  # type: ignore[arg-type]
    }
    return problem, [sp.integer for sp in spaces]


def design(problem: dict[str, Any], method: str, samples: int, seed: int) -> np.ndarray:
    """The SALib sample (rows, D) of ``method`` with ``samples`` base samples (trajectories for Morris)."""
    if method == "sobol":
        from SALib.sample import sobol as sobol_sample

        return sobol_sample.sample(problem, samples, calc_second_order=True, seed=seed)
    if method == "morris":
        from SALib.sample import morris as morris_sample

        return morris_sample.sample(problem, samples, num_levels=MORRIS_LEVELS, seed=seed)
    from SALib.sample import fast_sampler

    return fast_sampler.sample(problem, samples, M=FAST_M, seed=seed)


def analyze(
    problem: dict[str, Any], method: str, X: np.ndarray, Y: np.ndarray, seed: int, num_resamples: int
) -> dict[str, Any]:
    """SALib's analysis of ``Y`` (one value per row of the design ``X``), 95 % bootstrap intervals."""
    if method == "sobol":
        from SALib.analyze import sobol as sobol_analyze

        return sobol_analyze.analyze(
            problem, Y, calc_second_order=True, num_resamples=num_resamples, seed=seed
        )
    if method == "morris":
        from SALib.analyze import morris as morris_analyze

        return morris_analyze.analyze(
            problem, X, Y, num_resamples=num_resamples, num_levels=MORRIS_LEVELS, seed=seed
        )
    from SALib.analyze import fast

    return fast.analyze(problem, Y, M=FAST_M, num_resamples=num_resamples, seed=seed)


def _table(names: list[str], method: str, si: dict[str, Any]) -> pd.DataFrame:
    keys = (
        ("mu", "mu_star", "mu_star_conf", "sigma")
        if method == "morris"
        else ("S1", "S1_conf", "ST", "ST_conf")
    )
    frame = pd.DataFrame(
        {k: np.asarray(si[k], dtype=float) for k in keys}, index=pd.Index(names, name="param")
    )
    return frame


def _rows_per_base(method: str, d: int) -> int:
    return 2 * d + 2 if method == "sobol" else d + 1


def convergence(
    problem: dict[str, Any], method: str, X: np.ndarray, Y: np.ndarray, seed: int, num_resamples: int
) -> pd.DataFrame | None:
    """The indices on the first n base samples (sobol: n = 2^k ≥ 16; morris: n trajectories, up to 8
    sizes), long format: n, param, index, value, conf."""
    if method == "fast":
        return None
    d = problem["num_vars"]
    per = _rows_per_base(method, d)
    total = len(Y) // per
    if method == "sobol":
        sizes = [2**k for k in range(4, int(math.log2(total)) + 1)] or [total]
    else:
        sizes = sorted({max(2, round(float(total * f))) for f in np.linspace(0.125, 1.0, 8)})
    rows = []
    for n in sizes:
        si = analyze(problem, method, X[: n * per], Y[: n * per], seed, num_resamples)
        table = _table(problem["names"], method, si)
        pairs = (
            [("mu_star", "mu_star_conf")] if method == "morris" else [("S1", "S1_conf"), ("ST", "ST_conf")]
        )
        for name in problem["names"]:
            for index, conf in pairs:
                rows.append(
                    {
                        "n": n,
                        "param": name,
                        "index": index,
                        "value": table.at[name, index],
                        "conf": table.at[name, conf],
                    }
                )
    return pd.DataFrame(rows)


def row_metric(results, metric: str, at: str | int, n_rows: int) -> np.ndarray:
    """The metric of each sweep point (sample row): the mean over its runs of the value at the last
    step (``final``), at step ``at``, or averaged over steps 1… (``mean``)."""
    if at == "final":
        filters: Any = [("timestep", "=", int(results.manifest["steps"]))]
    elif at == "mean":
        filters = [("timestep", ">", 0)]
    else:
        filters = [("timestep", "=", int(at))]
    sums = np.zeros(n_rows)
    counts = np.zeros(n_rows)
    for table in results.iter_tables(columns=["subset", metric], filters=filters):
        subset = np.asarray(table["subset"].to_numpy(), dtype=np.int64)
        values = np.asarray(table[metric].to_numpy(zero_copy_only=False), dtype=float)
        sums += np.bincount(subset, weights=values, minlength=n_rows)
        counts += np.bincount(subset, minlength=n_rows)
    if np.any(counts == 0):
        raise ConfigError(f"'{metric}' was not recorded at {at!r} for every sample row")
    return sums / counts


def parse_windows(windows: int | str | list[tuple[int, int]] | None, steps: int) -> list[tuple[int, int]]:
    """Time windows as (first, last) steps: K equal windows (an int, or its text), ``"a:b,c:d"``, or
    pairs; each within 1…steps."""
    if windows is None:
        return []
    given: Any = windows
    if isinstance(given, str):
        text = given.strip()
        if text.isdigit():
            given = int(text)
        else:
            pairs = []
            for part in text.split(","):
                a, sep, b = part.partition(":")
                try:
                    pairs.append((int(a), int(b)))
                except ValueError:
                    raise ConfigError(
                        f"--windows {windows!r}: give K (equal windows) or FIRST:LAST,FIRST:LAST steps"
                    ) from None
                if not sep:
                    raise ConfigError(f"--windows {windows!r}: a window is FIRST:LAST, got {part!r}")
            given = pairs
    if isinstance(given, int):
        if not 1 <= given <= steps:
            raise ConfigError(
                f"--windows {given}: the number of windows must be between 1 and steps = {steps}"
            )
        edges = np.linspace(0, steps, given + 1).round().astype(int)
        return [(int(edges[i]) + 1, int(edges[i + 1])) for i in range(given)]
    out = []
    for a, b in given:
        if not 1 <= a <= b <= steps:
            raise ConfigError(f"--windows {a}:{b}: a window needs 1 ≤ FIRST ≤ LAST ≤ steps = {steps}")
        out.append((int(a), int(b)))
    if not out:
        raise ConfigError("--windows: give at least one window")
    return out


def window_metric(results, metric: str, windows: list[tuple[int, int]], n_rows: int) -> np.ndarray:
    """The metric of each sample row averaged over each window's recorded steps (windows, rows)."""
    sums = np.zeros((len(windows), n_rows))
    counts = np.zeros((len(windows), n_rows))
    for table in results.iter_tables(columns=["subset", "timestep", metric], filters=[("timestep", ">", 0)]):
        subset = np.asarray(table["subset"].to_numpy(), dtype=np.int64)
        t = np.asarray(table["timestep"].to_numpy(), dtype=np.int64)
        values = np.asarray(table[metric].to_numpy(zero_copy_only=False), dtype=float)
        for w, (a, b) in enumerate(windows):
            inside = (t >= a) & (t <= b)
            sums[w] += np.bincount(subset[inside], weights=values[inside], minlength=n_rows)
            counts[w] += np.bincount(subset[inside], minlength=n_rows)
    if np.any(counts == 0):
        empty = sorted({f"{a}:{b}" for w, (a, b) in enumerate(windows) if np.any(counts[w] == 0)})
        raise ConfigError(f"'{metric}' has no recorded step in window(s) {', '.join(empty)}")
    return sums / counts


def _parse_at(at: str | int, steps: int) -> str | int:
    if isinstance(at, str) and at not in ("final", "mean"):
        try:
            at = int(at)
        except ValueError:
            raise ConfigError(f"--at = {at!r}: valid are final, mean or a step number") from None
    if isinstance(at, int) and not 1 <= at <= steps:
        raise ConfigError(f"--at = {at}: a step must be between 1 and steps = {steps}")
    return at


def sensitivity(
    config: str | Path | dict[str, Any] | ExperimentConfig,
    method: str = "sobol",
    params: dict[str, tuple[float, float]] | list[str] | None = None,
    metric: str = "",
    *,
    at: str | int = "final",
    samples: int = 1024,
    runs: int | None = None,
    seed: int | None = None,
    out: str | Path | None = None,
    num_resamples: int = 100,
    progress: bool | None = False,
    figures: bool = True,
    windows: int | str | list[tuple[int, int]] | None = None,
    **overrides: Any,
) -> SensitivityResult:
    """Sensitivity indices of ``metric`` to ``params`` by ``method``; see the module doc."""
    try:
        import SALib  # noqa: F401
    except ImportError:
        raise ConfigError(
            "econsim sensitivity needs SALib: pip install 'econsim[opt]' (or pip install SALib)"
        ) from None
    if method not in METHODS:
        raise ConfigError(f"method = {method!r} is not valid; choose one of: {', '.join(METHODS)}")
    if not metric:
        raise ConfigError("give the metric to analyse (--metric, a recorded column)")
    if samples < 1:
        raise ConfigError(f"samples = {samples} must be 1 or more")
    if method == "sobol" and samples & (samples - 1):
        raise ConfigError(f"samples = {samples}: Sobol' sequences need a power of two (e.g. 1024)")
    if method == "fast" and samples <= 4 * FAST_M**2:
        raise ConfigError(f"samples = {samples}: FAST needs more than 4·M² = {4 * FAST_M**2}")
    if method == "morris" and samples < 2:
        raise ConfigError(f"samples = {samples}: Morris needs 2 trajectories or more")
    cfg = load_config(config, runs=runs, seed=seed, **overrides)
    problem, integer = problem_of(cfg.model, params or [])
    names = problem["names"]
    notes = []
    where = cfg.sweep.where()
    taken = [n for n in names if n in where]
    if taken:
        notes.append("varied names are no longer swept: " + ", ".join(f"{n} (was {where[n]})" for n in taken))
    rest = cfg.sweep.without(set(names))
    if rest.where():
        raise ConfigError(
            f"the configuration also sweeps {', '.join(rest.where())}: the sample rows are the sweep of a "
            "sensitivity analysis; fix those names (params: or --set) or vary them with --param"
        )
    fixed = [n for n in names if n in cfg.params]
    if fixed:
        notes.append("the sampled values replace the fixed " + ", ".join(f"params.{n}" for n in fixed))
    _check_objective(cfg.model, metric, [])
    at = _parse_at(at, cfg.steps)
    spans = parse_windows(windows, cfg.steps)
    exp_seed = seed if seed is not None else (cfg.seed if cfg.seed is not None else 0)

    X = design(problem, method, samples, exp_seed)
    for j, is_int in enumerate(integer):
        if is_int:
            low, high = problem["bounds"][j]
            X[:, j] = np.clip(np.round(X[:, j]), low, high)
    if len(X) > cfg.max_sweep_points:
        raise ConfigError(
            f"{method} with samples = {samples} and {len(names)} parameters needs {len(X)} sample rows, "
            f"more than max_sweep_points = {cfg.max_sweep_points}; lower samples or raise max_sweep_points"
        )
    zipped = {n: [int(v) for v in X[:, j]] if integer[j] else X[:, j].tolist() for j, n in enumerate(names)}
    # the recorded steps: only those the metric reads (a final-step metric needs no time series)
    steps = cfg.steps
    record_every = (
        cfg.record_every if at == "mean" or spans else (steps if at == "final" else math.gcd(int(at), steps))
    )
    raw = cfg.model_dump(exclude_unset=True)
    for key in ("out", "save_fig", "save_metrics"):
        raw.pop(key, None)
    raw.update(
        {
            "params": {k: v for k, v in raw.get("params", {}).items() if k not in names},
            "sweep": {"zip": zipped},
            "seed": exp_seed,
            "common_random_numbers": True,
            "record_every": record_every,
            "reports": [],
            "figures": None,
            "max_sweep_points": max(cfg.max_sweep_points, len(X)),
        }
    )
    if out is not None:
        check_writable(out, "sensitivity folder (out)", folder=True)
        raw["out"] = str(Path(out) / "runs")
    from econsim.experiment.runner import run

    results = run(raw, progress=progress)
    Y = row_metric(results, metric, at, len(X))
    if not np.all(np.isfinite(Y)):
        bad = int(np.sum(~np.isfinite(Y)))
        raise ConfigError(f"'{metric}' is not finite in {bad} of {len(Y)} sample rows; narrow the bounds")
    si = analyze(problem, method, X, Y, exp_seed, num_resamples)
    table = _table(names, method, si)
    result = SensitivityResult(
        method,
        names,
        [tuple(b) for b in problem["bounds"]],
        metric,
        at,
        cfg.runs,
        X,
        Y,
        table,
        results=results,
        notes=notes,
    )
    if method == "sobol":
        result.S2 = pd.DataFrame(si["S2"], index=names, columns=names)
        result.S2_conf = pd.DataFrame(si["S2_conf"], index=names, columns=names)
    result.convergence = convergence(problem, method, X, Y, exp_seed, num_resamples)
    if spans:
        result.windows = _windowed(
            problem, method, X, window_metric(results, metric, spans, len(X)), spans, exp_seed, num_resamples
        )
    if out is not None:
        result.files = write_evidence(result, Path(out), figures=figures)
    return result


def _windowed(problem, method, X, Y_wr, spans, seed, num_resamples) -> pd.DataFrame:
    """The indices of each window's metric, long format (window, start, stop, param, index, value, conf)."""
    pairs = (
        [("mu_star", "mu_star_conf"), ("sigma", None)]
        if method == "morris"
        else [("S1", "S1_conf"), ("ST", "ST_conf")]
    )
    rows = []
    for w, ((a, b), Y) in enumerate(zip(spans, Y_wr, strict=True)):
        if not np.all(np.isfinite(Y)):
            raise ConfigError(
                f"the metric is not finite in some sample rows of window {a}:{b}; narrow the bounds"
            )
        table = _table(problem["names"], method, analyze(problem, method, X, Y, seed, num_resamples))
        for name in problem["names"]:
            for index, conf in pairs:
                rows.append(
                    {
                        "window": w,
                        "start": a,
                        "stop": b,
                        "param": name,
                        "index": index,
                        "value": float(table.at[name, index]),
                        "conf": float(table.at[name, conf]) if conf else float("nan"),
                    }
                )
    return pd.DataFrame(rows)


def write_evidence(result: SensitivityResult, folder: Path, figures: bool = True) -> dict[str, Path]:
    """indices.csv (S2.csv, convergence.csv), sample.csv, sensitivity.json and the figures in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    files = {
        "indices": folder / "indices.csv",
        "sample": folder / "sample.csv",
        "summary": folder / "sensitivity.json",
    }
    result.table.to_csv(files["indices"])
    sample = pd.DataFrame(result.X, columns=result.names)
    sample[result.metric] = result.Y
    sample.to_csv(files["sample"], index_label="row")
    if result.S2 is not None and result.S2_conf is not None:
        files["S2"] = folder / "S2.csv"
        pd.concat({"S2": result.S2, "S2_conf": result.S2_conf}).to_csv(files["S2"])
    if result.convergence is not None:
        files["convergence"] = folder / "convergence.csv"
        result.convergence.to_csv(files["convergence"], index=False)
    if result.windows is not None:
        files["windows"] = folder / "windows.csv"
        result.windows.to_csv(files["windows"], index=False)
    files["summary"].write_text(
        json.dumps(
            {
                "method": result.method,
                "metric": result.metric,
                "at": result.at,
                "params": dict(zip(result.names, result.bounds, strict=True)),
                "rows": len(result.Y),
                "runs_per_row": result.runs,
                "indices": result.table.to_dict(orient="index"),
                "notes": result.notes,
            },
            indent=2,
            default=float,
        )
    )
    if figures:
        files.update(draw(result, folder))
    return files


def draw(result: SensitivityResult, folder: Path) -> dict[str, Path]:
    """indices.png (bars with 95 % whiskers), mu_star_sigma.png (Morris), S2.png (Sobol'),
    convergence.png (Sobol', Morris)."""
    from matplotlib.figure import Figure  # without pyplot: the caller's backend is left alone

    files = {}
    t = result.table
    x = np.arange(len(result.names))
    title = f"{result.method}: {result.metric} at {result.at}, {len(result.Y)} rows × {result.runs} run(s)"
    fig = Figure(figsize=(max(5, 1.0 * len(x) + 2), 4))
    ax = fig.subplots()
    if result.method == "morris":
        ax.bar(x, t["mu_star"], yerr=t["mu_star_conf"], capsize=4, color="tab:blue", label="μ*")
        ax.set_ylabel("μ* (mean |elementary effect|)")
    else:
        w = 0.38
        ax.bar(x - w / 2, t["S1"], w, yerr=t["S1_conf"], capsize=4, color="tab:blue", label="S1")
        ax.bar(x + w / 2, t["ST"], w, yerr=t["ST_conf"], capsize=4, color="tab:orange", label="ST")
        ax.set_ylabel("index (95 % bootstrap interval)")
        ax.axhline(0, color="black", linewidth=0.6)
    ax.set_xticks(x, result.names, rotation=30, ha="right")
    ax.legend()
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3, axis="y")
    fig.tight_layout()
    files["figure"] = folder / "indices.png"
    fig.savefig(files["figure"], dpi=110)

    if result.method == "morris":
        fig = Figure(figsize=(5.5, 4.5))
        ax = fig.subplots()
        ax.errorbar(t["mu_star"], t["sigma"], xerr=t["mu_star_conf"], fmt="o", capsize=3)
        for name in result.names:
            ax.annotate(
                name,
                (t.at[name, "mu_star"], t.at[name, "sigma"]),
                fontsize=8,
                xytext=(4, 4),
                textcoords="offset points",
            )
        top = float(max(t["mu_star"].max(), t["sigma"].max(), 1e-12)) * 1.1
        ax.plot([0, top], [0, top], "--", color="grey", linewidth=0.8, label="σ = μ*")
        ax.set_xlabel("μ*")
        ax.set_ylabel("σ")
        ax.legend()
        ax.set_title(title, fontsize=9)
        ax.grid(alpha=0.3)
        fig.tight_layout()
        files["mu_star_sigma"] = folder / "mu_star_sigma.png"
        fig.savefig(files["mu_star_sigma"], dpi=110)

    if result.S2 is not None:
        s2 = result.S2.to_numpy(dtype=float)
        fig = Figure(figsize=(max(4.5, 0.8 * len(x) + 2.5), max(4, 0.8 * len(x) + 1.5)))
        ax = fig.subplots()
        im = ax.imshow(s2, cmap="viridis")
        for i in range(len(x)):
            for j in range(i + 1, len(x)):
                ax.text(j, i, f"{s2[i, j]:.2f}", ha="center", va="center", color="white", fontsize=8)
        ax.set_xticks(x, result.names, rotation=30, ha="right")
        ax.set_yticks(x, result.names)
        fig.colorbar(im, ax=ax, label="S2")
        ax.set_title(f"second-order indices: {result.metric}", fontsize=9)
        fig.tight_layout()
        files["S2_figure"] = folder / "S2.png"
        fig.savefig(files["S2_figure"], dpi=110)

    if result.convergence is not None and len(result.convergence):
        c = result.convergence
        indices = list(dict.fromkeys(c["index"]))
        fig = Figure(figsize=(5.5 * len(indices), 4))
        axes = fig.subplots(1, len(indices), squeeze=False)
        for ax, index in zip(axes[0], indices, strict=True):
            for name in result.names:
                part = c[(c["index"] == index) & (c["param"] == name)]
                n, v, e = part["n"].to_numpy(), part["value"].to_numpy(), part["conf"].to_numpy()
                ax.plot(n, v, "o-", label=name, markersize=3)
                ax.fill_between(n, v - e, v + e, alpha=0.15)
            ax.set_xscale("log", base=2)
            ax.set_xlabel("trajectories" if result.method == "morris" else "base samples N")
            ax.set_ylabel(index)
            ax.grid(alpha=0.3)
        axes[0][0].legend(fontsize=7)
        fig.suptitle(f"convergence of the indices: {result.metric}", fontsize=9)
        fig.tight_layout()
        files["convergence_figure"] = folder / "convergence.png"
        fig.savefig(files["convergence_figure"], dpi=110)

    if result.windows is not None and len(result.windows):
        wdf = result.windows
        indices = [i for i in dict.fromkeys(wdf["index"]) if i != "sigma"]
        fig = Figure(figsize=(5.5 * len(indices), 4))
        axes = fig.subplots(1, len(indices), squeeze=False)
        spans = wdf.drop_duplicates("window")[["start", "stop"]].to_numpy()
        middle = spans.mean(axis=1)
        for ax, index in zip(axes[0], indices, strict=True):
            for name in result.names:
                part = wdf[(wdf["index"] == index) & (wdf["param"] == name)].sort_values("window")
                v, e = part["value"].to_numpy(), part["conf"].to_numpy()
                ax.errorbar(middle, v, yerr=np.nan_to_num(e), fmt="o-", capsize=3, markersize=3, label=name)
            ax.set_xticks(middle, [f"{a}–{b}" for a, b in spans], rotation=30, ha="right", fontsize=7)
            ax.set_xlabel("window (steps)")
            ax.set_ylabel(index)
            ax.grid(alpha=0.3)
        axes[0][0].legend(fontsize=7)
        fig.suptitle(f"indices of {result.metric} (mean over each window) by time window", fontsize=9)
        fig.tight_layout()
        files["windows_figure"] = folder / "windows.png"
        fig.savefig(files["windows_figure"], dpi=110)
    return files
