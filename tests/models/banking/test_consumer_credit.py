"""Consumer loans: scored from leverage, debt-to-income, net worth and history; a loan creates a deposit,
repayment destroys it, and a default is written off against the bank's equity."""

from __future__ import annotations

import numpy as np
import pytest

from econsim.engine import Simulation
from econsim.models.banking import accounts, model
from econsim.models.banking.consumer_credit import credit_score

SMALL = {"n_households": 200, "n_firms": 20, "n_banks": 3}


def test_the_credit_score_reads_leverage_debt_to_income_net_worth_and_history():
    # L = 10, liquid 20, shares 0, income 100: ℓ = 0.5, d = 0.1, net worth > 0, no defaults
    pd = credit_score(np.array([10.0]), np.array([20.0]), np.array([0.0]), np.array([100.0]), np.array([0]))
    assert pd[0] == pytest.approx(1 / (1 + np.exp(-(-4 + 2 * 0.5 + 3 * 0.1))), rel=1e-12)
    worse = credit_score(
        np.array([30.0]), np.array([20.0]), np.array([0.0]), np.array([100.0]), np.array([1])
    )
    assert worse[0] == pytest.approx(1 / (1 + np.exp(-(-4 + 2 * 1.5 + 3 * 0.3 + 2 + 1))), rel=1e-12)


def test_consumer_loans_are_bank_assets_created_as_deposits():
    sim = Simulation(model, SMALL, runs=2, seed=3)
    rec = sim.run(24)
    led = sim.params.ledger_template.load(sim.state, prefix=accounts.PREFIX)
    owed_h = -led.stock_of("households", "loans")
    assert (owed_h >= 0).all() and (owed_h > 0).mean() > 0.05  # households borrow
    np.testing.assert_allclose(rec.columns["consumer_credit"][-1], owed_h.sum(axis=1), rtol=1e-12)
    # every loan is a bank's asset: Σ bank loans = firms' + households' debts
    np.testing.assert_allclose(
        led.stock_of("banks", "loans").sum(axis=1),
        owed_h.sum(axis=1) - led.stock_of("firms", "loans").sum(axis=1),
        rtol=1e-9,
    )
    # the household's own bank lends it: per bank, its household loans are its customers' debts
    held = accounts.sum_by(sim.state["households.bank"], owed_h, 3)
    assert (held <= led.stock_of("banks", "loans") + 1e-6).all()
    # i + spread + premium·PD with i ≥ 0: every borrower pays at least the spread, and no more than the
    # highest policy rate of the run plus the spread and the premium of a refused PD
    rate = sim.state["households.loan_rate"][owed_h > 0]
    assert (rate >= 0.05 - 1e-12).all()
    assert (rate <= rec.columns["policy_rate"].max() + 0.05 + 0.1 * 0.2 + 1e-12).all()


def test_a_household_that_cannot_pay_defaults_and_its_bank_writes_the_loan_off():
    sim = Simulation(model, SMALL, runs=1, seed=3)
    sim.run(12)
    state, p = sim.state, sim.params
    led = p.ledger_template.load(state, prefix=accounts.PREFIX)
    debt = -led.stock_of("households", "loans")[0]
    h = int(np.argmax(debt))
    assert debt[h] > 0
    # a balanced edit: the household owes its bank 1 000 times its wealth more (both sides, stock and booked
    # net worth), far beyond what its income can serve
    stock, worth = state["ledger_stock"].copy(), state["ledger_net_worth"].copy()
    k = led.holders("banks")[int(state["households.bank"][0, h])]
    i = accounts.INSTRUMENTS.index("loans")
    x = 1000 * np.abs(stock[0, h]).sum()
    stock[0, h, i] -= x
    stock[0, k, i] += x
    worth[0, h] -= x
    worth[0, k] += x
    debt = debt.copy()
    debt[h] += x
    state.update({"ledger_stock": stock, "ledger_net_worth": worth})
    sim.step()  # strict: every identity holds through the default
    after = p.ledger_template.load(sim.state, prefix=accounts.PREFIX)
    assert sim.state["households.loan_defaults"][0, h] == 1
    assert sim.state["consumer_defaults"][0] >= 1
    write_offs = after.flow[0, accounts.FLOWS.index("write_offs"), accounts.SECTORS.index("banks")]
    assert -write_offs >= debt[h] * (1 - 1e-9)  # a loss of the banks (a use of their funds)
    assert sim.state["households.credit_pd"][0, h] > sim.state["households.credit_pd"][0].min()
