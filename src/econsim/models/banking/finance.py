"""Credit, interest, the central bank's facilities, government finance, and the banks' own accounts.

Credit. A firm's financing gap is next step's wage bill plus its planned investment less its deposits.
Banks score it by a logistic default probability of its leverage ℓ = (loans + gap)/(capital + deposits +
revenue), revenue the larger of the last step's and what the expected sales bring, and its past defaults n
(``collateral_credit`` replaces it by the four-factor score, loan-to-value cap and covenants of ``collateral``):  PD = 1/(1 + e^{−(−4 + 4ℓ + 0.5n)}), refuse above PD = 0.5, and price

    r = i + spread·√(κ/e_k) + premium·PD          (κ capital requirement, e_k the bank's equity/loans)

A bank lends at most ``credit_supply``·(equity/κ − loans). Loans amortize over ``loan_term_years``.

Every step (rates annual, times the year fraction Δ): firms pay interest and principal (repayment
destroys the deposit); banks pay deposit interest at max(0, i − markdown) and savings interest at
max(0, i − savings markdown), and households move deposits beyond ``liquidity_months`` of disposable
income into savings; the central bank pays the
deposit facility on reserves and charges the lending facility on advances; the government pays the bond
rate i + premium on its bonds; the central bank remits its income to the government. The government
covers an overdraft of its account by selling bonds to banks (pro rata to their reserves above the
requirement; the central bank takes the rest) and redeems bonds from a surplus. Finally each bank below
its reserve requirement borrows advances, and one above it repays them.

Banks' accounts: profit is the change of net worth over the step; a share ``payout`` of a positive profit
goes to the owners while equity stays above 1.5 κ·loans; a bank with negative equity fails and is
recapitalised by the government to κ·loans (``capital_transfers``).
"""

from __future__ import annotations

import numpy as np

from econsim.engine import Arrays, RandomStreams
from econsim.models.banking import accounts, collateral
from econsim.models.banking.firms import capital_goods_price, col
from econsim.models.banking.labour import random_order
from econsim.models.banking.markets import credit_market
from econsim.models.banking.policy import facility_rates


def default_probability(leverage: np.ndarray, defaults: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-(-4.0 + 4.0 * leverage + 0.5 * defaults)))


def bank_capacity(led, p) -> tuple[np.ndarray, np.ndarray]:
    """(lending capacity, equity / loans) of every bank: (B, K) each."""
    equity = led.net_worth[:, led.holders("banks")]
    loans = led.stock_of("banks", "loans")
    capacity = np.maximum(col(p.credit_supply) * equity / col(p.capital_requirement) - loans, 0.0)
    return capacity, equity / np.maximum(loans, 1e-12)


def credit(s: Arrays, p, rng: RandomStreams) -> dict[str, np.ndarray]:
    if p.clearing == "multiplier":
        return {}
    f = s.firms
    led = accounts.books(s, p)
    B, n_f = f.price.shape
    deposits = led.stock_of("firms", "deposits")
    loans = -led.stock_of("firms", "loans")
    capital_value = led.stock_of("firms", "capital")
    capital_price = capital_goods_price(f.price, p)
    gap = f.offer * f.labour_target + f.investment_plan * capital_price[:, None] - deposits
    demand = np.where(f.alive, np.maximum(gap, 0.0), 0.0)
    # what the loan is repaid from: the plant, the cash, and the step's revenue — the revenue its
    # expected sales bring where that is more (a firm whose cash ran out has orders still, and without
    # them in its score it could never borrow to pay the workers who would fill them)
    income = np.maximum(f.revenue, f.expected_sales * f.price)
    if p.collateral_credit:
        demand, pd = collateral.score(led, f, p, demand, loans, capital_value, deposits, income)
    else:
        leverage = (loans + demand) / np.maximum(capital_value + np.maximum(deposits, 0.0) + income, 1e-12)
        pd = default_probability(leverage, f.defaults)
    capacity, equity_ratio = bank_capacity(led, p)
    spread = col(p.loan_spread) * np.sqrt(col(p.capital_requirement) / np.maximum(equity_ratio, 1e-6))
    # bank k offers firm f the rate (i + spread_k) + premium·PD_f, and none above PD = 0.5 (priced in the
    # kernel as f asks: a firms × banks table is 40 MB at 10⁵ firms and 50 banks)
    draws = rng("credit")
    granted = np.zeros((B, n_f))
    chosen = np.zeros((B, n_f), dtype=np.int64)
    rate = np.zeros((B, n_f))
    credit_market(
        demand,
        f.lender,
        np.broadcast_to(np.asarray(s.policy_rate, dtype=np.float64), (B,)),
        np.ascontiguousarray(spread),
        np.ascontiguousarray(np.broadcast_to(col(p.risk_premium) * pd, (B, n_f))),
        pd > 0.5,
        capacity.copy(),
        random_order(draws.random((n_f,))),
        draws.random((n_f, int(p.visits_credit))),
        granted,
        chosen,
        rate,
    )
    got = granted > 0
    accounts.lend(led, np.arange(n_f), f.bank, np.where(got, chosen, 0), granted)
    new_loans = loans + granted
    blended = np.where(
        got, (f.loan_rate * loans + rate * granted) / np.maximum(new_loans, 1e-12), f.loan_rate
    )
    scored = (
        {"firms.collateral": col(p.collateral_pledge) * capital_value, "firms.credit_pd": pd}
        if p.collateral_credit
        else {}
    )
    return {
        "firms.lender": np.where(got, chosen, f.lender),
        "firms.loan_rate": blended,
        **scored,
        **accounts.updates(led),
    }


