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
