"""Investment in education (``education_choice: true``): a household forgoes income now — it leaves the labour
force for ``education_steps`` steps and pays tuition — and moves up a skill level, when the present value
of the wage gain exceeds the cost.

Each step (before the labour market), with r the per-step discount rate ((1 + ``education_discount``)^{1/steps}
− 1), β = 1/(1 + r), D = ``education_steps`` and T = ``education_horizon_years``·steps:

    gain  = Δw·Σ_{t=D+1}^{D+T} β^t = Δw·β^{D+1}·(1 − β^T)/(1 − β)      Δw = w̄_{s+1} − w̄_s
    cost  = (y_h + τ)·Σ_{t=1}^{D} β^t = (y_h + τ)·β·(1 − β^D)/(1 − β)

w̄_s is the mean wage of the employed of level s this step (w̄_s·σ_{s+1}/σ_s where none of level s + 1 is
employed), y_h the income the household gives up (its wage, or its unemployment benefit), τ the tuition per
step (``tuition`` × the mean wage). A household below the top level, younger than
``education_max_age``, considers it with probability ``education_rate`` a step (a draw from the engine's
``education`` stream) and enrols when gain > cost and its deposits and savings cover the D steps of
tuition. A student quits its job, is never hired and draws no benefit (``labour``), and pays τ a step to
the government from its deposits (the flow ``tuition``: a use of the household, a source of the
government; savings are drawn when deposits fall short). After D steps it is one level up.

Recorded: ``education_share`` (students / households), ``enrolments`` and ``graduates`` this step.
"""

from __future__ import annotations

import numpy as np

from econsim.engine import Arrays, Param, RandomStreams, Var
from econsim.models.banking import accounts
from econsim.models.banking.markets import SKILL_WEIGHT

PARAMS: list[Param] = [
    Param(
        "education_choice",
        False,
        "households invest in education (out of the labour force for a spell, paying tuition) when the "
        "present value of the wage gain exceeds its cost, and move up a skill level (models/banking/education.py)",
        kind="bool",
        per_batch=True,
    ),
    Param(
        "education_steps",
        24,
        "steps a course of education lasts",
        bounds=(1, 600),
        kind="int",
        per_batch=True,
    ),
    Param("tuition", 0.2, "tuition per step, as a share of the mean wage", bounds=(0.0, 10.0)),
    Param(
        "education_discount", 0.05, "annual rate at which households discount future wages", bounds=(0.0, 1.0)
    ),
    Param(
        "education_horizon_years",
        20.0,
        "working years over which the wage gain is earned",
        bounds=(0.0, 60.0),
    ),
    Param("education_rate", 0.02, "chance a step that a household weighs up education", bounds=(0.0, 1.0)),
    Param("education_max_age", 45.0, "oldest age at which a household studies", bounds=(0.0, 120.0)),
]

HOUSEHOLD_VARS: list[Var] = [
    Var("studying", 0, "steps of education left (0: not a student)", dtype=np.int64),
]

STATE: list[Var] = [
    Var("education_share", 0.0, "share of households in education"),
    Var("enrolments", 0.0, "households that started a course this step"),
    Var("graduates", 0.0, "households that finished a course (one skill level up) this step"),
]


def col(x) -> np.ndarray:
    x = np.asarray(x, dtype=float)
    return x.reshape(-1, 1) if x.ndim == 1 else x


def level_wages(wage_bh: np.ndarray, skill_bh: np.ndarray, employed_bh: np.ndarray) -> np.ndarray:
    """(B, 3): mean wage of the employed of each level; a level without any employed is priced from the
    one below by the skill weights (the unskilled from the overall mean wage per unit)."""
    out = np.zeros((wage_bh.shape[0], 3))
    per_unit = (wage_bh * employed_bh).sum(axis=1) / np.maximum(
        (SKILL_WEIGHT[skill_bh] * employed_bh).sum(axis=1), 1e-300
    )
    for level in range(3):
        mask = employed_bh & (skill_bh == level)
        n = mask.sum(axis=1)
        fallback = (
            per_unit * SKILL_WEIGHT[0]
            if level == 0
            else out[:, level - 1] * (SKILL_WEIGHT[level] / SKILL_WEIGHT[level - 1])
        )
        out[:, level] = np.where(n > 0, (wage_bh * mask).sum(axis=1) / np.maximum(n, 1), fallback)
    return out


