"""The results folder: tidy Parquet, manifest, loading, resume after a kill, refusing a different experiment."""

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import econsim
from econsim.cli import app
from econsim.engine import ConfigError, EconsimError
from econsim.experiment.store import FolderInUseError, ResultStore, StoreError, StoreWarning, seal_path

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
SLOW_DICT = {"model": "slow_model:model", "runs": 20, "steps": 100, "seed": 5, "memory_budget_mb": 0.0045}


def _cli(config, out):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HELPERS), os.environ.get("PYTHONPATH", "")])}
    cmd = [sys.executable, "-m", "econsim.cli", "run", str(config), "--out", str(out), "--quiet"]
    return cmd, env


def _wait_for_parts(out, n, timeout=120):
    parts = out / "parts"
    deadline = time.time() + timeout
    while time.time() < deadline and not (parts.is_dir() and len(list(parts.glob("*.parquet"))) >= n):
        time.sleep(0.01)


@pytest.mark.slow  # subprocesses, kills or heavy drawing: runs in CI with -m slow
def test_resume_after_kill_recomputes_only_missing_batches(tmp_path):
    """Kill a CLI run mid-way with SIGKILL, rerun the same command, compare with an uninterrupted run.
    The killed run's lock is recognised as stale and taken over."""
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
    assert json.loads((out / ".lock").read_text())["pid"] == proc.pid  # the dead owner's name is left
    rerun = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env)
    assert f"taking over the lock of pid {proc.pid} on {socket.gethostname()}" in rerun.stderr
    assert "which is no longer running" in rerun.stderr and "Traceback" not in rerun.stderr
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


@pytest.mark.slow  # subprocesses, kills or heavy drawing: runs in CI with -m slow
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


@pytest.mark.slow  # subprocesses, kills or heavy drawing: runs in CI with -m slow
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


# --------------------------------------------------------------------------- one writer per folder


@pytest.mark.slow  # subprocesses, kills or heavy drawing: runs in CI with -m slow
def test_a_second_writer_is_refused_naming_the_first_and_the_first_finishes_intact(tmp_path, monkeypatch):
    """The issue's scenario: suspend a writer (what Ctrl-Z does), start the same experiment with another
    seed and --overwrite on its folder, resume the first. The second is refused; the folder stays the
    first one's."""
    monkeypatch.syspath_prepend(str(HELPERS))
    config = tmp_path / "slow.yaml"
    config.write_text(SLOW)
    out = tmp_path / "r"
    cmd, env = _cli(config, out)
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    try:
        _wait_for_parts(out, 1)
        os.kill(proc.pid, signal.SIGSTOP)
        with pytest.raises(FolderInUseError) as refused:
            econsim.run(SLOW_DICT, seed=6, out=str(out), overwrite=True)
        message = str(refused.value)
        assert f"pid {proc.pid} on {socket.gethostname()}" in message
        assert f"`econsim run {config} --out {out} --quiet`" in message and "since 20" in message
        assert (out / "manifest.json").is_file() and len(list((out / "parts").glob("*.parquet"))) >= 1
    finally:
        os.kill(proc.pid, signal.SIGCONT)
    assert proc.wait(timeout=120) == 0
    res = econsim.load(out)  # verifies every part's seal: all of them are the seed-5 experiment's
    assert res.complete and res.manifest["seed"] == 5
    df = res.to_pandas()
    assert len(df) == 20 * 101 and not df.duplicated(["subset", "run", "timestep"]).any()
    assert (out / ".lock").read_text() == ""  # released on a clean exit


def test_the_lock_is_per_folder_and_released_after_a_run(tmp_path):
    out = tmp_path / "r"
    with ResultStore(out):
        with pytest.raises(FolderInUseError, match=f"pid {os.getpid()}"):
            econsim.run(CONFIG, out=str(out))
        econsim.run(CONFIG, out=str(tmp_path / "other"))  # another folder is free
    econsim.run(CONFIG, out=str(out))
    assert econsim.load(out).complete


# --------------------------------------------------------------------------- damaged folders


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    """A finished 10-part folder, its table, and the same experiment with another seed."""
    base = tmp_path_factory.mktemp("pristine")
    res = econsim.run(CONFIG, out=str(base / "seed9"), memory_budget_mb=0.01)
    econsim.run(CONFIG, seed=10, out=str(base / "seed10"), memory_budget_mb=0.01)
    return base, res.to_pandas()


def _flip(path):
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 8] = bytes(b ^ 0xFF for b in data[middle : middle + 8])
    path.write_bytes(bytes(data))


