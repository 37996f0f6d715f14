"""Money by its textbook definitions — M0 = currency + reserves, M1 = currency + demand deposits, M2 = M1 +
savings (time) deposits — and bad input refused before any work."""

from __future__ import annotations

import numpy as np
import pytest

import econsim
from econsim.engine import ConfigError, Simulation
from econsim.models.banking import accounts, model

SMALL = {"n_households": 200, "n_firms": 20, "n_banks": 3}


def test_m0_m1_m2_are_the_ledgers_reserves_deposits_and_savings():
    sim = Simulation(model, SMALL, runs=2, seed=3)
    rec = sim.run(8)
    led = sim.params.ledger_template.load(sim.state, prefix=accounts.PREFIX)
    deposits = led.stock_of("households", "deposits").sum(axis=1) + led.stock_of("firms", "deposits").sum(
        axis=1
    )
    savings = led.stock_of("households", "savings").sum(axis=1)
    c = rec.columns
    np.testing.assert_allclose(c["m0"][-1], led.stock_of("banks", "reserves").sum(axis=1), rtol=1e-12)
    np.testing.assert_allclose(c["m1"][-1], deposits, rtol=1e-12)
    np.testing.assert_allclose(c["m2"][-1] - c["m1"][-1], savings, rtol=1e-9)
    assert (savings > 0.1 * c["m2"][-1]).all()  # households hold savings: M2 is not M1
    # savings are liabilities of the households' own banks, and no bank holds reserves against them
    owed = -led.stock_of("banks", "savings")
    held = accounts.sum_by(sim.state["households.bank"], led.stock_of("households", "savings"), 3)
    np.testing.assert_allclose(owed, held, rtol=1e-9)


def test_households_keep_a_month_of_income_in_deposits_and_save_the_rest():
    """After the sweep, no household's deposits exceed ``liquidity_months`` of its disposable income by
    more than what reached it later in the step (dividends); savings pay the higher rate."""
    sim = Simulation(model, {**SMALL, "liquidity_months": 0.5}, runs=1, seed=4)
    sim.run(6)
    led = sim.params.ledger_template.load(sim.state, prefix=accounts.PREFIX)
    deposits = led.stock_of("households", "deposits")[0]
    income = np.maximum(sim.state["households.disposable"][0], 0.0)
    dividends = sim.state["households.other_income"][0]
    assert (deposits <= 0.5 * income + dividends + 1e-6 * income.max()).all()
    p = sim.params
    assert p.savings_markdown < p.deposit_markdown


def test_more_savings_preference_lowers_m1_not_m2():
    low = Simulation(model, {**SMALL, "liquidity_months": 3.0}, runs=1, seed=5).run(3).columns
    high = Simulation(model, {**SMALL, "liquidity_months": 0.5}, runs=1, seed=5).run(3).columns
    assert high["m1"][-1, 0] < low["m1"][-1, 0]
    assert high["m2"][-1, 0] == pytest.approx(low["m2"][-1, 0], rel=0.02)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"n_households": 20, "n_firms": 30}, "n_firms = 30 exceeds n_households = 20"),
        ({"n_households": 4, "n_firms": 2, "n_banks": 5}, "n_banks = 5 exceeds n_households = 4"),
        ({"initial_deposits": -100.0}, "initial_deposits"),
        ({"initial_wage": -1.0}, "initial_wage"),
        ({"initial_capital": 0.0}, "initial_capital"),
        ({"liquidity_months": -1.0}, "liquidity_months"),
        ({"savings_markdwn": 0.01}, "did you mean 'savings_markdown'"),
    ],
)
def test_impossible_economies_are_refused_before_any_work(params, message, tmp_path):
    out = tmp_path / "run"
    with pytest.raises(ConfigError, match=message):
        econsim.run({"model": "banking", "params": params, "steps": 2, "out": str(out)})
    assert not out.exists() or not any(out.rglob("*.parquet"))  # nothing was run


def test_firm_shares_live_on_the_ledger_and_a_bankruptcy_writes_them_off():
    """Each firm's paid-in shares are its liability and its owners' asset (equal parts); a bankrupt firm's
    shares are written off against its owners (a use of their funds), and the entrant taking over the
    plant issues its shares to them."""
    sim = Simulation(model, SMALL, runs=1, seed=3)
    p = sim.params
    led = p.ledger_template.load(sim.state, prefix=accounts.PREFIX)
    shares_f = -led.stock_of("firms", "equity")[0]
    held_h = led.stock_of("households", "equity")[0]
    assert (shares_f > 0).all()
    np.testing.assert_allclose(
        np.bincount(p.firm_owner_h, weights=held_h, minlength=20), shares_f, rtol=1e-12
    )
    # a firm made insolvent by a balanced edit: a loan of 10× its assets from its lender (firm −x, bank +x)
    sim.step()
    state = sim.state
    stock, worth = state["ledger_stock"].copy(), state["ledger_net_worth"].copy()
    led = p.ledger_template.load(state, prefix=accounts.PREFIX)
    f0, k0 = led.holders("firms")[0], led.holders("banks")[int(state["firms.bank"][0, 0])]
    x = 10 * np.abs(stock[0, f0]).sum()
    loans = accounts.INSTRUMENTS.index("loans")
    stock[0, f0, loans] -= x
    stock[0, k0, loans] += x
    worth[0, f0] -= x
    worth[0, k0] += x
    state.update({"ledger_stock": stock, "ledger_net_worth": worth, "firms.lender": np.where(
        np.arange(20) == 0, state["firms.bank"], state["firms.lender"])})  # fmt: skip
    before = p.ledger_template.load(state, prefix=accounts.PREFIX).stock_of("households", "equity")[0].copy()
    sim.step()  # strict: every identity still holds
    after_led = p.ledger_template.load(sim.state, prefix=accounts.PREFIX)
    assert sim.state["firms.defaults"][0, 0] == 1
    owners = p.firm_owner_h == 0
    plant = after_led.stock_of("firms", "capital")[0, 0]
    assert (before[owners] > 0).all()
    # the old shares are written off; the entrant takes over the plant free of debt and issues its
    # shares, worth the plant, to the same owners
    np.testing.assert_allclose(
        after_led.stock_of("households", "equity")[0, owners], plant / owners.sum(), rtol=1e-9
    )
    np.testing.assert_allclose(-after_led.stock_of("firms", "equity")[0, 0], plant, rtol=1e-9)
    np.testing.assert_allclose(after_led.stock_of("firms", "loans")[0, 0], 0.0, atol=1e-6)
    assert sim.state["firm_bankruptcies"][0] >= 1
    written_off = after_led.flow[0, accounts.FLOWS.index("write_offs"), accounts.SECTORS.index("households")]
    assert written_off == pytest.approx(-before[owners].sum(), rel=1e-9)  # the owners' loss
