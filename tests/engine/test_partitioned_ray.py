"""Partitioned runs on Ray actors: bit-identical to the in-process run, and a run whose actor is killed
mid-run restarts it from the last checkpoint and ends with the same answer. (A local Ray instance takes
10-20 s to start on the shared machine, so these are in the slow tier.)"""

from __future__ import annotations

import numpy as np
import pytest

ray = pytest.importorskip("ray", reason="partitioned runs on Ray need the 'ray' extra")

from econsim.engine import Simulation  # noqa: E402
from econsim.engine.partition.runtime import PartitionedSimulation  # noqa: E402
from econsim.models.registry import get_model  # noqa: E402

pytestmark = [pytest.mark.ray, pytest.mark.slow]

SMALL = {
    "n_agents": 240,
    "mean_degree": 6,
    "cluster_every": 2,
    "eta_min": 0.45,
    "delta": 0.3,
    "form_prob": 0.5,
}
STEPS = 7
NETWORK = "econsim.models.network.partitioned:NetworkPartitioner"


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def reference():
    sim = Simulation(get_model("network"), SMALL, runs=1, seed=4)
    sim.run(STEPS)
    return sim


def _same(a, b) -> None:
    for k in a.state:
        assert np.array_equal(a.state[k], b.state[k]), k
    for k in a.records.columns:
        assert np.array_equal(a.records.columns[k], b.records.columns[k], equal_nan=True), k


@pytest.mark.parametrize("parts", [2, 3])
def test_ray_actors_give_the_in_process_answer(local_ray, reference, parts):
    sim = PartitionedSimulation(
        get_model("network"),
        SMALL,
        partitioner=NETWORK,
        runs=1,
        seed=4,
        partitions=parts,
        method="metis",
        backend="ray",
    )
    sim.run(STEPS)
    _same(reference, sim)
    sim.close()


def test_a_killed_actor_restarts_from_its_checkpoint_and_the_run_goes_on(local_ray, reference):
    sim = PartitionedSimulation(
        get_model("network"),
        SMALL,
        partitioner=NETWORK,
        runs=1,
        seed=4,
        partitions=2,
        method="random",
        backend="ray",
        checkpoint_every=2,
    )

    def kill(t, superstep):  # in the middle of step 5's edge flows, after the checkpoint of step 4
        if t == 5 and superstep == 6 and sim.stats.restarts == 0:
            ray.kill(sim.pool.workers[1], no_restart=True)

    sim.on_superstep = kill
    sim.run(STEPS)
    assert sim.stats.restarts == 1
    _same(reference, sim)
    sim.close()


def test_econsim_run_partitions_on_ray_through_the_command_line(tmp_path):
    """``econsim run CONFIG --partitions 2 --executor ray``: its own Ray instance, results in the store
    bit for bit those of the plain run; a second call finds the results done."""
    import subprocess
    import sys

    import pandas as pd

    import econsim

    cfg = tmp_path / "net.yaml"
    cfg.write_text(
        "model: network\nparams: {n_agents: 200, mean_degree: 6, cluster_every: 2}\nruns: 2\nsteps: 4\nseed: 5\n"
        "figures: []\n"
    )
    out = tmp_path / "r"
    cmd = [sys.executable, "-m", "econsim.cli", "run", str(cfg), "--partitions", "2", "--executor", "ray"]
    cmd += ["--out", str(out), "--quiet"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    key = ["subset", "run", "timestep"]
    split = econsim.load(out).to_pandas().sort_values(key).reset_index(drop=True)
    plain = econsim.run(str(cfg)).to_pandas().sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(plain, split, check_exact=True)
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr
