"""The network model at 10³ … 10⁶ agents: issue 12's Table 1 rebuilt on this machine.

Each (size, cores) case runs in its own subprocess with NUMBA_NUM_THREADS and the model's ``threads``
set to the cores, so peak memory (ru_maxrss) belongs to that case alone. One step is one simulated
day, in strict mode (token conservation checked exactly after every step, observables recorded). The
first step (compilation, or loading the compiled kernels from the disk cache) is timed apart; then
``--repeat`` rounds of ``--days`` steps, and the best round is reported, as wall seconds per day and as
the process's CPU seconds per day (on a shared machine the CPU time is the steadier figure: it leaves out
the time other jobs held the core; with 2 threads it adds both threads' time). The load average is
printed with every timing. Last, the wall seconds per day of each stage (``Simulation.profile``, the
mean over ``--repeat`` rounds).

    python benchmarks/network_scale.py [--sizes 1000 10000 100000 1000000] [--days 5] [--repeat 3]
                                       [--cores 1 2] [--graph erdos_renyi] [--degree 10]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

# the paper's Table 1: agents -> (cores, seconds per simulated day, memory)
PAPER = {
    1_000: (4, 0.02, "512 MB"),
    10_000: (16, 0.15, "2 GB"),
    100_000: (64, 1.2, "8 GB"),
    1_000_000: (256, 8.5, "32 GB"),
}
GOAL = (0.5, 2048.0)  # 10⁶ agents on one core: seconds per day, peak MB


def one_case(n: int, days: int, repeat: int, degree: int, graph: str, cores: int) -> dict:
    import resource
    import time

    from econsim.engine import Simulation
    from econsim.models.registry import get_model

    params = {"n_agents": n, "mean_degree": degree, "graph": graph, "threads": cores}
    started = time.perf_counter()
    sim = Simulation(get_model("network"), params, runs=1, seed=1)
    built = time.perf_counter() - started
    t0 = time.perf_counter()
    sim.step()
    first = time.perf_counter() - t0
    rounds = []
    for _ in range(repeat):
        w0, c0 = time.perf_counter(), time.process_time()
        sim.run(days)
        rounds.append(
            ((time.perf_counter() - w0) / days, (time.process_time() - c0) / days, os.getloadavg()[0])
        )
    stages: dict[str, float] = {}
    for _ in range(repeat):  # the mean over all rounds: a block due every k steps is in only some of them
        for name, seconds in sim.profile(days).items():
            stages[name] = stages.get(name, 0.0) + seconds / (days * repeat)
    wall, _, load = min(rounds)
    return {
        "n": n,
        "cores": cores,
        "slots": int(sim.params.n_slots),
        "build_s": built,
        "first_step_s": first,
        "s_per_day": wall,
        "cpu_s_per_day": min(r[1] for r in rounds),
        "load": load,
        "rounds": rounds,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "stages": stages,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000, 1_000_000])
    ap.add_argument("--days", type=int, default=5)
    ap.add_argument("--repeat", type=int, default=3, help="rounds of --days steps; the best is reported")
    ap.add_argument("--degree", type=int, default=10)
    ap.add_argument("--graph", default="erdos_renyi")
    ap.add_argument("--cores", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--case", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.case:
        cores = int(os.environ.get("NUMBA_NUM_THREADS", "1"))
        print(json.dumps(one_case(args.case, args.days, args.repeat, args.degree, args.graph, cores)))
        return
    rows = []
    for n in args.sizes:
        for cores in args.cores:
            env = {**os.environ, "NUMBA_NUM_THREADS": str(cores)}
            cmd = [sys.executable, __file__, "--case", str(n)]
            cmd += ["--days", str(args.days), "--repeat", str(args.repeat)]
            cmd += ["--degree", str(args.degree), "--graph", args.graph]
            out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout
            row = json.loads(out.strip().splitlines()[-1])
            rows.append(row)
            print(
                f"N = {n:>9,}  cores {cores}  slots {row['slots']:>10,}  {row['s_per_day']:8.3f} s/day wall "
                f"{row['cpu_s_per_day']:8.3f} s/day CPU  peak {row['peak_mb']:6.0f} MB  load {row['load']:.1f}  "
                f"(rounds {[round(r[0], 3) for r in row['rounds']]}, build {row['build_s']:.1f} s, "
                f"first step {row['first_step_s']:.1f} s)",
                flush=True,
            )
    print(
        f"\nTable 1 on this machine ({args.graph}, mean degree {args.degree}; best of {args.repeat} rounds of "
        f"{args.days} days; load = 1-minute load average during the best round)\n"
    )
    print(
        "| agents | cores | s/day (wall) | s/day (CPU) | peak memory | load | paper: cores | s/day | memory |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        cores, sec, mem = PAPER.get(row["n"], ("–", "–", "–"))
        print(
            f"| {row['n']:,} | {row['cores']} | {row['s_per_day']:.3f} | {row['cpu_s_per_day']:.3f} | "
            f"{row['peak_mb']:.0f} MB | {row['load']:.1f} | {cores} | {sec} | {mem} |"
        )
    for row in rows:
        if row["n"] == max(r["n"] for r in rows):
            stages = ", ".join(f"{k} {v:.3f}" for k, v in row["stages"].items())
            print(f"\nseconds per day by stage, N = {row['n']:,}, {row['cores']} core(s): {stages}")
    goal = [r for r in rows if r["n"] == 1_000_000 and r["cores"] == 1]
    if goal:
        r = goal[0]
        verdict = lambda ok: "met" if ok else "not met"  # noqa: E731
        print(
            f"\ngoal at 10^6 agents, one core, <= {GOAL[0]} s/day: wall {r['s_per_day']:.3f} "
            f"({verdict(r['s_per_day'] <= GOAL[0])}), CPU {r['cpu_s_per_day']:.3f} "
            f"({verdict(r['cpu_s_per_day'] <= GOAL[0])}); <= {GOAL[1]:.0f} MB: {r['peak_mb']:.0f} MB "
            f"({verdict(r['peak_mb'] <= GOAL[1])})"
        )


if __name__ == "__main__":
    main()
