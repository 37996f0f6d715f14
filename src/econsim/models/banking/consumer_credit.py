"""Consumer loans: households borrow from their own bank against their income, repay monthly, and the
bank writes off what a household that cannot pay owes.

Each step, after incomes and before the goods market (rates annual, Δ the year fraction):

1. Service. A borrower owes interest r_h·Δ·L and principal L/(term·steps per year) on its loan L. It pays
   from its deposits, drawing its savings first if need be; a household that cannot pay the interest due
   defaults: the bank writes the whole loan off against its equity (``write_offs``: a use of the bank, a
   source of the household) and the household's record of defaults n_h grows by one.
2. Scoring. The credit score of household h combines its leverage ℓ = L/(deposits + savings + shares), its
   debt-to-income ratio d = L/annual income, the sign of its net worth and its history n_h:

       PD = 1/(1 + e^{−(−4 + 2ℓ + 3d + 2·[net worth < 0] + n_h)})

   and the bank offers r_h = i + ``consumer_spread`` + ``risk_premium``·PD, refusing above PD = 0.2.
3. Lending. An employed household whose liquid wealth (deposits + savings) is below ``wealth_target``
   months of disposable income asks for the gap, up to a debt of ``consumer_credit_months`` of it; its
   bank lends within its capacity (``bank_capacity``). The loan is created money: the bank's loan (its
   asset) against the household's debt, and a deposit of the same amount at the same bank.

The loans are the ledger's ``loans`` instrument held by households (a liability, ≤ 0); the recorded
``consumer_credit`` is their total.

With ``housing: true`` (``housing``) a homeowner's loan is secured by its house: the debt after a loan may
not exceed ``mortgage_ltv`` times the house's market value (the loan-to-value cap at origination, in place
of the income room), it amortises over ``mortgage_years``, the house counts in the wealth ℓ reads, an
unemployed owner whose loan exceeds its house's value defaults as well (the double trigger of negative
equity and a lost income, Foote, Gerardi & Willen 2008) and so does an employed owner whose loan exceeds
``walkaway_ltv`` times that value (a strategic default), and a defaulting homeowner's house is seized at
market value before the rest of its loan is written off (``housing.seize``). Renters borrow unsecured as
above.
"""

from __future__ import annotations

import numpy as np

from econsim.engine import Arrays, RandomStreams
from econsim.models.banking import accounts, housing
from econsim.models.banking.finance import bank_capacity
from econsim.models.banking.firms import col

REFUSE_ABOVE = 0.2


def credit_score(debt, liquid, shares, annual_income, defaults) -> np.ndarray:
    """The default probability a bank reads from a household's balance sheet and history (module doc)."""
    leverage = debt / np.maximum(liquid + shares, 1e-9)
    dti = debt / np.maximum(annual_income, 1e-9)
    negative = (liquid + shares - debt) < 0
    return 1.0 / (
        1.0
        + np.exp(-(-4.0 + 2 * np.minimum(leverage, 10) + 3 * np.minimum(dti, 10) + 2 * negative + defaults))
    )


