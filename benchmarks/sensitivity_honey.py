"""Sobol' analysis of the honey model batched (all sample rows × seeds as one experiment) against the same
samples evaluated one run at a time in a loop, as SALib's examples do.

    python benchmarks/sensitivity_honey.py [--samples 1024] [--runs 4] [--loop-runs 200]

8 parameters, N = 1024 base samples: N (2·8 + 2) = 18 432 rows × 4 seeds = 73 728 runs × 120 steps. The
loop is timed on its first ``--loop-runs`` runs and extrapolated to all of them (said so in the output).
"""

from __future__ import annotations

import argparse
import time

BOUNDS = {
    "throttle": (0.002, 0.014),
    "outflow_rate": (0.02, 0.08),
    "target_reserve_ratio": (0.1, 0.3),
    "valuation_ratio": (1.0, 3.0),
    "productivity": (0.8, 0.95),
    "growth": (0.0, 0.01),
    "p_variance": (0.15, 0.35),
    "p_pull": (0.6, 0.9),
}
CONFIG = {"model": "honey", "steps": 120, "params": {"price_walk": "positive"}}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=1024)
    parser.add_argument("--runs", type=int, default=4)
    parser.add_argument("--loop-runs", type=int, default=200)
    parser.add_argument("--out", default=None, help="folder for the indices and figures")
    args = parser.parse_args()

    from econsim.experiment.runner import run
    from econsim.experiment.sensitivity import design, problem_of, sensitivity

    started = time.perf_counter()
    result = sensitivity(
        CONFIG, "sobol", BOUNDS, "saturation", samples=args.samples, runs=args.runs, seed=1, out=args.out
    )
    batched = time.perf_counter() - started
    print(result.table.round(4).to_string())
    n_runs = len(result.Y) * args.runs

    problem, _ = problem_of("honey", BOUNDS)
    X = design(problem, "sobol", args.samples, 1)
    names = problem["names"]
    timed = min(args.loop_runs, n_runs)
    started = time.perf_counter()
    for g in range(timed):
        row, seed = divmod(g, args.runs)
        values = dict(zip(names, X[row].tolist(), strict=True))
        run({**CONFIG, "params": {**CONFIG["params"], **values}, "seed": seed, "runs": 1}, progress=False)
    loop_timed = time.perf_counter() - started
    loop = loop_timed * n_runs / timed
    how = (
        "measured" if timed == n_runs else f"extrapolated from {timed} of {n_runs} runs ({loop_timed:.1f} s)"
    )
    print(f"runs: {n_runs} × {CONFIG['steps']} steps ({len(result.Y)} sample rows × {args.runs} seeds)")
    print(f"batched (one experiment, sampling + runs + analysis): {batched:.1f} s")
    print(f"one run at a time in a loop: {loop:.1f} s ({how})")
    print(f"ratio loop / batched: {loop / batched:.1f}×")


if __name__ == "__main__":
    main()
