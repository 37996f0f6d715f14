"""Step time and peak memory of the banking economy at 10^4, 10^5 and 10^6 households (firms a tenth,
banks 10–50), one run, on one core; each size runs in its own process so its peak memory is its own.

    python benchmarks/banking_scale.py [--sizes 10000 100000 1000000] [--steps 10] [--full-size 1000000]

Prints seconds per step (after 2 warm-up steps, which include compilation) — wall clock and the process's
CPU time, which a machine shared with other jobs inflates less — peak resident memory and the ratio of
the time to the goal from the issue (≤ 1 s per step at 10^6 households; ratio ≤ 1 meets it), with
BeforeIT.jl's published figure (46.7 s per step for about 9.5 million agents on one core) for scale.
Then the whole model, every part-2 feature on (``FULL``: the interbank market, bank runs on the
depositors' network, term bonds at auction, the equity market, the supply chain, credit in depth), at
``--full-size`` households: its goal is part 1's within a factor of two (≤ 2 s per step). Strict mode
(every ledger identity checked every step) is on throughout, as in every run of the model.
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
FULL_FACTOR = 2.0  # issue 11: the whole model keeps part 1's goal within a factor of two
#: every part-2 feature of the model on
FULL = {
    "interbank": True,
    "bank_runs": True,
    "term_issuance": 1.0,
    "asset_market": True,
    "supply_chain": True,
    "collateral_credit": True,
}


def one(n_households: int, steps: int, full: bool = False) -> dict:
    from econsim.engine import Simulation
    from econsim.models.banking import model

    params = {
        "n_households": n_households,
        "n_firms": max(10, n_households // 10),
        "n_banks": min(50, max(10, n_households // 20_000)),
    }
    if full:
        params.update(FULL)
    sim = Simulation(model, params, runs=1, seed=1)
    sim.step(2)  # compilation and caches
    started, cpu = time.perf_counter(), time.process_time()
    sim.step(steps)
    per_step = (time.perf_counter() - started) / steps
    cpu_per_step = (time.process_time() - cpu) / steps
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {**params, "seconds_per_step": per_step, "cpu_seconds_per_step": cpu_per_step, "peak_mb": peak_mb}


def _measure(n: int, steps: int, env: dict, full: bool) -> dict:
    command = [sys.executable, __file__, "--one", str(n), "--steps", str(steps)] + (
        ["--full"] if full else []
    )
    out = subprocess.run(command, capture_output=True, text=True, env=env, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _line(label: str, r: dict, goal: float) -> str:
    return (
        f"{label:>6} {r['n_households']:>11,} {r['n_firms']:>7,} {r['n_banks']:>5} {r['seconds_per_step']:>9.3f} "
        f"{r['cpu_seconds_per_step']:>7.3f} {r['peak_mb']:>8.0f} {r['seconds_per_step'] / goal:>7.2f} "
        f"{r['cpu_seconds_per_step'] / goal:>7.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument(
        "--full-size", type=int, default=1_000_000, help="households of the full model (0: skip)"
    )
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--full", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(args.one, args.steps, args.full)))
        return
    env = {**os.environ, "NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    print(
        f"load average {os.getloadavg()[0]:.2f} (2 cores shared: CPU time is the steadier figure); one core; {args.steps} timed steps each"
    )
    print(
        f"{'model':>6} {'households':>11} {'firms':>7} {'banks':>5} {'s / step':>9} {'cpu s':>7} {'peak MB':>8} "
        f"{'s/goal':>7} {'cpu/goal':>7}"
    )
    for n in args.sizes:
        r = _measure(n, args.steps, env, full=False)
        print(_line("part 1", r, GOAL_S))
        if n == 1_000_000:
            met = "met" if r["cpu_seconds_per_step"] <= GOAL_S else "NOT met"
            print(
                f"goal ≤ {GOAL_S} s per step at 10^6 households: {met} in CPU time, wall {r['seconds_per_step']:.2f} s "
                f"(BeforeIT.jl: 46.7 s per step for ≈9.5·10^6 agents on one core)"
            )
    if args.full_size:
        goal = FULL_FACTOR * GOAL_S
        r = _measure(args.full_size, args.steps, env, full=True)
        print(_line("full", r, goal))
        met = "met" if r["cpu_seconds_per_step"] <= goal else "NOT met"
        features = ", ".join(f"{k}={v}" for k, v in FULL.items())
        print(
            f"full model ({features}) at {args.full_size:,} households: goal ≤ {goal} s per step "
            f"(part 1's within ×{FULL_FACTOR:g}): {met} in CPU time, wall {r['seconds_per_step']:.2f} s; "
            f"load average now {os.getloadavg()[0]:.2f}"
        )


if __name__ == "__main__":
    main()
