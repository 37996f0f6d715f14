"""The ``econsim`` command line: run experiments, list models and their parameters, draw figures."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich.console import Console
from rich.table import Table

from econsim.engine.errors import ConfigError, EconsimError, EconsimWarning

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    help="Batched, vectorized simulation of economies.",
)
out_console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)

#: a bad value from the command line is blamed on its flag, not on the configuration file
FLAGS = {
    "model": "--model ",
    "steps": "--steps ",
    "runs": "--runs ",
    "seed": "--seed ",
    "executor": "--executor ",
    "workers": "--workers ",
    "address": "--address ",
    "partitions": "--partitions ",
    "partition_method": "--partition-method ",
    "strict": "--strict ",
    "save_fig": "--save-fig ",
    "save_metrics": "--save-metrics ",
    "params": "--set ",
    "initial_state": "--set ",
}


def _show_version(value: bool) -> None:
    if value:
        from econsim import __version__

        out_console.print(f"econsim {__version__}")
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[
        bool, typer.Option("--version", callback=_show_version, is_eager=True, help="print the version")
    ] = False,
) -> None:
    """Batched, vectorized simulation of economies."""


def _parse_sets(pairs: list[str]) -> dict[str, Any]:
    """NAME=VALUE pairs, each VALUE read as YAML reads it in a configuration file (``1e-3`` is a number)."""
    from econsim.experiment.config import load_yaml_text

    values = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--set expects NAME=VALUE, got '{pair}'")
        try:
            values[key.strip()] = load_yaml_text(text)
        except yaml.YAMLError:
            raise ConfigError(f"--set {key}: cannot read the value '{text}'") from None
    return values


def _config_with_sets(config: Path, sets: list[str] | None, **overrides: Any) -> Any:
    """The configuration file with the command line's ``--set`` values and other overrides applied
    (the shared start of optimize, sensitivity and calibrate)."""
    from econsim.experiment.config import load_config

    raw, model_name = _read_config(config, None)
    params, initial = _split_sets(model_name, sets or [])
    return load_config(
        raw,
        source=f"'{config}'",
        flags=FLAGS,
        params=params or None,
        initial_state=initial or None,
        **overrides,
    )


def _split_sets(model_name: str, pairs: list[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``--set`` values checked against the model: (parameters, initial state), or a ConfigError naming
    ``--set`` and the name or value."""
    from econsim.engine.errors import unknown
    from econsim.models.registry import get_model

    m = get_model(model_name)
    params, initial = {}, {}
    for key, value in _parse_sets(pairs).items():
        if key in m.param_by_name:
            params[key] = m.param(key).validate(value, "--set ")
        elif key in m.var_by_name and m.var_by_name[key].shape == ():
            initial[key] = m.var_by_name[key].validate(value, "--set ")
        elif key in m.var_by_name:
            raise ConfigError(f"--set {key}: only scalar state variables can be set")
        else:
            raise unknown(
                "parameter or state variable",
                key,
                [*m.param_by_name, *m.var_by_name],
                where=f" in --set (model '{m.name}')",
            )
    return params, initial


def _read_config(config: Path, model: str | None) -> tuple[dict[str, Any], str]:
    """The configuration file's mapping and its model name (from the file or ``--model``)."""
    from econsim.experiment.config import read_yaml

    raw = read_yaml(config)
    raw.setdefault("name", config.stem)
    model_name = model or raw.get("model")
    if model_name is None:
        hint = " or pass --model" if model is None else ""
        raise ConfigError(f"'{config}' names no model: add a 'model:' line{hint}")
    if not isinstance(model_name, str):
        raise ConfigError(f"model: {model_name!r} in '{config}' must be a model name (a string)")
    return raw, model_name


