"""A 10^5-agent token economy for 1 000 steps on one core (target: under 60 s).

The mixed population (rule-based, arbitrage, pump-and-dump, Q-learning) trades on the bonding curve
and the AMM, with a panic-sale shock half way; one run, recorded every 10 steps. Prints the wall time
of the simulation (after a small warm-up run that compiles the numba kernels) and ms per step.

    .venv/bin/python benchmarks/tokens_scale.py [--agents N] [--steps T] [--venue V] [--population P] [--tokens J]

Measured (2-core shared container, load average ~3.6, pinned with taskset to one core):
    tokens_scale: 100000 agents x 1000 steps (bonding_curve, mixed) in 35.1 s = 35.1 ms/step
    (an earlier run while the engine test suite ran on the same cores: 69.9 s)
    After holdings became (B, N, J) (one token, taskset -c 1, load average 1.7 before / 2.3 after):
    tokens_scale: 100000 agents x 1000 steps (bonding_curve, mixed) in 39.8 s = 39.8 ms/step
"""

from __future__ import annotations

import argparse
import os
import time

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # one core: no threads behind numpy or numba

from econsim.experiment.runner import run  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description="10^5-agent token economy benchmark")
    parser.add_argument("--agents", type=int, default=100_000)
    parser.add_argument("--steps", type=int, default=1_000)
    parser.add_argument("--venue", default="bonding_curve")
    parser.add_argument("--population", default="mixed")
    parser.add_argument("--tokens", type=int, default=1, help="n_tokens J")
    args = parser.parse_args()
    params = {
        "N": args.agents,
        "venue": args.venue,
        "population": args.population,
        "shock_step": args.steps // 2,
        "n_tokens": args.tokens,
    }
    run({"model": "tokens", "params": {**params, "N": 100}, "steps": 5, "seed": 0}, progress=False)  # compile
    started = time.perf_counter()
    results = run(
        {"model": "tokens", "params": params, "steps": args.steps, "seed": 0, "record_every": 10},
        progress=False,
    )
    seconds = time.perf_counter() - started
    final = results.final().iloc[0]
    print(
        f"tokens_scale: {args.agents} agents x {args.steps} steps ({args.venue}, {args.population}) "
        f"J={args.tokens} in {seconds:.1f} s = {1e3 * seconds / args.steps:.1f} ms/step "
        f"({'under' if seconds < 60 else 'OVER'} the 60 s target)"
    )
    print(
        f"final price {final['price']:.4f}, volatility {final['volatility']:.4f}, gini {final['gini']:.4f}, "
        f"exploitation {final['exploitation']:+.4f}"
    )


if __name__ == "__main__":
    main()
