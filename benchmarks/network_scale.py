"""The network model at 10³ … 10⁶ agents (issue 12's Table 1 rebuilt on this machine).

Each (size, threads) case runs in its own subprocess with NUMBA_NUM_THREADS set, so peak memory
(ru_maxrss) belongs to that case alone. One step is one simulated day; the first step (compilation,
or loading the compiled kernels from the cache) is timed apart, then ``--days`` steps in strict mode
(every step checks token conservation exactly). Usage:

    python benchmarks/network_scale.py [--sizes 1000 10000 100000 1000000] [--days 5] [--threads 1 2]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

PAPER = {
    1_000: (4, 0.02, "512 MB"),
    10_000: (16, 0.15, "2 GB"),
    100_000: (64, 1.2, "8 GB"),
    1_000_000: (256, 8.5, "32 GB"),
}


def one_case(n: int, days: int, degree: int) -> dict:
    import resource
    import time

    from econsim.engine import Simulation
    from econsim.models.registry import get_model

    started = time.perf_counter()
    sim = Simulation(get_model("network"), {"n_agents": n, "mean_degree": degree}, runs=1, seed=1)
    built = time.perf_counter() - started
    t0 = time.perf_counter()
    sim.step()
    first = time.perf_counter() - t0
    t0 = time.perf_counter()
    sim.run(days)
    per_day = (time.perf_counter() - t0) / days
    profile = sim.profile(1)
    return {
        "n": n,
        "slots": int(sim.params.n_slots),
        "build_s": built,
        "first_step_s": first,
        "s_per_day": per_day,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "profile": profile,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000, 1_000_000])
    ap.add_argument("--days", type=int, default=5)
    ap.add_argument("--degree", type=int, default=10)
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--case", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.case:
        print(json.dumps(one_case(args.case, args.days, args.degree)))
        return
    rows = []
    for n in args.sizes:
        for threads in args.threads:
            env = {**os.environ, "NUMBA_NUM_THREADS": str(threads)}
            cmd = [
                sys.executable,
                __file__,
                "--case",
                str(n),
                "--days",
                str(args.days),
                "--degree",
                str(args.degree),
            ]
            out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout
            row = json.loads(out.strip().splitlines()[-1])
            row["threads"] = threads
            rows.append(row)
            print(
                f"N = {n:>9,}  threads {threads}  slots {row['slots']:>10,}  {row['s_per_day']:8.3f} s/day  "
                f"peak {row['peak_mb']:7.0f} MB  (build {row['build_s']:.1f} s, first step {row['first_step_s']:.1f} s)",
                flush=True,
            )
    print(
        "\n| agents | cores here | s/day here | peak memory here | paper cores | paper s/day | paper memory |"
    )
    print("|---|---|---|---|---|---|---|")
    for row in rows:
        cores, sec, mem = PAPER.get(row["n"], ("–", float("nan"), "–"))
        print(
            f"| {row['n']:,} | {row['threads']} | {row['s_per_day']:.3f} | {row['peak_mb']:.0f} MB | {cores} | "
            f"{sec} | {mem} |"
        )
    slowest = max(rows, key=lambda r: r["n"])
    print(
        "\nseconds per block at N =",
        f"{slowest['n']:,}:",
        {k: round(v, 3) for k, v in slowest["profile"].items()},
    )


if __name__ == "__main__":
    main()