@app.command()
def run(
    config: Annotated[Path, typer.Argument(help="experiment configuration (YAML)")],
    model: Annotated[str | None, typer.Option(help="model, for a file without a 'model:' line")] = None,
    steps: Annotated[int | None, typer.Option(min=1, help="number of steps")] = None,
    runs: Annotated[int | None, typer.Option(min=1, help="Monte Carlo runs per sweep point")] = None,
    seed: Annotated[int | None, typer.Option(min=0, help="experiment seed")] = None,
    out: Annotated[Path | None, typer.Option(help="results folder (default: results/<config name>)")] = None,
    executor: Annotated[str | None, typer.Option(help="inprocess | process | ray")] = None,
    workers: Annotated[
        int | None, typer.Option(min=1, help="worker processes for --executor process/ray")
    ] = None,
    address: Annotated[str | None, typer.Option(help="Ray cluster address for --executor ray")] = None,
    partitions: Annotated[
        int | None, typer.Option(min=1, help="split each run's agents over P Ray actors (--executor ray)")
    ] = None,
    partition_method: Annotated[
        str | None, typer.Option(help="metis | hilbert | random: how agents are assigned to partitions")
    ] = None,
    save_fig: Annotated[Path | None, typer.Option(help="folder, or file for the first figure")] = None,
    save_metrics: Annotated[Path | None, typer.Option(help=".npz file for every recorded observable")] = None,
    set_: Annotated[
        list[str] | None, typer.Option("--set", help="NAME=VALUE for a parameter or initial state")
    ] = None,
    strict: Annotated[
        bool | None, typer.Option("--strict/--no-strict", help="stop on NaN/Inf in the state")
    ] = None,
    overwrite: Annotated[bool, typer.Option(help="replace an existing results folder")] = False,
    quiet: Annotated[bool, typer.Option(help="no progress bar")] = False,
) -> None:
    """Run an experiment: results to Parquet in the results folder, figures beside them.

    A relative save_fig or save_metrics in the configuration file is inside the results folder; the
    --save-fig and --save-metrics flags are relative to the working directory.
    """
    from econsim.analysis.divergence import DivergedRunsWarning
    from econsim.experiment.config import load_config
    from econsim.experiment.runner import run as run_experiment

    raw, model_name = _read_config(config, model)
    params, initial = _split_sets(model_name, set_ or [])
    cfg = load_config(
        raw,
        source=f"'{config}'",
        flags=FLAGS,
        model=model,
        steps=steps,
        runs=runs,
        seed=seed,
        executor=executor,
        workers=workers,
        address=address,
        partitions=partitions,
        partition_method=partition_method,
        strict=strict,
        params=params or None,
        initial_state=initial or None,
    )
    out_folder = out or (Path(cfg.out) if cfg.out else Path("results") / (cfg.name or cfg.model))
    # flags name paths from here; the runner puts a relative path from the file inside the results folder
    fig_dest = str(save_fig.absolute()) if save_fig else (None if cfg.save_fig else "figures")
    try:
        with warnings.catch_warnings():  # diverged runs are reported below, with the other reports
            warnings.simplefilter("ignore", DivergedRunsWarning)
            results = run_experiment(
                cfg,
                out=str(out_folder),
                save_fig=fig_dest,
                overwrite=overwrite,
                save_metrics=str(save_metrics.absolute()) if save_metrics else None,
                progress=not quiet and None,
            )
    except KeyboardInterrupt:
        err_console.print(
            f"[yellow]interrupted[/]: finished batches (and checkpoints of running ones) are kept in "
            f"{out_folder}; run the same command again to resume."
        )
        raise typer.Exit(130) from None
    m = results.manifest
    if results.batches_computed == 0:
        n = len(m.get("batches", []))
        out_console.print(
            f"all {n} batch{'es' * (n != 1)} already in {out_folder}; nothing to compute "
            "(pass --overwrite to compute them again)"
        )
    else:
        out_console.print(
            f"[green]done[/]: model {m['model']}, {len(m['subsets'])} sweep point(s) × {m['runs']} run(s) "
            f"× {m['steps']} steps in {m['wall_time_s']:.2f} s → {out_folder}"
        )
    written = results.manifest["config"]
    out_console.print(f"figures: {save_fig or written['save_fig']}")
    if written.get("save_metrics"):
        out_console.print(f"metrics: {save_metrics or written['save_metrics']}")
    _print_reports(results.reports, out_folder)