def present_values(gain_per_step, cost_per_step, r, steps: int, horizon) -> tuple[np.ndarray, np.ndarray]:
    """(gain, cost) of the module doc: Δw·β^{D+1}(1 − β^T)/(1 − β) and (y + τ)·β(1 − β^D)/(1 − β)."""
    beta = 1.0 / (1.0 + np.asarray(r, dtype=float))
    annuity = np.where(beta < 1, 1.0 / np.maximum(1.0 - beta, 1e-300), 0.0)
    horizon = np.asarray(horizon, dtype=float)
    t_sum = np.where(beta < 1, (1.0 - beta**horizon) * annuity, horizon)
    d_sum = np.where(beta < 1, (1.0 - beta**steps) * annuity, float(steps))
    gain = gain_per_step * beta ** (steps + 1) * t_sum
    cost = cost_per_step * beta * d_sum
    return gain, cost


def education(s: Arrays, p, rng: RandomStreams) -> dict[str, np.ndarray]:
    """Progress, tuition and enrolment (module doc), before the labour market."""
    if not p.education_choice or p.clearing != "markets":
        return {}
    h = s.households
    B, n_h = h.skill.shape
    household_n = np.arange(n_h)
    draws = rng("education").random((n_h,))  # drawn every step: a run's draws never depend on choices
    led = accounts.books(s, p)

    # 1. progress: a student one step further; those done are a level up and back in the labour force
    left = np.maximum(h.studying - 1, 0)
    done = h.studying == 1
    skill = np.minimum(h.skill + done, 2)

    # 2. enrolment: present value of the wage gain against forgone income and tuition
    employed = h.employer >= 0
    w_level = level_wages(h.wage, h.skill, employed)
    mean_wage = (h.wage * employed).sum(axis=1) / np.maximum(employed.sum(axis=1), 1)
    tuition = col(p.tuition) * mean_wage[:, None]
    runs = np.arange(B)[:, None]
    up = np.minimum(skill + 1, 2)
    gain_per_step = w_level[runs, up] - w_level[runs, skill]
    forgone = np.where(employed, h.wage, h.benefit)
    r = (1.0 + col(p.education_discount)) ** (1.0 / p.steps_per_year) - 1.0
    steps = int(p.education_steps)
    gain, cost = present_values(
        gain_per_step, forgone + tuition, r, steps, col(p.education_horizon_years) * p.steps_per_year
    )
    liquid = led.stock_of("households", "deposits") + led.stock_of("households", "savings")
    eligible = (
        (left == 0) & (skill < 2) & (h.age < col(p.education_max_age)) & (draws < col(p.education_rate))
    )
    enrol = eligible & (gain > cost) & (liquid >= steps * tuition)
    studying = np.where(enrol, steps, left)

    # 3. tuition from the students' deposits (savings drawn where the deposits fall short)
    student = studying > 0
    deposits = led.stock_of("households", "deposits")
    savings = np.maximum(led.stock_of("households", "savings"), 0.0)
    due = np.where(student, tuition, 0.0)
    draw = np.clip(due / (1 - 1e-12) - deposits, 0.0, savings) * student
    accounts.to_savings(led, household_n, h.bank, -draw)
    paid = np.minimum(due, np.maximum(led.stock_of("households", "deposits"), 0.0))
    accounts.pay(led, "tuition", ("households", household_n, h.bank), ("government", None, None), paid)
    return {
        "households.studying": studying.astype(np.int64),
        "households.skill": skill.astype(np.int64),
        "households.employer": np.where(enrol, -1, h.employer),
        "households.wage": np.where(enrol, 0.0, h.wage),
        "education_share": student.mean(axis=1),
        "enrolments": enrol.sum(axis=1).astype(float),
        "graduates": done.sum(axis=1).astype(float),
        **accounts.updates(led),
    }
