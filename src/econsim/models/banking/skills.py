"""Labour in depth (``skill_mix: true``): production needs a mix of skills, and wage differentials emerge
from each skill's shortage.

Skill mix. A firm's effective labour is a CES aggregate of the skill units U_s it employs of each level s
(unskilled, skilled, highly skilled; a worker of level s brings σ_s units, ``markets.SKILL_WEIGHT``):

    L = (Σ_s θ_s^{1/ε}·U_s^{(ε−1)/ε})^{ε/(ε−1)}          θ = the mix the technology wants (Σ θ_s = 1),
                                                          ε = ``skill_substitution`` (> 1)

At the wanted mix, U_s = θ_s·U, L = U (the total units); any other mix gives less, so a firm short of one
skill produces less from the same payroll. The firm's demand for skill s is θ_s·L* (L* its planned units).

Wages by skill. Each skill's wage multiplier m_s answers its own tightness, its vacancies v_s = Σ_f
max(θ_s·L*_f − U_fs, 0) against its unemployed units u_s, both beside its employed units E_s:

    T_s = (E_s + v_s + 1)/(E_s + u_s + 1)                       (> 1: a shortage, < 1: a surplus)
    ln m_s ← (1 − γ)·ln m_s + γ·(ln T_s − Σ_k θ_k·ln T_k)/ε      then rescaled so that Σ_s θ_s·m_s = 1

(γ = ``skill_wage_step``; σ_s·m_s is kept at least σ_{s−1}·m_{s−1}: a worker can always take the job of
the level below). The multiplier moves towards the CES marginal-product ratio of the skill's relative
tightness, so a persistent shortage keeps a premium and a surplus a discount, and neither runs away.
The firms' offers w_f set the wage level, the multipliers the differentials: a worker of level s at
firm f costs and earns w_f·σ_s·m_s, so a firm's payroll budget (deposits / w_f, in units) buys fewer of
the scarce skill. Recorded: ``skill_wage_<level>`` (m_s),
``skill_tightness_<level>`` (T_s) and the observable ``skill_premium``, the mean wage of the employed
highly skilled over that of the employed unskilled (σ_2/σ_0 = 2.2 without the switch).
"""

from __future__ import annotations

import numpy as np

from econsim.engine import Param, Var
from econsim.models.banking.markets import SKILL_WEIGHT

LEVELS = ("unskilled", "skilled", "high")

PARAMS: list[Param] = [
    Param(
        "skill_mix",
        False,
        "labour in depth: production needs a mix of skills (CES over skill units) and each skill's wage "
        "multiplier answers its own vacancies against its unemployed (models/banking/skills.py)",
        kind="bool",
        per_batch=True,
    ),
    Param(
        "skill_share_unskilled", 0.4, "θ_0: the unskilled share of the wanted skill mix", bounds=(0.0, 1.0)
    ),
    Param("skill_share_skilled", 0.35, "θ_1: the skilled share of the wanted skill mix", bounds=(0.0, 1.0)),
    Param(
        "skill_share_high", 0.25, "θ_2: the highly skilled share of the wanted skill mix", bounds=(0.0, 1.0)
    ),
    Param("skill_substitution", 2.0, "ε: elasticity of substitution between skills", bounds=(1.01, 50.0)),
    Param(
        "skill_wage_step",
        0.01,
        "γ: response of a skill's wage multiplier to its tightness",
        bounds=(0.0, 1.0),
    ),
]

STATE: list[Var] = [
    *(Var(f"skill_wage_{name}", 1.0, f"wage multiplier m of the {name} (Σ θ·m = 1)") for name in LEVELS),
    *(
        Var(f"skill_tightness_{name}", 1.0, f"(vacancies + 1) / (unemployed units + 1) of the {name}")
        for name in LEVELS
    ),
]