def _print_reports(reports: dict[str, Any], folder: Path) -> None:
    """Each report's headline when it has one, else its JSON (shortened); all of it is in report.json."""
    import json

    for name, report in reports.items():
        headline = report.get("headline") if isinstance(report, dict) else None
        if headline:
            diverged = name == "diverged_runs" and report.get("diverged")
            out_console.print(f"[yellow]warning[/]: {headline}" if diverged else f"{name}: {headline}")
            continue
        lines = json.dumps(report, indent=1, default=float).splitlines()
        out_console.print(
            f"{name}:\n" + "\n".join(lines[:40]) + ("\n…" if len(lines) > 40 else ""), highlight=False
        )
    if reports:
        out_console.print(f"reports: {folder / 'report.json'}")


@app.command()
def profile(
    config: Annotated[Path, typer.Argument(help="experiment configuration (YAML)")],
    model: Annotated[str | None, typer.Option(help="model, for a file without a 'model:' line")] = None,
    steps: Annotated[int, typer.Option(min=1, help="timed steps")] = 50,
    warmup: Annotated[int, typer.Option(min=0, help="untimed steps first (compilation, caches)")] = 3,
    set_: Annotated[
        list[str] | None, typer.Option("--set", help="NAME=VALUE for a parameter or initial state")
    ] = None,
) -> None:
    """Time each stage of the step on the configuration's first batch of runs."""
    import time

    from econsim.engine.simulation import Simulation
    from econsim.experiment.config import load_config
    from econsim.experiment.plan import make_plan
    from econsim.experiment.runner import batch_task

    raw, model_name = _read_config(config, model)
    params, initial = _split_sets(model_name, set_ or [])
    cfg = load_config(
        raw,
        source=f"'{config}'",
        flags=FLAGS,
        model=model,
        params=params or None,
        initial_state=initial or None,
    )
    plan = make_plan(cfg)
    started = time.perf_counter()
    # the first batch, exactly as `run` builds it
    sim = Simulation.from_task(batch_task(plan, 0, None), plan.model)
    init_s = time.perf_counter() - started
    m = sim.model
    seconds = sim.profile(steps, warmup)
    total = sum(seconds.values())
    table = Table(
        "stage", "ms / step", "share", title=f"{m.name}: {sim.n_runs} run(s), {steps} steps", box=None
    )
    for name, sec in seconds.items():
        table.add_row(
            name, f"{1e3 * sec / max(steps, 1):.3f}", f"{100 * sec / total:.1f} %" if total else "-"
        )
    table.add_row(
        "[bold]step",
        f"[bold]{1e3 * total / max(steps, 1):.3f}",
        f"{steps / total:.1f} steps/s" if total else "-",
    )
    out_console.print(table)
    out_console.print(f"initial state: {init_s:.3f} s")


