"""Credit in depth (``collateral_credit``): the four-factor PD, the loan-to-value cap at origination,
seizure of pledged capital booked once, and covenant breaches repriced or accelerated — strict mode on."""

from __future__ import annotations

import numpy as np
import pytest

from econsim.engine import Simulation
from econsim.models.banking import accounts, collateral, model

SMALL = {"n_households": 200, "n_firms": 20, "n_banks": 3, "collateral_credit": True}


def _books(sim):
    return sim.params.ledger_template.load(sim.state, prefix=accounts.PREFIX)


def test_the_default_probability_is_the_logistic_of_the_four_factors():
    # ℓ = 0.5, d = 2, w = 0.4, one default: z = −3.5 + 1.75 + 1 − 0.4 + 0.5 = −0.65
    pd = collateral.default_probability(np.array([0.5]), np.array([2.0]), np.array([0.4]), np.array([1]))
    assert pd[0] == pytest.approx(1 / (1 + np.exp(0.65)), rel=1e-12)
    # a clean firm: z = −3.5 → PD = 0.0293122...
    clean = collateral.default_probability(np.zeros(1), np.zeros(1), np.zeros(1), np.zeros(1))
    assert clean[0] == pytest.approx(0.029312230751356, rel=1e-12)
    # the debt-to-income term is capped at 10: d = 20 scores as d = 10 (z = −3.5 + 5 = 1.5)
    capped = collateral.default_probability(np.zeros(1), np.array([20.0]), np.zeros(1), np.zeros(1))
    assert capped[0] == pytest.approx(1 / (1 + np.exp(-1.5)), rel=1e-12)


def test_every_loan_respects_the_loan_to_value_cap_at_origination(monkeypatch):
    lend, seen = accounts.lend, []

    def watched(led, borrower_f, borrower_bank, lender, amount):
        lend(led, borrower_f, borrower_bank, lender, amount)
        owed = -led.stock_of("firms", "loans")
        cap = 0.8 * 0.5 * led.stock_of("firms", "capital")
        got = amount > 0
        seen.append((owed[got], cap[got]))

    monkeypatch.setattr(accounts, "lend", watched)
    sim = Simulation(model, SMALL, runs=2, seed=3)
    sim.run(12)
    owed = np.concatenate([o for o, _ in seen])
    cap = np.concatenate([c for _, c in seen])
    assert owed.size > 20  # firms borrow
    assert (owed <= cap * (1 + 1e-12)).all()
    assert (owed / cap).max() > 0.5  # the cap binds for some, not a vacuous bound
    # without the switch loans go beyond it (the cap is what keeps them under)
    seen.clear()
    Simulation(model, {**SMALL, "collateral_credit": False}, runs=2, seed=3).run(12)
    assert max((o / np.maximum(c, 1e-300)).max() for o, c in seen if o.size) > 1.0


def test_seizure_moves_the_pledged_capital_once_and_writes_the_loan_down_by_it():
    sim = Simulation(model, SMALL, runs=1, seed=3)
    sim.run(6)
    led = _books(sim)
    owed = -led.stock_of("firms", "loans")[0]
    j = int(np.argmax(owed))
    lender = int(sim.state["firms.lender"][0, j])
    capital = led.stock_of("firms", "capital")[0, j]
    deposits = led.stock_of("firms", "deposits")[0, j]
    assert owed[j] > 0 and lender >= 0
    before = led.stock.copy(), led.net_worth.copy()
    bankrupt = np.zeros((1, 20), dtype=bool)
    bankrupt[0, j] = True
    remaining = owed - np.maximum(deposits, 0)
    value, share = collateral.seize(
        led, np.arange(20), sim.state["firms.lender"].clip(0), bankrupt, remaining[None], sim.params
    )
    expected = min(0.5 * capital, owed[j] - deposits)
    assert value[0, j] == pytest.approx(expected, rel=1e-12) and share[0, j] == pytest.approx(
        expected / capital
    )
    assert (np.delete(value[0], j) == 0).all()
    change = led.stock - before[0]
    f_row, k_row = led.holders("firms")[j], led.holders("banks")[lender]
    cap_i, loan_i = accounts.INSTRUMENTS.index("capital"), accounts.INSTRUMENTS.index("loans")
    assert change[0, f_row, cap_i] == pytest.approx(-expected, rel=1e-12)
    assert change[0, k_row, cap_i] == pytest.approx(expected, rel=1e-12)
    assert change[0, f_row, loan_i] == pytest.approx(expected, rel=1e-12)  # the firm owes V less
    assert change[0, k_row, loan_i] == pytest.approx(-expected, rel=1e-12)
    change[0, [f_row, k_row], [cap_i, cap_i]] = 0
    change[0, [f_row, k_row], [loan_i, loan_i]] = 0
    assert np.abs(change).max() < 1e-9 * expected  # nothing else moved: booked once
    np.testing.assert_allclose(led.net_worth, before[1], rtol=0, atol=1e-9 * expected)  # an exchange


