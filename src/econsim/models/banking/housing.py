"""Household collateral (``housing: true``): houses as a real asset of households, loans secured by them
under a loan-to-value cap at origination, and seizure on default.

Houses. At t = 0 every owner-occupier of the survey (tenure 1–3: owned with or without a mortgage) holds a
house worth ``house_value_years`` years of its gross wage at the initial wage (``households.house_units``
units at the house price P₀ = 1); renters hold none. The ledger books the houses at market value, the
instrument ``housing`` (a real asset beside the household's deposits, savings and shares). Each step the
house price moves by its trend and, at step ``house_shock_step``, by the shock:

    P_t = P_{t−1}·(1 + g)^{1/steps per year}·(1 − s·[t = t_shock])

and every house on the books (a household's or a bank's) is revalued to units × P_t — a revaluation: net
worth moves, the transactions-flow matrix does not.

Secured loans (``consumer_credit``). A homeowner's consumer loan is secured by its house: at origination the
loan may not exceed the cap, L + ΔL ≤ LTV·V (V = units × P, LTV = ``mortgage_ltv``), in place of the income
room of an unsecured loan, and it amortises over ``mortgage_years``; the house counts in the wealth the
credit score reads; beyond its liquidity need an owner also draws ``equity_extraction`` of its remaining
room each step (home-equity extraction). Renters borrow unsecured as before.

Seizure (``seize``). A homeowner that defaults loses its house, booked once: the bank takes the house at
its market value V and writes the loan down by the recovery R = min(V, L); where the house is worth more
than the loan the bank pays the surplus V − R into the household's deposits (a foreclosure sale's proceeds
beyond the debt are the borrower's). Neither net worth changes in that exchange; only the rest of the
loan, L − R, is written off against the bank's equity. The house leaves the household (its units go to
zero, its tenure becomes renting) and sits on the bank's books at market value, revalued with P.
``houses_seized`` counts the seizures of the step and ``housing_recoveries`` is their value R.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from econsim.engine import Arrays, Param, RandomStreams, Var
from econsim.engine.numerics import col
from econsim.models.banking import accounts
from econsim.models.banking.markets import SKILL_WEIGHT

#: survey housing tenure codes (CE ``CUTENURE``) of owner-occupiers
OWNER_TENURE = (1, 2, 3)
RENTER_TENURE = 4


PARAMS: list[Param] = [
    Param(
        "housing",
        False,
        "household collateral: owner-occupiers hold houses (a real asset at market value) that secure "
        "their loans under a loan-to-value cap and are seized on default (models/banking/housing.py)",
        kind="bool",
        per_batch=True,
    ),
    Param(
        "house_value_years",
        3.0,
        "an owner's house at t = 0, in years of its gross wage at the initial wage",
        bounds=(0.0, 100.0),
    ),
    Param("mortgage_ltv", 0.8, "largest secured loan / house value at origination", bounds=(0.0, 1.0)),
    Param("mortgage_years", 25.0, "years over which loans secured by a house amortize", bounds=(1e-3, None)),
    Param(
        "equity_extraction",
        0.0,
        "share of its remaining secured room (LTV·V − L) a homeowner borrows each step beyond its "
        "liquidity need (home-equity extraction)",
        bounds=(0.0, 1.0),
    ),
    Param(
        "walkaway_ltv",
        10.0,
        "an owner whose loan exceeds this multiple of its house's value defaults even when employed "
        "(strategic default); unemployed owners default as soon as the loan exceeds the house's value",
        bounds=(1.0, None),
    ),
    Param("house_price_growth", 0.0, "annual trend growth of the house price", bounds=(-0.5, 0.5)),
    Param(
        "house_price_shock",
        0.0,
        "share by which the house price falls at step ``house_shock_step`` (a housing crash)",
        bounds=(0.0, 0.99),
    ),
    Param("house_shock_step", 0, "step of the house-price shock (0: none)", bounds=(0, None), kind="int"),
]

HOUSEHOLD_VARS: list[Var] = [
    Var("house_units", 0.0, "housing units the household owns (0: a renter)"),
]

STATE: list[Var] = [
    Var("house_price", 1.0, "price of a housing unit"),
    Var("houses_seized", 0.0, "houses seized from defaulting households this step"),
    Var("housing_recoveries", 0.0, "value of the houses seized this step (loans written down by it)"),
]


def with_houses(init: Callable[..., dict[str, np.ndarray]]) -> Callable[..., dict[str, np.ndarray]]:
    """The model's init plus the owner-occupiers' houses on the books (nothing without ``housing``)."""

    def wrapped(s: Arrays, p: Any, rng: RandomStreams) -> dict[str, np.ndarray]:
        out = dict(init(s, p, rng))
        if not p.housing or p.clearing != "markets":
            return out
        tenure = out["households.tenure"]
        owner = np.isin(tenure, OWNER_TENURE)
        annual_wage = p.steps_per_year * col(p.initial_wage) * SKILL_WEIGHT[out["households.skill"]]
        units = np.where(owner, col(p.house_value_years) * annual_wage, 0.0)
        led = p.ledger_template.load(out, prefix=accounts.PREFIX, copy=True)
        led.revalue("households", "housing", units, np.arange(units.shape[1]))
        return {
            **out,
            "households.house_units": units,
            "house_price": np.ones(units.shape[0]),
            **accounts.updates(led),
        }

    return wrapped


def house_prices(s: Arrays, p, rng: RandomStreams) -> dict[str, np.ndarray]:
    """This step's house price (module doc) and every house on the books revalued to it."""
    if not p.housing or p.clearing != "markets":
        return {}
    shock = np.where(s.step == p.house_shock_step, col(p.house_price_shock)[:, 0], 0.0)
    trend = (1.0 + col(p.house_price_growth)[:, 0]) ** (1.0 / p.steps_per_year)
    price = s.house_price * trend * (1.0 - shock)
    ratio = (price / np.maximum(s.house_price, 1e-300))[:, None]
    led = accounts.books(s, p)
    for sector in ("households", "banks"):
        held = led.stock_of(sector, "housing")
        led.revalue(sector, "housing", held * (ratio - 1.0), np.arange(held.shape[1]))
    return {"house_price": price, **accounts.updates(led)}


def seize(led, household_n, bank_h, defaulted, debt) -> np.ndarray:
    """Defaulting homeowners' houses go to their bank at market value, in one booking (module doc):
    returns the recovery R = min(V, L) per household (0 where nothing was seized)."""
    value = np.where(defaulted, np.maximum(led.stock_of("households", "housing"), 0.0), 0.0)
    recovered = np.minimum(value, np.maximum(debt, 0.0))
    surplus = value - recovered
    led.book_net(
        debit=[
            ("households", "loans", household_n, recovered),
            ("households", "deposits", household_n, surplus),
            ("banks", "housing", bank_h, value),
        ],
        credit=[
            ("households", "housing", household_n, value),
            ("banks", "loans", bank_h, recovered),
            ("banks", "deposits", bank_h, surplus),
        ],
    )
    return recovered


OBSERVABLES = {
    "housing_collateral": lambda s, p: (
        p.ledger_template.load(s, prefix=accounts.PREFIX, copy=False)
        .stock_of("households", "housing")
        .sum(axis=1)
    ),
    "bank_housing": lambda s, p: (
        p.ledger_template.load(s, prefix=accounts.PREFIX, copy=False).stock_of("banks", "housing").sum(axis=1)
    ),
}