@app.command()
def cadcad(
    file: Annotated[Path, typer.Argument(help="Python file defining a cadCAD model or Experiment")],
    runs: Annotated[
        int | None, typer.Option(min=1, help="Monte Carlo runs (N), for a model given as pieces")
    ] = None,
    timesteps: Annotated[
        int | None, typer.Option(min=1, help="timesteps (len(T)), for a model given as pieces")
    ] = None,
    seed: Annotated[
        int | None, typer.Option(min=0, help="experiment seed (each run seeds numpy/random from it)")
    ] = None,
    out: Annotated[Path | None, typer.Option(help="results folder (default: results/<file name>)")] = None,
    executor: Annotated[str, typer.Option(help="inprocess | process | ray")] = "inprocess",
    workers: Annotated[
        int | None, typer.Option(min=1, help="worker processes for --executor process/ray")
    ] = None,
    address: Annotated[str | None, typer.Option(help="Ray cluster address for --executor ray")] = None,
    check: Annotated[bool, typer.Option(help="stop if a function changes the state it is given")] = False,
    deepcopy: Annotated[
        bool, typer.Option(help="deep-copy the state before each substep, as cadCAD does")
    ] = False,
    overwrite: Annotated[bool, typer.Option(help="replace an existing results folder")] = False,
    quiet: Annotated[bool, typer.Option(help="no progress bar")] = False,
) -> None:
    """Run a cadCAD model file unchanged: cadCAD's table to Parquet and a summary (summary.json) of every
    state variable's last timestep; draw figures from it with Python (econsim.cadcad returns a DataFrame)."""
    from econsim.cadcad.script import run_file

    out_folder = out or Path("results") / file.stem
    _df, summary = run_file(
        file,
        out_folder,
        runs=runs,
        timesteps=timesteps,
        seed=seed,
        executor=executor,
        workers=workers,
        address=address,
        check=check,
        deepcopy=deepcopy,
        overwrite=overwrite,
        progress=not quiet and None,
    )
    out_console.print(
        f"[green]done[/]: {summary['simulations']} simulation(s), {summary['subsets']} subset(s), "
        f"{summary['runs']} run(s) × {summary['timesteps']} timesteps, {summary['rows']} rows, "
        f"seed {summary['seed']} → {out_folder} (summary.json)"
    )


@app.command()
def optimize(
    config: Annotated[Path, typer.Argument(help="experiment configuration (YAML)")],
    objective: Annotated[str, typer.Option(help="final-step column (mean over runs) or REPORT:KEY")],
    param: Annotated[list[str], typer.Option("--param", help="NAME=LOW:HIGH[:log] or NAME=A,B,C to search")],
    maximize: Annotated[bool, typer.Option(help="maximize instead of minimize")] = False,
    trials: Annotated[int, typer.Option(min=1, help="parameter settings to try")] = 30,
    runs: Annotated[int | None, typer.Option(min=1, help="Monte Carlo runs per trial")] = None,
    steps: Annotated[int | None, typer.Option(min=1, help="number of steps")] = None,
    seed: Annotated[
        int | None, typer.Option(min=0, help="experiment seed (the same for every trial)")
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="folder for the evidence (default: results/optimize-<name>)")
    ] = None,
    set_: Annotated[
        list[str] | None, typer.Option("--set", help="NAME=VALUE for a fixed parameter or initial state")
    ] = None,
) -> None:
    """Search parameters that minimize (or maximize) a metric averaged over Monte Carlo runs."""
    from econsim.experiment.optimize import optimize as run_search

    cfg = _config_with_sets(config, set_, runs=runs, steps=steps, seed=seed)
    folder = out or Path("results") / f"optimize-{cfg.name or cfg.model}"
    result = run_search(cfg, objective, param, maximize=maximize, trials=trials, out=folder)
    for note in result.notes:
        err_console.print(f"[yellow]note[/]: {note}", highlight=False)
    table = Table(
        "parameter",
        "best value",
        title=f"{result.direction} {objective}: best {result.best_value:.6g} "
        f"over {len(result.trials)} trials",
        box=None,
    )
    for name, value in result.best_params.items():
        table.add_row(name, f"{value:.6g}" if isinstance(value, float) else str(value))
    out_console.print(table)
    out_console.print(f"evidence: {result.files['figure']}, {result.files['trials']}, {result.files['best']}")