def interest_and_repayment(s: Arrays, p, rng: RandomStreams) -> dict[str, np.ndarray]:
    f, h = s.firms, s.households
    led = accounts.books(s, p)
    _B, n_f = f.price.shape
    n_h = h.wage.shape[1]
    dt = 1.0 / p.steps_per_year
    firm_n, household_n = np.arange(n_f), np.arange(n_h)
    rate = s.policy_rate
    deposit_rate = np.maximum(rate - col(p.deposit_markdown)[:, 0], 0.0)
    facility_dep, facility_lend = facility_rates(p, rate)

    # firms: interest first, then principal, as far as their deposits go
    loans = -led.stock_of("firms", "loans")
    lender = np.where(f.lender >= 0, f.lender, 0)
    deposits = np.maximum(led.stock_of("firms", "deposits"), 0.0)
    interest_due = f.loan_rate * dt * loans
    interest = np.minimum(interest_due, deposits)
    accounts.pay(led, "loan_interest", ("firms", firm_n, f.bank), ("banks", lender, None), interest)
    principal = np.minimum(loans / (col(p.loan_term_years) * p.steps_per_year), deposits - interest)
    accounts.repay(led, firm_n, f.bank, lender, np.maximum(principal, 0.0))

    # deposit interest to households and firms, from their banks
    dep_h = led.stock_of("households", "deposits")
    interest_h = col(deposit_rate) * dt * np.maximum(dep_h, 0.0)
    accounts.pay(
        led, "deposit_interest", ("banks", h.bank, None), ("households", household_n, h.bank), interest_h
    )
    savings_rate = np.maximum(rate - col(p.savings_markdown)[:, 0], 0.0)
    interest_s = col(savings_rate) * dt * np.maximum(led.stock_of("households", "savings"), 0.0)
    accounts.pay(
        led, "deposit_interest", ("banks", h.bank, None), ("households", household_n, h.bank), interest_s
    )
    interest_h = interest_h + interest_s
    if p.clearing == "markets":  # deposits beyond the payments a household needs go into savings
        spare = led.stock_of("households", "deposits") - col(p.liquidity_months) * (
            p.steps_per_year / 12
        ) * np.maximum(h.disposable, 0.0)
        accounts.to_savings(led, household_n, h.bank, np.maximum(spare, 0.0))
    interest_f = col(deposit_rate) * dt * np.maximum(led.stock_of("firms", "deposits"), 0.0)
    accounts.pay(led, "deposit_interest", ("banks", f.bank, None), ("firms", firm_n, f.bank), interest_f)

    # the central bank's facilities, and the government's coupons
    n_k = led.sizes[2]
    bank_k = np.arange(n_k)
    reserves = led.stock_of("banks", "reserves")
    accounts.pay(
        led,
        "reserve_interest",
        ("central_bank", None, None),
        ("banks", bank_k, None),
        col(facility_dep) * dt * np.maximum(reserves, 0.0),
    )
    advances = -led.stock_of("banks", "advances")
    accounts.between_banks_and_cb(
        led, "advance_interest", "reserves", bank_k, col(facility_lend) * dt * advances
    )
    bond_rate = rate + col(p.bond_premium)[:, 0]
    bonds_k = led.stock_of("banks", "bonds")
    accounts.pay(
        led,
        "bond_interest",
        ("government", None, None),
        ("banks", bank_k, None),
        col(bond_rate) * dt * bonds_k,
    )
    bonds_cb = led.stock_of("central_bank", "bonds")[:, 0]
    accounts.pay(
        led,
        "bond_interest",
        ("government", None, None),
        ("central_bank", None, None),
        bond_rate * dt * bonds_cb,
    )
    cb = led._sector("central_bank")
    cb_income = led.flow[:, :, cb].sum(axis=1)  # sources − uses of the central bank this step
    accounts.pay(led, "cb_profit", ("central_bank", None, None), ("government", None, None), cb_income)

    return {
        "firms.interest_paid": interest,
        "households.other_income": h.other_income + interest_h,
        **accounts.updates(led),
    }