def test_a_bankrupt_borrower_loses_its_pledge_and_the_bank_the_rest_through_a_strict_step():
    sim = Simulation(model, SMALL, runs=1, seed=3)
    sim.run(6)
    state = sim.state
    led = _books(sim)
    owed = -led.stock_of("firms", "loans")[0]
    j = int(np.argmax(owed))
    # a balanced edit: the firm owes its lender 20 times its capital more, so it is bankrupt this step
    f_row, k_row = led.holders("firms")[j], led.holders("banks")[int(state["firms.lender"][0, j])]
    x = 20 * led.stock_of("firms", "capital")[0, j]
    stock, worth = state["ledger_stock"].copy(), state["ledger_net_worth"].copy()
    loan_i = accounts.INSTRUMENTS.index("loans")
    stock[0, f_row, loan_i] -= x
    stock[0, k_row, loan_i] += x
    worth[0, f_row] -= x
    worth[0, k_row] += x
    state.update({"ledger_stock": stock, "ledger_net_worth": worth})
    bank_capital = _books(sim).stock_of("banks", "capital")[0].sum()
    capital_units = state["firms.capital"][0, j]
    sim.step()  # strict: every identity holds through the seizure
    after = _books(sim)
    assert sim.state["firm_bankruptcies"][0] >= 1 and sim.state["collateral_seized"][0] >= 1
    recovered = sim.state["recoveries"][0]
    assert recovered > 0
    # the banks' capital grew by exactly the recoveries (seized capital is not depreciated twice)
    assert after.stock_of("banks", "capital")[0].sum() - bank_capital == pytest.approx(recovered, rel=1e-9)
    # the firm's plant shrank by the pledge before this step's depreciation, and its loan is gone
    assert sim.state["firms.capital"][0, j] == pytest.approx(capital_units * 0.5 * (1 - 0.08 / 12), rel=1e-9)
    assert -after.stock_of("firms", "loans")[0, j] == pytest.approx(0.0, abs=1e-6)
    write_offs = -after.flow[0, accounts.FLOWS.index("write_offs"), accounts.SECTORS.index("banks")]
    assert write_offs < owed[j] + x - recovered + 1e-6  # the loss against equity is net of the recovery


