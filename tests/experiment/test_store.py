"""The results folder: tidy Parquet, manifest, loading, resume after a kill, refusing a different experiment."""

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
from econsim.engine import ConfigError

CONFIG = {"model": "honey", "sweep": {"grid": {"throttle": [0.004, 0.02]}}, "runs": 5, "steps": 30, "seed": 9}


def test_folder_holds_parts_and_manifest(tmp_path):
    out = tmp_path / "res"
    res = econsim.run(CONFIG, out=str(out), memory_budget_mb=0.01)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "complete"
    assert manifest["seed"] == 9 and manifest["model"] == "honey"
    assert manifest["config"]["runs"] == 5 and manifest["swept"] == ["throttle"]
    assert manifest["econsim_version"] == econsim.__version__
    assert manifest["wall_time_s"] > 0
    parts = sorted((out / "parts").glob("*.parquet"))
    assert len(parts) == len(manifest["batches"]) > 1
    df = econsim.load(out).to_pandas()
    pd.testing.assert_frame_equal(df, res.to_pandas())
    assert len(df) == 2 * 5 * 31
    assert df.groupby(["subset", "run"]).size().eq(31).all()
    assert set(df.loc[df.subset == 1, "throttle"]) == {0.02}


def test_to_xarray_has_run_axes_and_swept_coordinates(tmp_path):
    ds = econsim.run(CONFIG, out=str(tmp_path / "r")).to_xarray()
    assert dict(ds.sizes) == {"subset": 2, "run": 5, "timestep": 31}
    assert list(ds["throttle"].values) == [0.004, 0.02]
    df = econsim.load(tmp_path / "r").to_pandas()
    row = df[(df.subset == 1) & (df.run == 3) & (df.timestep == 17)]
    assert ds["price"].sel(subset=1, run=3, timestep=17).item() == row["price"].item()


def test_rerun_of_a_finished_experiment_recomputes_nothing(tmp_path):
    out = tmp_path / "r"
    econsim.run(CONFIG, out=str(out))
    stamp = {p.name: p.stat().st_mtime_ns for p in (out / "parts").iterdir()}
    econsim.run(CONFIG, out=str(out))
    assert stamp == {p.name: p.stat().st_mtime_ns for p in (out / "parts").iterdir()}


def test_a_different_experiment_is_refused_unless_overwrite(tmp_path):
    out = tmp_path / "r"
    econsim.run(CONFIG, out=str(out))
    with pytest.raises(ConfigError, match="holds a different experiment"):
        econsim.run(CONFIG, out=str(out), steps=31)
    res = econsim.run(CONFIG, out=str(out), steps=31, overwrite=True)
    assert res.to_pandas()["timestep"].max() == 31


def test_missing_results_folder_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="not an econsim results folder"):
        econsim.load(tmp_path)


HELPERS = Path(__file__).resolve().parents[1] / "helpers"
# 20 runs in batches of 2, 100 steps of 2 ms: about 0.2 s a batch, 2 s in all, on any machine
SLOW = "model: slow_model:model\nruns: 20\nsteps: 100\nseed: 5\nmemory_budget_mb: 0.0045\n"


def _cli(config, out):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HELPERS), os.environ.get("PYTHONPATH", "")])}
    cmd = [sys.executable, "-m", "econsim.cli", "run", str(config), "--out", str(out), "--quiet"]
    return cmd, env


def _wait_for_parts(out, n, timeout=120):
    parts = out / "parts"
    deadline = time.time() + timeout
    while time.time() < deadline and not (parts.is_dir() and len(list(parts.glob("*.parquet"))) >= n):
        time.sleep(0.01)


def test_resume_after_kill_recomputes_only_missing_batches(tmp_path):
    """Kill a CLI run mid-way with SIGKILL, rerun the same command, compare with an uninterrupted run."""
    config = tmp_path / "slow.yaml"
    config.write_text(SLOW)
    out = tmp_path / "killed"
    cmd, env = _cli(config, out)
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    _wait_for_parts(out, 2)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    parts = out / "parts"
    manifest = json.loads((out / "manifest.json").read_text())
    n_batches = len(manifest["batches"])
    before = {p.name: p.stat().st_mtime_ns for p in parts.glob("*.parquet")}
    assert manifest["status"] == "running" and 2 <= len(before) < n_batches
    subprocess.run(cmd, check=True, capture_output=True, env=env)
    after = {p.name: p.stat().st_mtime_ns for p in parts.glob("*.parquet")}
    assert len(after) == n_batches
    assert all(after[name] == stamp for name, stamp in before.items())  # finished batches untouched
    assert not list(parts.glob(".*tmp"))
    resumed = econsim.load(out)
    assert resumed.complete
    sys.path.insert(0, str(HELPERS))
    try:
        full = econsim.run(str(config), out=str(tmp_path / "full"))
    finally:
        sys.path.remove(str(HELPERS))
    pd.testing.assert_frame_equal(resumed.to_pandas(), full.to_pandas(), check_exact=True)
    assert not resumed.to_pandas().duplicated(["subset", "run", "timestep"]).any()


def test_results_without_swept_parameters(tmp_path):
    res = econsim.run({"model": "honey", "steps": 5, "seed": 1}, out=str(tmp_path / "r"))
    df = res.to_pandas()
    assert len(df) == 6 and res.swept == []
    assert np.isclose(df["total_supply"].iloc[0], 26238)


def test_ctrl_c_keeps_finished_batches_and_says_how_to_resume(tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text(SLOW)
    out = tmp_path / "r"
    cmd, env = _cli(config, out)
    # a parent that ignores SIGINT (a background job, some CI runners) passes that on; a user's shell does not
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    _wait_for_parts(out, 1)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr
    assert "interrupted" in stderr and "run the same command again to resume" in stderr
    assert "Traceback" not in stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "interrupted"
    done = len(list((out / "parts").glob("*.parquet")))
    assert 1 <= done < len(manifest["batches"])
    assert subprocess.run(cmd, capture_output=True, env=env).returncode == 0
    assert econsim.load(out).complete


def test_final_state_is_kept_and_written_with_the_metrics(tmp_path):
    """atp keeps its final age structure: per region it sums to the recorded final population."""
    config = Path(__file__).resolve().parents[2] / "configs" / "atp" / "H1_baseline_stability.yaml"
    res = econsim.run(
        config,
        steps=8,
        params={"N": 3000, "R": 4},
        out=str(tmp_path / "r"),
        save_metrics=str(tmp_path / "m.npz"),
        save_fig=str(tmp_path / "fig.png"),
    )
    metrics = np.load(tmp_path / "m.npz")
    pop_age = metrics["pop_age_final"]
    assert pop_age.shape == (4, 101)
    np.testing.assert_allclose(pop_age.sum(axis=1), metrics["population_region"][-1], rtol=1e-9)
    in_memory = econsim.run(
        config, steps=8, params={"N": 3000, "R": 4}, save_fig=str(tmp_path / "fig2.png")
    ).final_state()
    np.testing.assert_array_equal(in_memory["pop_age_final"][0], pop_age)
    assert econsim.load(tmp_path / "r").final_state()["pop_age_final"].shape == (1, 4, 101)
    assert res.final_state()["run"].tolist() == [0]
