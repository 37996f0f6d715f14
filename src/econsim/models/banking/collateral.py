"""Credit in depth (``collateral_credit: true``): a four-factor credit score, collateral with a loan-to-value
cap and seizure on default, and covenants.

Scoring. A firm's application is scored by the logistic default probability

    PD = 1/(1 + e^{−(β0 + β_ℓ·ℓ + β_d·min(d, 10) + β_w·w + β_n·n)}),  β = (−3.5, 3.5, 0.5, −1, 0.5)

of its leverage ℓ = (loans + request)/(capital + deposits + income) (as the base score, ``finance``), its
debt-to-income ratio d = (loans + request)/(annual income), its net-worth ratio w = shareholders' funds /
(capital + deposits) and its past defaults n. The bank refuses above PD = 0.5 and prices
r = i + spread·√(κ/e_k) + premium·PD. (The base score, ``finance.default_probability``, is logistic too but
reads only ℓ and n.)

Collateral. A firm pledges the share ``collateral_pledge`` of its capital (at its book value C): the loan
may not exceed ``loan_to_value``·pledge·C at origination, so a request is cut to that room. When the firm
goes bankrupt and its deposits do not cover its loan, its bank seizes the pledged capital up to what is
still owed, V = min(pledge·C, loan − deposits): one transaction moves V of capital from the firm's real
assets to the bank's and writes the loan down by V (``recoveries``; neither net worth changes); only the
remainder loan − deposits − V is written off against the bank's equity. The firm's capital units shrink by
V/C. ``collateral_seized`` counts the seizures, ``recoveries`` is their value.

Covenants. A borrower must keep its debt-to-equity D/E = loans / shareholders' funds at or below
``covenant_debt_equity`` (shareholders' funds ≤ 0 is a breach). Checked each step before credit; a firm in
breach gets no new loan that step (even when an accelerated repayment brought it back within), and

- ``covenant_action: reprice``: entering a breach adds ``covenant_penalty`` to its loan rate, and the
  penalty is removed when the breach is cured (``firms.covenant_penalty`` holds the spread in force);
- ``covenant_action: accelerate``: the loan falls due now: the firm repays min(deposits, loan) at once.

``covenant_breaches`` counts the firms in breach this step.

Seized capital on the bank's books. The plant a bank took over wears out as it did at the firm: each step,
before this step's seizures (``seized_assets``, right after the covenant test), the banks' capital is
written down at the firms' rate,

    C_k ← C_k·(1 − δ/steps per year)        (a revaluation: the bank's net worth falls, the TFM does not move)

so a seizure is depreciated from the step after it on, once. ``seized_capital`` records Σ_k C_k.
"""

from __future__ import annotations

import numpy as np

from econsim.engine import Arrays, Param, RandomStreams, Var
from econsim.engine.numerics import col
from econsim.models.banking import accounts

#: (β0, β_leverage, β_debt_to_income, β_net_worth_ratio, β_defaults)
BETA = (-3.5, 3.5, 0.5, -1.0, 0.5)
REFUSE_ABOVE = 0.5


PARAMS: list[Param] = [
    Param(
        "collateral_credit",
        False,
        "credit in depth: the four-factor credit score, collateral with a loan-to-value cap and seizure "
        "on default, and covenants (models/banking/collateral.py)",
        kind="bool",
        per_batch=True,
    ),
    Param("loan_to_value", 0.8, "largest loan / pledged collateral value at origination", bounds=(0.0, 10.0)),
    Param("collateral_pledge", 0.5, "share of its capital a borrowing firm pledges", bounds=(0.0, 1.0)),
    Param(
        "covenant_debt_equity",
        3.0,
        "covenant: largest debt-to-equity (loans / shareholders' funds) of a borrower",
        bounds=(0.0, None),
    ),
    Param(
        "covenant_action",
        "reprice",
        "what a covenant breach triggers: 'reprice' (a penalty spread while in breach) or 'accelerate' "
        "(the loan falls due at once)",
        kind="choice",
        choices=("reprice", "accelerate"),
        per_batch=True,
    ),
    Param("covenant_penalty", 0.02, "repricing: loan-rate spread added while in breach", bounds=(0.0, 1.0)),
]

FIRM_VARS: list[Var] = [
    Var("covenant_breach", 0, "1 when this step's covenant test found the firm in breach", dtype=np.int64),
    Var("covenant_penalty", 0.0, "penalty spread in the firm's loan rate (covenant breach)"),
    Var("collateral", 0.0, "capital value the firm pledged at its last application"),
    Var("credit_pd", 0.0, "default probability of the firm's last credit score"),
]

STATE: list[Var] = [
    Var("recoveries", 0.0, "value of seized collateral this step (loans written down by it)"),
    Var("collateral_seized", 0.0, "seizures of pledged capital this step"),
    Var("covenant_breaches", 0.0, "borrowers in breach of their covenant this step"),
]


