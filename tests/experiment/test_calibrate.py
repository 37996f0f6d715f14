"""``econsim calibrate``: the method of simulated moments recovers honey's productivity and p_pull (and
the tokens model's bonding curve) from synthetic data generated at known values, within the reported
(bootstrap) uncertainty; works for every built-in model; flags a parameter the moments do not identify;
and writes a valid config."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from typer.testing import CliRunner

from econsim.cli import app
from econsim.engine import Model, Param, Var
from econsim.engine.errors import ConfigError
from econsim.experiment.calibrate import CalibrationWarning, calibrate
from econsim.experiment.config import load_config
from econsim.experiment.runner import run
from econsim.models.registry import register

TRUTH = {"productivity": 0.86, "p_pull": 0.7}
BASE = {"model": "honey", "params": {"price_walk": "positive"}}
# p_pull is how often the price steps towards its target: the log price/target ratio's spread and
# persistence measure it; the target price and production measure productivity
MOMENTS = [
    "log(price/target_price):std,log(price/target_price):acf1,target_price:mean,production:mean,saturation:mean"
]
SPACE = ["productivity=0.8:0.95", "p_pull=0.55:0.9"]
STEPS = 480

TOKENS_TRUTH = {"curve_slope": 0.12, "curve_intercept": 0.25}
TOKENS = {"model": "tokens", "params": {"N": 20}}
TOKENS_MOMENTS = ["price:mean,price:std,pool_cash:mean,volume:mean"]
TOKENS_SPACE = ["curve_slope=0.05:0.2", "curve_intercept=0:0.5"]


def _data(seed, base=BASE, truth=TRUTH, steps=STEPS):
    cfg = {
        **base,
        "steps": steps,
        "runs": 1,
        "seed": seed,
        "figures": [],
        "params": {**base["params"], **truth},
    }
    return run(cfg, progress=False).to_pandas()


def _within(result, truth, k=2.0):
    return all(abs(result.values[n] - truth[n]) < k * result.se[n] for n in truth)


def test_recovers_honey_parameters_within_the_uncertainty():
    r = calibrate(BASE, _data(105), MOMENTS, SPACE, trials=16, runs=6, seed=1, bootstrap=32)
    assert _within(r, TRUTH)
    assert all(r.identified.values())
    # the bootstrap's standard errors are of the size of the Hessian sandwich's where both are sound
    for n in TRUTH:
        assert 0.005 < r.se[n] < 0.1 and 0.3 < r.se[n] / r.se_hessian[n] < 3
    assert r.bootstrap is not None and r.bootstrap.shape == (32, 2)


def _recovery(base, truth, moments, space, steps, seeds, runs):
    hits = 0
    for seed in seeds:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", CalibrationWarning)
            r = calibrate(base, _data(seed, base, truth, steps), moments, space, trials=32, runs=runs, seed=1)
        hits += _within(r, truth)
        assert all(0 < r.se[n] < math.inf for n in truth)
    return hits


@pytest.mark.slow
def test_honey_recovery_in_most_of_20_trials():
    """Measured: 19 of 20 data sets (both parameters within 2 s.e.)."""
    assert _recovery(BASE, TRUTH, MOMENTS, SPACE, STEPS, range(100, 120), runs=16) >= 15


@pytest.mark.slow
def test_tokens_recovery_in_most_of_20_trials():
    assert _recovery(TOKENS, TOKENS_TRUTH, TOKENS_MOMENTS, TOKENS_SPACE, 60, range(100, 120), runs=8) >= 15


# one parameter that moves each model's output, a moment of it, and tiny sizes. Two are (rightly)
# reported as not identified from one run of data at these sizes: at 30 households a banking run is
# mostly seed noise, and every atp run draws its own world, so one run's GDP lies far from the runs' mean
EVERY_MODEL = {
    "honey": ({"price_walk": "positive"}, 60, "saturation:mean,price:std", "productivity", (0.8, 0.95), 0.88),
    "tokens": ({"N": 20}, 8, "price:mean", "curve_slope", (0.05, 0.2), 0.12),
    "banking": ({"n_households": 30, "n_firms": 4, "n_banks": 1}, 6, "gdp:mean", "propensity_income",
                (0.7, 0.95), 0.85),
    "network": ({"n_agents": 20, "n_chains": 1, "n_assets": 2, "mean_degree": 4}, 10, "mean_risk_target:mean",
                "risk_target", (0.2, 0.8), 0.5),
    "atp": ({"R": 4, "G": 8, "J": 4, "N": 200}, 30, "GDP_world:mean", "demurrage", (0.005, 0.02), 0.01),
}  # fmt: skip


#: banking and atp calibrate for half a minute each (their economies are the heaviest): the slow tier
HEAVY = {"banking", "atp"}


@pytest.mark.parametrize(
    "model", [pytest.param(m, marks=pytest.mark.slow) if m in HEAVY else m for m in EVERY_MODEL]
)
def test_every_builtin_model_calibrates(model):
    params, steps, moments, name, (low, high), truth = EVERY_MODEL[model]
    base = {"model": model, "params": params}
    data = _data(3, base, {name: truth}, steps)
    identified = model not in ("banking", "atp")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", CalibrationWarning)
        r = calibrate(base, data, [moments], [f"{name}={low}:{high}"], trials=6, runs=3, seed=2, bootstrap=8)
    assert low <= r.values[name] <= high and math.isfinite(r.objective)
    assert 0 < r.se[name] < math.inf and r.identified[name] is identified
    assert len([w for w in caught if issubclass(w.category, CalibrationWarning)]) == (not identified)
    if identified:
        assert abs(r.values[name] - truth) < max(3 * r.se[name], 0.05 * (high - low))
    else:
        assert r.se[name] >= (high - low) / math.sqrt(12)
    cfg = load_config(dict(r.config))  # the calibrated set is a valid configuration of the model
    assert cfg.model == model and cfg.params[name] == r.values[name] and cfg.steps == steps


def _inert(s, p, rng):
    """y = x1 + noise; x2 moves nothing."""
    return {"y": p.x1 + 0.1 * rng("noise").standard_normal()}


inert = Model(
    name="inert",
    doc="an output moved by x1 only",
    params=[
        Param("x1", 0.5, "moves y", bounds=(0.0, 1.0)),
        Param("x2", 0.5, "moves nothing", bounds=(0.0, 1.0)),
    ],
    state=[Var("y", 0.0, "output")],
    step=[_inert],
)


def test_a_parameter_the_moments_do_not_identify_is_flagged():
    register("inert_test", f"{__name__}:inert")
    base = {"model": "inert_test", "params": {}}
    data = _data(5, base, {"x1": 0.3, "x2": 0.5}, 40)
    with pytest.warns(CalibrationWarning, match="'x2' is not identified by the moments y:mean"):
        r = calibrate(base, data, ["y:mean"], ["x1=0:1", "x2=0:1"], trials=8, runs=4, seed=1, bootstrap=16)
    assert r.identified == {"x1": True, "x2": False}
    assert r.se["x2"] >= 1 / math.sqrt(12)  # the bounds' spread, not a degenerate 0 or inf
    assert abs(r.values["x1"] - 0.3) < 2 * r.se["x1"] < 0.1


def test_command_line_writes_a_valid_calibrated_config(tmp_path):
    _data(7, steps=120).to_csv(tmp_path / "data.csv", index=False)
    (tmp_path / "honey.yaml").write_text("model: honey\nparams: {price_walk: positive}\n")
    args = ["calibrate", str(tmp_path / "honey.yaml"), "--data", str(tmp_path / "data.csv"),
            "--moments", MOMENTS[0], "--trials", "8", "--runs", "4", "--bootstrap", "16",
            "--out", str(tmp_path / "c"), *[a for s in SPACE for a in ("--param", s)]]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "s.e. (Hessian)" in result.output and "identified" in result.output
    cfg = load_config(tmp_path / "c" / "calibrated.yaml")
    assert 0.8 <= cfg.params["productivity"] <= 0.95 and cfg.steps == 120
    assert (tmp_path / "c" / "fit.png").stat().st_size > 0
    fit = (tmp_path / "c" / "fit.csv").read_text()
    assert fit.startswith("param,value,se,low95,high95,se_hessian,identified")
    # the calibrated configuration runs as it is; samples.yaml sweeps the 16 bootstrap estimates
    again = run(tmp_path / "c" / "calibrated.yaml", runs=2, progress=False)
    assert np.isfinite(again.stacked("price")).all()
    samples = load_config(tmp_path / "c" / "samples.yaml")
    assert samples.sweep.n_points() == 16 and samples.runs == 1 and "productivity" not in samples.params
    boot = np.loadtxt(tmp_path / "c" / "bootstrap.csv", delimiter=",", skiprows=1)
    assert boot.shape == (16, 2) and samples.sweep.zip["p_pull"] == boot[:, 1].tolist()


@pytest.mark.parametrize(
    "moments, space, message",
    [
        (["saturation:median"], SPACE, "STAT one of"),
        (["nothing:mean"], SPACE, "nothing"),
        (["price/nothing:std"], SPACE, "nothing"),
        (["a/b/c:std"], SPACE, "a ratio A/B"),
        (MOMENTS, ["productivity=0.8:1.5"], "out of range"),
        (MOMENTS, ["price_walk=notebook,positive"], "real-valued"),
    ],
)
def test_bad_input_is_named(moments, space, message):
    with pytest.raises(ConfigError, match=message):
        calibrate(BASE, _data(1, steps=20), moments, space, trials=2, runs=2)


def test_a_network_calibration_feeds_the_stress_test(tmp_path):
    from econsim.models.network.analysis import read_posterior

    params, steps, moments, name, (low, high), truth = EVERY_MODEL["network"]
    base = {"model": "network", "params": params}
    r = calibrate(base, _data(3, base, {name: truth}, steps), [moments], [f"{name}={low}:{high}"],
                  trials=6, runs=3, seed=2, bootstrap=8, out=tmp_path)  # fmt: skip
    # the bootstrap estimates are samples of the stress test's posterior, as they are
    samples = read_posterior(tmp_path / "bootstrap.csv")
    assert samples[name].tolist() == r.bootstrap[:, 0].tolist()
    # and fit.csv gives normal draws around the estimate with its bootstrap standard error
    draws = read_posterior(tmp_path / "fit.csv", samples=200, seed=1)[name].to_numpy()
    assert abs(draws.mean() - r.values[name]) < 4 * r.se[name] / np.sqrt(200) + 1e-12
