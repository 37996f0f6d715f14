"""Household collateral (``housing``): owner-occupiers' houses on the books at market value, loans secured
by them under a loan-to-value cap at origination, a house-price shock revaluing every house, and a
seized house booked once — strict mode on."""

from __future__ import annotations

import numpy as np
import pytest

from econsim.engine import Simulation
from econsim.models.banking import accounts, housing, model

SMALL = {"n_households": 200, "n_firms": 20, "n_banks": 3, "housing": True}


def _books(sim):
    return sim.params.ledger_template.load(sim.state, prefix=accounts.PREFIX)


def test_owner_occupiers_start_with_a_house_worth_years_of_their_wage():
    sim = Simulation(model, SMALL, runs=2, seed=3, strict=True)
    led = _books(sim)
    value = led.stock_of("households", "housing")
    owner = np.isin(sim.state["households.tenure"], housing.OWNER_TENURE)
    assert 0.4 < owner.mean() < 0.9  # the survey's owners (tenure 1–3), about two thirds
    weight = np.array([1.0, 1.5, 2.2])[sim.state["households.skill"]]
    np.testing.assert_allclose(value, np.where(owner, 3.0 * 12 * 4000.0 * weight, 0.0), rtol=1e-15)
    np.testing.assert_array_equal(sim.state["households.house_units"], value)
    # a real asset: in the households' net worth, with no counterpart
    assert (led.stock_of("banks", "housing") == 0).all()
    sim.run(3)  # strict: every identity holds with the houses on the books
    off = Simulation(model, {**SMALL, "housing": False}, runs=1, seed=3)
    assert (_books(off).stock_of("households", "housing") == 0).all()


def test_a_house_price_shock_revalues_every_house_without_a_transaction():
    params = {**SMALL, "house_price_shock": 0.3, "house_shock_step": 3}
    sim = Simulation(model, params, runs=1, seed=3, strict=True)
    cols = sim.run(4).columns
    np.testing.assert_allclose(cols["house_price"][:, 0], [1, 1, 1, 0.7, 0.7], rtol=1e-15)
    collateral = cols["housing_collateral"][:, 0]
    assert collateral[3] == pytest.approx(0.7 * collateral[2], rel=1e-12)
    grown = Simulation(model, {**SMALL, "house_price_growth": 0.06}, runs=1, seed=3).run(12).columns
    assert grown["house_price"][-1, 0] == pytest.approx(1.06, rel=1e-12)  # (1.06)^(1/12) a month


def test_secured_loans_respect_the_loan_to_value_cap_at_origination():
    # small houses: the cap, not the liquidity need, limits what owners borrow
    params = {**SMALL, "house_value_years": 0.05, "mortgage_ltv": 0.6}
    sim = Simulation(model, params, runs=2, seed=3, strict=True)
    ratios, grew = [], 0
    for _ in range(12):
        before = -_books(sim).stock_of("households", "loans")
        sim.step()
        led = _books(sim)
        debt, value = -led.stock_of("households", "loans"), led.stock_of("households", "housing")
        new = (debt > before + 1e-9) & (value > 0)
        grew += int(new.sum())
        ratios.append(debt[new] / value[new])
    ratio = np.concatenate(ratios)
    assert grew > 20
    assert (ratio <= 0.6 * (1 + 1e-12)).all()
    assert ratio.max() > 0.59  # the cap binds
    # renters borrow unsecured: within consumer_credit_months of their income, whatever their house
    renter = _books(sim).stock_of("households", "housing") == 0
    assert (-_books(sim).stock_of("households", "loans")[renter] > 0).any()


