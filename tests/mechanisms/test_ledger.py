"""The double-entry ledger: Godley–Lavoie model SIM in closed form, money created by a loan and destroyed
by its repayment, payments between customers of two banks settling reserves, real assets, the refusal of
unbalanced transactions, and many transactions booked at once equal to booking them one by one."""

from __future__ import annotations

import numpy as np
import pytest

from econsim.engine.errors import ConfigError
from econsim.mechanisms.ledger import Ledger, LedgerImbalanceError, UnbalancedTransactionError

SIM_FLOWS = ("consumption", "government_spending", "wages", "taxes")


def book_sim_period(ledger: Ledger, G, theta, a1, a2):
    """One period of model SIM (Godley & Lavoie 2007, ch. 3), all transactions settled in cash H.

    Y = C + G, T = θY, YD = Y − T, C = α₁·YD + α₂·H₋₁  ⇒  Y = (G + α₂H₋₁) / (1 − α₁(1 − θ)).
    """
    h_prev = ledger.stock_of("households", "cash")[:, 0].copy()
    y = (G + a2 * h_prev) / (1.0 - a1 * (1.0 - theta))
    tax = theta * y
    consumption = a1 * (y - tax) + a2 * h_prev
    # government buys output with newly issued cash (its liability grows)
    ledger.pay("government_spending", "government", "production", G, via="cash")
    ledger.pay("wages", "production", "households", y, via="cash")
    ledger.pay("taxes", "households", "government", tax, via="cash")
    ledger.pay("consumption", "households", "production", consumption, via="cash")
    return y, tax, consumption


def test_model_sim_first_period_and_steady_state_in_closed_form():
    G = np.array([20.0, 20.0, 30.0])
    theta, a1, a2 = 0.2, 0.6, 0.4
    ledger = Ledger(("households", "production", "government"), ("cash",), SIM_FLOWS, n_runs=3)
    history = []
    for period in range(300):
        y, tax, consumption = book_sim_period(ledger, G, theta, a1, a2)
        ledger.check()
        tfm = ledger.new_step()
        history.append(y)
        np.testing.assert_allclose(tfm.row_sums(), 0.0, atol=1e-12)
        np.testing.assert_allclose(tfm.column_sums(), 0.0, atol=1e-12)
        if period == 0:
            np.testing.assert_allclose(y, G / (1 - a1 * (1 - theta)))
            np.testing.assert_allclose(y[0], 38.46153846153846, rtol=1e-12)
            # TFM of the first period, households / production / government
            expected = {
                "consumption": [-consumption[0], consumption[0], 0.0],
                "government_spending": [0.0, 20.0, -20.0],
                "wages": [y[0], -y[0], 0.0],
                "taxes": [-tax[0], 0.0, tax[0]],
                "Δcash": [-(y[0] - tax[0] - consumption[0]), 0.0, 20.0 - tax[0]],
            }
            for row, values in expected.items():
                np.testing.assert_allclose(tfm.values[0, tfm.rows.index(row)], values, atol=1e-12)
    np.testing.assert_allclose(history[-1], G / theta, rtol=1e-9)  # steady state Y* = G/θ = 100
    # H* = α₁(1 − θ)Y*·(1/α₂ − 1/α₂·…): at the steady state YD = C, i.e. (1 − α₁)(1 − θ)Y* = α₂H*
    cash = ledger.stock_of("households", "cash")[:, 0]
    np.testing.assert_allclose(cash, (1 - a1) * (1 - theta) * G / theta / a2, rtol=1e-9)
    bs = ledger.balance_sheet()
    np.testing.assert_allclose(bs.values[:, bs.rows.index("cash")].sum(axis=1), 0.0, atol=1e-9)
    np.testing.assert_allclose(bs.column_sums(), 0.0, atol=1e-9)
    np.testing.assert_allclose(ledger.net_worth[:, 0], cash, rtol=1e-12)  # households own the money
    np.testing.assert_allclose(ledger.net_worth[:, 2], -cash, rtol=1e-12)  # the government owes it
    np.testing.assert_allclose(ledger.stock_of("production", "cash"), 0.0, atol=1e-9)  # no profits in SIM


def banking_ledger(n_runs=2) -> Ledger:
    return Ledger(
        {"households": 2, "banks": 2, "central_bank": 1},
        ("deposits", "loans", "reserves", "advances"),
        ("consumption", "interest"),
        n_runs=n_runs,
    )


