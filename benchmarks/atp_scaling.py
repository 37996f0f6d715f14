"""atp scaling: steps per second and peak memory of one run at the H1 sizes (R=16, G=24, J=12) over N.

    .venv/bin/python benchmarks/atp_scaling.py                       # N = 1e4, 1e5, 2e5, 1e6
    .venv/bin/python benchmarks/atp_scaling.py --n 200000 --steps 200
    .venv/bin/python benchmarks/atp_scaling.py --h1-steps 20000      # also time a whole H1 run
    .venv/bin/python benchmarks/atp_scaling.py --n 200000 1000000 --threads 1 2   # numba threads

Each N runs in a fresh process (BLAS threads pinned to 1, numba's to ``--threads``, default 1: the two
compiled passes over agents spread regions over numba's threads), so its peak resident memory
(ru_maxrss) is its own. Besides wall time it reports the process's CPU time per step, which other jobs on a
loaded machine disturb far less, and the load average (1 min) before and after.
Targets: ≥ 37 steps/s at N = 200 000, cost linear in N, N = 10⁶ within 1.5 GB.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
H1 = ROOT / "configs" / "atp" / "H1_baseline_stability.yaml"
ONE_CORE = {
    "NUMBA_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
}


def measure(n_agents: int, steps: int, warmup: int) -> dict:
    """In this process: build the H1 world with N agents, step it, report steps/s and peak memory."""
    import resource

    from econsim.engine.simulation import Simulation
    from econsim.experiment.config import load_config
    from econsim.models.registry import get_model

    cfg = load_config(H1)
    started = time.perf_counter()
    sim = Simulation(get_model("atp"), {**cfg.params, "N": n_agents}, seed=cfg.seed or 0)
    init_s = time.perf_counter() - started
    sim.profile(warmup)  # untimed: compilation and caches
    started, cpu_started = time.perf_counter(), time.process_time()
    sim.profile(steps)
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "N": n_agents,
        "steps": steps,
        "steps_per_s": steps / seconds,
        "ms_per_step": 1e3 * seconds / steps,
        "cpu_ms_per_step": 1e3 * cpu_seconds / steps,
        "init_s": init_s,
        "peak_rss_mb": peak_mb,
    }


def h1_run(steps: int) -> dict:
    """Wall time of ``econsim run H1 --steps steps`` (world generation, stepping, recording, Parquet, figure)."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                "-m",
                "econsim.cli",
                "run",
                str(H1),
                "--steps",
                str(steps),
                "--out",
                f"{tmp}/out",
                "--save-fig",
                f"{tmp}/h1.png",
                "--save-metrics",
                f"{tmp}/h1.npz",
                "--quiet",
            ],
            check=True,
            env={**os.environ, **ONE_CORE},
            cwd=tmp,
        )
        return {"h1_steps": steps, "wall_s": time.perf_counter() - started}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, nargs="*", default=[10_000, 100_000, 200_000, 1_000_000])
    parser.add_argument("--steps", type=int, default=None, help="timed steps (default: by N)")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--h1-steps", type=int, default=0, help="also time a whole H1 run of this many steps")
    parser.add_argument("--threads", type=int, nargs="*", default=[1], help="numba thread counts to time")
    parser.add_argument(
        "--one", type=int, help=argparse.SUPPRESS
    )  # worker mode: measure this N and print JSON
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(args.one, args.steps, args.warmup)))
        return
    rows = []
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores", flush=True)
    for n in args.n:
        steps = args.steps or max(10, min(300, int(3e7 // n)))
        for threads in args.threads:
            out = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--one",
                    str(n),
                    "--steps",
                    str(steps),
                    "--warmup",
                    str(args.warmup),
                ],
                capture_output=True,
                text=True,
                check=True,
                env={**os.environ, **ONE_CORE, "NUMBA_NUM_THREADS": str(threads)},
            )
            row = json.loads(out.stdout.strip().splitlines()[-1])
            rows.append(row)
            print(
                f"N = {n:>9,}  {threads} thread(s)  {row['steps_per_s']:8.1f} steps/s  "
                f"{row['ms_per_step']:8.2f} ms/step (CPU {row['cpu_ms_per_step']:6.2f})  "
                f"peak {row['peak_rss_mb']:7.0f} MB  (world generation {row['init_s']:.1f} s)",
                flush=True,
            )
    if len(rows) > 1 and len(args.threads) == 1:
        per_agent = [r["ms_per_step"] / r["N"] * 1e6 for r in rows]
        print("ns per agent-step:", ", ".join(f"{v:.0f}" for v in per_agent))
    print(f"load average {os.getloadavg()[0]:.2f}", flush=True)
    if args.h1_steps:
        row = h1_run(args.h1_steps)
        print(
            f"H1, {args.h1_steps} steps, N = 200 000: {row['wall_s']:.0f} s wall "
            f"(load average {os.getloadavg()[0]:.2f})"
        )


if __name__ == "__main__":
    main()
