"""atp against the original ATP-Economy's compiled step: one thread, H1 sizes, alternating fresh processes.

    .venv/bin/python benchmarks/atp_vs_original.py --original ~/ATP-Economy --original-python ~/atp-venv/bin/python
    .venv/bin/python benchmarks/atp_vs_original.py --original ... --original-python ... --n 200000 --pairs 5

The original (MichaelMcCulloch/ATP-Economy, torch) is not a package on PyPI, so this script cannot fetch
it: give it a checkout (``--original``, the folder that holds the ``atp_economy`` package) and the Python
of a virtualenv with torch and PyYAML installed (``--original-python``). The original's code is only
imported from that folder, by this script's own runner (``--worker original``), never copied here.

For each N (default 2·10⁵ and 10⁶, R = 16, G = 24, J = 12 from configs/atp/H1_baseline_stability.yaml)
it runs ``--pairs`` pairs of fresh processes, the original and econsim one after the other (the order
alternating from pair to pair), every one on one thread (``torch.set_num_threads(1)``, numba, OpenMP and
BLAS threads 1). Each process builds its world, takes ``--warmup`` untimed steps (the original compiles
its step with ``torch.compile(fullgraph=True)`` during the first), then times ``--steps`` steps: the
original's ``ATPEconomy.step()`` (which returns its metrics), econsim's ``Simulation.run`` (every stage,
the strict finite check, the observables recorded each step). It prints the wall and CPU time per step of
every process, the load average, and per N the ratios original / econsim of the medians (CPU time, which
other jobs on a shared machine disturb far less, and wall time) with the range over the pairs.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

# the H1 world and the one-thread environment of the econsim-only benchmark (stdlib imports only, so the
# original's interpreter, which runs this script as its worker, can import it too)
from atp_scaling import H1
from atp_scaling import ONE_CORE as ONE_THREAD

HOW = """\
This benchmark needs the original ATP-Economy, which is not on PyPI and cannot be fetched here:

  1. git clone https://github.com/MichaelMcCulloch/ATP-Economy ~/ATP-Economy
     (the comparison in src/econsim/models/atp/README.md used commit 954a5ab)
  2. python -m venv ~/atp-venv && ~/atp-venv/bin/pip install torch pyyaml
  3. {prog} --original ~/ATP-Economy --original-python ~/atp-venv/bin/python

--original is the folder that holds the atp_economy package; --original-python is a Python that can
import torch and yaml. benchmarks/atp_scaling.py times econsim alone."""


def timed(step, steps: int) -> dict:
    wall, cpu = time.perf_counter(), time.process_time()
    step(steps)
    return {
        "ms": 1e3 * (time.perf_counter() - wall) / steps,
        "cpu_ms": 1e3 * (time.process_time() - cpu) / steps,
    }


def econsim_worker(n_agents: int, steps: int, warmup: int) -> dict:
    """In this process: econsim's H1 world with N agents, ``warmup`` steps, then ``steps`` timed ones."""
    from econsim.engine.simulation import Simulation
    from econsim.experiment.config import load_config
    from econsim.models.registry import get_model

    cfg = load_config(H1)
    sim = Simulation(get_model("atp"), {**cfg.params, "N": n_agents}, seed=cfg.seed or 0)
    sim.run(warmup)  # compiled kernels load from their cache (or compile) here
    return timed(sim.run, steps)


def original_worker(path: str, n_agents: int, steps: int, warmup: int) -> dict:
    """In the original's Python: its H1 world with N agents, its compiled step on one thread."""
    sys.path.insert(0, path)
    import torch
    import yaml
    from atp_economy.config import EconConfig
    from atp_economy.sim.model import ATPEconomy

    torch.set_num_threads(1)
    with open(H1) as f:
        cfg = EconConfig.from_dict(yaml.safe_load(f))
    cfg.N = n_agents
    model = ATPEconomy(cfg, compile=True)

    def advance(k: int) -> None:
        for _ in range(k):
            model.step()

    advance(warmup)
    return timed(advance, steps)


