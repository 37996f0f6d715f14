"""The ledger's books at speed: one copy a step (later stages book in place), never a change to a state a
caller holds, the compiled checks catching what the identities forbid, and the compiled market passes
giving the very numbers of the numpy forms they replace."""

from __future__ import annotations

import numpy as np

from econsim.engine import Simulation
from econsim.mechanisms.ledger import Ledger
from econsim.models.banking import accounts, finance, model
from econsim.models.banking.markets import credit_market, tally

SMALL = {"n_households": 200, "n_firms": 20, "n_banks": 3}


def test_sector_stock_is_the_ledgers_reduceat_bit_for_bit():
    # sectors of 1, 5 (< 8 rows), 100 (one block) and 3001 members (halved, then blocks of ≤ 128)
    led = Ledger({"a": 3001, "b": 100, "c": 5, "d": 1}, ("x", "y", "z"), n_runs=2)
    rng = np.random.default_rng(5)
    led.stock = rng.standard_normal(led.stock.shape) * 10.0 ** rng.uniform(-6, 6, led.stock.shape)
    led.stock[1, :, 2] = -0.0  # a column of negative zeros sums to −0 in numpy's order
    ours = accounts.sector_stock(led.stock, led.offsets)
    theirs = led.sector_stock()
    assert ours.tobytes() == theirs.tobytes()


def test_a_stage_called_outside_a_step_leaves_the_state_it_reads_unchanged():
    sim = Simulation(model, SMALL, runs=2, seed=3)
    sim.step(2)
    before = {k: v.copy() for k, v in sim.state.items() if k.startswith("ledger_")}
    out = finance.interest_and_repayment(sim.state, sim.params, sim.rng)
    # a fresh copy was booked into and returned; the state's own arrays are as they were
    assert out["ledger_stock"] is not sim.state["ledger_stock"]
    assert not np.array_equal(out["ledger_stock"], before["ledger_stock"])
    for name, value in before.items():
        assert np.array_equal(sim.state[name], value), name


def test_a_step_books_in_place_only_into_its_own_copy():
    sim = Simulation(model, SMALL, runs=2, seed=3)
    sim.step(1)
    held = {k: v for k, v in sim.state.items() if k.startswith("ledger_")}  # references, as prev holds
    copies = {k: v.copy() for k, v in held.items()}
    sim.step(1)  # strict: every identity checked after the step
    for name, value in held.items():
        assert np.array_equal(value, copies[name]), name  # the old arrays were never written
        assert sim.state[name] is not value
    # after the step no stage owns the books: a stage called now gets copies again
    assert not sim.params.ledger_scratch.owns(sim.state)


def test_the_compiled_checks_catch_a_leak_a_negative_deposit_and_a_mismatched_bank():
    sim = Simulation(model, SMALL, runs=2, seed=3)
    sim.step(3)
    s, p = sim.state, sim.params
    clean = accounts.residuals(s, p)
    assert all((v <= 1e-9).all() for v in clean.values())
    state = dict(s)
    stock = s["ledger_stock"].copy()
    led = p.ledger_template.load(state, prefix=accounts.PREFIX, copy=False)
    h7 = led.holders("households")[7]
    dep = led._instrument("deposits")
    # 1 % of household 7's deposits appear from nowhere in run 1: its net worth, the deposit row and
    # its bank's liabilities no longer tie out
    stock[1, h7, dep] += 0.01 * max(abs(stock[1, h7, dep]), 1.0) + 50.0
    state["ledger_stock"] = stock
    res = accounts.residuals(state, p)
    assert res["net_worth"][1, h7] > 1e-9 and (res["net_worth"][0] <= 1e-9).all()
    assert res["balance_rows"][1, 0] > 1e-9 and res["balance_rows"][0, 0] <= 1e-9
    bank = int(s["households.bank"][1, 7])
    assert res["deposits"][1, bank] > 1e-9 and (res["deposits"][0] <= 1e-9).all()
    # a negative deposit, relative to the economy's gross deposits
    stock = s["ledger_stock"].copy()
    gross = np.abs(stock[0, :, dep]).sum()
    stock[0, h7, dep] = -1e-6 * gross
    state["ledger_stock"] = stock
    negative = accounts.residuals(state, p)["negative"]
    assert negative[0] > 1e-9 and negative[1] <= 1e-9


def test_credit_offers_are_priced_as_the_rate_table_priced_them():
    # 3 firms, 2 banks: firm 0 has lender 1; firm 1 asks banks 0 and 1; firm 2 is refused (PD > 0.5)
    policy = np.array([0.03])
    spread_k = np.array([[0.02, 0.01]])
    pd = np.array([[0.1, 0.3, 0.6]])
    premium_f = 0.05 * pd
    granted, chosen, rate = np.zeros((1, 3)), np.zeros((1, 3), dtype=np.int64), np.zeros((1, 3))
    credit_market(
        np.array([[5.0, 8.0, 1.0]]),
        np.array([[1, -1, -1]]),
        policy,
        spread_k,
        premium_f,
        pd > 0.5,
        np.array([[100.0, 6.0]]),
        np.array([[0, 1, 2]]),
        np.array([[[0.1, 0.7], [0.1, 0.9], [0.2, 0.8]]]),
        granted,
        chosen,
        rate,
    )
    table = policy[:, None, None] + spread_k[:, None, :] + premium_f[:, :, None]  # the old (F, K) table
    assert chosen[0].tolist() == [1, 1, -1]
    assert rate[0, 0] == table[0, 0, 1] and rate[0, 1] == table[0, 1, 1]  # bank 1 is the cheaper
    # bank 1's capacity of 6: 5 to firm 0, the 1 left to firm 1; the refused firm gets nothing
    assert granted[0].tolist() == [5.0, 1.0, 0.0] and rate[0, 2] == 0.0


def test_tally_sums_as_the_bincounts_did():
    rng = np.random.default_rng(2)
    B, n, z, n_f = 2, 500, 3, 40
    seller = np.where(rng.random((B, n, z)) < 0.3, -1, rng.integers(0, n_f, (B, n, z)))
    spent = np.where(seller >= 0, rng.random((B, n, z)) * 10.0 ** rng.uniform(-3, 3, (B, n, z)), 0.0)
    qty = np.where(seller >= 0, rng.random((B, n, z)), 0.0)
    spent_n, sold, revenue = np.empty((B, n)), np.empty((B, n_f)), np.empty((B, n_f))
    tally(seller, spent, qty, spent_n, sold, revenue)
    index = np.where(seller >= 0, seller, 0).reshape(B, -1)
    assert spent_n.tobytes() == spent.sum(axis=2).tobytes()
    assert sold.tobytes() == accounts.sum_by(index, qty.reshape(B, -1), n_f).tobytes()
    assert revenue.tobytes() == accounts.sum_by(index, spent.reshape(B, -1), n_f).tobytes()
