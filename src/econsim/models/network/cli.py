"""``econsim network analyze / live / equilibria / surrogate / stress``: the network model's analyses from
the command line. Each reads a network configuration (its params and seed), writes CSV tables (load them
with ``pandas.read_csv``) and a summary.json to ``--out``, and prints the headline numbers."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Any

import typer

app = typer.Typer(
    no_args_is_help=True,
    help="The network model's analyses: herding, cycles, contagion, compression, forecasts; live feed; "
    "equilibria; surrogate; policy stress tests.",
)

CONFIG = Annotated[Path, typer.Argument(help="a network configuration (YAML)")]


def _console():
    from rich.console import Console

    return Console(soft_wrap=True)


def _base(config: Path, agents: int | None = None) -> dict[str, Any]:
    """params and seed of the configuration (sweeps, figures and reports are the command's own)."""
    import yaml

    from econsim.engine import ConfigError

    try:
        raw = yaml.safe_load(config.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read the configuration '{config}': {exc}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"'{config}' must hold a mapping (model:, params:, ...)")
    if raw.get("model", "network") != "network":
        raise ConfigError(f"'{config}' is a configuration of model '{raw.get('model')}', not network")
    params = dict(raw.get("params") or {})
    if agents is not None:
        params["n_agents"] = agents
    return {"params": params, "seed": int(raw.get("seed", 0)), "name": raw.get("name", config.stem)}


def _write(out: Path, summary: dict[str, Any], tables: dict[str, Any]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for name, frame in tables.items():
        frame.to_csv(out / f"{name}.csv", index=False)
    (out / "summary.json").write_text(json.dumps(summary, indent=2, default=float))


def _values(text: str) -> list[Any]:
    out: list[Any] = []
    for v in text.split(","):
        try:
            out.append(int(v) if v.strip().lstrip("-").isdigit() else float(v))
        except ValueError:
            out.append(v.strip())
    return out


def _pairs(items: list[str], what: str) -> dict[str, str]:
    from econsim.engine import ConfigError

    out = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name or not value:
            raise ConfigError(f"{what} {item!r}: write NAME=VALUES")
        out[name.strip()] = value.strip()
    return out


@app.command()
def analyze(
    config: CONFIG,
    agents: Annotated[int | None, typer.Option(min=10, help="override n_agents")] = None,
    steps: Annotated[int, typer.Option(min=8, help="days to simulate")] = 60,
    runs: Annotated[int, typer.Option(min=1, help="runs in the batch")] = 2,
    random_network: Annotated[bool, typer.Option(help="also run the economy on an Erdős–Rényi graph")] = True,
    out: Annotated[Path, typer.Option(help="folder for the tables")] = Path("results/network-analysis"),
) -> None:
    """Herding, price cycles, contagion over time, SVD compression and per-agent forecasts of one batch."""
    import numpy as np
    import pandas as pd

    from econsim.models.network import analysis as an

    base = _base(config, agents)
    console = _console()
    start = time.perf_counter()
    traj = an.collect(base["params"], steps, runs, base["seed"])
    herd = an.herding(traj, random_network=random_network)
    cycles = an.price_cycles(traj.price)
    contagion = an.contagion_table(traj)
    compression = an.compression_table(traj)
    forecasts = an.agent_forecasts(traj)
    skeleton, spread = an.strategy_skeleton(traj, t_end=float(steps))
    risk = pd.DataFrame(
        {
            "day": np.tile(np.arange(1, steps + 1), runs),
            "run": np.repeat(np.arange(runs), steps),
            "hub_cascade_share": traj.cascade.ravel(),
        }
    )
    summary = {
        "config": str(config),
        "agents": int(traj.shape[2]),
        "steps": steps,
        "runs": runs,
        "seconds_per_step": traj.seconds_per_step,
        "herding": herd.mean(numeric_only=True).to_dict(),
        "paper_herding": {"clustered": "0.85 ± 0.03", "random": "0.15 ± 0.02"},
        "first_cycle": cycles.iloc[0].to_dict(),
        "contagion": {
            "mean_conditional_default": float(contagion.probability.mean()),
            "links_above_half": float((contagion.probability > 0.5).mean()),
            "hub_cascade_share_final": float(traj.cascade[:, -1].mean()),
        },
        "forecasts": forecasts["scores"],
        "strategy_skeleton": {
            "accepted_steps": len(skeleton.dt),
            "rejected_steps": skeleton.rejected,
            "dt_first": float(skeleton.dt[0]),
            "dt_max": float(skeleton.dt.max()),
            "spread_start": float(spread[0]),
            "spread_end": float(spread[-1]),
        },
        "wall_time_s": time.perf_counter() - start,
    }
    _write(
        out,
        summary,
        {
            "herding": herd,
            "cycles": cycles,
            "contagion_links": contagion,
            "compression": compression,
            "forecast_paths": forecasts["paths"],
            "risk_over_time": risk,
        },
    )
    _risk_figure(traj, out / "risk_over_time.png")
    h = summary["herding"]
    console.print(
        f"herding ρ_cluster {h['rho_cluster']:.3f} vs random groups {h['rho_random_groups']:.3f}"
        + (f", Erdős–Rényi economy {h['rho_cluster_erdos_renyi']:.3f}" if random_network else "")
        + " (paper: 0.85 ± 0.03 vs 0.15 ± 0.02)"
    )
    c = summary["first_cycle"]
    console.print(
        f"price cycle: first component {c['variance_share']:.0%}, period {c['period']:.1f} days, p = {c['p_value']:.2g}"
    )
    k = summary["contagion"]
    console.print(
        f"contagion: mean P(default | stressed neighbour) {k['mean_conditional_default']:.3f}, "
        f"{k['links_above_half']:.1%} of links above ½, hub cascade {k['hub_cascade_share_final']:.1%}"
    )
    row = compression[
        (compression.matrix == "wealth_trajectories") & (compression.stated_error == 0.01)
    ].iloc[0]
    console.print(
        f"SVD: value trajectories to 1 % error at rank {row['rank']} ({row['storage_ratio']:.1%} of the numbers)"
    )
    f = forecasts["scores"]
    console.print(
        f"forecasts (RMSE of Δ log value): subgraph {f['rmse_subgraph']:.4g}, own only {f['rmse_own']:.4g}, "
        f"persistence {f['rmse_persistence']:.4g}"
    )
    k = summary["strategy_skeleton"]
    console.print(
        f"strategy skeleton over {steps} days, adaptive Heun: {k['accepted_steps']} steps "
        f"({k['rejected_steps']} rejected), Δt {k['dt_first']:.2g} → max {k['dt_max']:.2g}; "
        f"μ spread {k['spread_start']:.3f} → {k['spread_end']:.3f}"
    )
    console.print(f"tables and risk_over_time.png in {out}")


def _risk_figure(traj, path: Path) -> None:
    import numpy as np
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 4))
    ax = fig.subplots()
    days = np.arange(1, traj.cascade.shape[1] + 1)
    for b, row in enumerate(traj.cascade):
        ax.plot(days, row, label=f"run {b}")
    ax.set_xlabel("day")
    ax.set_ylabel("share of agents in default")
    ax.set_title("contagion over time: cascade when the 1 % best-connected agents fail")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)