def money(ledger: Ledger) -> np.ndarray:
    return ledger.stock_of("households", "deposits").sum(axis=1)


def test_a_loan_creates_a_deposit_and_its_repayment_destroys_it():
    ledger = banking_ledger()
    amount = np.array([100.0, 250.0])
    # bank 0 lends to household 0: loan asset and deposit liability of the bank, the mirror for the household
    ledger.book(
        debit=[("banks", "loans", 0), ("households", "deposits", 0)],
        credit=[("banks", "deposits", 0), ("households", "loans", 0)],
        amount=amount,
    )
    ledger.check()
    np.testing.assert_array_equal(money(ledger), amount)
    np.testing.assert_array_equal(ledger.stock_of("banks", "deposits")[:, 0], -amount)
    np.testing.assert_array_equal(ledger.net_worth, 0.0)  # a loan changes no one's net worth
    tfm = ledger.transactions_flow()
    np.testing.assert_array_equal(tfm.values[:, tfm.rows.index("Δdeposits")], -np.outer(amount, [1, -1, 0]))
    # interest 5%: paid from the deposit, income of the bank
    ledger.pay("interest", ("households", 0), ("banks", 0), 0.05 * amount, via="deposits")
    np.testing.assert_allclose(ledger.net_worth[:, ledger.holders("banks", 0)], 0.05 * amount)
    # repayment of what is left of the deposit destroys that money
    left = money(ledger)
    ledger.book(
        debit=[("banks", "deposits", 0), ("households", "loans", 0)],
        credit=[("banks", "loans", 0), ("households", "deposits", 0)],
        amount=left,
    )
    ledger.check()
    np.testing.assert_allclose(money(ledger), 0.0, atol=1e-12)
    np.testing.assert_allclose(ledger.stock_of("households", "loans")[:, 0], -0.05 * amount)


def test_a_payment_between_customers_of_two_banks_settles_reserves():
    ledger = banking_ledger()
    # the central bank advances reserves to both banks; each bank lends to its household
    for bank in (0, 1):
        ledger.book(
            debit=[("banks", "reserves", bank), ("central_bank", "advances")],
            credit=[("banks", "advances", bank), ("central_bank", "reserves")],
            amount=50.0,
        )
        ledger.book(
            debit=[("banks", "loans", bank), ("households", "deposits", bank)],
            credit=[("banks", "deposits", bank), ("households", "loans", bank)],
            amount=80.0,
        )
    ledger.new_step()
    x = np.array([30.0, 12.5])
    ledger.pay("consumption", ("households", 0), ("households", 1), x, via="deposits",
               issuers=(("banks", 0), ("banks", 1)), settle="reserves")  # fmt: skip
    ledger.check()
    reserves = ledger.stock_of("banks", "reserves")
    np.testing.assert_array_equal(reserves, np.stack([50.0 - x, 50.0 + x], axis=1))
    np.testing.assert_array_equal(ledger.stock_of("banks", "deposits"), np.stack([x - 80, -80 - x], axis=1))
    np.testing.assert_array_equal(money(ledger), 160.0)  # money moved, none created
    np.testing.assert_array_equal(ledger.net_worth[:, ledger.holders("banks")], 0.0)
    tfm = ledger.transactions_flow()
    np.testing.assert_array_equal(tfm.values[:, tfm.rows.index("Δreserves"), 1], 0.0)  # banks net: zero
    np.testing.assert_array_equal(tfm.values[:, tfm.rows.index("consumption"), 0], 0.0)  # within households
    # customers of the same bank: no reserves move
    ledger.book(
        debit=[("banks", "loans", 0), ("households", "deposits", 1)],
        credit=[("banks", "deposits", 0), ("households", "loans", 1)],
        amount=10.0,
    )
    before = ledger.stock_of("banks", "reserves").copy()
    ledger.pay("consumption", ("households", 1), ("households", 0), 5.0, via="deposits",
               issuers=(("banks", np.array([1, 0])[:, None]), ("banks", 0)), settle="reserves")  # fmt: skip
    after = ledger.stock_of("banks", "reserves")
    np.testing.assert_array_equal(after[0], before[0] + [5.0, -5.0])  # run 0: bank 1 pays bank 0
    np.testing.assert_array_equal(after[1], before[1])  # run 1: the payer banks with bank 0 too
    ledger.check()


