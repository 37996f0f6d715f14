"""State of the banking economy: three populations, the ledger, and the economy's aggregates.

Axes after the run axis b: h household, f firm, k bank. Money stocks (deposits, reserves, loans, bonds,
advances, capital at cost) live only in the ledger (``accounts``); the populations hold everything else.
Static data (no run axis, shared by the batch): ``firm_kind_f`` (0 consumption goods, 1 capital goods),
the owners of each firm and bank (household h owns firm h mod F and bank h mod K), and the ledger's
structure.
"""

from __future__ import annotations

import numpy as np

from econsim.engine import Population, Var
from econsim.models.banking import accounts, bam, collateral, education, housing

I64 = np.int64


def _v(name: str, doc: str, initial: float = 0.0, dtype=np.float64) -> Var:
    return Var(name, initial, doc, dtype=dtype)


HOUSEHOLDS = Population(
    "households",
    size="n_households",
    doc="one worker each",
    vars=[
        _v("skill", "0 unskilled, 1 skilled, 2 highly skilled (from education)", dtype=I64),
        _v("employer", "firm employing the worker, −1 when unemployed", -1, dtype=I64),
        _v("wage", "wage this step (0 when unemployed)"),
        _v("reservation", "lowest wage accepted; falls with the unemployment spell"),
        _v("spell", "steps unemployed", dtype=I64),
        _v("bank", "bank holding the deposits", dtype=I64),
        _v("tax", "income tax paid this step"),
        _v("benefit", "unemployment benefit received this step"),
        _v("other_income", "dividends and deposit interest received last step"),
        _v("disposable", "disposable income this step"),
        _v("spending", "consumption spending this step (sales tax included)"),
        _v("propensity", "archetype's spending multiplier", 1.0),
        _v("archetype", "0 thrifty, 1 typical, 2 spender, 3 anxious", dtype=I64),
        _v("age", "age of the reference person (survey row)"),
        _v("fam_size", "family size (survey row)"),
        _v("earners", "earners in the family (survey row)"),
        _v("education", "education code of the reference person (survey row)"),
        _v("region", "region code (survey row)"),
        _v("tenure", "housing tenure code (survey row)"),
        _v("loan_rate", "annual rate of the household's consumer loan (0 without one)"),
        _v("loan_defaults", "consumer loans the household defaulted on so far", dtype=I64),
        _v("credit_pd", "default probability of the household's credit score"),
        *bam.HOUSEHOLD_VARS,
        *housing.HOUSEHOLD_VARS,
        *education.HOUSEHOLD_VARS,
    ],
)

FIRMS = Population(
    "firms",
    size="n_firms",
    doc="consumption- and capital-goods producers",
    vars=[
        _v("bank", "bank holding the firm's deposits", dtype=I64),
        _v("capital", "capital stock (units)"),
        _v("price", "price of the firm's good"),
        _v("markup", "markup over unit labour cost"),
        _v("inventory", "unsold goods (units)"),
        _v("expected_sales", "expected sales per step (units)"),
        _v("sales", "units sold this step"),
        _v("output", "units produced this step"),
        _v("offer", "wage offered per skill unit"),
        _v("vacancies", "positions open", dtype=I64),
        _v("unfilled", "vacancies left open last step", dtype=I64),
        _v("units", "skill units employed"),
        _v("labour_target", "skill units the firm plans to employ"),
        _v("investment_plan", "capital units the firm plans to buy"),
        _v("capital_ratio", "capital the firm wants per unit of expected sales (its t = 0 ratio)"),
        _v("lender", "bank of the firm's loan, −1 without one", -1, dtype=I64),
        _v("loan_rate", "annual rate of the firm's loan"),
        _v("revenue", "sales revenue this step"),
        _v("wage_bill", "wages paid this step"),
        _v("interest_paid", "loan interest paid this step"),
        _v("depreciation", "capital written down this step (at cost)"),
        _v("profit", "profit this step, before tax"),
        _v("defaults", "bankruptcies of this firm slot so far", dtype=I64),
        *collateral.FIRM_VARS,
    ],
)

BANKS = Population(
    "banks",
    size="n_banks",
    vars=[
        _v("profit", "profit this step"),
        _v("interest_income", "loan interest and bond coupons received this step"),
        _v("defaults", "times the bank failed and was recapitalised", dtype=I64),
        _v("equity", "net worth at the start of the step"),
    ],
)

AGGREGATES: list[Var] = [
    _v("step", "steps completed", dtype=I64),
    _v("gdp", "real output (at the initial prices)"),
    _v("gdp_nominal", "output at this step's prices"),
    _v("consumption", "real household consumption"),
    _v("investment", "real investment (capital goods bought)"),
    _v("government_purchases", "nominal government purchases"),
    _v("inflation", "consumer price inflation this step"),
    _v("unemployment", "unemployment rate"),
    _v("vacancy_rate", "open positions / (positions filled + open)"),
    _v("wage_index", "mean wage of the employed per skill unit"),
    _v("price_index", "sales-weighted consumer price level", 1.0),
    _v("expected_inflation", "households' expected inflation per step, π^e"),
    _v("policy_rate", "central bank policy rate (annual)"),
    _v("potential", "trend of real output (slow moving average)"),
    _v("firm_bankruptcies", "firms that failed this step"),
    _v("bank_defaults", "banks that failed this step"),
    _v("consumer_defaults", "households that defaulted on a consumer loan this step"),
    _v("deficit", "government deficit this step"),
    _v("initial_output", "nominal output at t = 0 (scales government purchases)"),
    _v("base_price_c", "consumption-good price at t = 0 (real output's deflator)"),
    _v("base_price_k", "capital-good price at t = 0"),
    _v("spending_scale", "spending model: money spent per unit of the model's prediction"),
]

STATE = [*AGGREGATES, *bam.AGGREGATE_VARS, *collateral.STATE, *accounts.variables()]
POPULATIONS = [HOUSEHOLDS, FIRMS, BANKS]
