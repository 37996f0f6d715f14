"""Checkpoints of a running batch: an interrupted single long batch resumes mid-way, bit-identically."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import econsim
from econsim.engine.simulation import Simulation
from econsim.experiment.batch import execute_batch
from econsim.experiment.checkpoint import read_checkpoint
from econsim.experiment.config import load_config
from econsim.experiment.plan import make_plan
from econsim.experiment.runner import batch_task
from econsim.experiment.store import ResultStore, StoreWarning, checkpoint_path, fingerprint, read_part
from econsim.models.registry import get_model

# one batch of 8 honey runs (its price walk draws two words per run and step), records every 3 steps
CONFIG = {
    "model": "honey",
    "sweep": {"grid": {"throttle": [0.004, 0.02]}},
    "runs": 4,
    "steps": 50,
    "record_every": 3,
    "seed": 2,
}


def _planned(tmp_path, every_steps=None, every_s=None):
    plan = make_plan(load_config(CONFIG))
    assert len(plan.batches) == 1
    store = ResultStore(tmp_path / "r")
    with store:
        store.attach(plan)
    target = store.target(0, plan.batches[0], fingerprint(plan), every_steps, every_s)
    reference = execute_batch(batch_task(plan, 0, None)).table
    return batch_task(plan, 0, target), target, reference.to_pandas()


class Interrupt(Exception):
    pass


def test_an_interrupted_batch_resumes_from_its_last_checkpoint_bit_identically(tmp_path):
    task, target, expected = _planned(tmp_path, every_steps=7)
    done = []

    def interrupt_at_23(n):
        done.append(n)
        if sum(done) >= 23:
            raise Interrupt

    with pytest.raises(Interrupt):
        execute_batch(task, on_step=interrupt_at_23)
    snap = read_checkpoint(target)
    assert snap.t == 21 and snap.times.tolist() == [0, 3, 6, 7, 9, 12, 14, 15, 18, 21]
    assert set(snap.streams) == {"price"} and snap.streams["price"][1].shape == (8, 256 - 2 * 21)
    reported = []
    execute_batch(task, on_step=reported.append)
    assert reported[0] == 21 and sum(reported) == 50  # it went on from step 21, not from 0
    assert not checkpoint_path(target.path).exists()  # the part supersedes it
    pd.testing.assert_frame_equal(read_part(Path(target.path)).to_pandas(), expected, check_exact=True)


def test_checkpoints_by_wall_time_and_a_damaged_checkpoint_ignored(tmp_path):
    task, target, expected = _planned(tmp_path, every_s=1e-6)  # a checkpoint after every segment
    seen = []

    def watch(n):
        seen.append(read_checkpoint(target))

    execute_batch(task, on_step=watch)
    assert {s.t for s in seen if s is not None} >= {8, 16}  # probe segment of 8 steps, then more
    pd.testing.assert_frame_equal(read_part(Path(target.path)).to_pandas(), expected, check_exact=True)
    path = checkpoint_path(target.path)
    path.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.warns(StoreWarning, match=r"ignoring the checkpoint .*cannot be read.*starts from step 0"):
        execute_batch(task)
    pd.testing.assert_frame_equal(read_part(Path(target.path)).to_pandas(), expected, check_exact=True)


def test_a_snapshot_of_another_batch_does_not_fit():
    model = get_model("honey")
    two, three = Simulation(model, runs=2, seed=1), Simulation(model, runs=3, seed=1)
    two.run(5)
    with pytest.raises(ValueError, match=r"state '\w+' is float64\[2\], this batch's float64\[3\]"):
        three.restore(two.snapshot())
    assert three.t == 0
    again = Simulation(model, runs=2, seed=1)
    again.restore(two.snapshot())
    np.testing.assert_array_equal(again.run(9).columns["price"], two.run(9).columns["price"])


HELPERS = Path(__file__).resolve().parents[1] / "helpers"
# one batch of 2 runs, 300 steps of 2 ms, a checkpoint every 25 steps
SLOW_ONE_BATCH = "model: slow_model:model\nruns: 2\nsteps: 300\nseed: 3\ncheckpoint_every_steps: 25\n"


@pytest.mark.slow  # subprocesses, kills or heavy drawing: runs in CI with -m slow
def test_a_killed_single_batch_run_resumes_from_its_checkpoint(tmp_path, monkeypatch):
    """The issue's case: a long single-batch run killed mid-way; the re-run continues from the last
    checkpoint and its results are those of an uninterrupted run, bit for bit."""
    config = tmp_path / "one.yaml"
    config.write_text(SLOW_ONE_BATCH)
    out = tmp_path / "r"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HELPERS), os.environ.get("PYTHONPATH", "")])}
    cmd = [sys.executable, "-m", "econsim.cli", "run", str(config), "--out", str(out), "--quiet"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    checkpoint = out / "checkpoints" / "batch-000000.npz"
    deadline = time.time() + 120
    while time.time() < deadline and not checkpoint.is_file():
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (out / "parts" / "batch-000000.parquet").exists()
    with np.load(checkpoint) as data:
        t = json.loads(data["meta"].tobytes())["t"]
    assert t % 25 == 0 and 0 < t < 300
    rerun = subprocess.run(cmd, capture_output=True, text=True, env=env)
    assert rerun.returncode == 0, (rerun.returncode, rerun.stderr[-4000:])  # its own words, if it fails
    assert not checkpoint.exists()
    monkeypatch.syspath_prepend(str(HELPERS))
    full = econsim.run(str(config), out=str(tmp_path / "full"))
    resumed = econsim.load(out)
    assert resumed.complete
    pd.testing.assert_frame_equal(resumed.to_pandas(), full.to_pandas(), check_exact=True)