def test_real_assets_and_revaluation_tie_out():
    ledger = Ledger(
        {"households": 1, "firms": 2, "banks": 1},
        ("deposits", "loans", "capital"),
        ("investment", "wages"),
        real={"capital": "investment"},
    )
    ledger.book(
        debit=[("banks", "loans"), ("firms", "deposits", 0)],
        credit=[("banks", "deposits"), ("firms", "loans", 0)],
        amount=60.0,
    )
    # firm 0 buys a machine from firm 1: a use of funds in the investment row, a real asset at cost
    ledger.book(
        debit=[("firms", "capital", 0), ("firms", "deposits", 1)],
        credit=[("firms", "deposits", 0), ("firms", "investment", 1)],
        amount=25.0,
    )
    ledger.pay("wages", ("firms", 1), "households", 25.0, via="deposits")
    ledger.check()
    np.testing.assert_array_equal(ledger.stock_of("firms", "capital"), [[25.0, 0.0]])
    np.testing.assert_array_equal(ledger.stock_of("firms", "deposits"), [[35.0, 0.0]])
    tfm = ledger.transactions_flow()
    np.testing.assert_array_equal(
        tfm.values[0, tfm.rows.index("investment")], [0.0, 0.0, 0.0]
    )  # within firms
    np.testing.assert_array_equal(tfm.values[0, tfm.rows.index("wages")], [25.0, -25.0, 0.0])
    np.testing.assert_array_equal(ledger.net_worth[0], [25.0, 0.0, 0.0, 0.0])
    bs = ledger.balance_sheet()
    np.testing.assert_allclose(-bs.values[0, -1].sum(), 25.0)  # Σ net worth = the real assets
    ledger.revalue("firms", "capital", -5.0, member=0)  # depreciation: net worth falls, no flow
    ledger.check()
    np.testing.assert_array_equal(ledger.net_worth[0], [25.0, -5.0, 0.0, 0.0])
    np.testing.assert_array_equal(ledger.transactions_flow().values, tfm.values)
    with pytest.raises(ConfigError, match="only real assets"):
        ledger.revalue("households", "deposits", 1.0)


def test_unbalanced_transactions_are_refused_by_name():
    ledger = banking_ledger()
    with pytest.raises(UnbalancedTransactionError, match=r"account 'deposits' has debits 10 ≠ credits 9"):
        ledger.book(
            debit=[("households", "deposits", 0, 10.0), ("banks", "loans", 0, 10.0)],
            credit=[("banks", "deposits", 0, 9.0), ("households", "loans", 0, 10.0)],
        )
    # a gift without a flow row: the instrument balances, each holder's books do not
    with pytest.raises(UnbalancedTransactionError, match=r"holder households\[1\]'s own books"):
        ledger.book(debit=("households", "deposits", 1), credit=("households", "deposits", 0), amount=1.0)
    # only transaction 2 of run 1 is unbalanced; the error names it and nothing is booked
    amounts = np.ones((2, 4))
    wrong = amounts.copy()
    wrong[1, 2] = 1.5
    with pytest.raises(UnbalancedTransactionError, match=r"run 1, transaction 2"):
        ledger.book(
            debit=[("households", "consumption", 0, amounts), ("households", "deposits", 1, wrong)],
            credit=[("households", "deposits", 0, amounts), ("households", "consumption", 1, amounts)],
        )
    np.testing.assert_array_equal(ledger.stock, 0.0)
    with pytest.raises(ConfigError, match="sector 'households' has 2 members"):
        ledger.book(debit=("households", "deposits"), credit=("banks", "deposits", 0), amount=1.0)
    with pytest.raises(ConfigError, match=r"unknown account 'deposit' .*did you mean 'deposits'"):
        ledger.book(debit=("households", "deposit", 0), credit=("banks", "deposits", 0), amount=1.0)
    with pytest.raises(ConfigError, match="out of range"):
        ledger.book(debit=("households", "deposits", 2), credit=("banks", "deposits", 0), amount=1.0)


def test_check_catches_a_stock_changed_outside_book():
    ledger = banking_ledger()
    ledger.book(
        debit=[("banks", "loans", 0), ("households", "deposits", 0)],
        credit=[("banks", "deposits", 0), ("households", "loans", 0)],
        amount=1.0,
    )
    ledger.stock_of("households", "deposits")[1, 0] += 0.5
    with pytest.raises(
        LedgerImbalanceError, match=r"balance-sheet row 'deposits' sums to 0.5, not zero \(run 1\)"
    ):
        ledger.check()
    ledger.stock_of("banks", "deposits")[1, 0] -= 0.5
    with pytest.raises(LedgerImbalanceError, match=r"net worth of households\[0\] does not tie out in run 1"):
        ledger.check()


