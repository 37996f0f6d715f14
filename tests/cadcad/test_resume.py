"""An interrupted cadCAD run resumes like a native one: through the same results store and manifest."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from econsim import cadcad
from econsim.cadcad.script import import_file, model_arguments

MODEL = Path(__file__).resolve().parents[1] / "helpers" / "slow_cadcad.py"


def _wait_for_parts(parts: Path, n: int, timeout: float = 120) -> None:
    import time

    deadline = time.time() + timeout
    while time.time() < deadline and not (parts.is_dir() and len(list(parts.glob("*.parquet"))) >= n):
        time.sleep(0.01)


@pytest.mark.slow  # subprocesses, kills or heavy drawing: runs in CI with -m slow
def test_a_killed_cadcad_run_resumes_and_equals_an_uninterrupted_one(tmp_path):
    out = tmp_path / "r"
    cmd = [
        sys.executable,
        "-m",
        "econsim.cli",
        "cadcad",
        str(MODEL),
        "--out",
        str(out),
        "--seed",
        "4",
        "--quiet",
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=dict(os.environ))
    _wait_for_parts(out / "parts", 2)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["model"] == "cadcad" and manifest["status"] == "running"
    before = {p.name: p.stat().st_mtime_ns for p in (out / "parts").glob("*.parquet")}
    assert 2 <= len(before) < len(manifest["batches"]) == 4
    # the same command again, this time without the seed: the folder's is kept
    rerun = subprocess.run([*cmd[:-3], "--quiet"], capture_output=True, text=True, check=False)
    assert rerun.returncode == 0, rerun.stderr
    after = {p.name: p.stat().st_mtime_ns for p in (out / "parts").glob("*.parquet")}
    assert len(after) == 4 and all(after[name] == stamp for name, stamp in before.items())
    resumed = cadcad.load(out)
    uninterrupted = cadcad.run(**model_arguments(import_file(MODEL)), seed=4)
    assert len(resumed) == 2 * 4 * (1 + 40 * 2)
    pd.testing.assert_frame_equal(resumed, uninterrupted, check_exact=True)
    assert json.loads((out / "manifest.json").read_text())["status"] == "complete"
