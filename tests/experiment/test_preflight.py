"""Planning is O(batches): batch tasks carry a run range, not per-run arrays; and an experiment too
large for this machine (runs, run-steps, one run's state, the output) is refused before any work."""

from __future__ import annotations

import pickle
import time

import numpy as np
import pytest

import econsim
from econsim.engine.errors import ConfigError
from econsim.experiment import plan as plan_module
from econsim.experiment.config import load_config
from econsim.experiment.plan import ExperimentTooLargeError, estimate_size, make_plan
from econsim.experiment.runner import batch_task


def _refused(config: dict, match: str) -> float:
    started = time.perf_counter()
    with pytest.raises(ExperimentTooLargeError, match=match) as info:
        econsim.run(config)
    assert isinstance(info.value, ConfigError)
    return time.perf_counter() - started


def test_absurd_steps_and_runs_are_refused_quickly_with_the_reason():
    assert _refused({"model": "honey", "steps": 10**13}, r"more than 1e\+12 run-steps") < 1.0
    assert _refused({"model": "honey", "runs": 10**12}, r"at most 2,147,483,647") < 1.0


def test_an_output_that_does_not_fit_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(plan_module, "free_disk", lambda folder: 10**6)
    _refused(
        {"model": "honey", "runs": 1000, "steps": 200, "out": str(tmp_path / "r")},
        r"output \(~\d.* would not fit the 1 MB free",
    )
    monkeypatch.setattr(plan_module, "available_memory", lambda: 10**7)
    _refused({"model": "honey", "runs": 1000, "steps": 2000}, "kept in memory without an out folder")
    econsim.run({"model": "honey", "runs": 2, "steps": 5})  # small enough


def test_a_run_whose_state_cannot_fit_memory_is_refused(monkeypatch):
    monkeypatch.setattr(plan_module, "available_memory", lambda: 10**8)
    _refused({"model": "tokens", "params": {"N": 5_000_000}, "steps": 1}, "one run's state needs")


def test_the_estimate_counts_runs_steps_state_and_rows():
    cfg = load_config(
        {"model": "tokens", "runs": 3, "steps": 10, "record_every": 4, "sweep": {"grid": {"N": [10, 1000]}}}
    )
    plan = make_plan(cfg)
    est = estimate_size(plan.model, cfg, plan)
    assert est.n_runs == 6 and est.run_steps == 60 and est.output_rows == 6 * 4  # t = 0, 4, 8, 10
    tiny = load_config({"model": "tokens", "runs": 3, "steps": 10, "params": {"N": 10}})
    small = estimate_size(plan.model, tiny, make_plan(tiny))
    assert est.state_bytes_per_run > 50 * small.state_bytes_per_run  # sized by the largest N


def test_planning_a_hundred_million_runs_is_quick_and_tasks_stay_small(tmp_path, monkeypatch):
    monkeypatch.setattr(plan_module, "free_disk", lambda folder: 10**15)
    started = time.perf_counter()
    grid = {"throttle": [0.01, 0.02]}
    cfg = load_config(
        {"model": "honey", "runs": 10**8, "steps": 2, "out": str(tmp_path), "sweep": {"grid": grid}}
    )
    plan = make_plan(cfg)
    assert time.perf_counter() - started < 2.0
    sizes = [len(pickle.dumps(batch_task(plan, i, None))) for i in (0, len(plan.batches) // 2)]
    assert max(sizes) < 4000  # a run range and the sweep points it covers, not per-run arrays
    # the labels the task computes are the plan's
    start, stop = plan.batches[len(plan.batches) // 2]
    task = batch_task(plan, len(plan.batches) // 2, None)
    subset_b, run_b = plan.subset_and_run(start, stop)
    np.testing.assert_array_equal(task.subset_b, subset_b)
    np.testing.assert_array_equal(task.run_b, run_b)
    params, _ = task.inputs()
    np.testing.assert_array_equal(params["throttle"], np.asarray([0.01, 0.02])[subset_b])