def test_many_transactions_at_once_equal_booking_them_one_by_one():
    rng = np.random.default_rng(5)
    B, H, F, n = 3, 400, 7, 2000
    sectors = {"households": H, "firms": F, "banks": 3, "central_bank": 1}

    def fresh():
        ledger = Ledger(sectors, ("deposits", "reserves", "advances"), ("consumption",), n_runs=B)
        banks = np.arange(3)  # three transactions, the same in every run: the central bank lends reserves
        ledger.book(
            debit=[("banks", "reserves", banks), ("central_bank", "advances")],
            credit=[("banks", "advances", banks), ("central_bank", "reserves")],
            amount=1e4,
        )
        return ledger

    payer = rng.integers(0, H, (B, n))
    payee = rng.integers(0, F, n)  # the same firm in every run
    bank_h, bank_f = rng.integers(0, 3, H), rng.integers(0, 3, F)
    amount = rng.exponential(10.0, (B, n))
    batch = fresh()
    batch.pay("consumption", ("households", payer), ("firms", payee), amount, via="deposits",
              issuers=(("banks", bank_h[payer]), ("banks", bank_f[payee][None, :])), settle="reserves")  # fmt: skip
    loop = fresh()
    for t in range(n):
        # one transaction per run: (B, 1) members and amounts (a 1-d member array would mean n
        # transactions shared by every run)
        one = payer[:, [t]]
        loop.pay("consumption", ("households", one), ("firms", payee[t]), amount[:, [t]], via="deposits",
                 issuers=(("banks", bank_h[one]), ("banks", bank_f[payee[t]])), settle="reserves")  # fmt: skip
    np.testing.assert_array_equal(batch.stock, loop.stock)  # same additions in the same order
    np.testing.assert_array_equal(batch.net_worth, loop.net_worth)
    np.testing.assert_allclose(batch.flow, loop.flow, rtol=1e-12)
    spent = np.zeros((B, H))
    np.add.at(spent, (np.arange(B)[:, None], payer), amount)
    np.testing.assert_allclose(-batch.stock_of("households", "deposits"), spent, rtol=1e-12)
    received = np.stack([np.bincount(payee, weights=amount[b], minlength=F) for b in range(B)])
    np.testing.assert_allclose(batch.stock_of("firms", "deposits"), received, rtol=1e-12)
    batch.check()
    np.testing.assert_allclose(batch.stock_of("banks", "reserves").sum(axis=1), 3e4, rtol=1e-12)


def test_the_ledger_travels_in_a_model_state():
    ledger = banking_ledger(n_runs=3)
    names = [v.name for v in ledger.variables("bank")]
    assert names == ["bank_stock", "bank_net_worth", "bank_flow", "bank_opening", "bank_turnover"]
    # turnover rows: the 2 flows and the 4 financial instruments
    assert [v.shape for v in ledger.variables("bank")] == [(5, 4), (5,), (2, 3), (3, 4), (6, 3)]
    ledger.pay("interest", ("households", 1), ("banks", 1), 2.0, via="deposits")
    state = ledger.arrays("bank")
    again = ledger.load(state, "bank")
    again.pay("interest", ("households", 1), ("banks", 1), 1.0, via="deposits")
    np.testing.assert_array_equal(ledger.stock_of("households", "deposits")[:, 1], -2.0)  # a copy
    np.testing.assert_array_equal(again.stock_of("households", "deposits")[:, 1], -3.0)
    np.testing.assert_array_equal(again.sector_net_worth()[:, 1], 3.0)


