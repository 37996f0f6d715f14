"""Benchmark: the BAM economy under econsim (``configs/banking/bam.yaml``) against bamengine 0.10.2.

    python benchmarks/banking_vs_bamengine.py            # 100/500, 1000/5000, 10000/50000 firms/households
    python benchmarks/banking_vs_bamengine.py --quick    # the smallest economy only, fewer periods

bamengine runs in its own virtualenv, ``benchmarks/.bamenv`` (gitignored): on first use the script creates it
(``python -m venv``) and installs ``bamengine[fast]==0.10.2`` there (its numba goods-market kernel, the
package's fastest configuration), never into the interpreter running this script; the peer runs as a
subprocess of that virtualenv's Python. bamengine simulates one economy at a time: the script times a few
of its runs one after another and gives its time per period (the mean over those runs), which is also its
time per run-period of a Monte Carlo study of any size — a Monte Carlo study of R runs takes R times as long
(scaled, not run). econsim runs R runs of the same economy as one batch (100 by default; 10 at the largest
size, where 100 would need several GB) and its time per run-period is the batch's time per step / R.

Timings are of the stepping loop only (both after a warm-up that loads compiled kernels; no set-up; the
peer's series are read between its timed steps, econsim records only the last step of the timed batch and
the moments come from a second, untimed batch of at most 20 runs recording every step), in wall-clock and CPU seconds (``time.process_time``) of the
process doing the work; econsim's strict identity checks after every step are timed off and, at the
smallest size, on. The machine is shared: the load average is printed beside the timings, and the CPU-time
ratio is the steadier of the two. Goal: ≥ 10× faster per run-period.

The two economies are compared by their moments after a burn-in of half the periods, averaged over runs:
mean unemployment and its standard deviation, mean year-on-year inflation of the market price P̄, the
standard deviation of quarterly GDP growth, and firm bankruptcies per period.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
BAMENV = REPO / "benchmarks" / ".bamenv"
PEER = "bamengine[fast]==0.10.2"
STAMP = BAMENV / ".installed"

#: (firms, households, periods, bamengine runs, econsim runs)
SIZES = [(100, 500, 1000, 3, 100), (1000, 5000, 200, 2, 100), (10_000, 50_000, 100, 1, 10)]
QUICK = [(100, 500, 300, 2, 100)]

# The peer's side: runs in .bamenv, prints one JSON line per run (timings and the series the moments need).
PEER_SCRIPT = r"""
import json, sys, time
import numpy as np
import bamengine as bam

n_firms, n_households, periods, runs = (int(a) for a in sys.argv[1:5])
warm = bam.Simulation.init(n_firms=20, n_households=100, seed=0, log_level="ERROR")
for _ in range(3):
    warm.step()  # loads its compiled goods-market kernel
for seed in range(runs):
    sim = bam.Simulation.init(n_firms=n_firms, n_households=n_households, seed=42 + seed, log_level="ERROR")
    u, y, p, exits = [], [], [], []
    wall = cpu = 0.0
    for t in range(periods):
        w0, c0 = time.perf_counter(), time.process_time()
        sim.step()
        wall += time.perf_counter() - w0
        cpu += time.process_time() - c0
        u.append(float(1.0 - (sim.wrk.employer >= 0).mean()))
        y.append(float(sim.prod.production.sum()))
        p.append(float(sim.ec.avg_mkt_price))
        exits.append(int(len(sim.ec.exiting_firms)))
        if sim.ec.collapsed:
            break
    print(json.dumps({"wall": wall, "cpu": cpu, "periods": len(u), "u": u, "y": y, "p": p, "exits": exits}))
"""


def ensure_bamenv() -> Path:
    """The peer's virtualenv, created and filled on first use."""
    python = BAMENV / "bin" / "python"
    if not STAMP.exists():
        print(f"creating {BAMENV} with {PEER} (once)", flush=True)
        if not python.exists():
            subprocess.check_call([sys.executable, "-m", "venv", str(BAMENV)])
        subprocess.check_call([str(python), "-m", "pip", "install", "-q", PEER])
        STAMP.write_text(PEER + "\n")
    return python


def run_peer(python: Path, n_f: int, n_h: int, periods: int, runs: int) -> list[dict]:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "NUMBA_NUM_THREADS": "1"}
    out = subprocess.run(
        [str(python), "-c", PEER_SCRIPT, str(n_f), str(n_h), str(periods), str(runs)],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    ).stdout
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def bam_params(n_f: int, n_h: int) -> dict:
    import yaml

    params = yaml.safe_load((REPO / "configs/banking/bam.yaml").read_text())["params"]
    return {**params, "n_firms": n_f, "n_households": n_h}