def consumer_credit(s: Arrays, p, rng: RandomStreams) -> dict[str, np.ndarray]:
    if p.clearing != "markets":
        return {}
    h = s.households
    led = accounts.books(s, p)
    n_h = h.wage.shape[1]
    household_n = np.arange(n_h)
    dt = 1.0 / p.steps_per_year

    # 1. service: interest and principal, from deposits topped up from savings
    secured = p.housing and p.clearing == "markets"
    house = np.maximum(led.stock_of("households", "housing"), 0.0) if secured else np.zeros_like(h.wage)
    owner = house > 0
    debt = -led.stock_of("households", "loans")
    interest_due = h.loan_rate * dt * debt
    years = (
        np.where(owner, col(p.mortgage_years), col(p.consumer_loan_years))
        if secured
        else col(p.consumer_loan_years)
    )
    principal_due = debt / (years * p.steps_per_year)
    deposits, savings = led.stock_of("households", "deposits"), led.stock_of("households", "savings")
    due = interest_due + principal_due
    draw = np.clip(due / (1 - 1e-12) - deposits, 0.0, np.maximum(savings, 0.0)) * (debt > 0)
    accounts.to_savings(led, household_n, h.bank, -draw)
    deposits = np.maximum(led.stock_of("households", "deposits"), 0.0)
    defaulted = (debt > 0) & (deposits < interest_due)
    if secured:  # the double trigger: an unemployed owner whose house is worth less than its loan walks away
        walk = (debt > house) & ((h.employer < 0) | (debt > col(p.walkaway_ltv) * house))
        defaulted = defaulted | (owner & walk)
    interest = np.where(defaulted, 0.0, interest_due)
    principal = np.where(defaulted, 0.0, np.minimum(principal_due, deposits - interest))
    accounts.pay(led, "loan_interest", ("households", household_n, h.bank), ("banks", h.bank, None), interest)
    _repay(led, household_n, h.bank, principal)
    recovered = housing.seize(led, household_n, h.bank, defaulted & owner, debt) if secured else 0.0
    lost = np.where(defaulted, debt - recovered, 0.0)
    led.book_net(
        debit=[("households", "loans", household_n, lost), ("banks", "write_offs", h.bank, lost)],
        credit=[("banks", "loans", h.bank, lost), ("households", "write_offs", household_n, lost)],
    )
    history = h.loan_defaults + defaulted

    # 2–3. scoring and lending
    debt = -led.stock_of("households", "loans")
    liquid = led.stock_of("households", "deposits") + led.stock_of("households", "savings")
    monthly = (p.steps_per_year / 12) * np.maximum(h.disposable, 0.0)
    annual_income = p.steps_per_year * np.maximum(h.disposable, 0.0)
    wealth = np.maximum(led.stock_of("households", "equity"), 0.0)
    if secured:
        house = np.maximum(led.stock_of("households", "housing"), 0.0)
        owner = house > 0
        wealth = wealth + house
    pd = credit_score(debt, liquid, wealth, annual_income, history)
    gap = col(p.wealth_target) * monthly - liquid
    room = col(p.consumer_credit_months) * monthly - debt
    if secured:  # the loan-to-value cap at origination
        room = np.where(owner, col(p.mortgage_ltv) * house - debt, room)
    if secured:
        gap = np.where(owner, np.maximum(gap, 0.0) + col(p.equity_extraction) * np.maximum(room, 0.0), gap)
    wanted = np.where(
        (h.employer >= 0) & (pd <= REFUSE_ABOVE), np.clip(np.minimum(gap, room), 0.0, None), 0.0
    )
    capacity, _ = bank_capacity(led, p)
    asked = accounts.sum_by(h.bank, wanted, capacity.shape[1])
    # each bank grants every applicant the same share of its request when its capacity is short
    granted_share = np.minimum(1.0, capacity / np.maximum(asked, 1e-300))
    granted = wanted * np.take_along_axis(granted_share, h.bank, axis=1)
    led.book_net(
        debit=[("banks", "loans", h.bank, granted), ("households", "deposits", household_n, granted)],
        credit=[("households", "loans", household_n, granted), ("banks", "deposits", h.bank, granted)],
    )
    offer = s.policy_rate[:, None] + col(p.consumer_spread) + col(p.risk_premium) * pd
    new_debt = debt + granted
    rate = np.where(
        granted > 0, (h.loan_rate * debt + offer * granted) / np.maximum(new_debt, 1e-300), h.loan_rate
    )
    seized = {}
    if secured:
        taken = defaulted & (house == 0) & (h.house_units > 0)
        seized = {
            "households.house_units": np.where(taken, 0.0, h.house_units),
            "households.tenure": np.where(taken, float(housing.RENTER_TENURE), h.tenure),
            "houses_seized": taken.sum(axis=1).astype(float),
            "housing_recoveries": np.asarray(recovered).sum(axis=1),
        }
    return {
        **seized,
        "households.loan_rate": np.where(new_debt > 0, rate, 0.0),
        "households.loan_defaults": history,
        "households.credit_pd": pd,
        "consumer_defaults": defaulted.sum(axis=1).astype(float),
        **accounts.updates(led),
    }


def _repay(led, household_n, bank_h, amount) -> None:
    """Repayment destroys the deposit and the loan together (the household's bank is its lender)."""
    led.book_net(
        debit=[("households", "loans", household_n, amount), ("banks", "deposits", bank_h, amount)],
        credit=[("households", "deposits", household_n, amount), ("banks", "loans", bank_h, amount)],
    )