@app.command()
def live(
    config: CONFIG,
    stream: Annotated[
        Path | None, typer.Option(help="CSV feed: time,chain,asset,price (a growing or recorded file)")
    ] = None,
    socket_: Annotated[
        str | None, typer.Option("--socket", help="HOST:PORT of a feed on a localhost TCP connection")
    ] = None,
    days: Annotated[int, typer.Option(min=1, help="days to run")] = 60,
    follow: Annotated[
        bool, typer.Option(help="keep reading lines appended to the file while running")
    ] = False,
    interval: Annotated[
        float, typer.Option(min=0.0, help="with --follow or --socket: seconds per day")
    ] = 1.0,
    gain: Annotated[float, typer.Option(help="sentiment per log price gap")] = 2.0,
    agents: Annotated[int | None, typer.Option(min=10, help="override n_agents")] = None,
    runs: Annotated[int, typer.Option(min=1)] = 1,
    out: Annotated[Path, typer.Option(help="folder for live.csv")] = Path("results/network-live"),
) -> None:
    """Run the model driven by a Kalman-filtered live price feed, event by event."""
    from econsim.engine import ConfigError, Simulation
    from econsim.models.network.realtime import SocketTail, StreamTail, read_stream, run_live
    from econsim.models.registry import get_model

    if (stream is None) == (socket_ is None):
        raise ConfigError("give the feed as --stream FILE or --socket HOST:PORT (one of the two)")
    base = _base(config, agents)
    sim = Simulation(get_model("network"), base["params"], runs=runs, seed=base["seed"])
    if stream is not None and not follow:
        log, _ = run_live(sim, read_stream(stream), days, gain=gain)
    else:
        if socket_ is not None:
            host, _, port = socket_.rpartition(":")
            if not port.isdigit():
                raise ConfigError(f"--socket {socket_!r}: write HOST:PORT")
            tail: Any = SocketTail(host or "127.0.0.1", int(port))
        else:
            assert stream is not None
            tail = StreamTail(stream)

        def poll():
            time.sleep(interval)
            return tail.poll()

        log, _ = run_live(sim, tail.poll(), days, gain=gain, poll=poll)
    frame = log.frame()
    out.mkdir(parents=True, exist_ok=True)
    frame.to_csv(out / "live.csv", index=False)
    pool = [c for c in frame.columns if c.startswith("pool_")]
    import numpy as np

    gap = np.log(frame[pool].to_numpy() / frame[[c.replace("pool_", "feed_") for c in pool]].to_numpy())
    _console().print(
        f"{days} days, {int(frame.readings.sum())} readings; RMS log gap pool/feed {np.sqrt(np.nanmean(gap**2)):.4f}; "
        f"{out / 'live.csv'}"
    )