@app.command()
def sensitivity(
    config: Annotated[Path, typer.Argument(help="experiment configuration (YAML)")],
    metric: Annotated[str, typer.Option(help="recorded column whose mean over runs is analysed")],
    param: Annotated[list[str], typer.Option("--param", help="NAME=LOW:HIGH to vary")],
    method: Annotated[str, typer.Option(help="sobol | morris | fast")] = "sobol",
    at: Annotated[str, typer.Option(help="final | mean (over steps) | a step number")] = "final",
    samples: Annotated[
        int, typer.Option(min=1, help="base samples (sobol: a power of two; morris: trajectories)")
    ] = 1024,
    runs: Annotated[int | None, typer.Option(min=1, help="Monte Carlo runs per sample row")] = None,
    steps: Annotated[int | None, typer.Option(min=1, help="number of steps")] = None,
    seed: Annotated[int | None, typer.Option(min=0, help="seed of the sample and the experiment")] = None,
    executor: Annotated[str | None, typer.Option(help="inprocess | process | ray")] = None,
    workers: Annotated[int | None, typer.Option(min=1, help="worker processes")] = None,
    out: Annotated[
        Path | None, typer.Option(help="folder for runs and evidence (default: results/sensitivity-<name>)")
    ] = None,
    set_: Annotated[
        list[str] | None, typer.Option("--set", help="NAME=VALUE for a fixed parameter or initial state")
    ] = None,
    quiet: Annotated[bool, typer.Option(help="no progress bar")] = False,
    windows: Annotated[
        str | None,
        typer.Option(help="indices per time window too: K equal windows, or FIRST:LAST,FIRST:LAST steps"),
    ] = None,
) -> None:
    """Sobol', Morris or FAST sensitivity indices of a metric, all sample rows run as one experiment."""
    from econsim.experiment.sensitivity import sensitivity as run_sensitivity

    cfg = _config_with_sets(config, set_, steps=steps, executor=executor, workers=workers)
    folder = out or Path("results") / f"sensitivity-{cfg.name or cfg.model}"
    result = run_sensitivity(
        cfg,
        method,
        param,
        metric,
        at=at,
        samples=samples,
        runs=runs,
        seed=seed,
        out=folder,
        progress=not quiet and None,
        windows=windows,
    )
    for note in result.notes:
        err_console.print(f"[yellow]note[/]: {note}", highlight=False)
    table = Table(
        "parameter",
        *result.table.columns,
        title=f"{method} indices of {metric} at {result.at}: {len(result.Y)} rows × {result.runs} run(s)",
        box=None,
    )
    for name, row in result.table.iterrows():
        table.add_row(str(name), *(f"{v:.4f}" for v in row))
    out_console.print(table)
    if result.S2 is not None and result.S2_conf is not None:
        pairs = Table("pair", "S2", "S2_conf", title="second order", box=None)
        for i, a in enumerate(result.names):
            for b in result.names[i + 1 :]:
                pairs.add_row(f"{a} × {b}", f"{result.S2.at[a, b]:.4f}", f"{result.S2_conf.at[a, b]:.4f}")
        out_console.print(pairs)
    if result.windows is not None:
        shown_index = "mu_star" if method == "morris" else "S1"
        w = result.windows[result.windows["index"].isin([shown_index, "ST"])]
        spans = list(dict.fromkeys(zip(w["start"], w["stop"], strict=True)))
        by_window = Table(
            "parameter", "index", *(f"{a}–{b}" for a, b in spans), title="by time window", box=None
        )
        for name in result.names:
            for index in dict.fromkeys(w["index"]):
                part = w[(w["param"] == name) & (w["index"] == index)].sort_values("window")
                by_window.add_row(name, index, *(f"{v:.4f}" for v in part["value"]))
        out_console.print(by_window)
    shown = [str(result.files[k]) for k in result.files if k not in ("sample",)]
    out_console.print("evidence: " + ", ".join(shown), highlight=False)


