"""Every shipped atp scenario (H1 … H13) loads, runs a few steps and draws its six-panel figure."""

from pathlib import Path

import numpy as np
import pytest

import econsim

SCENARIOS = sorted((Path(__file__).resolve().parents[2] / "configs" / "atp").glob("H*.yaml"))


def test_thirteen_scenarios_are_shipped():
    assert sorted(p.name.split("_")[0] for p in SCENARIOS) == sorted(f"H{i}" for i in range(1, 14))


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_scenario_runs_and_draws(path, tmp_path):
    res = econsim.run(
        path,
        steps=3,
        params={"N": 2000},
        out=str(tmp_path / "r"),
        save_fig=str(tmp_path / "fig.png"),
        save_metrics=str(tmp_path / "m.npz"),
    )
    assert res.complete
    assert (tmp_path / "fig.png").stat().st_size > 10_000
    metrics = np.load(tmp_path / "m.npz")
    for key in ("AEC_region", "sink_utilization", "mu_ex", "lambda_sink"):
        assert metrics[key].shape[0] == 3 and np.isfinite(metrics[key]).all(), key


def test_a_scenario_writes_nothing_into_the_working_directory(tmp_path, monkeypatch):
    """H1 names ``save_fig: H1_baseline_stability.png`` and ``save_metrics: H1_baseline_stability.npz``:
    kept in memory (no results folder) the run writes neither; with a results folder both go inside it.
    (A stray H1_baseline_stability.npz in a checkout's root came from such an in-memory run.)"""
    from econsim.experiment.config import load_config, outputs_in_results_folder

    h1 = next(p for p in SCENARIOS if p.name.startswith("H1_"))
    monkeypatch.chdir(tmp_path)
    res = econsim.run(h1, steps=2, params={"N": 300, "R": 4}, progress=False)
    assert res.complete and list(tmp_path.iterdir()) == []
    placed = outputs_in_results_folder(load_config(h1, out="r"), ["save_fig", "save_metrics"])
    assert (placed.save_fig, placed.save_metrics) == (
        "r/H1_baseline_stability.png",
        "r/H1_baseline_stability.npz",
    )
    given = outputs_in_results_folder(load_config(h1, save_metrics="m.npz"), ["save_fig"])
    assert (given.save_fig, given.save_metrics) == (None, "m.npz")  # the caller's own path is kept
