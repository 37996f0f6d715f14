"""The economy at t = 0: households drawn from survey rows, a labour force mostly employed, firms with
their plant and working capital, and balance sheets that satisfy every identity from the start.

Households are survey rows (the shipped synthetic CE fixture) drawn in proportion to the survey weights,
so age, family size, earners, education, region and tenure are real attributes of each household; skill
follows education (bachelor's or more: highly skilled; some college or an associate degree: skilled).
Archetypes (thrifty, typical, spender, anxious) set a spending multiplier. 95 % of workers start employed
at a random firm, paid the initial wage per skill unit; each firm's price is its unit labour cost with
the initial markup; consumption-goods firms own ``initial_capital`` units valued at the capital-goods
price and owe half of it to their bank; every firm holds a month of wages in deposits.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from econsim.engine import Arrays, ConfigError, RandomStreams
from econsim.models.banking import accounts, survey
from econsim.models.banking.markets import SKILL_WEIGHT

ARCHETYPE_SHARES = np.array([0.25, 0.45, 0.15, 0.15])
ARCHETYPE_PROPENSITY = np.array([0.85, 1.0, 1.15, 0.95])


def static(p: Any) -> dict[str, Any]:
    """Shared by every run of a batch: firm kinds, owners, the ledger's structure."""
    n_h, n_f, n_k = int(p.n_households), int(p.n_firms), int(p.n_banks)
    # impossible economies are refused while planning, before any work
    if n_k > n_h:
        raise ConfigError(
            f"n_banks = {n_k} exceeds n_households = {n_h}: every bank needs customers; use n_banks ≤ {n_h}"
        )
    if n_f > n_h:
        raise ConfigError(
            f"n_firms = {n_f} exceeds n_households = {n_h}: firms need workers; use n_firms ≤ {n_h}"
        )
    if p.clearing == "markets" and p.capital_firm_share > 0 and round(p.capital_firm_share * n_f) >= n_f:
        raise ConfigError(
            f"capital_firm_share = {p.capital_firm_share} leaves no consumption-goods firm among "
            f"n_firms = {n_f}"
        )
    n_capital = max(1, round(p.capital_firm_share * n_f)) if p.capital_firm_share > 0 else 0
    kind_f = np.zeros(n_f, dtype=np.int64)
    kind_f[n_f - n_capital :] = 1
    h = np.arange(n_h)
    return {
        "n_holders": n_h + n_f + n_k + 2,
        "firm_kind_f": kind_f,
        "consumer_firms": np.flatnonzero(kind_f == 0),
        "capital_firms": np.flatnonzero(kind_f == 1),
        "firm_owner_h": h % n_f,
        "bank_owner_h": h % n_k,
        "ledger_template": accounts.template(n_h, n_f, n_k),
        "ledger_checks": accounts.Checks(),
        "ledger_scratch": accounts.Scratch(),
        "survey_rows": survey.load_fixture(),
    }


def _survey_features(p: Any, rng: RandomStreams, n_h: int) -> dict[str, np.ndarray]:
    rows = p.survey_rows
    idx_bh = survey.sample_rows(rows[survey.WEIGHT].to_numpy(float), rng("households").random((n_h,)))
    col = {
        name: rows[name].to_numpy(float)
        for name in ("AGE_REF", "FAM_SIZE", "NO_EARNR", "EDUC_REF", "REGION", "CUTENURE")
    }
    educ_bh = np.nan_to_num(col["EDUC_REF"][idx_bh], nan=12.0)
    return {
        "households.age": col["AGE_REF"][idx_bh],
        "households.fam_size": col["FAM_SIZE"][idx_bh],
        "households.earners": np.nan_to_num(col["NO_EARNR"][idx_bh], nan=1.0),
        "households.education": educ_bh,
        "households.region": np.nan_to_num(col["REGION"][idx_bh], nan=3.0),
        "households.tenure": np.nan_to_num(col["CUTENURE"][idx_bh], nan=4.0),
        "households.skill": np.where(educ_bh >= 15, 2, np.where(educ_bh >= 13, 1, 0)).astype(np.int64),
    }