@pytest.mark.parametrize("action", ["reprice", "accelerate"])
def test_a_covenant_breach_reprices_or_accelerates_the_loan(action):
    sim = Simulation(model, {**SMALL, "covenant_action": action, "covenant_debt_equity": 0.3}, runs=2, seed=3)
    # repricing after 8 steps, where some borrowers are in breach and some not; acceleration on the opening
    # books, where every borrower breaches with its deposits still there to repay from
    if action == "reprice":
        sim.run(8)
    s, p = sim.state, sim.params
    led = _books(sim)
    owed = -led.stock_of("firms", "loans")
    funds = collateral.shareholders_funds(led)
    breach = (owed > 1e-9) & ((funds <= 0) | (owed > 0.3 * funds))
    assert breach.sum() >= 3
    assert action == "accelerate" or (~breach & (owed > 1e-9)).sum() >= 1
    out = collateral.covenants(s, p, None)
    assert (out["covenant_breaches"] == breach.sum(axis=1)).all()
    if action == "reprice":
        # the penalty spread is in force exactly while in breach, never stacked
        np.testing.assert_array_equal(out["firms.covenant_penalty"], np.where(breach, 0.02, 0.0))
        expected = s["firms.loan_rate"] - s["firms.covenant_penalty"] + 0.02 * breach
        np.testing.assert_allclose(out["firms.loan_rate"], expected, rtol=1e-15)
        assert "ledger_stock" not in out
    else:
        ledger = p.ledger_template.load(out, prefix=accounts.PREFIX, copy=True)
        deposits = np.maximum(led.stock_of("firms", "deposits"), 0.0)
        due = np.where(breach, np.minimum(deposits, owed), 0.0)
        np.testing.assert_allclose(-ledger.stock_of("firms", "loans"), owed - due, rtol=1e-12, atol=1e-9)
        np.testing.assert_allclose(
            ledger.stock_of("firms", "deposits"), led.stock_of("firms", "deposits") - due, atol=1e-6
        )
        assert due.sum() > 0
    # through a strict step: the same breaches are counted, and firms in breach get no new loan
    sim.step()
    np.testing.assert_array_equal(sim.state["covenant_breaches"], breach.sum(axis=1))
    owed_after = -_books(sim).stock_of("firms", "loans")
    assert (owed_after[breach] <= owed[breach] * (1 + 1e-12)).all()


def test_seized_capital_depreciates_on_the_banks_books_from_the_step_after_the_seizure():
    sim = Simulation(model, SMALL, runs=1, seed=3)
    sim.run(6)
    state = sim.state
    led = _books(sim)
    j = int(np.argmax(-led.stock_of("firms", "loans")[0]))
    f_row, k_row = led.holders("firms")[j], led.holders("banks")[int(state["firms.lender"][0, j])]
    x = 20 * led.stock_of("firms", "capital")[0, j]  # the balanced edit of the test above: j goes bankrupt
    stock, worth = state["ledger_stock"].copy(), state["ledger_net_worth"].copy()
    loan_i = accounts.INSTRUMENTS.index("loans")
    stock[0, f_row, loan_i] -= x
    stock[0, k_row, loan_i] += x
    worth[0, f_row] -= x
    worth[0, k_row] += x
    state.update({"ledger_stock": stock, "ledger_net_worth": worth})
    sim.step()  # the seizure
    held = _books(sim).stock_of("banks", "capital")[0].copy()
    bank_worth = _books(sim).net_worth[0, _books(sim).holders("banks")].copy()
    assert held.sum() > 0
    out = collateral.seized_assets(sim.state, sim.params, None)
    after = sim.params.ledger_template.load(out, prefix=accounts.PREFIX)
    # written down at the firms' rate δ/12 = 0.08/12, a loss of the banks' net worth, no transaction
    np.testing.assert_allclose(after.stock_of("banks", "capital")[0], held * (1 - 0.08 / 12), rtol=1e-12)
    np.testing.assert_allclose(
        bank_worth - after.net_worth[0, after.holders("banks")], held * 0.08 / 12, rtol=1e-9, atol=1e-9
    )
    assert np.abs(after.flow).sum() == np.abs(_books(sim).flow).sum()
    # through strict steps: each step the banks' capital is last step's less δ/12, plus new recoveries
    for _ in range(3):
        before = _books(sim).stock_of("banks", "capital")[0].sum()
        sim.step()
        now = _books(sim).stock_of("banks", "capital")[0].sum()
        assert now == pytest.approx(before * (1 - 0.08 / 12) + sim.state["recoveries"][0], rel=1e-9)
    assert sim.records.columns["seized_capital"][-1][0] == pytest.approx(now, rel=1e-12)
