"""Heuristic switching of inflation expectations (``expectation_switching: true``), after Brock & Hommes
(1997) and the heuristics-switching models of Anufriev & Hommes (2012).

Households choose among three simple forecasting heuristics for next step's inflation (per step, π):

    adaptive          f^A_{t+1} = f^A_t + λ(π_t − f^A_t)                 (λ = ``expectation_gain``)
    trend-following   f^T_{t+1} = π_t + γ(π_t − π_{t−1})                (γ = ``forecast_trend_gain``)
    anchored          f^N_{t+1} = (1 + π*)^{1/steps per year} − 1         (the central bank's target π*)

Each heuristic's fitness is its past forecast performance, minus the squared error of its forecast of
this step's inflation, in annualised percentage points e_j = 100·steps·(π_t − f^j_t), with memory η:

    U^j_t = η·U^j_{t−1} − (1 − η)·e_j²                                 (η = ``switching_memory``)

and the shares of households using each follow the discrete choice (multinomial logit) with intensity of
choice β (``forecast_intensity``):

    n^j_t = exp(β·U^j_t) / Σ_k exp(β·U^k_t)

The economy's expected inflation is the share-weighted forecast, π^e_{t+1} = Σ_j n^j_t·f^j_{t+1}; it feeds the
Taylor rule, firms' wage indexation (wage expectations: offers rise with π^e) and the real rate of
investment as the adaptive π^e does without the switch. Recorded: ``heuristic_share_adaptive``,
``heuristic_share_trend``, ``heuristic_share_anchored`` and each heuristic's forecast.
"""

from __future__ import annotations

import numpy as np

from econsim.engine import Arrays, Param, RandomStreams, Var

HEURISTICS = ("adaptive", "trend", "anchored")

PARAMS: list[Param] = [
    Param(
        "expectation_switching",
        False,
        "inflation expectations switch between adaptive, trend-following and anchored heuristics by past "
        "forecast performance (Brock–Hommes discrete choice, models/banking/expectations.py)",
        kind="bool",
        per_batch=True,
    ),
    Param("forecast_intensity", 0.5, "β: intensity of choice between the heuristics", bounds=(0.0, 1e3)),
    Param("forecast_memory", 0.7, "η: weight of past fitness in each heuristic's fitness", bounds=(0.0, 1.0)),
    Param("forecast_trend_gain", 1.0, "γ: extrapolation of the trend-following heuristic", bounds=(0.0, 5.0)),
]

STATE: list[Var] = [
    *(
        Var(f"forecast_{name}", 0.0, f"the {name} heuristic's forecast of next step's inflation")
        for name in HEURISTICS
    ),
    *(
        Var(f"fitness_{name}", 0.0, f"the {name} heuristic's fitness U (minus its discounted squared errors)")
        for name in HEURISTICS
    ),
    *(
        Var(
            f"heuristic_share_{name}", 1.0 / 3.0, f"share of households forecasting with the {name} heuristic"
        )
        for name in HEURISTICS
    ),
    Var("last_inflation", 0.0, "last step's inflation (the trend-follower's π_{t−1})"),
]


def col(x) -> np.ndarray:
    return np.asarray(x, dtype=float).reshape(-1)


def shares(fitness_bj: np.ndarray, intensity) -> np.ndarray:
    """(B, J): the multinomial logit of the fitness (shifted by its maximum: the same shares, no overflow)."""
    z = col(intensity)[:, None] * fitness_bj
    z = np.exp(z - z.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)


def heuristic_switching(s: Arrays, p, rng: RandomStreams) -> dict[str, np.ndarray]:
    """After ``macro`` (which measured this step's inflation): score, switch, forecast (module doc)."""
    if not p.expectation_switching or p.clearing == "bam":
        return {}
    pi = s.inflation
    scale = 100.0 * p.steps_per_year
    eta = col(p.forecast_memory)
    made = np.stack([s[f"forecast_{name}"] for name in HEURISTICS], axis=1)
    error = scale * (pi[:, None] - made)
    fitness = np.stack([s[f"fitness_{name}"] for name in HEURISTICS], axis=1)
    fitness = eta[:, None] * fitness - (1.0 - eta[:, None]) * error**2
    n = shares(fitness, p.forecast_intensity)
    anchored = (1.0 + col(p.inflation_target)) ** (1.0 / p.steps_per_year) - 1.0
    forecast = np.stack(
        [
            made[:, 0] + col(p.expectation_gain) * (pi - made[:, 0]),
            pi + col(p.forecast_trend_gain) * (pi - s.last_inflation),
            anchored * np.ones_like(pi),
        ],
        axis=1,
    )
    out = {"expected_inflation": (n * forecast).sum(axis=1), "last_inflation": pi.copy()}
    for j, name in enumerate(HEURISTICS):
        out[f"forecast_{name}"] = forecast[:, j]
        out[f"fitness_{name}"] = fitness[:, j]
        out[f"heuristic_share_{name}"] = n[:, j]
    return out
