"""Executors behind one protocol: found by name, the same results, the same errors and step progress
from every one of them, and models registered at run time reaching spawned and Ray workers."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

import econsim
from econsim.engine import Model, Param, Var
from econsim.engine.errors import ConfigError, NonFiniteStateError
from econsim.experiment.executors import (
    Executor,
    InProcessExecutor,
    ProcessExecutor,
    executor_names,
    make_executor,
    register_executor,
)
from econsim.experiment.progress import ProgressReport
from econsim.models.registry import ModelExtras, get_model, model_source, register


def grow(s, p, rng):
    """x' = g·x + σ·z: overflows to inf within a few hundred steps when g is large."""
    return {"x": p.growth * s.x + p.sigma * rng("noise").standard_normal()}


def pause(s, p, rng):
    """Sleeps ``pause`` seconds, so that a batch lasts long enough to report progress mid-way."""
    time.sleep(p.pause[0])
    return {}


model = Model(
    name="walk",
    doc="a multiplicative walk defined in a test module",
    params=[
        Param("growth", 1.0, "multiplier per step", bounds=(0.0, None)),
        Param("sigma", 0.1, "noise scale", bounds=(0.0, None)),
        Param("pause", 0.0, "seconds slept per step", bounds=(0.0, 1.0)),
    ],
    state=[Var("x", 1.0, "position")],
    step=[grow, pause],
)


def mean_x(s, p):
    return {"mean_x": float(np.mean(s.x))}


model_with_fields = Model(
    name="walk_fields",
    doc="the walk, with a progress field",
    params=model.params,
    state=model.state,
    step=model.step,
)

# registered as objects at run time: no import path names them
register("walk_test", model, extras=ModelExtras())
register("walk_fields_test", model_with_fields, extras=ModelExtras(progress_fields=mean_x))

CONFIG = {"model": "walk_test", "runs": 6, "steps": 30, "seed": 11, "memory_budget_mb": 0.0005}
BLOWUP = {**CONFIG, "params": {"growth": 1e30}, "steps": 40}


def _run(executor: str, config: dict, workers: int = 2, **kw):
    if executor == "spawn":
        register_executor("spawn_test", _Spawn)
        executor = "spawn_test"
    return econsim.run(config, executor=executor, workers=workers, progress=False, **kw)


class _Spawn(ProcessExecutor):
    name = "spawn_test"

    @classmethod
    def configure(cls, workers=None, address=None) -> Executor:
        return cls(workers or 2, start_method="spawn")


@pytest.fixture(scope="module")
def reference():
    return econsim.run(CONFIG, progress=False).to_pandas()


def test_executors_are_found_by_name_and_unknown_names_are_errors():
    assert {"inprocess", "process", "ray"} <= set(executor_names())
    assert isinstance(make_executor("inprocess"), InProcessExecutor)
    assert make_executor("process", workers=3).workers == 3
    with pytest.raises(ConfigError, match=r"unknown executor 'proces' \(did you mean 'process'\?\)"):
        make_executor("proces")


def test_a_registered_executor_is_used_by_name():
    class Recording(InProcessExecutor):
        name = "recording_test"

        def __init__(self) -> None:
            self.seen: list[int] = []

        def _execute(self, tasks, report):
            for task in tasks:
                self.seen.append(task.index)
                yield from super()._execute([task], report)

    register_executor("recording_test", Recording)
    ex = make_executor("recording_test")
    assert isinstance(ex, Recording)
    tasks = _tasks(CONFIG, ex)
    results = list(ex.run(tasks))
    assert ex.seen == [t.index for t in tasks] and [r.index for r in results] == ex.seen


def _tasks(config: dict, ex: Executor) -> list:
    from econsim.experiment.plan import make_plan
    from econsim.experiment.runner import batch_task

    plan = make_plan(econsim.ExperimentConfig.model_validate(config), workers=ex.workers)
    source = model_source(plan.model_name) if ex.ships_tasks else None
    return [batch_task(plan, i, None, source) for i in range(len(plan.batches))]