def run_one(who: str, n_agents: int, steps: int, warmup: int, args: argparse.Namespace) -> dict:
    python = args.original_python if who == "original" else sys.executable
    command = [str(python), __file__, "--worker", who, "--one", str(n_agents)]
    command += ["--steps", str(steps), "--warmup", str(warmup)]
    if who == "original":
        command += ["--original", str(args.original)]
    out = subprocess.run(command, capture_output=True, text=True, env={**os.environ, **ONE_THREAD})
    if out.returncode != 0:
        sys.exit(f"the {who} run at N = {n_agents} failed (exit {out.returncode}):\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def check_original(args: argparse.Namespace, parser: argparse.ArgumentParser) -> None:
    if args.original is None or args.original_python is None:
        print(HOW.format(prog=parser.prog), file=sys.stderr)
        sys.exit(2)
    if not (Path(args.original) / "atp_economy" / "sim" / "model.py").is_file():
        sys.exit(f"--original {args.original}: no atp_economy/sim/model.py there (give the checkout's root)")
    probe = subprocess.run(
        [str(args.original_python), "-c", "import torch, yaml; print(torch.__version__)"],
        capture_output=True,
        text=True,
    )
    if probe.returncode != 0:
        sys.exit(f"--original-python {args.original_python} cannot import torch and yaml:\n{probe.stderr}")
    print(f"original: {args.original} (torch {probe.stdout.strip()})", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--original", help="folder holding the original's atp_economy package")
    parser.add_argument("--original-python", help="a Python with torch and PyYAML for the original")
    parser.add_argument("--n", type=int, nargs="*", default=[200_000, 1_000_000])
    parser.add_argument("--pairs", type=int, default=3, help="alternating pairs of runs per N")
    parser.add_argument("--steps", type=int, default=None, help="timed steps (default 100 at 2e5, 30 at 1e6)")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--worker", choices=["econsim", "original"], help=argparse.SUPPRESS)
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker == "econsim":
        print(json.dumps(econsim_worker(args.one, args.steps, args.warmup)))
        return
    if args.worker == "original":
        print(json.dumps(original_worker(args.original, args.one, args.steps, args.warmup)))
        return
    check_original(args, parser)
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores; one thread each", flush=True)
    summary = []
    for n in args.n:
        steps = args.steps or max(10, min(100, int(3e7 // n)))
        rows: dict[str, list[dict]] = {"original": [], "econsim": []}
        for pair in range(args.pairs):
            order = ["original", "econsim"] if pair % 2 == 0 else ["econsim", "original"]
            for who in order:
                row = run_one(who, n, steps, args.warmup, args)
                rows[who].append(row)
                print(
                    f"N = {n:>9,}  {who:8s}  {row['ms']:8.2f} ms/step wall  {row['cpu_ms']:8.2f} ms CPU  "
                    f"(load {os.getloadavg()[0]:.2f})",
                    flush=True,
                )
        cpu = [o["cpu_ms"] / e["cpu_ms"] for o, e in zip(rows["original"], rows["econsim"], strict=True)]
        wall = [o["ms"] / e["ms"] for o, e in zip(rows["original"], rows["econsim"], strict=True)]
        med = {
            who: {k: statistics.median(r[k] for r in rs) for k in ("ms", "cpu_ms")}
            for who, rs in rows.items()
        }
        summary.append(
            f"N = {n:>9,}: CPU time {med['original']['cpu_ms']:.1f} / {med['econsim']['cpu_ms']:.1f} ms = "
            f"{med['original']['cpu_ms'] / med['econsim']['cpu_ms']:.2f}× (pairs {min(cpu):.2f}–{max(cpu):.2f}×); "
            f"wall {med['original']['ms']:.1f} / {med['econsim']['ms']:.1f} ms = "
            f"{med['original']['ms'] / med['econsim']['ms']:.2f}× (pairs {min(wall):.2f}–{max(wall):.2f}×)"
        )
    print(f"load average {os.getloadavg()[0]:.2f}")
    print("original / econsim, one thread, medians over the pairs:")
    print("\n".join(summary))


if __name__ == "__main__":
    main()
