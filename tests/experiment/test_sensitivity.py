"""``econsim sensitivity`` against known answers, each run as a model through the engine: the Ishigami
function's Sobol' indices, an additive linear model's (S1 = ST = a_i²/Σa_j²), Morris on a linear model
(σ = 0), the same indices on every executor, and clear errors for bad input."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from typer.testing import CliRunner

from econsim.cli import app
from econsim.engine import Model, Param, Var
from econsim.engine.errors import ConfigError
from econsim.experiment.sensitivity import sensitivity
from econsim.models.registry import register

PI = math.pi
A, B = 7.0, 0.1
COEF = np.array([1.0, 2.0, 3.0])


def _ishigami(s, p, rng):
    """y = sin x1 + a sin² x2 + b x3⁴ sin x1 (a = 7, b = 0.1), plus seed noise that common random
    numbers make identical across sample rows (so it cannot move the indices)."""
    noise = rng("noise").standard_normal()
    y = np.sin(p.x1) + A * np.sin(p.x2) ** 2 + B * p.x3**4 * np.sin(p.x1)
    return {"y": y, "n": noise}


def _linear(s, p, rng):
    """y = 1·x1 + 2·x2 + 3·x3 (+ the integer k, which the linear test leaves out)."""
    return {"y": COEF[0] * p.x1 + COEF[1] * p.x2 + COEF[2] * p.x3 + p.k}


def _params():
    return [Param(f"x{i}", 0.0, "input", bounds=(-PI, PI)) for i in (1, 2, 3)]


ishigami = Model(
    name="ishigami",
    doc="the Ishigami function of three inputs in [−π, π]",
    params=_params(),
    state=[Var("y", 0.0, "output"), Var("n", 0.0, "a standard normal draw")],
    step=[_ishigami],
)


def _switch(s, p, rng):
    """y = x1 for steps 1…5, x2 afterwards: the influential input changes half-way."""
    t = s.t + 1
    return {"t": t, "y": np.where(t <= 5, p.x1, p.x2)}


switch = Model(
    name="switch",
    doc="an output driven by x1, then by x2",
    params=_params(),
    state=[Var("t", 0.0, "steps so far"), Var("y", 0.0, "output")],
    step=[_switch],
)
linear = Model(
    name="linear",
    doc="an additive linear function",
    params=[*_params(), Param("k", 0, "an integer input", bounds=(0, 10), kind="int")],
    state=[Var("y", 0.0, "output")],
    step=[_linear],
)


@pytest.fixture(autouse=True)
def _models():
    register("ishigami_test", f"{__name__}:ishigami")
    register("linear_test", f"{__name__}:linear")
    register("switch_test", f"{__name__}:switch")


BOUNDS = {f"x{i}": (-PI, PI) for i in (1, 2, 3)}
ISHIGAMI = {"model": "ishigami_test", "steps": 1, "runs": 1}
LINEAR = {"model": "linear_test", "steps": 2, "runs": 1}


def test_ishigami_indices_within_three_intervals():
    r = sensitivity(ISHIGAMI, "sobol", BOUNDS, "y", samples=2**12, seed=3)
    assert len(r.Y) == 2**12 * 8  # Saltelli: N (2D + 2) rows, one experiment
    s1, st = (0.3139, 0.4424, 0.0), (0.5576, 0.4424, 0.2437)
    for j, name in enumerate(r.names):
        row = r.table.loc[name]
        assert abs(row["S1"] - s1[j]) < 3 * row["S1_conf"], (name, row.to_dict())
        assert abs(row["ST"] - st[j]) < 3 * row["ST_conf"], (name, row.to_dict())
    # the only interaction is x1 × x3: S2_13 = ST_1 − S1_1 = 0.2437
    assert r.S2 is not None and r.S2_conf is not None
    assert abs(r.S2.at["x1", "x3"] - 0.2437) < 3 * r.S2_conf.at["x1", "x3"]
    assert abs(r.S2.at["x1", "x2"]) < 3 * r.S2_conf.at["x1", "x2"]
    conv = r.convergence
    assert conv is not None and sorted(conv["n"].unique())[-1] == 2**12 and conv["n"].min() == 16


def test_additive_linear_model_closed_form(tmp_path):
    r = sensitivity(LINEAR, "sobol", BOUNDS, "y", samples=512, seed=1, out=tmp_path)
    expected = COEF**2 / np.sum(COEF**2)
    np.testing.assert_allclose(r.table["S1"], expected, atol=0.03)
    np.testing.assert_allclose(r.table["ST"], expected, atol=0.03)
    for key in ("figure", "S2_figure", "convergence_figure"):
        assert r.files[key].stat().st_size > 0
    table = (tmp_path / "indices.csv").read_text().splitlines()
    assert table[0] == "param,S1,S1_conf,ST,ST_conf" and len(table) == 4
    assert json.loads((tmp_path / "sensitivity.json").read_text())["rows"] == 512 * 8
    assert (tmp_path / "runs" / "manifest.json").is_file()  # the rows ran as one stored experiment
    again = sensitivity(LINEAR, "sobol", BOUNDS, "y", samples=512, seed=1, out=tmp_path, figures=False)
    np.testing.assert_array_equal(again.Y, r.Y)  # the stored experiment is read back, not rerun


def test_morris_on_a_linear_model_has_no_spread(tmp_path):
    r = sensitivity(LINEAR, "morris", {**BOUNDS, "k": (0, 10)}, "y", samples=20, seed=2, out=tmp_path)
    # every elementary effect of x_j is a_j (per unit of the normalised range: a_j · 2π)
    np.testing.assert_allclose(r.table.loc[["x1", "x2", "x3"], "mu_star"], COEF * 2 * PI, rtol=1e-9)
    np.testing.assert_allclose(r.table.loc[["x1", "x2", "x3"], "sigma"], 0.0, atol=1e-9)
    assert set(r.X[:, 3]) <= set(range(11))  # the integer parameter ran at whole values
    assert r.files["mu_star_sigma"].stat().st_size > 0


@pytest.mark.filterwarnings("ignore:FAST confidence intervals")
def test_fast_linear():
    r = sensitivity(LINEAR, "fast", BOUNDS, "y", samples=257, seed=4)
    np.testing.assert_allclose(r.table["S1"], COEF**2 / np.sum(COEF**2), atol=0.03)
    assert r.convergence is None


def test_metric_at_a_step_and_mean_over_steps():
    # y is constant after step 1, so the final value, step 1 and the mean over steps give one answer
    kw = {"method": "sobol", "params": BOUNDS, "metric": "y", "samples": 64, "seed": 5}
    final = sensitivity(LINEAR, **kw).Y
    np.testing.assert_allclose(sensitivity(LINEAR, at=1, **kw).Y, final)
    np.testing.assert_allclose(sensitivity(LINEAR, at="mean", **kw).Y, final)


def test_same_seed_same_indices_on_every_executor():
    kw = {"method": "sobol", "params": BOUNDS, "metric": "y", "samples": 64, "seed": 9}
    config = {**ISHIGAMI, "runs": 3}
    one = sensitivity(config, **kw)
    two = sensitivity({**config, "executor": "process", "workers": 2, "memory_budget_mb": 0.05}, **kw)
    np.testing.assert_array_equal(one.Y, two.Y)
    np.testing.assert_array_equal(one.table.to_numpy(), two.table.to_numpy())
    assert one.results.manifest["seed"] == 9


@pytest.mark.parametrize(
    "params, kw, message",
    [
        ({"z": (0, 1)}, {}, "z"),
        ({"x1": (-4.0, 0.0)}, {}, "x1 = -4.0 is out of range"),
        ({}, {}, "at least one parameter"),
        (BOUNDS, {"method": "anova"}, "sobol, morris, fast"),
        (BOUNDS, {"samples": 100}, "power of two"),
        (BOUNDS, {"method": "fast", "samples": 50}, "FAST needs more than"),
        (BOUNDS, {"metric": "price"}, "price"),
        (BOUNDS, {"at": "middle"}, "final, mean or a step"),
        (BOUNDS, {"at": 5}, "between 1 and steps"),
        (BOUNDS, {"max_sweep_points": 100}, "max_sweep_points = 100"),
    ],
)
def test_bad_input_is_named(params, kw, message):
    args = {"method": "sobol", "metric": "y", "samples": 64, **kw}
    with pytest.raises(ConfigError, match=message):
        sensitivity(LINEAR, params=params, **args)


def test_other_sweeps_are_refused_and_varied_ones_replaced():
    with pytest.raises(ConfigError, match="also sweeps k"):
        sensitivity({**LINEAR, "sweep": {"grid": {"k": [1, 2]}}}, "sobol", BOUNDS, "y", samples=16)
    r = sensitivity({**LINEAR, "sweep": {"grid": {"x1": [0.5, 1.0]}}}, "sobol", BOUNDS, "y", samples=16)
    assert "x1 (was sweep.grid.x1)" in r.notes[0]


def test_command_line(tmp_path):
    config = tmp_path / "lin.yaml"
    config.write_text("model: linear_test\nsteps: 1\n")
    result = CliRunner().invoke(
        app,
        [
            "sensitivity", str(config), "--metric", "y", "--samples", "64", "--out", str(tmp_path / "o"),
            *[a for i in (1, 2, 3) for a in ("--param", f"x{i}=-3:3")], "--quiet",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "S1_conf" in result.output and "x1 × x2" in result.output
    assert (tmp_path / "o" / "indices.png").is_file()
    windowed = CliRunner().invoke(
        app,
        ["sensitivity", str(config), "--metric", "y", "--samples", "64", "--out", str(tmp_path / "w"),
         "--param", "x1=-3:3", "--param", "x2=-3:3", "--windows", "1", "--quiet"],
    )  # fmt: skip
    assert windowed.exit_code == 0, windowed.output
    assert "by time window" in windowed.output and "1–1" in windowed.output
    assert (tmp_path / "w" / "windows.csv").is_file()


def test_indices_per_time_window_follow_the_driver(tmp_path):
    r = sensitivity(
        {"model": "switch_test", "steps": 10, "runs": 1}, "sobol", BOUNDS, "y", samples=256, seed=2,
        windows=2, out=tmp_path,
    )  # fmt: skip
    w = r.windows.set_index(["window", "param", "index"])["value"]
    assert r.windows[["start", "stop"]].drop_duplicates().to_numpy().tolist() == [[1, 5], [6, 10]]
    # y = x1 in steps 1…5 and x2 in 6…10: each window's indices are 1 for its driver, 0 for the rest
    for window, driver in ((0, "x1"), (1, "x2")):
        for name in ("x1", "x2", "x3"):
            expected = 1.0 if name == driver else 0.0
            assert w[(window, name, "S1")] == pytest.approx(expected, abs=0.05)
            assert w[(window, name, "ST")] == pytest.approx(expected, abs=0.05)
    # over the whole run (the mean over steps) both count equally: y = (x1 + x2) / 2
    overall = sensitivity({"model": "switch_test", "steps": 10, "runs": 1}, "sobol", BOUNDS, "y",
                          samples=256, seed=2, at="mean").table  # fmt: skip
    assert overall.at["x1", "S1"] == pytest.approx(0.5, abs=0.05)
    assert overall.at["x2", "S1"] == pytest.approx(0.5, abs=0.05)
    assert (tmp_path / "windows.csv").is_file() and (tmp_path / "windows.png").stat().st_size > 0
    morris = sensitivity({"model": "switch_test", "steps": 10, "runs": 1}, "morris", BOUNDS, "y",
                         samples=4, seed=2, windows="1:5,6:10").windows  # fmt: skip
    mu = morris[morris["index"] == "mu_star"].set_index(["window", "param"])["value"]
    assert mu[(0, "x2")] == 0 and mu[(1, "x1")] == 0 and mu[(0, "x1")] > 0 and mu[(1, "x2")] > 0


@pytest.mark.parametrize(
    "windows, message",
    [
        (0, "between 1 and steps"),
        ("3:2", "FIRST ≤ LAST"),
        ("a:b", "FIRST:LAST"),
        ("4", None),
        ("1:99", "steps = 10"),
    ],
)
def test_bad_windows_are_named(windows, message):
    kw = {"method": "morris", "params": BOUNDS, "metric": "y", "samples": 2, "windows": windows}
    if message is None:
        assert len(sensitivity({"model": "switch_test", "steps": 10}, **kw).windows["window"].unique()) == 4
        return
    with pytest.raises(ConfigError, match=message):
        sensitivity({"model": "switch_test", "steps": 10}, **kw)


# each built-in model at tiny sizes: a parameter known to drive the metric, and one that cannot move it
# (it is read only by another variant of the model) or, for honey, one that moves it less
EVERY_MODEL = {
    "honey": ({"steps": 120, "params": {"price_walk": "positive"}}, "saturation", "final",
              ("productivity", (0.8, 0.95)), ("growth", (0.0, 0.01)), False),
    "tokens": ({"steps": 20, "params": {"N": 20}}, "price", "mean",
               ("curve_slope", (0.05, 0.2)), ("curve_growth", (0.0, 0.5)), True),  # linear curve
    "banking": ({"steps": 12, "params": {"n_households": 30, "n_firms": 4, "n_banks": 1}}, "gdp", "mean",
                ("propensity_income", (0.7, 0.95)), ("alpha1", (0.3, 0.9)), True),  # buffer-stock rule
    "network": ({"steps": 10, "params": {"n_agents": 20, "n_chains": 1, "n_assets": 2, "mean_degree": 4}},
                "mean_risk_target", "mean", ("risk_target", (0.2, 0.8)), ("rewire_p", (0.0, 1.0)), True),
    "atp": ({"steps": 30, "params": {"R": 4, "G": 8, "J": 4, "N": 200}}, "GDP_world", "mean",
            ("demurrage", (0.005, 0.02)), ("util_target", (0.3, 0.7)), False),
}  # fmt: skip


@pytest.mark.parametrize(
    "model", [pytest.param(m, marks=pytest.mark.slow) if m == "banking" else m for m in EVERY_MODEL]
)  # banking's economy takes 7 s here: the slow tier
def test_every_builtin_model_ranks_its_driver_first(model):
    config, metric, at, (driver, d_bounds), (other, o_bounds), inert = EVERY_MODEL[model]
    r = sensitivity(
        {"model": model, "runs": 2, "seed": 1, **config}, "morris", {driver: d_bounds, other: o_bounds},
        metric, samples=6, at=at,
    )  # fmt: skip
    t = r.table
    assert np.isfinite(t.to_numpy()).all() and np.isfinite(r.Y).all() and len(r.Y) == 6 * 3
    assert t["mu_star"].idxmax() == driver and t.at[driver, "mu_star"] > 0
    assert t.at[driver, "mu_star"] > t.at[driver, "mu_star_conf"]  # told apart from seed noise
    if inert:
        assert t.at[other, "mu_star"] == 0 and t.at[other, "sigma"] == 0
