"""The common pool's mint/burn supply policy.

Outflows spend the pool, inflows captured from the market refill it:

    outflow = reserve · outflow_rate            inflow = size · saturation / target_price
    netflow = inflow − outflow

after which a proportional controller mints into (or burns from) the pool towards the target ratio
between pool and total supply, at most ``throttle`` of the supply per step (unbounded if throttle = 0):

    ratio = (reserve + netflow) / supply        e = (1 − ratio / target_reserve_ratio) / 12
    adjustment = clip(e, −throttle, throttle) · supply
    reserve' = reserve + netflow + adjustment   circulation' = circulation − netflow
"""

from __future__ import annotations

import numpy as np

from econsim.engine import Arrays, RandomStreams


def supply_policy(s: Arrays, p: Arrays, rng: RandomStreams) -> dict[str, np.ndarray]:
    outflow_b = s.reserve * p.outflow_rate
    inflow_b = s.size * s.saturation / s.target_price
    netflow_b = inflow_b - outflow_b
    reserve_b = s.reserve + netflow_b
    circulation_b = s.circulation - netflow_b
    supply_b = reserve_b + circulation_b
    error_b = (1.0 - (reserve_b / supply_b) / p.target_reserve_ratio) / 12.0
    bounded_b = np.where(p.throttle != 0, np.clip(error_b, -p.throttle, p.throttle), error_b)
    adjustment_b = bounded_b * supply_b
    return {
        "reserve": s.reserve + netflow_b + adjustment_b,
        "circulation": circulation_b,
        "netflow": netflow_b,
        "adjustment": adjustment_b,
    }