def _buffer_months(p: Any, arche_bh: np.ndarray) -> np.ndarray:
    """Initial deposits in months of disposable income. By default (−1) the buffer-stock rule's steady
    state, where c = m·(a_y·YD + a_w·(D − s*·YD)) = YD: D/YD = s* + (1/m − a_y)/a_w (at least a month), so
    that the economy starts with households spending their income rather than saving out of it."""
    months = np.asarray(p.initial_wealth_months, dtype=float).reshape(-1, 1)
    m = ARCHETYPE_PROPENSITY[arche_bh]
    a_y = np.asarray(p.propensity_income, dtype=float).reshape(-1, 1)
    a_w = np.maximum(np.asarray(p.propensity_wealth, dtype=float).reshape(-1, 1), 1e-9)
    target = np.asarray(p.wealth_target, dtype=float).reshape(-1, 1)
    steady = (
        np.maximum(target + (1.0 / m - a_y) / a_w, 1.0) if p.consumption_rule == "buffer_stock" else target
    )
    if p.consumption_rule == "sim":
        steady = np.zeros_like(m, dtype=float)
    return np.where(months >= 0, months, steady)


def _initial_disposable(p: Any, employed_bh: np.ndarray, gross_bh: np.ndarray) -> np.ndarray:
    """Disposable income at t = 0: the wage after income tax, or the benefit (replacement × mean wage)."""
    from econsim.models.banking.labour import income_tax

    wage = np.where(employed_bh, gross_bh, 0.0)
    mean_wage = (wage.sum(axis=1) / np.maximum(employed_bh.sum(axis=1), 1))[:, None]
    benefit = np.asarray(p.benefit_replacement, dtype=float).reshape(-1, 1) * mean_wage
    return np.where(employed_bh, wage - income_tax(p, wage), benefit)