@app.command()
def calibrate(
    config: Annotated[Path, typer.Argument(help="experiment configuration (YAML)")],
    data: Annotated[Path, typer.Option(help="observed series (CSV, one column per recorded name)")],
    moments: Annotated[list[str], typer.Option("--moments", help="COLUMN:STAT[,COLUMN:STAT...]")],
    param: Annotated[list[str], typer.Option("--param", help="NAME=LOW:HIGH to fit")],
    trials: Annotated[int, typer.Option(min=1, help="parameter settings to try")] = 32,
    runs: Annotated[int | None, typer.Option(min=2, help="Monte Carlo runs (seeds) per trial")] = None,
    seed: Annotated[int | None, typer.Option(min=0, help="experiment and search seed")] = None,
    out: Annotated[Path | None, typer.Option(help="folder (default: results/calibrate-<name>)")] = None,
    bootstrap: Annotated[
        int, typer.Option(min=8, help="synthetic data sets of the bootstrap standard errors")
    ] = 64,
) -> None:
    """Fit parameters to observed series by the method of simulated moments."""
    from econsim.experiment.calibrate import calibrate as run_calibration

    raw, _ = _read_config(config, None)
    folder = out or Path("results") / f"calibrate-{raw.get('name') or raw.get('model')}"
    result = run_calibration(
        raw, data, moments, param, trials=trials, runs=runs, seed=seed, out=folder, bootstrap=bootstrap
    )
    table = Table(
        "parameter",
        "value",
        "std. error",
        "s.e. (Hessian)",
        "identified",
        title=f"objective {result.objective:.4g}",
        box=None,
    )
    for name in result.names:
        table.add_row(
            name,
            f"{result.values[name]:.6g}",
            f"{result.se[name]:.3g}",
            f"{result.se_hessian[name]:.3g}",
            "yes" if result.identified[name] else "NO",
        )
    out_console.print(table)
    out_console.print(f"calibrated config: {result.files['config']}; figure: {result.files['figure']}")


@app.command()
def models() -> None:
    """List the built-in models."""
    from econsim.models.registry import get_model, model_names

    table = Table("model", "what it simulates", box=None)
    for name in model_names():
        table.add_row(name, get_model(name).doc)
    out_console.print(table)


@app.command()
def params(model: Annotated[str, typer.Argument(help="model name")]) -> None:
    """Every parameter of a model with its default, valid range and meaning; then its state variables."""
    from econsim.models.registry import get_model

    m = get_model(model)
    table = Table("parameter", "default", "valid", "meaning", title=f"{m.name}: parameters", box=None)
    for p in m.params:
        table.add_row(p.name, repr(p.default), p.describe_bounds(), p.doc)
    out_console.print(table)
    state = Table(
        "state variable", "initial", "shape", "valid", "meaning", title=f"{m.name}: state", box=None
    )
    for v in m.variables:
        low, high = v.bounds
        valid = (
            ""
            if v.bounds == (None, None)
            else f"[{'-inf' if low is None else low}, {'inf' if high is None else high}]"
        )
        state.add_row(v.name, f"{v.initial:g}", str(v.shape or "per run"), valid, v.doc)
    out_console.print(state)


@app.command()
def plot(
    results: Annotated[Path, typer.Argument(help="results folder written by `econsim run`")],
    save_fig: Annotated[Path | None, typer.Option(help="folder, or file for the first figure")] = None,
) -> None:
    """Draw a results folder's figures (those of its configuration, else the model's defaults)."""
    from econsim.experiment.checks import IMAGE_SUFFIXES, check_writable
    from econsim.experiment.figures import save_figures
    from econsim.experiment.results import load

    res = load(results)
    dest = save_fig or results / "figures"
    check_writable(dest, "figure destination (--save-fig)", folder=dest.suffix.lower() not in IMAGE_SUFFIXES)
    specs = res.manifest["config"].get("figures")
    written = save_figures(res, specs, dest)
    for path in written:
        out_console.print(str(path))


