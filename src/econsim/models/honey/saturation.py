"""Production from common-pool outflows, and the market saturation it buys.

outflow     = reserve · outflow_rate
production' = production · productivity² + outflow · (1 + productivity) · price
utility     = 10 · production' / (production' + size)          (diminishing returns, at most 10)
saturation  = 1 / (1 + exp(6 − utility))                        (logistic, inflection at utility 6)
size'       = size · (1 + growth)
"""

from __future__ import annotations

import numpy as np

from econsim.engine import Arrays, RandomStreams


def saturation_process(s: Arrays, p: Arrays, rng: RandomStreams) -> dict[str, np.ndarray]:
    outflow_b = s.reserve * p.outflow_rate
    production_b = s.production * p.productivity**2 + outflow_b * (1.0 + p.productivity) * s.price
    utility_b = 10.0 * production_b / (production_b + s.size)
    # after a negative price, utility can fall far below zero: exp overflows to inf and saturation → 0
    with np.errstate(over="ignore"):
        saturation_b = 1.0 / (1.0 + np.exp(6.0 - utility_b))
    return {
        "production": production_b,
        "utility": utility_b,
        "saturation": saturation_b,
        "size": s.size * (1.0 + p.growth),
    }