def initial_economy(s: Arrays, p: Any, rng: RandomStreams) -> dict[str, np.ndarray]:
    B = p.n_runs
    n_h, n_f, n_k = int(p.n_households), int(p.n_firms), int(p.n_banks)
    runs = np.arange(B)[:, None]
    out = _survey_features(p, rng, n_h)
    draws = rng("setup")
    arche_bh = np.searchsorted(np.cumsum(ARCHETYPE_SHARES), draws.random((n_h,)), side="right").clip(0, 3)
    bank_bh = np.minimum((draws.random((n_h,)) * n_k).astype(np.int64), n_k - 1)
    employed_bh = draws.random((n_h,)) < 0.95
    # capital-goods firms start with the workers replacement investment needs: δ·K per step in units
    consumers, producers = p.consumer_firms, p.capital_firms
    replacement = p.depreciation / p.steps_per_year * np.asarray(p.initial_capital) * consumers.size
    share_k = np.clip(replacement / np.asarray(p.capital_productivity) / (0.95 * 1.4 * n_h), 0.0, 0.5)
    share_k = share_k * np.ones(B) if producers.size else np.zeros(B)
    to_capital = draws.random((n_h,)) < share_k[:, None]
    pick = draws.random((n_h,))
    employer_bh = np.where(
        to_capital,
        producers[np.minimum((pick * max(producers.size, 1)).astype(np.int64), max(producers.size - 1, 0))]
        if producers.size
        else 0,
        consumers[np.minimum((pick * consumers.size).astype(np.int64), consumers.size - 1)],
    )
    employer_bh = np.where(employed_bh, employer_bh, -1)
    bank_bf = np.broadcast_to(np.arange(n_f) % n_k, (B, n_f)).copy()
    kind_f = p.firm_kind_f
    multiplier = p.clearing == "multiplier"

    wage0 = np.asarray(p.initial_wage, dtype=float).reshape(-1, 1)
    weight_bh = SKILL_WEIGHT[out["households.skill"]]
    units_bf = np.zeros((B, n_f))
    np.add.at(
        units_bf,
        (np.broadcast_to(runs, employer_bh.shape)[employed_bh], employer_bh[employed_bh]),
        weight_bh[employed_bh],
    )
    capital_bf = np.where(kind_f == 0, np.asarray(p.initial_capital).reshape(-1, 1), 0.0) * np.ones((B, n_f))
    if multiplier:
        capital_bf[:] = 0.0
    labour_bf = np.maximum(units_bf, 1e-9)
    alpha = np.asarray(p.alpha).reshape(-1, 1)
    output_bf = np.where(
        kind_f == 0,
        np.asarray(p.productivity).reshape(-1, 1)
        * np.maximum(capital_bf, 1e-9) ** alpha
        * labour_bf ** (1 - alpha),
        np.asarray(p.capital_productivity).reshape(-1, 1) * labour_bf,
    )
    wage_bill_bf = wage0 * units_bf
    unit_cost_bf = wage0 * labour_bf / np.maximum(output_bf, 1e-12)
    markup_b1 = np.asarray(p.markup).reshape(-1, 1)
    price_bf = (1 + markup_b1) * unit_cost_bf
    capital_price_b = np.array(
        [
            np.median(price_bf[b, kind_f == 1]) if (kind_f == 1).any() else float(np.median(price_bf[b]))
            for b in range(B)
        ]
    )
    capital_value_bf = capital_bf * capital_price_b[:, None]
    if multiplier:  # SIM: no plant, no debt, no money to start with unless given
        price_bf[:] = 1.0
        loans_bf = np.zeros((B, n_f))
        deposits_bf = np.zeros((B, n_f))
    else:
        loans_bf = np.where(kind_f == 0, 0.5 * capital_value_bf, 0.5 * wage_bill_bf)
        deposits_bf = wage_bill_bf.copy()
    deposits_bh = np.broadcast_to(np.asarray(p.initial_deposits, dtype=float).reshape(-1, 1), (B, n_h)).copy()
    deposits_bh = deposits_bh + _buffer_months(p, arche_bh) * _initial_disposable(
        p, employed_bh & ~multiplier, wage0 * weight_bh
    )
    led = accounts.opening_balances(
        p.ledger_template,
        deposits_bh,
        bank_bh,
        deposits_bf,
        loans_bf,
        capital_value_bf,
        bank_bf,
        np.asarray(p.bank_equity, dtype=float),
        shares_f=np.maximum(capital_value_bf + deposits_bf - loans_bf, 0.0),
        owner_h=p.firm_owner_h,
    )
    consumer = kind_f == 0
    price_c = np.array(
        [np.average(price_bf[b, consumer], weights=output_bf[b, consumer] + 1e-12) for b in range(B)]
    )
    out.update(
        {
            "households.archetype": arche_bh.astype(np.int64),
            "households.propensity": ARCHETYPE_PROPENSITY[arche_bh],
            "households.bank": bank_bh,
            "households.employer": np.where(multiplier, -1, employer_bh).astype(np.int64),
            "households.wage": np.where(employed_bh & ~multiplier, wage0 * weight_bh, 0.0),
            "households.reservation": wage0 * weight_bh * 0.9,
            "households.disposable": _initial_disposable(p, employed_bh & ~multiplier, wage0 * weight_bh),
            "firms.bank": bank_bf,
            "firms.capital": capital_bf,
            "firms.price": price_bf,
            "firms.markup": np.broadcast_to(markup_b1, (B, n_f)).copy(),
            "firms.inventory": np.asarray(p.inventory_target).reshape(-1, 1) * output_bf,
            "firms.expected_sales": output_bf.copy(),
            "firms.sales": output_bf.copy(),
            "firms.output": output_bf.copy(),
            "firms.offer": np.broadcast_to(wage0, (B, n_f)).copy(),
            "firms.units": units_bf,
            "firms.labour_target": units_bf.copy(),
            "firms.lender": np.where(loans_bf > 0, bank_bf, -1).astype(np.int64),
            "firms.loan_rate": np.broadcast_to(
                np.reshape(p.neutral_rate + p.inflation_target + p.loan_spread, (-1, 1)), (B, n_f)
            ).copy(),
            "firms.wage_bill": wage_bill_bf,
            "firms.capital_ratio": capital_bf / np.maximum(output_bf, 1e-12),
            "banks.equity": led.net_worth[:, led.holders("banks")],
            "policy_rate": np.asarray(p.neutral_rate + p.inflation_target, dtype=float) * np.ones(B),
            "initial_output": (output_bf * price_bf).sum(axis=1),
            "base_price_c": price_c,
            "base_price_k": capital_price_b,
            "price_index": price_c.copy(),
            **accounts.updates(led),
        }
    )
    real_bf = output_bf * np.where(consumer, price_c[:, None], capital_price_b[:, None])
    out["potential"] = real_bf.sum(axis=1)
    out["gdp"] = np.where(multiplier, 0.0, out["potential"])
    return out
