"""Peak memory of large honey sweeps written to a results folder: it must not grow with the run count.

    python benchmarks/honey_memory.py            # 10^4 and 5·10^4 runs × 120 steps
    python benchmarks/honey_memory.py --runs 10000

Each size runs in a fresh process so that its peak resident memory (ru_maxrss) is its own; the
baseline is a process that only imports econsim. Target: 10^4 runs × 120 steps under 500 MB.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile

CHILD = """
import json, resource, sys, time
import econsim
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
runs_per_point = int(sys.argv[1])
started = time.perf_counter()
res = econsim.run({"model": "honey",
                   "sweep": {"grid": {"target_reserve_ratio": {"start": 0.1, "stop": 0.3, "step": 0.025},
                                      "throttle": {"start": 0.002, "stop": 0.030, "step": 0.004}}},
                   "runs": runs_per_point, "steps": 120, "seed": 1}, out=sys.argv[2], progress=False)
print(json.dumps({"runs": res.manifest["n_runs_total"], "batches": len(res.manifest["batches"]),
                  "seconds": time.perf_counter() - started, "import_mb": base,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def measure(total_runs: int) -> dict:
    per_point = -(-total_runs // 72)
    with tempfile.TemporaryDirectory() as tmp:
        out = subprocess.run(
            [sys.executable, "-c", CHILD, str(per_point), f"{tmp}/res"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, action="append", help="total runs (repeatable)")
    args = parser.parse_args()
    print(f"{'runs':>8} {'batches':>8} {'seconds':>8} {'import MB':>10} {'peak MB':>8}")
    for runs in args.runs or [10_000, 50_000]:
        r = measure(runs)
        print(
            f"{r['runs']:>8} {r['batches']:>8} {r['seconds']:>8.2f} {r['import_mb']:>10.0f} {r['peak_mb']:>8.0f}"
        )
    print("target: 10^4 runs × 120 steps under 500 MB peak")


if __name__ == "__main__":
    main()