def run_ours(n_f: int, n_h: int, periods: int, runs: int, strict: bool) -> dict:
    """Times ``runs`` runs batched, recording only the last step (the peer's timing leaves its own data
    collection out too), then records every step of a batch of at most 20 runs for the moments."""
    from econsim.engine import Simulation
    from econsim.models.banking import model

    Simulation(model, bam_params(20, 100), runs=1, seed=0, strict=strict).run(3)  # loads the kernels
    sim = Simulation(model, bam_params(n_f, n_h), runs=runs, seed=42, strict=strict, record_every=periods)
    w0, c0 = time.perf_counter(), time.process_time()
    sim.run(periods)
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    if strict:
        return {"wall": wall, "cpu": cpu}
    c = (
        Simulation(model, bam_params(n_f, n_h), runs=min(runs, 20), seed=42, strict=False)
        .run(periods)
        .columns
    )
    return {
        "wall": wall,
        "cpu": cpu,
        "u": c["unemployment"][1:].T,
        "y": c["gdp"][1:].T,
        "p": c["average_price"][1:].T,
        "exits": c["firm_bankruptcies"][1:].T,
    }


def moments(u, y, p, exits) -> dict[str, float]:
    """Per run after a burn-in of half the periods, then the mean over runs."""
    out: dict[str, list[float]] = {"unemployment": [], "unemployment sd": [], "inflation (yoy)": [],
                                   "GDP growth sd": [], "bankruptcies / period": []}  # fmt: skip
    for ur, yr, pr, er in zip(u, y, p, exits, strict=True):
        ur, yr, pr, er = (np.asarray(v, dtype=float) for v in (ur, yr, pr, er))
        b = len(ur) // 2
        out["unemployment"].append(ur[b:].mean())
        out["unemployment sd"].append(ur[b:].std())
        out["inflation (yoy)"].append((pr[b + 4 :] / pr[b:-4] - 1).mean())
        out["GDP growth sd"].append(np.diff(np.log(np.maximum(yr[b:], 1e-300))).std())
        out["bankruptcies / period"].append(er[b:].mean())
    return {k: float(np.mean(v)) for k, v in out.items()}


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="the smallest economy only, 300 periods")
    args = ap.parse_args(argv)
    sizes = QUICK if args.quick else SIZES
    python = ensure_bamenv()
    rows = []
    for n_f, n_h, periods, peer_runs, our_runs in sizes:
        print(f"\n== {n_f} firms / {n_h} households, {periods} periods ==", flush=True)
        peer = run_peer(python, n_f, n_h, periods, peer_runs)
        peer_wall = sum(r["wall"] for r in peer) / sum(r["periods"] for r in peer)
        peer_cpu = sum(r["cpu"] for r in peer) / sum(r["periods"] for r in peer)
        print(f"  bamengine: {peer_runs} runs one after another, {peer_wall * 1e3:.3f} ms wall "
              f"({peer_cpu * 1e3:.3f} ms CPU) per period   [load {load()}]", flush=True)  # fmt: skip
        checks = [False, True] if n_h <= 500 else [False]
        ours = {}
        for strict in checks:
            res = run_ours(n_f, n_h, periods, our_runs, strict)
            ours[strict] = res
            per_wall = res["wall"] / (periods * our_runs)
            per_cpu = res["cpu"] / (periods * our_runs)
            print(f"  econsim bam preset: {our_runs} runs batched, strict checks {'on ' if strict else 'off'}: "
                  f"{per_wall * 1e3:.4f} ms wall ({per_cpu * 1e3:.4f} ms CPU) per run-period; "
                  f"ratio {peer_wall / per_wall:.1f}× wall, {peer_cpu / per_cpu:.1f}× CPU "
                  f"(goal ≥ 10×)   [load {load()}]", flush=True)  # fmt: skip
            rows.append((n_f, n_h, strict, peer_wall / per_wall, peer_cpu / per_cpu))
            if not strict:
                print(f"    {our_runs} Monte Carlo runs × {periods} periods: econsim {res['wall']:.1f} s wall "
                      f"(measured, one batch); bamengine ≈ {peer_wall * periods * our_runs:.1f} s wall "
                      f"(scaled from its {peer_runs} runs, one after another)")  # fmt: skip
        m_peer = moments(*([r[k] for r in peer] for k in ("u", "y", "p", "exits")))
        m_ours = moments(*(ours[False][k] for k in ("u", "y", "p", "exits")))
        print(f"  moments after {periods // 2} periods of burn-in (bamengine: {peer_runs} runs, econsim: "
              f"{min(our_runs, 20)} runs):")  # fmt: skip
        print(f"    {'':24s}{'bamengine':>12s}{'econsim':>12s}")
        for name in m_peer:
            print(f"    {name:24s}{m_peer[name]:12.4f}{m_ours[name]:12.4f}")
    print("\nsummary (time per run-period, bamengine / econsim):")
    for n_f, n_h, strict, wall, cpu in rows:
        goal = "meets" if cpu >= 10 else "misses"
        print(f"  {n_f:>6d} firms / {n_h:>6d} households, strict {'on ' if strict else 'off'}: {wall:6.1f}× wall, "
              f"{cpu:6.1f}× CPU — {goal} the 10× goal (CPU)")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
