"""The Brock–Hommes equity market: off, the price is its fundamental; in the equity_bubble scenario the
price leaves its fundamental by more than 15 %, with trend-followers trading more at the peaks than in
the calm, and comes back within 3 % of it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import yaml

from econsim.engine import Simulation
from econsim.models.registry import get_model

CONFIGS = Path(__file__).resolve().parents[3] / "configs" / "banking"


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
