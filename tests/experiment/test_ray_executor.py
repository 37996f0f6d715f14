"""The Ray executor on a local 2-CPU Ray instance: same results as the local executors, parts not data,
a lost worker's batch retried."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

ray = pytest.importorskip("ray", reason="the Ray executor needs the 'ray' extra (pip install 'econsim[ray]')")

import econsim  # noqa: E402
from econsim.engine.errors import NonFiniteStateError  # noqa: E402
from econsim.experiment.batch import BatchResult  # noqa: E402

pytestmark = pytest.mark.ray

CONFIG = {
    "model": "honey",
    "sweep": {"grid": {"throttle": [0.002, 0.01, 0.03], "target_reserve_ratio": [0.1, 0.25]}},
    "runs": 5,
    "steps": 40,
    "seed": 123,
}


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    # classes defined here travel to the workers by value (this test module is not importable there)
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    yield
    ray.shutdown()


def test_native_model_on_ray_is_bit_identical_to_in_process(local_ray, tmp_path):
    reference = econsim.run(CONFIG, memory_budget_mb=0.02).to_pandas()
    res = econsim.run(CONFIG, executor="ray", memory_budget_mb=0.02, out=str(tmp_path / "r"))
    assert res.complete
    assert len(list((tmp_path / "r" / "parts").glob("batch-*.parquet"))) > 1
    pd.testing.assert_frame_equal(res.to_pandas(), reference, check_exact=True)


def test_tasks_return_part_paths_not_data(local_ray, tmp_path):
    from econsim.experiment.executors import make_executor

    ex = make_executor("ray")
    tasks = [PathTask(i, str(tmp_path / f"part-{i}.txt")) for i in range(4)]
    done = []
    results = list(ex.run(tasks, done.append))
    assert sorted(r.index for r in results) == [0, 1, 2, 3]
    assert all(r.table is None and Path(r.part_path).read_text() == f"batch {r.index}" for r in results)
    assert sum(r.run_steps for r in done) == 4 * 3  # n_runs × steps per finished batch


def test_a_lost_workers_batch_is_retried(local_ray, tmp_path):
    from econsim.experiment.ray_executor import RayExecutor

    ex = RayExecutor(max_retries=2)
    task = DiesOnceTask(0, str(tmp_path / "part.txt"), marker=str(tmp_path / "died-once"))
    (result,) = ex.run([task], lambda n: None)
    assert Path(tmp_path / "died-once").exists()  # the first attempt's worker was killed
    assert Path(result.part_path).read_text() == "batch 0"


def test_cadcad_model_on_ray_matches_in_process(local_ray, tmp_path):
    pytest.importorskip("cadCAD")
    from econsim import cadcad

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "cadcad"))
    import cadcad_models as m

    spec = {
        "initial_state": m.ECONOMY_STATE,
        "partial_state_update_blocks": m.ECONOMY_BLOCKS,
        "params": m.ECONOMY_PARAMS,
        "runs": 3,
        "timesteps": 5,
    }
    walk = {
        "initial_state": m.WALK_STATE,
        "partial_state_update_blocks": m.WALK_BLOCKS,
        "params": m.WALK_PARAMS,
        "runs": 6,
        "timesteps": 20,
    }
    for model in (spec, walk):
        local = cadcad.run(**model, seed=4, batch_runs=2)
        remote = cadcad.run(
            **model, seed=4, batch_runs=2, executor="ray", out=tmp_path / f"r{len(model)}", overwrite=True
        )
        pd.testing.assert_frame_equal(remote, local, check_exact=True)


@dataclass(frozen=True)
class PathTask:
    """A stand-in batch: writes a small part and returns its path."""

    index: int
    part_path: str
    n_runs: int = 1
    steps: int = 3

    def execute(self, on_step=None) -> BatchResult:
        Path(self.part_path).write_text(f"batch {self.index}")
        return BatchResult(self.index, 1, 0.0, part_path=self.part_path)


@dataclass(frozen=True)
class DiesOnceTask(PathTask):
    """Kills its worker process the first time it runs, as a lost node would."""

    marker: str = ""

    def execute(self, on_step=None) -> BatchResult:
        if not os.path.exists(self.marker):
            Path(self.marker).write_text("x")
            os._exit(1)
        return super().execute(on_step)


def test_a_model_registered_at_run_time_reaches_ray_workers(local_ray):
    # defined in another test module, which Ray's workers cannot import by name: the task carries it
    import test_executors as te

    reference = econsim.run(te.CONFIG, progress=False).to_pandas()
    res = econsim.run(te.CONFIG, executor="ray", progress=False)
    pd.testing.assert_frame_equal(res.to_pandas(), reference, check_exact=True)
    by_path = econsim.run({**te.CONFIG, "model": "test_executors:model"}, executor="ray", progress=False)
    pd.testing.assert_frame_equal(by_path.to_pandas(), reference, check_exact=True)


def test_a_blow_up_on_ray_is_the_same_named_error_as_in_process(local_ray):
    import test_executors as te

    config = {**te.BLOWUP, "memory_budget_mb": 256}
    with pytest.raises(NonFiniteStateError) as here:
        econsim.run(config, progress=False)
    with pytest.raises(NonFiniteStateError) as there:
        econsim.run(config, executor="ray", workers=1, progress=False)  # one batch, as in process
    assert type(there.value) is NonFiniteStateError
    assert (there.value.variable, there.value.step, there.value.run) == (
        here.value.variable,
        here.value.step,
        here.value.run,
    )
    assert str(there.value) == str(here.value)


def test_ray_reports_step_progress_while_batches_run(local_ray):
    import test_executors as te

    from econsim.experiment.executors import make_executor

    config = {**te.CONFIG, "model": "walk_fields_test", "steps": 100, "params": {"pause": 0.01}}
    ex = make_executor("ray")
    tasks = te._tasks(config, ex)
    reports = []
    finished_at = {}
    for result in ex.run(tasks, reports.append):
        finished_at[result.index] = len(reports)
    for task in tasks:
        mine = [i for i, r in enumerate(reports) if r.batch == task.index and r.run_steps]
        # reports arrive while the batch runs (before its result), and add up to its work
        assert sum(reports[i].run_steps for i in mine) == task.n_runs * 100
        assert sum(1 for i in mine if i < finished_at[task.index]) > 3
    assert any(r.fields and "mean_x" in r.fields for r in reports)
