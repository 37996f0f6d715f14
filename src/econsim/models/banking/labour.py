"""The labour market and household incomes.

Firms keep about the skill units they plan to employ, L_keep = min(L*, deposits / w) (to the nearest
whole worker, never more than the deposits pay for), firing beyond it; they post ⌈(L_keep − L)/1.5⌉ vacancies. Job seekers visit
``visits_labour`` firms with vacancies and take the best offer w_f·σ_s (σ_s the skill weight) at or above
their reservation wage, which falls by ``reservation_decay`` each step of unemployment (never below the
benefit) and resets to the wage on hiring.

Incomes: wages are paid from the employer's deposits; income tax is progressive on annualised wages,

    T(y) = τ₁·min(y, b₂) + τ₂·min(max(y − b₂, 0), b₃ − b₂) + τ₃·max(y − b₃, 0)        (y = wage·steps/year)

(or a flat θ·wage when ``tax_rate`` > 0, as in model SIM); the unemployed receive ``benefit_replacement``
times the mean wage from the government.
"""

from __future__ import annotations

import numpy as np

from econsim.engine import Arrays, RandomStreams
from econsim.models.banking import accounts
from econsim.models.banking.firms import col
from econsim.models.banking.markets import SKILL_WEIGHT, labour_market

MEAN_WEIGHT = 1.5


def random_order(u_bn: np.ndarray) -> np.ndarray:
    """A random permutation per run from uniforms: (B, n) int64."""
    return np.argsort(u_bn, axis=1, kind="stable").astype(np.int64)


def labour(s: Arrays, p, rng: RandomStreams) -> dict[str, np.ndarray]:
    if p.clearing == "multiplier":
        return {}
    f, h = s.firms, s.households
    led = accounts.books(s, p)
    deposits = led.stock_of("firms", "deposits")
    cap = np.maximum(deposits, 0.0) / np.maximum(f.offer, 1e-12)
    keep = np.minimum(f.labour_target, cap)
    # a position is posted only where at least an unskilled worker fits (a gap of half a skill unit)
    vacancies = np.ceil(np.maximum(keep - f.units - 0.5, 0.0) / MEAN_WEIGHT).astype(np.int64)
    draws = rng("labour")
    n_h = h.employer.shape[1]
    order = random_order(draws.random((n_h,)))
    visits = draws.random((n_h, int(p.visits_labour)))
    employer, reservation, wage = h.employer.copy(), h.reservation.copy(), h.wage.copy()
    hired = np.zeros_like(vacancies)
    open_ = vacancies.copy()
    labour_market(
        employer,
        h.skill,
        reservation,
        wage,
        keep,
        cap,
        f.offer,
        open_,
        f.alive,
        order,
        visits,
        SKILL_WEIGHT,
        hired,
    )
    B, n_f = f.offer.shape
    runs = np.broadcast_to(np.arange(B)[:, None], employer.shape)
    employed = employer >= 0
    units = np.zeros((B, n_f))
    np.add.at(units, (runs[employed], employer[employed]), SKILL_WEIGHT[h.skill[employed]])
    spell = np.where(employed, 0, h.spell + 1)
    benefit_level = col(p.benefit_replacement) * _mean_wage(wage, employed)[:, None]
    reservation = np.where(
        employed, wage, np.maximum(reservation * (1 - col(p.reservation_decay)), benefit_level)
    )
    return {
        "households.employer": employer,
        "households.wage": wage,
        "households.reservation": reservation,
        "households.spell": spell,
        "firms.units": units,
        "firms.vacancies": vacancies,
        # a vacancy counts as unfilled only where a worker would still fit (a gap of a skill unit or more)
        "firms.unfilled": np.where(keep - units >= MEAN_WEIGHT / 2, open_, 0),
    }


def _mean_wage(wage_bh: np.ndarray, employed_bh: np.ndarray) -> np.ndarray:
    return (wage_bh * employed_bh).sum(axis=1) / np.maximum(employed_bh.sum(axis=1), 1)


def income_tax(p, wage_bh: np.ndarray) -> np.ndarray:
    """Progressive tax on the annualised wage, per step (flat θ·wage when ``tax_rate`` > 0)."""
    y = wage_bh * p.steps_per_year
    mid, high = col(p.bracket_mid), col(p.bracket_high)
    annual = (
        col(p.tax_low) * np.minimum(y, mid)
        + col(p.tax_mid) * np.clip(y - mid, 0.0, high - mid)
        + col(p.tax_high) * np.maximum(y - high, 0.0)
    )
    flat = col(p.tax_rate)
    return np.where(flat > 0, flat * wage_bh, annual / p.steps_per_year)


def incomes(s: Arrays, p, rng: RandomStreams) -> dict[str, np.ndarray]:
    if p.clearing == "multiplier":
        return {}
    f, h = s.firms, s.households
    led = accounts.books(s, p)
    B, n_h = h.wage.shape
    household_n = np.arange(n_h)
    employed = h.employer >= 0
    employer = np.where(employed, h.employer, 0)
    runs = np.arange(B)[:, None]
    wage = np.where(employed, h.wage, 0.0)
    accounts.pay(
        led, "wages", ("firms", employer, f.bank[runs, employer]), ("households", household_n, h.bank), wage
    )
    tax = income_tax(p, wage)
    accounts.pay(led, "income_tax", ("households", household_n, h.bank), ("government", None, None), tax)
    benefit = np.where(employed, 0.0, col(p.benefit_replacement) * _mean_wage(wage, employed)[:, None])
    accounts.pay(led, "benefits", ("government", None, None), ("households", household_n, h.bank), benefit)
    wage_bill = np.zeros(f.offer.shape)
    np.add.at(
        wage_bill, (np.broadcast_to(runs, employer.shape)[employed], employer[employed]), wage[employed]
    )
    return {
        "households.tax": tax,
        "households.benefit": benefit,
        "households.disposable": wage - tax + benefit + h.other_income,
        "firms.wage_bill": wage_bill,
        **accounts.updates(led),
    }