@app.command()
def verify(
    results: Annotated[
        Path, typer.Argument(help="results folder written by `econsim run` or `econsim cadcad`")
    ],
) -> None:
    """Check every part of a results folder against its seal (size and sha256); exit 1 if one is damaged."""
    from econsim.experiment.store import ResultStore

    store = ResultStore(results)
    manifest = store.read_manifest()
    if manifest is None:
        raise ConfigError(f"'{results}' is not an econsim results folder (no manifest.json)")
    problems = store.problems(manifest, full=True)
    for problem in problems:
        err_console.print(f"[red]damaged[/]: {problem}", highlight=False)
    n_batches = len(manifest["batches"])
    missing = n_batches - len(store.part_paths(manifest))
    out_console.print(
        f"{results}: {manifest['status']}, {n_batches} batch(es): "
        f"{n_batches - missing - len(problems) + (missing if manifest['status'] == 'complete' else 0)} sound"
        + (f", {missing} not computed yet" if missing and manifest["status"] != "complete" else "")
        + (f", {len(problems)} damaged or missing" if problems else ""),
        highlight=False,
    )
    if problems:
        err_console.print("run the same command again to recompute them")
        raise typer.Exit(1)


@app.command()
def serve(
    host: Annotated[
        str, typer.Option(help="address to bind (another than 127.0.0.1 exposes the server)")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="port")] = 8070,
    data_dir: Annotated[Path, typer.Option(help="folder of the jobs' results folders")] = Path("serve-data"),
    token: Annotated[
        str | None,
        typer.Option(
            help="require `Authorization: Bearer TOKEN` on the API (the progress stream "
            "/runs/{id}/events also takes ?token=TOKEN: a browser's EventSource cannot send headers)"
        ),
    ] = None,
    max_work: Annotated[
        int, typer.Option(min=1, help="agents × steps × runs one request may ask for")
    ] = 200_000_000,
    max_jobs: Annotated[int, typer.Option(min=1, help="jobs running at once")] = 2,
    max_job_seconds: Annotated[
        float, typer.Option(min=0.001, help="wall-clock seconds one job may run")
    ] = 600.0,
) -> None:
    """Serve the REST API (OpenAPI at /docs) and the dashboard (at /); needs the 'server' extra."""
    try:
        import uvicorn

        from econsim.server.app import Settings, create_app
        from econsim.server.jobs import Limits
    except ImportError as exc:
        raise ConfigError(
            f"econsim serve needs the 'server' extra: pip install 'econsim[server]' ({exc})"
        ) from None
    limits = Limits(max_work=max_work, max_jobs=max_jobs, max_job_seconds=max_job_seconds)
    app_ = create_app(Settings(data_dir=data_dir, token=token, limits=limits))
    out_console.print(f"econsim serve: dashboard http://{host}:{port}/  API docs http://{host}:{port}/docs")
    uvicorn.run(app_, host=host, port=port, log_level="warning")


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """econsim's own warnings as one line on stderr; others as Python shows them."""
    if issubclass(category, EconsimWarning):
        err_console.print(f"[yellow]warning[/]: {message}", highlight=False)
    else:
        _python_show_warning(message, category, filename, lineno, file, line)


_python_show_warning = warnings.showwarning


def _add_model_commands() -> None:
    """Commands that belong to one model, as ``econsim <model> ...`` (each imports its model lazily)."""
    from econsim.models.banking.cli import app as banking_app
    from econsim.models.network.cli import app as network_app

    app.add_typer(banking_app, name="banking")
    app.add_typer(network_app, name="network")


_add_model_commands()


def main() -> None:
    warnings.showwarning = _show_warning
    try:
        code = app(standalone_mode=False)  # without standalone mode, click returns an Exit's code
        if isinstance(code, int) and code:
            sys.exit(code)
    except EconsimError as exc:
        err_console.print(f"[bold red]error[/]: {exc}", highlight=False)
        sys.exit(2)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        err_console.print("aborted")
        sys.exit(130)
    except Exception as exc:
        # usage errors of the command-line parser (click, which typer may vendor) show themselves
        exit_code = getattr(exc, "exit_code", None)
        if hasattr(exc, "show") and isinstance(exit_code, int):
            exc.show()
            sys.exit(exit_code or 2)
        raise


if __name__ == "__main__":
    main()
