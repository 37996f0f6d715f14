"""Step time and peak memory of the banking economy at 10^4, 10^5 and 10^6 households (firms a tenth,
banks 10–50), one run, on one core; each size runs in its own process so its peak memory is its own.

    python benchmarks/banking_scale.py [--sizes 10000 100000 1000000] [--steps 10]

Prints seconds per step (after 2 warm-up steps, which include compilation) — wall clock and the process's
CPU time, which a machine shared with other jobs inflates less — and peak resident memory,
with the goal from the issue (≤ 1 s per step at 10^6 households) and BeforeIT.jl's published figure
(46.7 s per step for about 9.5 million agents on one core) for scale.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

GOAL_S = 1.0


def one(n_households: int, steps: int) -> dict:
    from econsim.engine import Simulation
    from econsim.models.banking import model

    params = {
        "n_households": n_households,
        "n_firms": max(10, n_households // 10),
        "n_banks": min(50, max(10, n_households // 20_000)),
    }
    sim = Simulation(model, params, runs=1, seed=1)
    sim.step(2)  # compilation and caches
    started, cpu = time.perf_counter(), time.process_time()
    sim.step(steps)
    per_step = (time.perf_counter() - started) / steps
    cpu_per_step = (time.process_time() - cpu) / steps
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {**params, "seconds_per_step": per_step, "cpu_seconds_per_step": cpu_per_step, "peak_mb": peak_mb}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(args.one, args.steps)))
        return
    env = {**os.environ, "NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    print(f"load average {os.getloadavg()[0]:.2f}; one core; {args.steps} timed steps each")
    print(f"{'households':>11} {'firms':>7} {'banks':>5} {'s / step':>9} {'cpu s':>7} {'peak MB':>8}")
    for n in args.sizes:
        out = subprocess.run(
            [sys.executable, __file__, "--one", str(n), "--steps", str(args.steps)],
            capture_output=True,
            text=True,
            env=env,
            check=True,
        )
        r = json.loads(out.stdout.strip().splitlines()[-1])
        print(
            f"{r['n_households']:>11,} {r['n_firms']:>7,} {r['n_banks']:>5} {r['seconds_per_step']:>9.3f} "
            f"{r['cpu_seconds_per_step']:>7.3f} {r['peak_mb']:>8.0f}"
        )
        if n == 1_000_000:
            met = "met" if r["seconds_per_step"] <= GOAL_S else "NOT met"
            print(
                f"goal ≤ {GOAL_S} s per step at 10^6 households: {met} "
                f"(BeforeIT.jl: 46.7 s per step for ≈9.5·10^6 agents on one core)"
            )


if __name__ == "__main__":
    main()
