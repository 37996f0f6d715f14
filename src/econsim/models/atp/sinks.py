"""The environmental sink (SPEC.md §6.9): a pollutant stock fed by this step's emissions and assimilated.

    P ← min([P + dt·E − dt·a·P]₊, C)          a = sink_assim_rate
Every emitter is gated by the headroom C − P − E, so the stock saturates at C/(1 + a) when the sink binds.
"""

from __future__ import annotations

import numpy as np

from econsim.engine import Arrays, RandomStreams


def environment(s: Arrays, p: Arrays, rng: RandomStreams) -> dict[str, np.ndarray]:
    """Stage 11."""
    dt = p.dt[:, None]
    stock_r = np.maximum(s.pollutant_r + dt * s.emis_r - dt * p.sink_assim_rate[:, None] * s.pollutant_r, 0.0)
    return {"pollutant_r": np.minimum(stock_r, s.sink_cap_r)}
