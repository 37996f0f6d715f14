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

With ``skill_mix`` (``skills``) a worker of level s earns w_f·σ_s·m_s, the level's wage multiplier m_s
answering its own shortage, and the firm's labour is the CES aggregate of its skill units; with
``education_choice`` (``education``) students are out of the labour force — never hired, paid no benefit.
"""

from __future__ import annotations

import numpy as np

from econsim.engine import Arrays, RandomStreams
from econsim.engine.kernels import jit
from econsim.models.banking import accounts, skills
from econsim.models.banking.firms import col
from econsim.models.banking.markets import SKILL_WEIGHT, labour_market

MEAN_WEIGHT = 1.5


def random_order(u_bn: np.ndarray) -> np.ndarray:
    """A random permutation per run from uniforms: (B, n) int64 (Fisher–Yates, O(n); an argsort of the
    uniforms is O(n log n) and, at 10⁶ households, the costliest line of a step)."""
    out = np.empty(u_bn.shape, dtype=np.int64)
    _fisher_yates(np.ascontiguousarray(u_bn), out)
    return out


def queue_order(u_b2: np.ndarray, n: int) -> np.ndarray:
    """(B, n) int64: a queue of the n households that starts at a random one and runs forwards or
    backwards (two uniforms per run). Households are drawn i.i.d. from the survey, so their index says
    nothing about them, and each takes every place in the queue equally often over the steps; a full
    permutation would send the market kernels to a random address of every household array once per
    household (cache misses that were two thirds of a step at 10⁶ households)."""
    start = np.minimum((u_b2[:, 0] * n).astype(np.int64), n - 1)[:, None]
    offset = np.arange(n, dtype=np.int64)
    return (start + np.where(u_b2[:, 1:2] < 0.5, offset, -offset)) % n


@jit(cache=True)
def _fisher_yates(u_bn, out_bn):
    n = u_bn.shape[1]
    for b in range(u_bn.shape[0]):
        for i in range(n):
            out_bn[b, i] = i
        for i in range(n - 1, 0, -1):
            j = min(int(u_bn[b, i] * (i + 1)), i)
            out_bn[b, i], out_bn[b, j] = out_bn[b, j], out_bn[b, i]


def labour(s: Arrays, p, rng: RandomStreams) -> dict[str, np.ndarray]:
    if p.clearing == "multiplier":
        return {}
    f, h = s.firms, s.households
    led = accounts.books(s, p)
    deposits = led.stock_of("firms", "deposits")
    mixed = bool(p.skill_mix)
    cap = np.maximum(deposits, 0.0) / np.maximum(f.offer, 1e-12)
    keep = np.minimum(f.labour_target, cap)
    # a position is posted only where at least an unskilled worker fits (a gap of half a skill unit)
    vacancies = np.ceil(np.maximum(keep - f.units - 0.5, 0.0) / MEAN_WEIGHT).astype(np.int64)
    draws = rng("labour")
    n_h = h.employer.shape[1]
    order = queue_order(draws.random((2,)), n_h)
    visits = draws.random((n_h, int(p.visits_labour)))
    studying = h.studying > 0 if p.education_choice else None
    employer, wage = h.employer.copy(), h.wage.copy()
    # a student accepts no job
    reservation = h.reservation.copy() if studying is None else np.where(studying, np.inf, h.reservation)
    hired = np.zeros_like(vacancies)
    open_ = vacancies.copy()
    market = (employer, h.skill, reservation, wage, keep, cap, f.offer, open_, f.alive, order, visits)
    if mixed:
        # a worker of level s costs (and is paid) offer × σ_s·m_s: the kernel's weights are each run's own
        weights = SKILL_WEIGHT * skills.multipliers(s)
        for b in range(weights.shape[0]):
            labour_market(*(a[b : b + 1] for a in market), weights[b], hired[b : b + 1])
    else:
        labour_market(*market, SKILL_WEIGHT, hired)
    n_f = f.offer.shape[1]
    employed = employer >= 0
    if studying is not None:
        reservation = np.where(studying, h.reservation, reservation)
    mix_out: dict[str, np.ndarray] = {}
    if mixed:
        by_skill = skills.units_by_skill(employer, h.skill, n_f)
        theta = skills.mix(p)
        units = skills.effective_units(by_skill, theta, p.skill_substitution)
        wanted = theta[:, None, :] * np.where(f.alive, f.labour_target, 0.0)[:, :, None]
        short = np.maximum(wanted - by_skill, 0.0).sum(axis=1)
        idle = ~employed if studying is None else ~employed & ~studying
        idle_units = np.stack(
            [(SKILL_WEIGHT[level] * (idle & (h.skill == level))).sum(axis=1) for level in range(3)], axis=1
        )
        tight = skills.tightness(by_skill.sum(axis=1), short, idle_units)
        m = skills.update_multipliers(
            skills.multipliers(s), theta, tight, p.skill_wage_step, p.skill_substitution
        )
        for j, name in enumerate(skills.LEVELS):
            mix_out[f"skill_wage_{name}"] = m[:, j]
            mix_out[f"skill_tightness_{name}"] = tight[:, j]
    else:
        units = accounts.sum_by(np.where(employed, employer, 0), SKILL_WEIGHT[h.skill] * employed, n_f)
    spell = np.where(employed, 0, h.spell + 1)
    benefit_level = col(p.benefit_replacement) * _mean_wage(wage, employed)[:, None]
    reservation = np.where(
        employed, wage, np.maximum(reservation * (1 - col(p.reservation_decay)), benefit_level)
    )
    return {
        **mix_out,
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
    n_h = h.wage.shape[1]
    household_n = np.arange(n_h)
    employed = h.employer >= 0
    employer = np.where(employed, h.employer, 0)
    wage = np.where(employed, h.wage, 0.0)
    n_f = f.offer.shape[1]
    wage_bill = accounts.sum_by(employer, wage, n_f)
    accounts.transfer(
        led, "wages", ("firms", np.arange(n_f), f.bank, wage_bill), ("households", household_n, h.bank, wage)
    )
    tax = income_tax(p, wage)
    accounts.pay(led, "income_tax", ("households", household_n, h.bank), ("government", None, None), tax)
    benefit = np.where(employed, 0.0, col(p.benefit_replacement) * _mean_wage(wage, employed)[:, None])
    if p.education_choice:  # students are out of the labour force: no unemployment benefit
        benefit = np.where(h.studying > 0, 0.0, benefit)
    accounts.pay(led, "benefits", ("government", None, None), ("households", household_n, h.bank), benefit)
    return {
        "households.tax": tax,
        "households.benefit": benefit,
        "households.disposable": wage - tax + benefit + h.other_income,
        "firms.wage_bill": wage_bill,
        **accounts.updates(led),
    }