def test_tracked_volume_scales_the_tie_out_of_a_long_run():
    """Split payments (consumption and tax from one deposit debit) round differently in the stocks and in
    the booked net worth: the gap grows with the volume booked, not with the current stocks."""
    H, F = 200, 5
    ledger = Ledger({"households": H, "firms": F, "government": 1}, ("deposits",),
                    ("wages", "consumption", "taxes"), track_volume=True)  # fmt: skip
    rng = np.random.default_rng(3)
    hh, employer = np.arange(H), rng.integers(0, F, H)
    worst_stock_scale, booked = 0.0, np.zeros((1, H))
    for _ in range(1500):
        wage = rng.uniform(50, 150, (1, H))
        ledger.pay("wages", ("firms", employer), ("households", hh), wage, via="deposits")
        x = 0.8 * ledger.stock_of("households", "deposits")
        y, firm = 0.25 * x, rng.integers(0, F, (1, H))
        ledger.book(
            debit=[("households", "consumption", hh, x), ("households", "taxes", hh, y),
                   ("firms", "deposits", firm, x), ("government", "deposits", 0, y)],
            credit=[("households", "deposits", hh, x + y), ("firms", "consumption", firm, x),
                    ("government", "taxes", 0, y)],
        )  # fmt: skip
        booked += 2 * wage + 2 * (x + y)  # each household: two legs of the wage, three of its spending
        gap = np.abs(ledger.stock.sum(axis=2) - ledger.net_worth)
        scale = np.abs(ledger.stock).sum(axis=2) + np.abs(ledger.net_worth)
        worst_stock_scale = max(worst_stock_scale, float((gap / np.maximum(scale, 1.0)).max()))
        ledger.new_step()
    assert worst_stock_scale > 1e-13  # the drift is real …
    assert ledger.residuals()["net_worth"].max() < 1e-15  # … and tiny against the volume booked
    ledger.check(rtol=1e-14)
    np.testing.assert_allclose(ledger.volume[:, :H], booked, rtol=1e-12)
    assert [v.name for v in ledger.variables()][-1] == "ledger_volume"
    with pytest.raises(ConfigError, match="the state has no 'ledger_volume'"):
        ledger.load({k: v for k, v in ledger.arrays().items() if k != "ledger_volume"})


def test_net_booking_matches_booking_payment_by_payment():
    """``book_net`` (a market booked by one leg per buyer and one per seller) leaves every stock, net worth,
    TFM row, turnover and volume where ``book`` leaves them, payment by payment, up to rounding; an
    unbalanced batch is refused before anything is booked."""
    H, F = 50, 4

    def fresh() -> Ledger:
        led = Ledger(
            {"households": H, "firms": F}, ("deposits",), ("consumption",), n_runs=2, track_volume=True
        )
        led.stock[:, :H, 0] = 100.0
        led.stock[:, H:, 0] = -100.0 * H / F
        led.net_worth[:] = led.stock.sum(axis=2)
        led.opening = led.sector_stock()
        return led

    rng = np.random.default_rng(5)
    seller = rng.integers(0, F, (2, H, 3))
    spent = rng.uniform(0, 10, (2, H, 3))
    one = fresh()
    buyers = np.broadcast_to(np.repeat(np.arange(H), 3), (2, 3 * H))
    one.book(
        debit=[("households", "consumption", buyers), ("firms", "deposits", seller.reshape(2, -1))],
        credit=[("households", "deposits", buyers), ("firms", "consumption", seller.reshape(2, -1))],
        amount=spent.reshape(2, -1),
    )
    net = fresh()
    per_buyer = spent.sum(axis=2)
    per_seller = np.zeros((2, F))
    for b in range(2):
        np.add.at(per_seller[b], seller[b].ravel(), spent[b].ravel())
    net.book_net(
        debit=[("households", "consumption", np.arange(H), per_buyer), ("firms", "deposits", np.arange(F), per_seller)],
        credit=[("households", "deposits", np.arange(H), per_buyer), ("firms", "consumption", np.arange(F), per_seller)],
    )  # fmt: skip
    for name in ("stock", "net_worth", "flow", "turnover"):
        np.testing.assert_allclose(getattr(net, name), getattr(one, name), rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(net.volume[:, :H], one.volume[:, :H], rtol=1e-12)
    np.testing.assert_allclose(net.volume[:, H:].sum(axis=1), one.volume[:, H:].sum(axis=1), rtol=1e-12)
    net.check()
    before = net.stock.copy()
    with pytest.raises(UnbalancedTransactionError, match="account 'consumption'"):
        net.book_net(
            debit=[("households", "consumption", np.arange(H), per_buyer), ("firms", "deposits", np.arange(F), per_seller)],
            credit=[("households", "deposits", np.arange(H), per_buyer), ("firms", "consumption", np.arange(F), 0.5 * per_seller)],
        )  # fmt: skip
    np.testing.assert_array_equal(net.stock, before)