def _foreign(path, other):
    shutil.copy(other / "parts" / path.name, path)
    shutil.copy(other / "parts" / seal_path(path).name, seal_path(path))


DAMAGE = {
    "flipped bytes": lambda p, other: _flip(p),
    "truncated": lambda p, other: p.write_bytes(p.read_bytes()[: p.stat().st_size // 2]),
    "empty": lambda p, other: p.write_bytes(b""),
    "garbage": lambda p, other: p.write_bytes(np.random.default_rng(0).bytes(p.stat().st_size)),
    "another seed's part": lambda p, other: shutil.copy(other / "parts" / p.name, p),
    "another seed's part and seal": _foreign,
    "seal deleted": lambda p, other: seal_path(p).unlink(),
}


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_a_damaged_or_foreign_part_is_refused_on_load_and_recomputed_on_resume(pristine, tmp_path, damage):
    base, expected = pristine
    out = tmp_path / "r"
    shutil.copytree(base / "seed9", out)
    DAMAGE[damage](out / "parts" / "batch-000003.parquet", base / "seed10")
    with pytest.raises(StoreError, match=r"batch-000003\.parquet"):
        econsim.load(out).to_pandas()
    verify = CliRunner().invoke(app, ["verify", str(out)])
    assert verify.exit_code == 1 and "9 sound, 1 damaged" in verify.output
    with pytest.warns(StoreWarning, match=r"recomputing 1 part\(s\).*batch-000003.parquet"):
        econsim.run(CONFIG, out=str(out), memory_budget_mb=0.01)
    pd.testing.assert_frame_equal(econsim.load(out).to_pandas(), expected, check_exact=True)
    verify = CliRunner().invoke(app, ["verify", str(out)])
    assert verify.exit_code == 0 and "complete, 10 batch(es): 10 sound" in verify.output


def _shorten(manifest_path):
    manifest = json.loads(manifest_path.read_text())
    manifest["batches"] = manifest["batches"][:-2]
    manifest_path.write_text(json.dumps(manifest))


MANIFEST_DAMAGE = {
    "empty": (lambda p: p.write_text(""), "is empty"),
    "garbage": (lambda p: p.write_bytes(b"\x00\x93garbage{"), "not valid JSON"),
    "a list": (lambda p: p.write_text("[1, 2]"), "holds a list"),
    "shortened batch list": (_shorten, r"cover runs 0–7, not all 10 runs \(the batch list was shortened\)"),
}


@pytest.mark.parametrize("damage", list(MANIFEST_DAMAGE))
def test_a_damaged_manifest_is_a_named_error(pristine, tmp_path, damage):
    base, expected = pristine
    out = tmp_path / "r"
    shutil.copytree(base / "seed9", out)
    change, message = MANIFEST_DAMAGE[damage]
    change(out / "manifest.json")
    with pytest.raises(StoreError, match=message):
        econsim.load(out)
    with pytest.raises(StoreError, match=f"{message}.*--overwrite"):
        econsim.run(CONFIG, out=str(out), memory_budget_mb=0.01)
    econsim.run(CONFIG, out=str(out), memory_budget_mb=0.01, overwrite=True)
    pd.testing.assert_frame_equal(econsim.load(out).to_pandas(), expected, check_exact=True)


@contextlib.contextmanager
def _unwritable(folder):
    """``folder`` read-only, for this process: root writes anywhere, so as root drop to 'nobody'."""
    folder.chmod(0o555)
    try:
        if os.geteuid() == 0:
            os.seteuid(65534)
            try:
                yield
            finally:
                os.seteuid(0)
        else:
            yield
    finally:
        folder.chmod(0o755)


def test_an_unwritable_folder_is_a_named_error_and_still_loads():
    # pytest's tmp_path lies in a folder only its owner can enter; this one anybody can
    with tempfile.TemporaryDirectory() as name:
        parent = Path(name)
        parent.chmod(0o755)
        done = parent / "done"
        expected = econsim.run(CONFIG, out=str(done)).to_pandas()
        # the configuration's preflight check (os.access) or, as here for root, the store itself
        with (
            _unwritable(parent),
            pytest.raises(EconsimError, match=r"results folder .*new.*(permission|not writ)"),
        ):
            econsim.run(CONFIG, out=str(parent / "new"))
        with _unwritable(done):
            pd.testing.assert_frame_equal(econsim.load(done).to_pandas(), expected)
            with pytest.raises(EconsimError, match=r"results folder .*done.*(permission|not writable)"):
                econsim.run(CONFIG, out=str(done))
