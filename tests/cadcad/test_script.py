"""``econsim cadcad FILE.py`` and the shipped notebook example."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from econsim import cadcad
from econsim.cli import app

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "honey_notebook"

PIECES = """
import numpy as np

def p_step(params, substep, sH, s):
    return {"step": params["size"] * np.random.normal()}

def s_x(params, substep, sH, s, _input):
    return "x", s["x"] + _input["step"]

initial_state = {"x": 0.0}
partial_state_update_blocks = [{"policies": {"step": p_step}, "variables": {"x": s_x}}]
sim_config = {"T": range(5), "N": 3, "M": {"size": [1.0, 2.0]}}
"""


def test_cli_runs_a_notebook_style_file(tmp_path):
    (tmp_path / "walk.py").write_text(PIECES)
    out = tmp_path / "res"
    result = CliRunner().invoke(
        app, ["cadcad", str(tmp_path / "walk.py"), "--out", str(out), "--seed", "4", "--quiet"]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    assert (summary["subsets"], summary["runs"], summary["timesteps"], summary["rows"]) == (2, 6, 5, 36)
    df = cadcad.load(out)
    assert list(df.columns) == ["x", "simulation", "subset", "run", "substep", "timestep"]
    again = CliRunner().invoke(
        app,
        [
            "cadcad",
            str(tmp_path / "walk.py"),
            "--out",
            str(out),
            "--seed",
            "4",
            "--quiet",
            "--overwrite",
            "--runs",
            "1",
        ],
    )
    assert again.exit_code == 0, again.output
    assert sorted(cadcad.load(out)["run"].unique()) == [1, 2]  # cadCAD numbers N=1 runs by subset


def test_cli_runs_the_notebook_model_file_unchanged(tmp_path, notebook):
    out = tmp_path / "honey"
    result = CliRunner().invoke(
        app,
        [
            "cadcad",
            str(EXAMPLE / "model.py"),
            "--out",
            str(out),
            "--seed",
            "1",
            "--timesteps",
            "12",
            "--quiet",
        ],
    )
    assert result.exit_code == 0, result.output
    df = cadcad.load(out)
    expected = cadcad.run(
        initial_state=notebook.genesis_states,
        partial_state_update_blocks=notebook.partial_state_update_blocks,
        params=notebook.params,
        runs=10,
        timesteps=12,
        seed=1,
    )
    pd.testing.assert_frame_equal(df, expected, check_exact=True)


def test_the_notebook_example_runs(tmp_path):
    done = subprocess.run(
        [sys.executable, str(EXAMPLE / "run_with_econsim.py"), "--out", str(tmp_path / "r")],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "9 subsets x 10 runs x 120 timesteps" in done.stdout