def _ledger_with_one_borrower(debt: float, house: float):
    led = accounts.template(2, 2, 1)  # a fresh ledger of one run
    h = led.holders("households")[0]
    k = led.holders("banks")[0]
    i = {name: n for n, name in enumerate(accounts.INSTRUMENTS)}
    led.stock[0, h, i["housing"]] = house
    led.stock[0, h, i["loans"]] = -debt
    led.stock[0, k, i["loans"]] = debt
    led.net_worth[0, h] = house - debt
    led.net_worth[0, k] = debt
    led.opening = led.sector_stock()  # the step opens on these books
    return led


@pytest.mark.parametrize(("debt", "house"), [(100.0, 60.0), (100.0, 150.0)])
def test_a_seized_house_is_booked_once_at_market_value(debt, house):
    led = _ledger_with_one_borrower(debt, house)
    before_stock, before_worth = led.stock.copy(), led.net_worth.copy()
    defaulted = np.array([[True, False]])
    recovered = housing.seize(
        led, np.arange(2), np.zeros((1, 2), dtype=np.int64), defaulted, np.array([[debt, 0]])
    )
    assert recovered[0, 0] == min(debt, house) and recovered[0, 1] == 0
    change = led.stock - before_stock
    h, k = led.holders("households")[0], led.holders("banks")[0]
    i = {name: n for n, name in enumerate(accounts.INSTRUMENTS)}
    assert change[0, h, i["housing"]] == -house and change[0, k, i["housing"]] == house  # the house moves
    assert change[0, h, i["loans"]] == min(debt, house) and change[0, k, i["loans"]] == -min(debt, house)
    surplus = max(house - debt, 0.0)  # a house worth more than the loan: the surplus is the borrower's
    assert change[0, h, i["deposits"]] == surplus and change[0, k, i["deposits"]] == -surplus
    change[0, [h, k], i["housing"]] = 0
    change[0, [h, k], i["loans"]] = 0
    change[0, [h, k], i["deposits"]] = 0
    assert not change.any()  # nothing else moved
    np.testing.assert_array_equal(led.net_worth, before_worth)  # an exchange at market value
    led.check()


def test_a_defaulting_owner_loses_its_house_to_the_bank_through_a_strict_step():
    sim = Simulation(model, SMALL, runs=1, seed=3, strict=True)
    sim.run(6)
    state = sim.state
    led = _books(sim)
    value = led.stock_of("households", "housing")[0]
    j = int(np.argmax(value))
    bank = int(state["households.bank"][0, j])
    house = value[j]
    # a balanced edit: the owner owes its bank 1 000 times its house more, far beyond what it can serve
    x = 1000 * house
    stock, worth = state["ledger_stock"].copy(), state["ledger_net_worth"].copy()
    h_row, k_row = led.holders("households")[j], led.holders("banks")[bank]
    loan_i = accounts.INSTRUMENTS.index("loans")
    stock[0, h_row, loan_i] -= x
    stock[0, k_row, loan_i] += x
    worth[0, h_row] -= x
    worth[0, k_row] += x
    state.update({"ledger_stock": stock, "ledger_net_worth": worth})
    owed = -stock[0, h_row, loan_i]
    bank_houses = led.stock_of("banks", "housing")[0].copy()
    sim.step()  # strict
    after = _books(sim)
    assert sim.state["houses_seized"][0] == 1
    assert sim.state["housing_recoveries"][0] == pytest.approx(house, rel=1e-12)
    assert after.stock_of("households", "housing")[0, j] == 0  # the house left the household
    assert after.stock_of("banks", "housing")[0, bank] == pytest.approx(bank_houses[bank] + house, rel=1e-12)
    assert sim.state["households.house_units"][0, j] == 0
    assert sim.state["households.tenure"][0, j] == housing.RENTER_TENURE
    assert -after.stock_of("households", "loans")[0, j] == pytest.approx(0.0, abs=1e-6)
    # the loss against the bank's equity is the loan net of the recovery
    write_offs = -after.flow[0, accounts.FLOWS.index("write_offs"), accounts.SECTORS.index("banks")]
    assert write_offs == pytest.approx(owed - house, rel=1e-9)