@pytest.mark.parametrize("executor", ["process", "spawn"])
def test_a_model_registered_at_run_time_reaches_forked_and_spawned_workers(executor, reference):
    res = _run(executor, CONFIG)
    pd.testing.assert_frame_equal(res.to_pandas(), reference, check_exact=True)


def test_a_model_named_by_import_path_reaches_spawned_workers(reference):
    res = _run("spawn", {**CONFIG, "model": f"{__name__}:model"})
    pd.testing.assert_frame_equal(res.to_pandas(), reference, check_exact=True)


@pytest.mark.parametrize("executor", ["inprocess", "process", "spawn"])
def test_a_blow_up_is_the_same_named_error_under_every_local_executor(executor):
    with pytest.raises(NonFiniteStateError) as err:
        _run(executor, BLOWUP)
    assert err.value.variable == "x" and err.value.subset == 0
    assert 0 <= err.value.run < 6 and 1 <= err.value.step <= 40
    assert "state variable 'x' became inf" in str(err.value)


def test_a_blow_up_reports_the_same_step_and_run_in_a_worker_as_here():
    with pytest.raises(NonFiniteStateError) as here:
        _run("inprocess", {**BLOWUP, "memory_budget_mb": 256}, workers=1)
    with pytest.raises(NonFiniteStateError) as there:  # one batch of all runs, in one spawned worker
        _run("spawn", {**BLOWUP, "memory_budget_mb": 256}, workers=1)
    assert (there.value.step, there.value.run, there.value.value) == (
        here.value.step,
        here.value.run,
        here.value.value,
    )


def test_reports_add_up_to_the_work_and_carry_progress_fields():
    config = {**CONFIG, "model": "walk_fields_test", "steps": 200}
    reports: list[ProgressReport] = []
    for name in ("inprocess", "process"):
        reports.clear()
        ex = make_executor(name, workers=2)
        tasks = _tasks(config, ex)
        results = list(ex.run(tasks, reports.append))
        assert sorted(r.index for r in results) == list(range(len(tasks)))
        assert sum(r.run_steps for r in reports) == 6 * 200
        for task in tasks:  # step by step: many reports per batch, never more than its work
            mine = [r.run_steps for r in reports if r.batch == task.index]
            assert len(mine) > 5 and sum(mine) == task.n_runs * 200
        fields = [r.fields for r in reports if r.fields]
        assert fields and all(set(f) == {"mean_x"} for f in fields)


def test_a_task_that_cannot_travel_is_a_clear_error():
    def local_stage(s, p, rng):
        return {"x": s.x}

    local = Model(
        name="local",
        doc="stages defined inside a function cannot be pickled by reference",
        params=[Param("a", 1.0, "unused")],
        state=[Var("x", 0.0, "x")],
        step=[local_stage],
    )
    register("local_test", local)
    try:
        import cloudpickle  # noqa: F401  (with it, local functions travel by value)

        res = _run("spawn", {"model": "local_test", "runs": 2, "steps": 3, "seed": 1})
        assert res.to_pandas()["x"].eq(0.0).all()
    except ImportError:
        with pytest.raises(ConfigError, match="cannot be sent to worker processes"):
            _run("process", {"model": "local_test", "runs": 2, "steps": 3, "seed": 1})


def test_a_finished_experiment_computes_nothing_and_makes_no_executor(tmp_path, monkeypatch):
    out = str(tmp_path / "res")
    first = _run("process", CONFIG, out=out)
    assert first.batches_computed == len(first.manifest["batches"]) > 1
    import econsim.experiment.runner as runner

    def no_executor(*args, **kwargs):
        raise AssertionError("an executor was made for a finished experiment")

    monkeypatch.setattr(runner, "make_executor", no_executor)
    again = econsim.run(CONFIG, executor="ray", out=out, progress=False)
    assert again.batches_computed == 0 and again.complete
    pd.testing.assert_frame_equal(again.to_pandas(), first.to_pandas())


def test_a_model_source_reinstalls_a_changed_registration():
    register("swap_test", model)
    first = model_source("swap_test")
    register("swap_test", model_with_fields)
    second = model_source("swap_test")
    assert first.key != second.key
    first.install()
    assert get_model("swap_test").name == "walk"
    second.install()
    assert get_model("swap_test").name == "walk_fields"