def mix(p) -> np.ndarray:
    """(B, 3): θ normalised to sum to one."""
    theta = np.stack(
        [np.asarray(getattr(p, f"skill_share_{name}"), dtype=float).reshape(-1) for name in LEVELS], axis=1
    )
    return theta / np.maximum(theta.sum(axis=1, keepdims=True), 1e-300)


def multipliers(s) -> np.ndarray:
    """(B, 3): each level's wage multiplier m_s."""
    return np.stack([s[f"skill_wage_{name}"] for name in LEVELS], axis=1)


def units_by_skill(employer_bh: np.ndarray, skill_bh: np.ndarray, n_f: int) -> np.ndarray:
    """(B, F, 3): skill units each firm employs of each level (a bincount per run, in household order)."""
    B = employer_bh.shape[0]
    employed = employer_bh >= 0
    slot = (np.arange(B)[:, None] * n_f + np.where(employed, employer_bh, 0)) * 3 + skill_bh
    weights = SKILL_WEIGHT[skill_bh] * employed
    return np.bincount(slot.ravel(), weights=weights.ravel(), minlength=B * n_f * 3).reshape(B, n_f, 3)


def effective_units(units_bfs: np.ndarray, theta_bs: np.ndarray, eps) -> np.ndarray:
    """(B, F): the CES aggregate L of the module doc."""
    e = np.asarray(eps, dtype=float).reshape(-1, 1)
    rho = (e - 1.0) / e
    theta = theta_bs[:, None, :]
    inner = (theta ** (1.0 / e[:, :, None]) * np.maximum(units_bfs, 0.0) ** rho[:, :, None]).sum(axis=2)
    return inner ** (1.0 / rho)


def update_multipliers(m_bs, theta_bs, tightness_bs, step, eps) -> np.ndarray:
    """ln m_s ← (1 − γ)·ln m_s + γ·(ln T_s − Σ θ·ln T)/ε, rescaled to Σ θ_s·m_s = 1, then floored so that
    σ_s·m_s never falls below σ_{s−1}·m_{s−1}."""
    gamma = np.asarray(step, dtype=float).reshape(-1, 1)
    e = np.asarray(eps, dtype=float).reshape(-1, 1)
    log_t = np.log(tightness_bs)
    relative = log_t - (theta_bs * log_t).sum(axis=1, keepdims=True)
    m = np.exp((1.0 - gamma) * np.log(m_bs) + gamma * relative / e)
    m = m / (theta_bs * m).sum(axis=1, keepdims=True)
    for level in (1, 2):  # a worker can take a job below its level: its wage never falls below that job's
        m[:, level] = np.maximum(m[:, level], m[:, level - 1] * SKILL_WEIGHT[level - 1] / SKILL_WEIGHT[level])
    return m


def tightness(employed_bs, vacancies_bs, unemployed_bs) -> np.ndarray:
    """T_s = (E_s + v_s + 1)/(E_s + u_s + 1) (skill units)."""
    return (employed_bs + vacancies_bs + 1.0) / (employed_bs + unemployed_bs + 1.0)


def skill_premium(wage_bh: np.ndarray, skill_bh: np.ndarray, employed_bh: np.ndarray) -> np.ndarray:
    """Mean wage of the employed highly skilled over that of the employed unskilled (0 if either is empty)."""
    high = employed_bh & (skill_bh == 2)
    low = employed_bh & (skill_bh == 0)
    mean_high = (wage_bh * high).sum(axis=1) / np.maximum(high.sum(axis=1), 1)
    mean_low = (wage_bh * low).sum(axis=1) / np.maximum(low.sum(axis=1), 1)
    return np.where(
        (high.sum(axis=1) > 0) & (mean_low > 0), mean_high / np.where(mean_low > 0, mean_low, 1.0), 0.0
    )


OBSERVABLES = {
    "skill_premium": lambda s, p: skill_premium(
        s["households.wage"], s["households.skill"], s["households.employer"] >= 0
    ),
}
