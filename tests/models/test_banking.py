"""The banking economy: model SIM's closed forms, the ledger's identities every step, markets that clear,
bad input named before any work."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

import econsim
from econsim.engine import ConfigError, InvariantError, Simulation
from econsim.models.banking import accounts, model

ROOT = Path(__file__).resolve().parents[2]
SMALL = {"n_households": 200, "n_firms": 20, "n_banks": 3}


def sim_params(**changes):
    params = yaml.safe_load((ROOT / "configs/banking/sim.yaml").read_text())["params"]
    return {**params, **changes}


def test_sim_first_period_steady_state_and_multiplier():
    """G = 20, θ = 0.2, α1 = 0.6, α2 = 0.4 from zero money: Y₁ = G/(1 − α1(1 − θ)) = 38.46, Y → G/θ = 100."""
    g, theta, a1, a2 = 20.0, 0.2, 0.6, 0.4
    rec = Simulation(model, sim_params(), runs=1, seed=1).run(120)
    y = rec.columns["gdp"][:, 0]
    assert y[1] == pytest.approx(g / (1 - a1 * (1 - theta)), rel=1e-12)
    assert y[1] == pytest.approx(38.4615, abs=1e-4)
    # the recursion of SIM: H_t = H_{t−1} + G − θY_t,  Y_t = (G + α2·H_{t−1})/(1 − α1(1 − θ))
    h, expected = 0.0, []
    for _ in range(120):
        out = (g + a2 * h) / (1 - a1 * (1 - theta))
        h += g - theta * out
        expected.append(out)
    np.testing.assert_allclose(y[1:], expected, rtol=1e-10)
    assert y[-1] == pytest.approx(g / theta, rel=1e-4)
    money = rec.columns["m1"][:, 0]
    np.testing.assert_allclose(np.diff(money), g - theta * y[1:], rtol=1e-9, atol=1e-9)  # the deficit
    np.testing.assert_allclose(rec.columns["deficit"][1:, 0], g - theta * y[1:], rtol=1e-9, atol=1e-9)


def test_sim_government_multiplier_equals_the_closed_form():
    """One more unit of G raises first-period output by 1/(1 − α1(1 − θ))."""
    base = Simulation(model, sim_params(), runs=1, seed=1).run(1).columns["gdp"][1, 0]
    more = (
        Simulation(model, sim_params(government_spending_level=21.0), runs=1, seed=1)
        .run(1)
        .columns["gdp"][1, 0]
    )
    assert more - base == pytest.approx(1 / (1 - 0.6 * 0.8), rel=1e-10)


def test_full_economy_clears_markets_with_every_identity_holding_each_step():
    sim = Simulation(model, SMALL, runs=2, seed=3)  # strict: the invariants are checked after every step
    rec = sim.run(36)
    c = rec.columns
    employed = 1 - c["unemployment"][1:]
    assert (employed > 0.5).all()  # employment
    assert (c["gdp"][1:] > 0).all() and (c["consumption"][1:] > 0).all()  # production and trade
    assert (c["investment"][1:].sum(axis=0) > 0).all()  # capital goods sold
    assert (c["credit"][1:] > 0).all()  # credit
    assert np.isfinite(np.stack([c[k] for k in ("inflation", "policy_rate", "m1", "gov_debt")])).all()
    led = sim.params.ledger_template.load(sim.state, prefix=accounts.PREFIX)
    led.check()  # the mechanism's own check agrees with the invariants
    bsm = led.balance_sheet()
    np.testing.assert_allclose(bsm.values[:, :5].sum(axis=2), 0.0, atol=1e-6 * np.abs(bsm.values).max())
    np.testing.assert_allclose(bsm.column_sums(), 0.0, atol=1e-6 * np.abs(bsm.values).max())


def test_money_is_created_by_loans_and_destroyed_by_repayment():
    """M1 moves with credit: over a step, Δ(deposits) = Δ(loans) + (what the government and the banks
    pay out to the private sector on net); with lending switched off, new credit is zero."""
    tight = Simulation(model, {**SMALL, "credit_supply": 0.0}, runs=1, seed=3).run(6)
    assert np.all(np.diff(tight.columns["credit"][:, 0]) <= 1e-6)  # no new loans, only repayment


def test_a_leak_is_caught_by_strict_mode():
    sim = Simulation(model, SMALL, runs=1, seed=3)
    sim.step()
    sim.state["ledger_stock"] = sim.state["ledger_stock"].copy()
    sim.state["ledger_stock"][0, 0, 0] += 5.0  # a household's deposit appears from nowhere
    with pytest.raises(InvariantError, match=r"balance-sheet rows sum to zero|net worth ties out"):
        sim.step()


@pytest.mark.parametrize("rule", ["buffer_stock", "spending_model"])
def test_consumption_rules_run(rule):
    rec = Simulation(model, {**SMALL, "consumption_rule": rule}, runs=1, seed=5).run(6)
    assert (rec.columns["consumption"][1:, 0] > 0).all()


def test_runs_through_econsim_run_and_records_plain_names(tmp_path):
    res = econsim.run({"model": "banking", "params": SMALL, "steps": 4, "runs": 2, "seed": 1})
    df = res.to_pandas()
    for name in (
        "gdp",
        "gdp_nominal",
        "inflation",
        "unemployment",
        "vacancy_rate",
        "wage_index",
        "consumption",
        "investment",
        "credit",
        "leverage",
        "firm_bankruptcies",
        "bank_defaults",
        "policy_rate",
        "deficit",
        "gov_debt",
        "m0",
        "m1",
        "m2",
        "wealth_gini",
    ):
        assert name in df.columns, name
    assert len(df) == 2 * 5


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"n_households": 2, "n_banks": 5}, "n_banks"),
        ({"initial_deposits": -1.0}, "initial_deposits"),
        ({"n_bankz": 3}, "did you mean 'n_banks'"),
    ],
)
def test_bad_input_is_named_before_any_work(params, message):
    with pytest.raises(ConfigError, match=message):
        econsim.run({"model": "banking", "params": params, "steps": 2})


@pytest.mark.parametrize(
    "path",
    # bam compiles its step's kernels for ~20 s in a fresh clone: slow tier (as test_bam's runs)
    [
        pytest.param(p, marks=pytest.mark.slow) if p.stem == "bam" else p
        for p in sorted((ROOT / "configs/banking").glob("*.yaml"))
    ],
    ids=lambda p: p.stem,
)
def test_every_banking_config_runs(path, tmp_path):
    raw = yaml.safe_load(path.read_text())
    raw["params"] = {
        **raw.get("params", {}),
        **({} if raw["params"].get("clearing") == "multiplier" else SMALL),
    }
    raw.pop("reports", None)
    res = econsim.run({**raw, "steps": 3, "runs": 1, "out": str(tmp_path / "r")})
    assert res.manifest["status"] == "complete"
    assert (res.to_pandas().gdp.iloc[1:] > 0).all()


def _calibration_bounds(rec, burn_in: int) -> dict[str, float]:
    c = rec.columns
    u = c["unemployment"][burn_in:]
    growth = np.prod(1 + c["inflation"][burn_in:], axis=0)
    years = (u.shape[0]) / 12
    annual_nominal = 12 * c["gdp_nominal"][burn_in:]
    return {
        "unemployment": float(u.mean()),
        "inflation": float((growth ** (1 / years) - 1).mean()),
        "debt_ratio_max": float((c["gov_debt"][burn_in:] / annual_nominal).max()),
    }


def test_calibrated_baseline_stays_within_plausible_bounds():
    """A few hundred months of the baseline: unemployment in [2 %, 15 %] on average, annual inflation in
    [−2 %, 8 %], government debt below twice annual output, every stock finite (strict mode on)."""
    rec = Simulation(model, {"n_households": 1000, "n_firms": 100, "n_banks": 3}, runs=1, seed=3).run(300)
    m = _calibration_bounds(rec, burn_in=24)
    assert 0.02 <= m["unemployment"] <= 0.15, m
    assert -0.02 <= m["inflation"] <= 0.08, m
    assert m["debt_ratio_max"] < 2.0, m
    assert np.isfinite(rec.columns["gdp"]).all() and (rec.columns["gdp"][1:] > 0).all()
