"""The supply chain: at rest it produces the Leontief flows x = (I − A)⁻¹ d; an iron-ore capacity shock
reaches steel, parts and cars one stage after another through proportional rationing, and the Metzler
inventory rule overshoots when the shock ends."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import yaml

from econsim.engine import Simulation
from econsim.models.banking.supply_chain import INPUT_COEFFICIENTS, steady_flows
from econsim.models.registry import get_model

CONFIGS = Path(__file__).resolve().parents[3] / "configs" / "banking"


def test_leontief_flows():
    """Cars 1 → parts 1 → steel 1 → ore 1; energy 0.2 + 0.2 + 0.3 + 0.1 = 0.8 for one car."""
    x = steady_flows(1.0)
    np.testing.assert_allclose(x, [0.8, 1.0, 1.0, 1.0, 1.0], rtol=1e-14)
    np.testing.assert_allclose(x - INPUT_COEFFICIENTS @ x, [0, 0, 0, 0, 1.0], atol=1e-14)


def test_an_ore_shock_ripples_downstream():
    cfg = yaml.safe_load((CONFIGS / "supply_chain_shock.yaml").read_text())
    params = {**cfg["params"], "n_households": 200, "n_firms": 20, "n_banks": 2}
    sim = Simulation(get_model("banking"), params, runs=1, seed=cfg["seed"], strict=True)
    start, length = params["chain_shock_step"], params["chain_shock_steps"]
    cols = sim.run(start + length + 8).columns
    out, fill = cols["chain_output"][:, 0], cols["chain_fill"][:, 0]  # (steps, sectors)
    before = out[start - 1]
    hit = [int(np.argmax(out[start:, s] < 0.6 * before[s])) + start for s in (1, 2, 3, 4)]
    assert all(out[t, s] < 0.6 * before[s] for t, s in zip(hit, (1, 2, 3, 4), strict=True))
    assert hit[0] == start and hit[0] < hit[1] < hit[2] < hit[3]  # ore, then steel, parts, cars
    assert fill[start : start + length, 2].min() < 0.6 and fill[start : start + length, 3].min() < 0.6
    assert fill[:start, 1:].min() > 0.999  # no rationing before the shock
    # after the shock the ore firms rebuild their stocks: output above its pre-shock level
    assert out[start + length : start + length + 4, 1].max() > 1.2 * before[1]


def test_leontief_prices_cover_each_stage_inputs_plus_one_unit_of_value_added():
    from econsim.models.banking.supply_chain import unit_prices

    prices = unit_prices()
    np.testing.assert_allclose(prices, [1.0, 1.1, 2.4, 3.6, 4.8], rtol=1e-14)
    np.testing.assert_allclose(prices - INPUT_COEFFICIENTS.T @ prices, 1.0, rtol=1e-14)


SMALL_CHAIN = {"n_households": 60, "n_firms": 12, "n_banks": 3, "supply_chain": True}


def test_the_chain_pays_for_its_goods_on_the_ledger_at_leontief_prices():
    """At rest (step 1) the cars sell for chain_value of initial output at the price level, and the
    intermediate shipments A·x are worth (32·1 + 40·1.1 + 40·2.4 + 40·3.6)/(40·4.8) = 316/192 of that."""
    from econsim.models.banking import accounts
    from econsim.models.banking.supply_chain import supply_chain

    sim = Simulation(get_model("banking"), SMALL_CHAIN, runs=2, seed=4, strict=True)
    cols = sim.run(2).columns
    s, p = sim.state, sim.params
    level = cols["price_index"][1] / s["base_price_c"]
    durables = 0.01 * s["initial_output"] * level
    np.testing.assert_allclose(cols["chain_durables"][1], durables, rtol=1e-12)
    np.testing.assert_allclose(cols["chain_payments"][1], 316 / 192 * durables, rtol=1e-12)
    np.testing.assert_allclose(cols["chain_revenue"][1][:, -1], durables, rtol=1e-12)
    # one more step by hand: the deposits move, the banks' reserves follow their customers' deposits
    before = accounts.books(s, p)
    out = supply_chain(s, p, None)
    after = p.ledger_template.load(out, prefix=accounts.PREFIX, copy=False)
    d = {
        sec: after.stock_of(sec, "deposits") - before.stock_of(sec, "deposits")
        for sec in ("households", "firms")
    }
    np.testing.assert_allclose(d["households"].sum(axis=1), -out["chain_durables"], rtol=1e-9)
    np.testing.assert_allclose(d["firms"].sum(axis=1), out["chain_durables"], rtol=1e-9)
    np.testing.assert_allclose(out["chain_revenue_s"][:, :-1].sum(axis=1), out["chain_payments"], rtol=1e-12)
    moved = accounts.sum_by(s["households.bank"], d["households"], 3) + accounts.sum_by(
        s["firms.bank"], d["firms"], 3
    )
    reserves = after.stock_of("banks", "reserves") - before.stock_of("banks", "reserves")
    np.testing.assert_allclose(reserves, moved, atol=1e-7 * out["chain_payments"].max())
    assert np.abs(reserves).max() > 0  # customers of different banks traded
    tfm = after.transactions_flow()
    sectors = list(tfm.columns)
    for row in ("intermediate_goods", "durables"):
        assert abs(tfm.row_sums()[:, tfm.rows.index(row)]).max() < 1e-9 * out["chain_payments"].max()
    assert (tfm.values[:, tfm.rows.index("durables"), sectors.index("households")] < 0).all()
    after.check()
