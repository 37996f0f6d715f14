"""The Brock–Hommes equity market: off, the price is its fundamental; in the equity_bubble scenario the
price leaves its fundamental by more than 15 %, with trend-followers trading more at the peaks than in
the calm, and comes back within 3 % of it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from econsim.engine import Simulation
from econsim.models.registry import get_model

CONFIGS = Path(__file__).resolve().parents[3] / "configs" / "banking"


@pytest.mark.slow  # 60 strict steps at 200 households, 20 s in a fresh clone; the default tier's strict
# scenario test sees the equity_bubble mechanism act in a short run
def test_equity_bubble_leaves_its_fundamental_and_returns():
    cfg = yaml.safe_load((CONFIGS / "equity_bubble.yaml").read_text())
    params = {**cfg["params"], "n_households": 200, "n_firms": 20, "n_banks": 2}
    sim = Simulation(get_model("banking"), params, runs=2, seed=cfg["seed"], strict=True)
    cols = sim.run(60).columns
    ratio, share = cols["price_to_fundamental"], cols["speculator_share"]
    np.testing.assert_allclose(cols["asset_price"], ratio * cols["asset_fundamental"], rtol=1e-12)
    for b in range(2):
        r = ratio[:, b]
        first = int(np.argmax(r > 1.15))
        assert r[first] > 1.15  # the bubble
        assert (np.abs(r[first:] - 1.0) < 0.03).any()  # and its return to the fundamental
        calm = np.abs(r - 1.0) < 0.03
        assert share[r > 1.1, b].mean() > share[calm, b].mean()


def test_asset_market_off_keeps_price_at_100():
    sim = Simulation(get_model("banking"), {"n_households": 80, "n_firms": 10, "n_banks": 2}, runs=1, seed=1)
    cols = sim.run(3).columns
    assert np.all(cols["asset_price"] == 100.0) and np.all(cols["price_to_fundamental"] == 1.0)


def test_dividends_and_losses_follow_the_shares_each_owner_holds():
    from econsim.models.banking.accounts import owner_part

    per_firm = np.array([[10.0, 20.0]])
    owner_h = np.array([0, 1, 0, 1])
    np.testing.assert_allclose(owner_part(per_firm, owner_h), [[5.0, 10.0, 5.0, 10.0]])
    held = np.array([[1.0, 3.0, 3.0, 1.0]])
    np.testing.assert_allclose(owner_part(per_firm, owner_h, held), [[2.5, 15.0, 7.5, 5.0]])
    # a firm whose owners hold nothing: equal parts
    np.testing.assert_allclose(
        owner_part(per_firm, owner_h, np.array([[0.0, 3.0, 0.0, 1.0]])), [[5, 15, 5, 5]]
    )


def test_speculators_trade_shares_for_deposits_at_the_market_price():
    """Firm 0's owners are households 0, F, 2F …: household 0 expects +10 %, household F −10 %, nobody
    else trades. With equity_demand 0.5 each wants 5 % of its holding; the trade is the smaller of the two
    at 1.5 per unit of paid-in value: the shares move at paid-in value, 1.5 per unit in deposits, the
    0.5 above it as capital gains, and reserves move with the deposits when their banks differ."""
    from econsim.models.banking import accounts
    from econsim.models.banking.asset_market import trade_shares

    params = {"n_households": 60, "n_firms": 6, "n_banks": 3, "asset_market": True}
    sim = Simulation(get_model("banking"), params, runs=2, seed=3, strict=True)
    sim.run(1)
    s, p = sim.state, sim.params
    led = accounts.books(s, p)
    F = 6
    buyer, seller = 0, F
    expected = np.zeros((2, 60))
    expected[:, buyer], expected[:, seller] = 10.0, -10.0
    held = led.stock_of("households", "equity")
    deposits = led.stock_of("households", "deposits")
    out = trade_shares(s, p, expected, np.array([1.5, 1.5]))
    after = p.ledger_template.load(out, prefix=accounts.PREFIX, copy=False)
    volume = np.minimum(0.05 * held[:, buyer], 0.05 * held[:, seller])
    np.testing.assert_allclose(out["equity_volume"], volume, rtol=1e-12)
    np.testing.assert_allclose(out["equity_turnover"], 1.5 * volume, rtol=1e-12)
    d_eq = after.stock_of("households", "equity") - held
    d_dep = after.stock_of("households", "deposits") - deposits
    np.testing.assert_allclose(d_eq[:, [buyer, seller]], np.stack([volume, -volume], axis=1), rtol=1e-9)
    np.testing.assert_allclose(
        d_dep[:, [buyer, seller]], np.stack([-1.5 * volume, 1.5 * volume], 1), rtol=1e-9
    )
    others = np.ones(60, dtype=bool)
    others[[buyer, seller]] = False
    assert np.abs(d_eq[:, others]).max() == 0 and np.abs(d_dep[:, others]).max() == 0
    bank = s["households.bank"]
    reserves = after.stock_of("banks", "reserves") - led.stock_of("banks", "reserves")
    for b in range(2):
        expect = np.zeros(3)
        expect[bank[b, buyer]] -= 1.5 * volume[b]
        expect[bank[b, seller]] += 1.5 * volume[b]
        np.testing.assert_allclose(reserves[b], expect, atol=1e-9 * volume[b])
    tfm0, tfm = led.transactions_flow(), after.transactions_flow()
    row = tfm.rows.index("capital_gains")
    h = list(tfm.columns).index("households")
    # within the households' column the buyer's loss and the seller's gain cancel; the turnover counts both
    np.testing.assert_allclose(tfm.values[:, row, h] - tfm0.values[:, row, h], 0.0, atol=1e-9)
    after.check()
