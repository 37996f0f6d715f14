"""One run split over partitions (engine.partition.runtime, the network model's partitioner): the same
answer at any P, exact conservation, ghosts at most one step old, rebalancing after an injected slow
worker, and (Ray) a run that survives a killed worker."""

from __future__ import annotations

import numpy as np
import pytest

import econsim
from econsim.engine import ConfigError, InvariantError, Simulation
from econsim.engine.partition.runtime import PartitionedSimulation, migrate
from econsim.experiment.batch import partitioner_path
from econsim.models.network.metrics import token_units
from econsim.models.registry import get_model

# weak links that dissolve and re-form often, so triadic closure crosses partitions every step
SMALL = {
    "n_agents": 240,
    "mean_degree": 6,
    "cluster_every": 2,
    "eta_min": 0.45,
    "delta": 0.3,
    "form_prob": 0.5,
}
STEPS = 6
NETWORK = "econsim.models.network.partitioned:NetworkPartitioner"


@pytest.fixture(scope="module")
def reference():
    sim = Simulation(get_model("network"), SMALL, runs=1, seed=3)
    sim.run(STEPS)
    return sim


def _same(a, b) -> None:
    assert a.state.keys() == b.state.keys()
    for k in a.state:
        assert np.array_equal(a.state[k], b.state[k]), k
    ra, rb = a.records, b.records
    assert np.array_equal(ra.times, rb.times)
    for k in ra.columns:
        assert np.array_equal(ra.columns[k], rb.columns[k], equal_nan=True), k


@pytest.mark.parametrize("parts,method", [(1, "metis"), (2, "metis"), (3, "random"), (4, "hilbert")])
def test_partitioned_run_is_bit_identical_to_the_in_process_run(reference, parts, method):
    sim = PartitionedSimulation(
        get_model("network"), SMALL, partitioner=NETWORK, runs=1, seed=3, partitions=parts, method=method
    )
    sim.run(STEPS)
    _same(reference, sim)
    assert sim.records.columns["edges_formed"][1:].sum() > 0
    if parts > 1:  # boundary values did cross: the ghosts' strategies, offers, credits, closures
        assert min(sim.stats.bytes_sent) > 0


def test_tokens_are_conserved_exactly_and_a_leak_stops_the_run():
    sim = PartitionedSimulation(
        get_model("network"), SMALL, partitioner=NETWORK, runs=1, seed=1, partitions=3, method="random"
    )
    start = token_units(sim.state).copy()
    for _ in range(3):
        sim.step()
        assert np.array_equal(token_units(sim.state), start)
    sim.pool.workers[1].block.holdings[0, 0, 0] += 1  # one base unit appears on partition 1
    with pytest.raises(InvariantError, match="invariant 'tokens_conserved' failed at step 4"):
        sim.step()


def test_ghost_copies_are_never_more_than_one_step_old():
    sim = PartitionedSimulation(
        get_model("network"), SMALL, partitioner=NETWORK, runs=1, seed=2, partitions=3, method="random"
    )
    history = [sim.state["agents.mu"][0].copy()]  # μ after each step, by agent id
    checked = []

    def check(t, superstep):
        for w in sim.pool.workers:
            b = w.block
            ghosts = b.mu[b.n_own : b.n_own + len(b.ghost_gid)]
            current = np.zeros_like(ghosts)
            for other in sim.pool.workers:  # the owners' μ right now
                owned = np.isin(b.ghost_gid, other.block.gid)
                current[owned] = other.block.mu_own[np.searchsorted(other.block.gid, b.ghost_gid[owned])]
            fresh = (ghosts == current).all(axis=1)
            # a ghost not yet refreshed (subscribed at the end of the previous step) is still zero
            old = (ghosts == history[-1][b.ghost_gid]).all(axis=1) | (ghosts == 0).all(axis=1)
            assert (fresh | old).all(), (t, superstep)
            checked.append(fresh.mean())

    sim.on_superstep = check
    for _ in range(4):
        sim.step()
        history.append(sim.state["agents.mu"][0].copy())
    assert len(checked) > 40 and max(checked) == 1.0


def test_a_slow_worker_loses_agents_to_the_others_and_the_answer_stays_the_same(reference):
    sim = PartitionedSimulation(
        get_model("network"),
        SMALL,
        partitioner=NETWORK,
        runs=1,
        seed=3,
        partitions=2,
        method="metis",
        balance_every=2,
        epsilon=0.3,
    )
    sim.set_slowdown(1, 4.0)
    sim.run(STEPS)
    _same(reference, sim)
    assert sim.stats.rebalances, "no rebalance after the slow worker"
    t, counts = sim.stats.rebalances[0]
    assert t == 2 and counts[1] < counts[0] and sum(counts) == SMALL["n_agents"]


def test_migration_moves_boundary_agents_first():
    # a path 0 - 1 - 2 - 3 - 4 - 5, cut in the middle; partition 0 must give up two agents
    src = np.array([0, 1, 1, 2, 2, 3, 3, 4, 4, 5])
    dst = np.array([1, 0, 2, 1, 3, 2, 4, 3, 5, 4])
    indptr = np.concatenate([[0], np.cumsum(np.bincount(src, minlength=6))])
    part = migrate(
        np.array([0, 0, 0, 1, 1, 1]), np.array([1, 5]), indptr, dst[np.argsort(src, kind="stable")]
    )
    assert part.tolist() == [0, 1, 1, 1, 1, 1]  # agent 2 (on the boundary) first, then the lowest id


def test_partitioned_runs_refuse_batches_and_models_without_a_partitioner():
    with pytest.raises(ConfigError, match="a partitioned batch holds one run"):
        PartitionedSimulation(get_model("network"), SMALL, partitioner=NETWORK, runs=2, partitions=2)
    with pytest.raises(ConfigError, match="partition backend 'mpi' is not one of local, ray"):
        PartitionedSimulation(get_model("network"), SMALL, partitioner=NETWORK, partitions=2, backend="mpi")
    with pytest.raises(
        ConfigError, match="model 'honey' cannot be split over partitions; models that can: network"
    ):
        partitioner_path("honey")


def test_a_snapshot_restored_on_fresh_partitions_continues_the_run(reference):
    model = get_model("network")
    first = PartitionedSimulation(
        model, SMALL, partitioner=NETWORK, runs=1, seed=3, partitions=2, method="random"
    )
    first.run(3)
    snap = first.snapshot()
    second = PartitionedSimulation(
        model, SMALL, partitioner=NETWORK, runs=1, seed=3, partitions=3, method="metis"
    )
    second.restore(snap)  # what a resumed batch does with its checkpoint, here on another partitioning
    second.run(STEPS - 3)
    _same(reference, second)


def test_econsim_run_with_partitions_gives_the_unpartitioned_results(tmp_path):
    import pandas as pd

    cfg = {"model": "network", "params": {**SMALL, "n_agents": 150}, "runs": 2, "steps": 4, "seed": 9}
    plain = econsim.run(cfg).to_pandas()
    split = econsim.run({**cfg, "partitions": 3, "partition_method": "random", "out": str(tmp_path)})
    key = ["subset", "run", "timestep"]
    pd.testing.assert_frame_equal(
        plain.sort_values(key).reset_index(drop=True),
        split.to_pandas().sort_values(key).reset_index(drop=True),
        check_exact=True,
    )
    assert split.batches_computed == 2  # one batch per partitioned run
    with pytest.raises(ConfigError, match="not over executor 'process'"):
        econsim.run({**cfg, "partitions": 2, "executor": "process"})