@app.command()
def equilibria(
    config: CONFIG,
    init: Annotated[list[str], typer.Option("--init", help="NAME=A,B,C: initial-condition values (grid)")],
    runs: Annotated[int, typer.Option(min=1)] = 2,
    steps: Annotated[int, typer.Option(min=10)] = 60,
    agents: Annotated[int | None, typer.Option(min=10, help="override n_agents")] = None,
    distance: Annotated[float, typer.Option(help="clustering cut (standard deviations)")] = 1.0,
    out: Annotated[Path, typer.Option()] = Path("results/network-equilibria"),
) -> None:
    """Runs from a grid of initial conditions (one experiment): distinct stable end states and basins."""
    from econsim.models.network.analysis import equilibria as find

    base = _base(config, agents)
    grid = {k: _values(v) for k, v in _pairs(init, "--init").items()}
    res = find(
        {"params": base["params"], "seed": base["seed"]}, grid, runs=runs, steps=steps, distance=distance
    )
    _write(
        out,
        {k: v for k, v in res.items() if k not in ("table", "by_run")},
        {"equilibria": res["table"], "runs": res["by_run"]},
    )
    console = _console()
    console.print(
        f"{res['equilibria']} distinct stable equilibria among {res['stable_runs']} stable of {res['runs']} runs"
    )
    console.print(res["table"].to_string(index=False), highlight=False)


@app.command()
def surrogate(
    config: CONFIG,
    param: Annotated[list[str], typer.Option("--param", help="NAME=LOW:HIGH to vary over the training runs")],
    samples: Annotated[int, typer.Option(min=4)] = 16,
    runs: Annotated[int, typer.Option(min=1)] = 2,
    steps: Annotated[int, typer.Option(min=8)] = 40,
    agents: Annotated[int | None, typer.Option(min=10, help="override n_agents")] = None,
    out: Annotated[Path, typer.Option()] = Path("results/network-surrogate"),
) -> None:
    """Train an MLP on the model's runs to predict the aggregates one step ahead; error and speed-up."""
    from econsim.engine import ConfigError
    from econsim.models.network.analysis import surrogate as train

    base = _base(config, agents)
    ranges = {}
    for name, text in _pairs(param, "--param").items():
        low, sep, high = text.partition(":")
        try:
            ranges[name] = (float(low), float(high))
        except ValueError:
            raise ConfigError(f"--param {name}={text}: write NAME=LOW:HIGH") from None
        if not sep:
            raise ConfigError(f"--param {name}={text}: write NAME=LOW:HIGH")
    res = train(
        {"params": base["params"]}, ranges, samples=samples, runs=runs, steps=steps, seed=base["seed"]
    )
    summary = {k: v for k, v in res.items() if k not in ("table", "mlp")}
    _write(out, summary, {"surrogate": res["table"]})
    console = _console()
    console.print(res["table"].to_string(index=False), highlight=False)
    console.print(
        f"speed-up {res['speedup']:.0f}× ({res['model_s_per_run_step'] * 1e3:.3g} ms per model run-step vs "
        f"{res['surrogate_s_per_run_step'] * 1e6:.3g} µs per prediction); {out}"
    )


@app.command()
def stress(
    config: CONFIG,
    posterior: Annotated[
        Path, typer.Option(help="samples CSV, calibrate's fit.csv or optimize's trials.csv")
    ],
    policy: Annotated[list[str], typer.Option("--policy", help="NAME=A,B: policy lever values (grid)")],
    indicator: Annotated[list[str], typer.Option("--indicator", help="recorded column(s) to average")],
    samples: Annotated[int, typer.Option(min=2, help="draws from a fit.csv")] = 50,
    runs: Annotated[int, typer.Option(min=1)] = 1,
    steps: Annotated[int, typer.Option(min=1)] = 30,
    at: Annotated[str, typer.Option(help="final | mean")] = "final",
    agents: Annotated[int | None, typer.Option(min=10, help="override n_agents")] = None,
    out: Annotated[Path, typer.Option()] = Path("results/network-stress"),
) -> None:
    """E[indicator | policy] over a parameter posterior, every sample × policy in one experiment."""
    from econsim.engine import ConfigError
    from econsim.models.network.analysis import read_posterior, stress_test

    if at not in ("final", "mean"):
        raise ConfigError(f"--at {at!r}: use final or mean")
    base = _base(config, agents)
    post = read_posterior(posterior, samples, base["seed"])
    policies = {k: _values(v) for k, v in _pairs(policy, "--policy").items()}
    table = stress_test(
        {"params": base["params"], "seed": base["seed"]}, post, policies, indicator, runs, steps, at
    )
    _write(out, {"posterior": str(posterior), "samples": len(post), "policies": policies}, {"stress": table})
    _console().print(table.to_string(index=False), highlight=False)
