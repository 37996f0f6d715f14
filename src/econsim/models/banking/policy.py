"""Monetary policy: a Taylor rule with a zero lower bound, set at the central bank's meetings.

    i = max(0, r* + π + φ_π·(π − π*) + φ_y·ŷ) + shock          (annual rates)

π is the annualised inflation households expect (it tracks realised inflation adaptively), ŷ the log gap
of real output from its slow-moving trend. Without the rule (``rule_rate: false``) i = r* + π* + shock.
The corridor puts the deposit facility at i − c/2 (floored at zero) and the lending facility at i + c/2.
"""

from __future__ import annotations

import numpy as np

from econsim.engine import Arrays, RandomStreams
from econsim.models.banking import accounts


def clock(s: Arrays, p, rng: RandomStreams) -> dict[str, np.ndarray]:
    """A new step: the ledger closes the last step's flows and opens this one's from the current stocks."""
    led = accounts.books(s, p)
    accounts.open_step(led, p)
    return {"step": s.step + 1, **accounts.updates(led)}


def monetary_policy(s: Arrays, p, rng: RandomStreams) -> dict[str, np.ndarray]:
    pi = (1.0 + s.expected_inflation) ** p.steps_per_year - 1.0
    gap = np.log(np.maximum(s.gdp, 1e-12) / np.maximum(s.potential, 1e-12))
    rule = p.neutral_rate + pi + p.taylor_inflation * (pi - p.inflation_target) + p.taylor_gap * gap
    rate = np.where(p.rule_rate, rule, p.neutral_rate + p.inflation_target) + p.rate_shock
    return {"policy_rate": np.maximum(rate, 0.0)}


def facility_rates(p, policy_rate_b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(deposit facility, lending facility) annual rates."""
    return np.maximum(policy_rate_b - p.corridor / 2, 0.0), policy_rate_b + p.corridor / 2
