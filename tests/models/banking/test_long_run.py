"""The banking economy over the long run: 5 000 months without NaN, negative stocks or collapse, every
identity holding every step, while a genuine leak is still caught however long the run has been."""

from __future__ import annotations

import numpy as np
import pytest

from econsim.engine import InvariantError, Simulation
from econsim.models.banking import accounts, model

SMALL = {"n_households": 200, "n_firms": 20, "n_banks": 3}


def _leak(sim: Simulation, share: float) -> float:
    """Add ``share`` of household 0's largest stock to its deposits, from nowhere (a copy: stages never
    mutate)."""
    stock = sim.state["ledger_stock"].copy()
    amount = share * np.abs(stock[0, 0]).max()
    stock[0, 0, 0] += amount
    sim.state["ledger_stock"] = stock
    return amount


def test_a_leak_of_a_millionth_of_a_stock_is_caught():
    sim = Simulation(model, SMALL, runs=1, seed=3)
    sim.step(12)
    assert _leak(sim, 1e-6) > 0
    with pytest.raises(InvariantError, match=r"balance-sheet rows sum to zero|net worth ties out") as err:
        sim.step()
    assert err.value.step == 13 and err.value.residual > 1e-9


def test_a_leak_is_caught_after_the_volume_of_5000_months():
    """The tie-out's tolerance grows with the volume booked (10⁻¹² of it), not as fast as a leak: with every
    holder's volume raised to what 5 000 months book (about 4 000 times its stocks for a household), a
    leak of 10⁻⁶ of a stock still stops the run."""
    sim = Simulation(model, SMALL, runs=1, seed=3)
    sim.step(3)
    stocks = np.abs(sim.state["ledger_stock"]).sum(axis=2)
    sim.state["ledger_volume"] = np.maximum(sim.state["ledger_volume"], 4000 * stocks)
    sim.step()  # the honest books still tie out
    _leak(sim, 1e-6)
    with pytest.raises(InvariantError, match="net worth ties out"):
        sim.step()


def test_the_tie_out_tolerance_is_scaled_by_the_volume_booked():
    """The residual is |Σ stock − NW| / (Σ|stock| + |NW| + 10⁻³·volume): 10⁻¹² of the volume per 10⁻⁹."""
    sim = Simulation(model, SMALL, runs=1, seed=3)
    sim.step(2)
    s = dict(sim.state)
    s["ledger_stock"] = s["ledger_stock"].copy()
    s["ledger_stock"][0, 0, 0] += 5.0
    led = sim.params.ledger_template.load(s, prefix=accounts.PREFIX, copy=False)
    expected = 5.0 / (np.abs(led.stock[0, 0]).sum() + abs(led.net_worth[0, 0]) + 1e-3 * led.volume[0, 0])
    got = accounts.residuals(s, sim.params)["net_worth"][0, 0]
    assert got == pytest.approx(expected, rel=1e-9)
    assert led.volume[0, 0] > 0 and accounts.VOLUME_RTOL == 1e-12


def test_the_identities_are_computed_once_per_state():
    sim = Simulation(model, SMALL, runs=1, seed=3)
    sim.step()
    checks = sim.params.ledger_checks
    first = checks.residuals(sim.state, sim.params)
    assert checks.residuals(sim.state, sim.params) is first  # shared by the six invariants
    sim.step()
    assert checks.residuals(sim.state, sim.params) is not first  # new arrays, computed afresh
