"""``econsim optimize``: finds a known optimum on a cheap objective, reads report values, writes its
evidence, and says clearly what is wrong with bad input or a missing optuna."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest
from typer.testing import CliRunner

from econsim.cli import app
from econsim.engine import Model, Param, Var
from econsim.engine.errors import ConfigError
from econsim.experiment.optimize import metric_value, optimize, parse_space
from econsim.models.registry import ModelExtras, register


def _bowl(s, p, rng):
    """loss = (x − 0.3)² + (k − 4)²/100 plus a little noise that averages out over runs."""
    noise = 1e-4 * rng("noise").standard_normal()
    return {"loss": (p.x - 0.3) ** 2 + (p.k - 4) ** 2 / 100 + noise}


model = Model(
    name="bowl",
    doc="a quadratic bowl with its minimum at x = 0.3, k = 4",
    params=[
        Param("x", 0.0, "position", bounds=(-1.0, 1.0)),
        Param("k", 0, "integer position", bounds=(0, 10), kind="int"),
    ],
    state=[Var("loss", 0.0, "loss")],
    step=[_bowl],
)
extras = ModelExtras(
    reports={"stats": lambda results: {"worst": float(results.final()["loss"].max()), "label": "text"}}
)
register("bowl_test", f"{__name__}:model", extras=f"{__name__}:extras")
CONFIG = {"model": "bowl_test", "runs": 3, "steps": 2, "seed": 1}


def test_finds_the_known_minimum(tmp_path):
    result = optimize(CONFIG, "loss", ["x=-1:1", "k=0:10"], trials=60, out=tmp_path)
    assert result.best_params["x"] == pytest.approx(0.3, abs=0.08)
    assert result.best_params["k"] == 4
    assert result.best_value < 0.01
    best = json.loads((tmp_path / "best.json").read_text())
    assert best["best_params"]["k"] == 4 and best["trials"] == 60
    assert (tmp_path / "convergence.png").stat().st_size > 0 and (tmp_path / "trials.csv").is_file()


def test_maximize_and_report_objective():
    result = optimize(CONFIG, "stats:worst", ["x=-1:1"], maximize=True, trials=25)
    assert abs(result.best_params["x"]) > 0.8  # the loss is largest at the far edge, x → −1


def test_metric_is_the_mean_over_runs():
    from econsim.experiment.runner import run

    results = run({**CONFIG, "params": {"x": 0.5}}, progress=False)
    assert metric_value(results, "loss") == pytest.approx(np.mean(results.final()["loss"]))
    assert metric_value(results, "loss") == pytest.approx(0.04 + 0.16, abs=1e-3)


@pytest.mark.parametrize(
    "spec, message",
    [
        ("x", "NAME=LOW:HIGH"),
        ("x=1:0", "LOW must be below HIGH"),
        ("x=0:5", "out of range"),
        ("y=0:1", "y"),
        ("x=a:b", "must be numbers"),
        ("x=0:1:log", "log scale needs LOW > 0"),
    ],
)
def test_bad_search_spaces_are_named(spec, message):
    with pytest.raises(ConfigError, match=message):
        parse_space("bowl_test", spec)


def test_choices_and_unknown_objectives():
    assert parse_space("tokens", "curve=linear,power").choices == ("linear", "power")
    with pytest.raises(ConfigError, match="recorded column"):
        optimize(CONFIG, "los", ["x=0:1"], trials=1)
    with pytest.raises(ConfigError, match="report"):
        optimize(CONFIG, "nostats:worst", ["x=0:1"], trials=1)


def test_missing_optuna_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "optuna", None)
    with pytest.raises(ConfigError, match="needs optuna"):
        optimize(CONFIG, "loss", ["x=0:1"], trials=1)


def test_cli_optimize_tokens(tmp_path):
    config = tmp_path / "tiny.yaml"
    config.write_text("model: tokens\nruns: 2\nsteps: 20\nseed: 3\nparams: {N: 20}\n")
    out = CliRunner().invoke(
        app,
        [
            "optimize",
            str(config),
            "--objective",
            "volatility",
            "--param",
            "curve_slope=0.01:0.3",
            "--trials",
            "3",
            "--out",
            str(tmp_path / "opt"),
        ],
    )
    assert out.exit_code == 0, out.output
    assert "curve_slope" in out.output and (tmp_path / "opt" / "convergence.png").is_file()
