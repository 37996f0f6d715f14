"""Term bonds, auctions, the yield curve and QE in the banking model: the register ties to the ledger
every step (strict mode), QE creates exactly as many reserves as the face it buys and tapers as set,
the coupons are the auctions' yields, and (slow tier) the qe and sovereign_debt scenarios show QE
lowering the term premium and the term debt piling up."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from econsim.engine import Simulation
from econsim.models.banking import accounts
from econsim.models.banking.sovereign import TENORS, quantitative_easing
from econsim.models.registry import get_model

CONFIGS = Path(__file__).resolve().parents[3] / "configs" / "banking"
SMALL = {
    "n_households": 150,
    "n_firms": 15,
    "n_banks": 3,
    "government_spending": 0.3,
    "debt_response": 0.0,
    "term_issuance": 1.0,
    "qe_amount": 0.05,
    "qe_start": 6,
    "qe_steps": 3,
    "qe_taper_steps": 3,
}


@pytest.fixture(scope="module")
def small_run():
    sim = Simulation(get_model("banking"), SMALL, runs=2, seed=2, strict=True)
    cols = sim.run(14).columns
    return sim, cols


def test_qe_creates_reserves_equal_to_the_bonds_bought(small_run):
    sim, cols = small_run
    q, created = cols["qe_purchases"], cols["qe_reserves_created"]
    target = 0.05 * sim.state["initial_output"]
    # steps 6–8 buy the full amount, 9–11 taper by quarters (1 − k/4), then nothing
    scale = np.array([0, 0, 0, 0, 0, 0, 1, 1, 1, 0.75, 0.5, 0.25, 0, 0, 0], dtype=float)
    np.testing.assert_allclose(q, scale[:, None] * target[None, :], rtol=1e-12)
    np.testing.assert_allclose(created, q, rtol=1e-12, atol=1e-9)
    # the central bank only gets term bonds from QE here (no 2-year bond has matured yet)
    np.testing.assert_allclose(np.diff(cols["cb_term_bonds"], axis=0), q[1:], rtol=1e-12, atol=1e-6)


def test_qe_on_the_ledger_moves_bonds_against_reserves_one_for_one(small_run):
    sim, _ = small_run
    led = accounts.books(sim.state, sim.params)
    face = sim.state["bond_face"]
    n_k = led.sizes[2]
    res0 = led.stock_of("banks", "reserves").sum(axis=1)
    cb0 = led.stock_of("central_bank", "term_bonds")[:, 0].copy()
    held0 = led.stock_of("banks", "term_bonds").sum(axis=1)
    Q = np.array([1000.0, 2500.0])
    after, bought = quantitative_easing(led, face, Q, n_k)
    np.testing.assert_allclose(bought, Q)
    np.testing.assert_allclose(led.stock_of("banks", "reserves").sum(axis=1) - res0, Q, rtol=1e-12)
    np.testing.assert_allclose(led.stock_of("central_bank", "term_bonds")[:, 0] - cb0, Q, rtol=1e-12)
    np.testing.assert_allclose(held0 - led.stock_of("banks", "term_bonds").sum(axis=1), Q, rtol=1e-12)
    led.check()  # every balance-sheet and flow identity still holds
    np.testing.assert_allclose(after.sum(axis=(1, 2))[:, n_k] - face.sum(axis=(1, 2))[:, n_k], Q, rtol=1e-12)


def test_auctions_set_coupons_and_yields_are_recorded(small_run):
    sim, cols = small_run
    issued = cols["bond_issued"][1:]
    assert (issued > 0).mean() > 0.7 and (issued >= 0).all()
    assert np.all(np.abs(cols["bond_unsold"]) < 1e-6 * cols["bond_issued"].max())
    ys = np.stack([cols[f"yield_{int(m)}y"] for m in TENORS])
    assert np.isfinite(ys).all()
    np.testing.assert_allclose(cols["term_spread"], cols["yield_10y"] - cols["yield_2y"], atol=1e-15)
    # the term premium rises with maturity: 30-year above 2-year in every run after the first auction
    assert (cols["yield_30y"][1:] > cols["yield_2y"][1:]).all()
    coupon = sim.state["bond_coupon"]
    live = sim.state["bond_face"].sum(axis=-1) > 0
    assert (coupon[live] > 0).all()
    assert cols["term_debt"][-1].min() > 0


@pytest.mark.slow
def test_qe_scenario_lowers_the_term_premium():
    cfg = yaml.safe_load((CONFIGS / "qe.yaml").read_text())
    spread = {}
    for q in (cfg["params"]["qe_amount"], 0.0):
        sim = Simulation(get_model("banking"), {**cfg["params"], "qe_amount": q}, runs=2, seed=cfg["seed"])
        cols = sim.run(cfg["steps"]).columns
        spread[q] = cols["yield_10y"] - cols["policy_rate"]
        if q:
            m0, qe = cols["m0"], cols["qe_purchases"]
    during = slice(30, 50)
    assert (spread[cfg["params"]["qe_amount"]][during] - spread[0.0][during]).mean() < -0.002
    assert qe.sum(axis=0).min() > 0 and m0[45].min() > m0[23].max()


@pytest.mark.slow
def test_sovereign_debt_scenario_piles_up_term_debt():
    cfg = yaml.safe_load((CONFIGS / "sovereign_debt.yaml").read_text())
    sim = Simulation(get_model("banking"), cfg["params"], runs=2, seed=cfg["seed"], strict=True)
    cols = sim.run(cfg["steps"]).columns
    debt = cols["term_debt"]
    assert (np.diff(debt[1:48], axis=0) > -1e-6).all() and debt[-1].min() > 10 * debt[2].max()
    assert (cols["deficit"][1:] > 0).mean() > 0.9
    assert (cols["bond_volume"][2:] > 0).all()


HOUSEHOLDS = {**SMALL, "qe_amount": 0.0, "household_bonds": 0.2}


@pytest.fixture(scope="module")
def household_run():
    sim = Simulation(get_model("banking"), HOUSEHOLDS, runs=2, seed=2, strict=True)
    return sim, sim.run(10).columns


def test_households_hold_what_they_bought_on_the_order_book(household_run):
    sim, cols = household_run
    led = accounts.books(sim.state, sim.params)
    held = sim.state["bond_household"]
    n_k = led.sizes[2]
    # strict mode checked every step that the ledger and the register agree; here the final numbers
    np.testing.assert_allclose(led.stock_of("households", "term_bonds"), held.sum(axis=2), rtol=1e-12)
    np.testing.assert_allclose(
        held.sum(axis=1), sim.state["bond_face"][..., n_k + 1].sum(axis=2), rtol=1e-9, atol=1e-6
    )
    share = cols["household_term_bonds"][-1] / cols["term_debt"][-1]
    assert (share > 0.05).all() and (share < 0.5).all()
    assert (held >= 0).all() and (held.sum(axis=2) > 0).mean() > 0.9
    # nobody holds more bonds than it wants: at most 20 % of its deposits plus bonds, plus what it
    # bought in the step's last trades before its deposits moved
    deposits = led.stock_of("households", "deposits")
    assert (held.sum(axis=2) <= 0.2 * (deposits + held.sum(axis=2)) * 1.5 + 1.0).mean() > 0.95


def _one_trade(led, household, bank_h, seller, face, paid):
    """(B, n, 4) sides of household ``household`` buying ``face`` for ``paid`` from bank ``seller``."""
    from econsim.models.banking.sovereign import _settle_trades

    B, H, K = led.n_runs, led.sizes[0], led.sizes[2]
    hh = np.zeros((B, H, 4))
    hh[:, household, 0], hh[:, household, 2] = face, paid
    banks = np.zeros((B, K, 4))
    banks[:, seller, 1], banks[:, seller, 3] = face, paid
    _settle_trades(led, [("banks", np.arange(K), None, banks), ("households", np.arange(H), bank_h, hh)])


def test_a_household_pays_for_bonds_from_its_deposit_and_reserves_move_between_banks(household_run):
    sim, _ = household_run
    bank_h = sim.state["households.bank"]
    h = 0
    own = int(bank_h[0, h])
    other = (own + 1) % sim.params.n_banks
    for seller, reserves_move in ((own, False), (other, True)):
        led = accounts.books(sim.state, sim.params)
        before = {
            k: led.stock_of(*k).copy()
            for k in (("households", "deposits"), ("households", "term_bonds"), ("banks", "reserves"),
                      ("banks", "deposits"), ("banks", "term_bonds"))
        }  # fmt: skip
        tfm0 = led.transactions_flow().values
        _one_trade(led, h, bank_h, seller, 100.0, 102.0)
        delta = {k: led.stock_of(*k) - v for k, v in before.items()}
        assert delta["households", "deposits"][0, h] == pytest.approx(-102.0)
        assert delta["households", "term_bonds"][0, h] == pytest.approx(100.0)
        assert delta["banks", "term_bonds"][0, seller] == pytest.approx(-100.0)
        assert delta["banks", "deposits"][0, own] == pytest.approx(102.0)  # its liability falls
        expected = np.zeros(sim.params.n_banks)
        if reserves_move:
            expected[own], expected[seller] = -102.0, 102.0
        np.testing.assert_allclose(delta["banks", "reserves"][0], expected, atol=1e-6)
        # the 2 paid above par is the buyer's capital loss and the seller's gain in the flow matrix
        tfm = led.transactions_flow()
        row, sectors = tfm.rows.index("capital_gains"), list(tfm.columns)
        change = tfm.values - tfm0
        assert change[0, row, sectors.index("households")] == pytest.approx(-2.0)
        assert change[0, row, sectors.index("banks")] == pytest.approx(2.0)
        bonds = tfm.rows.index("Δterm_bonds")
        assert change[0, bonds, sectors.index("households")] == pytest.approx(-100.0)  # a use of funds
        led.check()


def test_households_get_their_share_of_coupons_and_redemptions(household_run):
    from econsim.models.banking.sovereign import _pay_households

    sim, _ = household_run
    s, p = sim.state, sim.params
    led = accounts.books(s, p)
    n_k = led.sizes[2]
    line = s["bond_face"][..., n_k + 1]  # (B, M, V)
    redeem = np.zeros_like(line)
    redeem[:, 0] = line[:, 0] / 2  # half of every 2-year vintage matures
    held = s["bond_household"]
    dep0 = led.stock_of("households", "deposits").copy()
    gov0 = led.stock_of("government", "reserves")[:, 0].copy()
    after = _pay_households(s, p, led, line, redeem)
    share = held / line.sum(axis=2)[:, None, :]
    coupon = (share * ((s["bond_coupon"] * line).sum(axis=2) / p.steps_per_year)[:, None, :]).sum(axis=2)
    np.testing.assert_allclose(after[..., 0], held[..., 0] / 2, rtol=1e-12)
    np.testing.assert_allclose(after[..., 1:], held[..., 1:], rtol=1e-12)
    got = led.stock_of("households", "deposits") - dep0
    np.testing.assert_allclose(got, coupon + held[..., 0] / 2, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(
        gov0 - led.stock_of("government", "reserves")[:, 0], got.sum(axis=1), rtol=1e-9
    )
    np.testing.assert_allclose(led.stock_of("households", "term_bonds"), after.sum(axis=2), rtol=1e-9)
    led.check()


@pytest.mark.slow  # two 12-step runs: 3 s on the loaded test machine
def test_the_high_policy_rate_of_the_qe_scenario_is_the_taylor_rule_on_measured_inflation():
    """qe.yaml's 15–19 % policy rate is no measurement error and no effect of QE: government purchases of
    25 % of initial output with the fiscal rule off hold unemployment at zero, and the prices measured
    from the firms' sales rise; the rule reacts to the expectation of that inflation exactly, and the
    path is the same without QE within 1 % of the rate (reserves swapped for bonds barely move demand)."""
    cfg = yaml.safe_load((CONFIGS / "qe.yaml").read_text())
    small = {**cfg["params"], "n_households": 150, "n_firms": 15, "n_banks": 3, "qe_start": 3}
    runs = {}
    for q in (small["qe_amount"], 0.0):
        sim = Simulation(get_model("banking"), {**small, "qe_amount": q}, runs=1, seed=cfg["seed"])
        runs[q] = sim.run(12).columns
    c = runs[small["qe_amount"]]
    assert c["qe_purchases"].sum() > 0
    np.testing.assert_allclose(c["policy_rate"], runs[0.0]["policy_rate"], rtol=0.01)
    P, pe = c["price_index"][:, 0], c["expected_inflation"][:, 0]
    np.testing.assert_allclose(c["inflation"][1:, 0], P[1:] / P[:-1] - 1, rtol=1e-12)
    np.testing.assert_allclose(pe[1:], pe[:-1] + 0.2 * (c["inflation"][1:, 0] - pe[:-1]), rtol=1e-12)
    for t in (3, 6, 9, 12):  # the meetings (policy_every = 3), on the previous step's numbers
        pi = (1 + pe[t - 1]) ** 12 - 1
        gap = np.log(c["gdp"][t - 1, 0] / c["potential"][t - 1, 0])
        rule = 0.02 + pi + 0.5 * (pi - 0.02) + 0.5 * gap
        assert c["policy_rate"][t, 0] == pytest.approx(max(rule, 0.0), rel=1e-12)
    assert c["unemployment"][6:, 0].mean() < 0.02 and P[12] / P[0] - 1 > 0.03
