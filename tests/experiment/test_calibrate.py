"""``econsim calibrate``: the method of simulated moments recovers honey's productivity and p_pull from
synthetic data generated at known values, within the reported uncertainty, and writes a valid config."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from econsim.cli import app
from econsim.engine.errors import ConfigError
from econsim.experiment.calibrate import calibrate
from econsim.experiment.config import load_config
from econsim.experiment.runner import run

TRUTH = {"productivity": 0.86, "p_pull": 0.7}
BASE = {"model": "honey", "params": {"price_walk": "positive"}}
MOMENTS = ["saturation:mean,saturation:final,price:mean,price:std,price:acf1"]
SPACE = ["productivity=0.8:0.95", "p_pull=0.55:0.9"]


def _data(seed):
    cfg = {**BASE, "steps": 120, "runs": 1, "seed": seed, "params": {**BASE["params"], **TRUTH}}
    return run(cfg, progress=False).to_pandas()


def _recovered(seeds, trials=32):
    hits = 0
    for seed in seeds:
        r = calibrate(BASE, _data(seed), MOMENTS, SPACE, trials=trials, runs=16, seed=1)
        hits += all(abs(r.values[n] - TRUTH[n]) < 2 * r.se[n] for n in TRUTH)
        assert all(0 < r.se[n] < 0.2 for n in TRUTH)
    return hits


def test_recovers_honey_parameters_within_the_uncertainty():
    assert _recovered([123, 124, 125]) >= 2


def test_command_line_writes_a_valid_calibrated_config(tmp_path):
    _data(7).to_csv(tmp_path / "data.csv", index=False)
    (tmp_path / "honey.yaml").write_text("model: honey\nparams: {price_walk: positive}\n")
    args = ["calibrate", str(tmp_path / "honey.yaml"), "--data", str(tmp_path / "data.csv"),
            "--moments", MOMENTS[0], "--trials", "8", "--runs", "4", "--out", str(tmp_path / "c"),
            *[a for s in SPACE for a in ("--param", s)]]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    cfg = load_config(tmp_path / "c" / "calibrated.yaml")
    assert 0.8 <= cfg.params["productivity"] <= 0.95 and cfg.steps == 120
    assert (tmp_path / "c" / "fit.png").stat().st_size > 0
    assert (tmp_path / "c" / "fit.csv").read_text().startswith("param,value,se,low95,high95")


@pytest.mark.parametrize(
    "moments, space, message",
    [
        (["saturation:median"], SPACE, "STAT one of"),
        (["nothing:mean"], SPACE, "nothing"),
        (MOMENTS, ["productivity=0.8:1.5"], "out of range"),
        (MOMENTS, ["price_walk=notebook,positive"], "real-valued"),
    ],
)
def test_bad_input_is_named(moments, space, message):
    with pytest.raises(ConfigError, match=message):
        calibrate(BASE, _data(1), moments, space, trials=2, runs=2)
