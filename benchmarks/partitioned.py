"""One network run split over Ray actors: step time at P = 1 and P = 2, the exchange's share, bytes per step.

The network model at ``--agents`` (default 10⁶; Erdős–Rényi, mean degree 10) is stepped

    in process        the plain ``Simulation`` (the reference: no partitioning at all)
    P = 1, 2, …       ``PartitionedSimulation`` on that many Ray actors (one block each, METIS by default)

After one untimed step (kernels loaded from numba's disk cache, ghosts subscribed), ``--steps`` steps
are timed. Per configuration it prints the wall seconds per step, the slowest actor's compute seconds
(wall and CPU) per step, the exchange's share of the step (1 − slowest compute / wall: messages, Ray's
calls and waiting on the slowest actor), the supersteps per step and the bytes the actors sent each other
per step; then the speed-up of P = 2 over P = 1, and whether the final states are bit-identical.

The machine is shared (2 cores, several jobs): the load average is printed beside every figure, and a
speed-up measured under load is not the speed-up of an idle machine — the actors compete with the other
jobs for the two cores.

    python benchmarks/partitioned.py [--agents 1000000] [--steps 3] [--parts 1 2] [--method metis]
                                     [--graph erdos_renyi | watts_strogatz | barabasi_albert]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np


def load() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--agents", type=int, default=1_000_000)
    ap.add_argument("--degree", type=int, default=10)
    ap.add_argument(
        "--graph", default="erdos_renyi", choices=["erdos_renyi", "watts_strogatz", "barabasi_albert"]
    )
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--parts", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--method", default="metis", choices=["metis", "hilbert", "random"])
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()

    import ray

    from econsim.engine import Simulation
    from econsim.engine.partition.partition import Layout
    from econsim.engine.partition.runtime import PartitionedSimulation
    from econsim.models.registry import get_extras, get_model

    model = get_model("network")
    params = {"n_agents": args.agents, "mean_degree": args.degree, "cluster_every": 5, "graph": args.graph}
    every = 10**9  # no records between the timed steps (a record gathers the whole state)
    print(
        f"network, {args.agents:,} agents, {args.graph}, mean degree {args.degree}, {args.steps} timed steps; "
        f"{load()}"
    )

    started = time.perf_counter()
    plain = Simulation(model, params, runs=1, seed=args.seed, record_every=every)
    print(f"in process: graph and initial state {time.perf_counter() - started:.1f} s")
    plain.step()
    wall, cpu = time.perf_counter(), time.process_time()
    plain.step(args.steps)
    plain_wall = (time.perf_counter() - wall) / args.steps
    plain_cpu = (time.process_time() - cpu) / args.steps
    print(f"in process: {plain_wall:.2f} s/step wall, {plain_cpu:.2f} s/step CPU; {load()}")

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    rows = {}
    for parts in args.parts:
        started = time.perf_counter()
        sim = PartitionedSimulation(
            model,
            params,
            partitioner=str(get_extras("network").partitioner),
            partitions=parts,
            method=args.method,
            backend="ray",
            checkpoint_every=0,
            runs=1,
            seed=args.seed,
            record_every=every,
        )
        setup = time.perf_counter() - started
        cut = Layout.of(sim.layout.part, parts).cut_share(sim.params.graph_indptr, sim.params.graph_indices)
        sim.step()
        sim.step(args.steps)
        st = sim.stats
        wall = float(np.mean(st.wall[1:]))
        compute = float(np.mean([c.max() for c in st.compute[1:]]))
        cpu_max = float(np.mean([c.max() for c in st.cpu[1:]]))
        sent = float(np.mean(st.bytes_sent[1:]))
        same = all(np.array_equal(plain.state[k], sim.state[k]) for k in plain.state)
        rows[parts] = wall
        print(
            f"P = {parts}: {wall:.2f} s/step wall; slowest actor computes {compute:.2f} s wall, "
            f"{cpu_max:.2f} s CPU; exchange share {1 - compute / wall:.0%}; {st.supersteps[-1]} supersteps; "
            f"{sent / 1e6:.1f} MB sent per step; {cut:.0%} of edge slots cut; setup {setup:.1f} s; "
            f"bit-identical to in process: {same}; {load()}"
        )
        sim.close()
    if 1 in rows and 2 in rows:
        print(
            f"speed-up P = 2 over P = 1: {rows[1] / rows[2]:.2f}x (goal 1.6x on an idle 2-core machine); {load()}"
        )
    ray.shutdown()


if __name__ == "__main__":
    main()