def default_probability(leverage, debt_to_income, net_worth_ratio, defaults) -> np.ndarray:
    """The four-factor logistic PD of the module doc."""
    b0, b_lev, b_dti, b_nw, b_def = BETA
    z = b0 + b_lev * leverage + b_dti * np.minimum(debt_to_income, 10.0) + b_nw * net_worth_ratio
    return 1.0 / (1.0 + np.exp(-(z + b_def * defaults)))


def shareholders_funds(led) -> np.ndarray:
    """Net worth of each firm before its paid-in shares (a liability of the firm on the ledger)."""
    return led.net_worth[:, led.holders("firms")] - led.stock_of("firms", "equity")


def in_breach(loans, own_funds, p) -> np.ndarray:
    """Borrowers whose debt-to-equity exceeds the covenant (or whose shareholders' funds are gone)."""
    return (loans > 1e-9) & ((own_funds <= 0) | (loans > col(p.covenant_debt_equity) * own_funds))


def score(led, f, p, demand, loans, capital_value, deposits, income) -> tuple[np.ndarray, np.ndarray]:
    """(request cut to the loan-to-value room and to firms within their covenant, PD) of each firm."""
    pledged = col(p.collateral_pledge) * capital_value
    room = np.maximum(col(p.loan_to_value) * pledged - loans, 0.0)
    own_funds = shareholders_funds(led)
    # the test's verdict, not a fresh one: an accelerated repayment must not cure the breach it answered
    demand = np.where(f.covenant_breach > 0, 0.0, np.minimum(demand, room))
    debt = loans + demand
    assets = capital_value + np.maximum(deposits, 0.0)
    pd = default_probability(
        debt / np.maximum(assets + income, 1e-12),
        debt / np.maximum(p.steps_per_year * income, 1e-12),
        own_funds / np.maximum(assets, 1e-12),
        f.defaults,
    )
    return demand, pd


def covenants(s: Arrays, p, rng: RandomStreams) -> dict[str, np.ndarray]:
    """The covenant test before credit: reprice or accelerate the loans of borrowers in breach."""
    if not p.collateral_credit or p.clearing != "markets":
        return {}
    f = s.firms
    led = accounts.books(s, p)
    n_f = f.price.shape[1]
    loans = -led.stock_of("firms", "loans")
    breach = in_breach(loans, shareholders_funds(led), p)
    out: dict[str, np.ndarray] = {
        "covenant_breaches": breach.sum(axis=1).astype(float),
        "firms.covenant_breach": breach.astype(np.int64),
    }
    if p.covenant_action == "reprice":
        penalty = np.where(breach, col(p.covenant_penalty), 0.0)
        out["firms.loan_rate"] = f.loan_rate - f.covenant_penalty + penalty
        out["firms.covenant_penalty"] = penalty
        return out
    due = np.where(breach, np.minimum(np.maximum(led.stock_of("firms", "deposits"), 0.0), loans), 0.0)
    accounts.repay(led, np.arange(n_f), f.bank, np.where(f.lender >= 0, f.lender, 0), due)
    return {**out, **accounts.updates(led)}


def seized_assets(s: Arrays, p, rng: RandomStreams) -> dict[str, np.ndarray]:
    """Depreciation of the capital banks hold from seizures (module doc); nothing to do without it."""
    if p.clearing != "markets":
        return {}
    led = accounts.books(s, p)
    held = led.stock_of("banks", "capital")
    if not held.any():
        return {}
    n_k = held.shape[1]
    led.revalue(
        "banks", "capital", -np.maximum(held, 0.0) * (col(p.depreciation) / p.steps_per_year), np.arange(n_k)
    )
    return accounts.updates(led)


def seize(led, firm_n, lender, bankrupt, owed, p) -> tuple[np.ndarray, np.ndarray]:
    """Bankrupt firms' pledged capital goes to their lender up to ``owed`` (loan less deposits repaid), in
    one booking: (value recovered, share of each firm's capital seized)."""
    capital_value = np.maximum(led.stock_of("firms", "capital"), 0.0)
    value = np.where(
        bankrupt, np.minimum(col(p.collateral_pledge) * capital_value, np.maximum(owed, 0.0)), 0.0
    )
    led.book_net(
        debit=[("firms", "loans", firm_n), ("banks", "capital", lender)],
        credit=[("banks", "loans", lender), ("firms", "capital", firm_n)],
        amount=value,
    )
    return value, value / np.maximum(capital_value, 1e-300)


def seizure_record(value) -> dict[str, np.ndarray]:
    return {"recoveries": value.sum(axis=1), "collateral_seized": (value > 0).sum(axis=1).astype(float)}


OBSERVABLES = {
    "seized_capital": lambda s, p: (
        p.ledger_template.load(s, prefix=accounts.PREFIX, copy=False).stock_of("banks", "capital").sum(axis=1)
    ),
}