def settlement(s: Arrays, p, rng: RandomStreams) -> dict[str, np.ndarray]:
    """End of the step: the government's bonds, then every bank's reserve position."""
    led = accounts.books(s, p)
    if p.clearing != "multiplier":  # SIM's government finances itself with money alone
        _government_finance(led, p)
    _reserve_requirement(led, p)
    return accounts.updates(led)


def _government_finance(led, p) -> None:
    """Bonds cover an overdraft of the government's account (banks first, the central bank the rest);
    a surplus redeems bonds held by banks."""
    account = led.stock_of("government", "reserves")[:, 0]
    requirement = col(p.reserve_requirement) * -led.stock_of("banks", "deposits")
    excess = np.maximum(led.stock_of("banks", "reserves") - requirement, 0.0)
    need = np.maximum(-account, 0.0)
    share = excess / np.maximum(excess.sum(axis=1, keepdims=True), 1e-12)
    from_banks = np.minimum(need, excess.sum(axis=1))
    bought_k = share * from_banks[:, None]
    n_k = led.sizes[2]
    bank_k = np.arange(n_k)
    led.book_net(
        debit=[("banks", "bonds", bank_k), ("government", "reserves")],
        credit=[("banks", "reserves", bank_k), ("government", "bonds")],
        amount=bought_k,
    )
    led.book_net(
        debit=[("central_bank", "bonds"), ("government", "reserves")],
        credit=[("central_bank", "reserves"), ("government", "bonds")],
        amount=need - from_banks,
    )
    surplus = np.maximum(account, 0.0)
    held = led.stock_of("banks", "bonds")
    redeem = np.minimum(surplus[:, None] * held / np.maximum(held.sum(axis=1, keepdims=True), 1e-12), held)
    led.book_net(
        debit=[("banks", "reserves", bank_k), ("government", "bonds")],
        credit=[("banks", "bonds", bank_k), ("government", "reserves")],
        amount=redeem,
    )


def _reserve_requirement(led, p) -> None:
    """Banks short of required reserves borrow advances; banks above it repay theirs."""
    n_k = led.sizes[2]
    bank_k = np.arange(n_k)
    requirement = col(p.reserve_requirement) * -led.stock_of("banks", "deposits")
    reserves = led.stock_of("banks", "reserves")
    advances = -led.stock_of("banks", "advances")
    borrow = np.maximum(requirement - reserves, 0.0)
    repay = np.minimum(np.maximum(reserves - requirement, 0.0), advances)
    accounts.between_banks_and_cb(led, None, "reserves", bank_k, borrow - repay)


def bank_accounts(s: Arrays, p, rng: RandomStreams) -> dict[str, np.ndarray]:
    b, h = s.banks, s.households
    led = accounts.books(s, p)
    banks = led.holders("banks")
    equity = led.net_worth[:, banks]
    profit = equity - b.equity
    loans = led.stock_of("banks", "loans")
    healthy = equity > 1.5 * col(p.capital_requirement) * loans
    reserves = np.maximum(led.stock_of("banks", "reserves"), 0.0)
    dividend = np.where(healthy, np.minimum(col(p.payout) * np.maximum(profit, 0.0), reserves), 0.0)
    n_k = equity.shape[1]
    owners_k = np.bincount(p.bank_owner_h, minlength=n_k)
    per_owner = dividend[:, p.bank_owner_h] / np.maximum(owners_k[p.bank_owner_h], 1)
    n_h = h.wage.shape[1]
    accounts.transfer(
        led,
        "dividends",
        ("banks", np.arange(n_k), None, dividend),
        ("households", np.arange(n_h), h.bank, per_owner),
    )
    equity = led.net_worth[:, banks]
    failed = equity < 0
    rescue = np.where(failed, col(p.capital_requirement) * loans - equity, 0.0)
    accounts.pay(
        led, "capital_transfers", ("government", None, None), ("banks", np.arange(n_k), None), rescue
    )
    return {
        "banks.profit": profit,
        "banks.defaults": b.defaults + failed,
        "banks.equity": led.net_worth[:, banks],
        "bank_defaults": failed.sum(axis=1).astype(float),
        "households.other_income": h.other_income + per_owner,
        **accounts.updates(led),
    }
