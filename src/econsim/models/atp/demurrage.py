"""Demurrage on eATP and the eAMP leak (SPEC.md §6.13).

fd = 1 + 0.5 tanh(ers_k (AEC − c)) ∈ [0.5, 1.5];  k = [demurrage · fd]₊        (AEC from stage 3)
x ← x/(1 + k dt),  y ← y + k dt x_new                    (Patankar: eATP decays into eADP)
AEC' from the pools;  leak ℓ = 0.01 [aec_low − AEC']₊;  w ← w/(1 + ℓ dt),  y ← y + ℓ dt w_new
"""

from __future__ import annotations

import numpy as np

from econsim.engine import Arrays, RandomStreams
from econsim.models.atp.demand import aec
from econsim.models.atp.wallets import apply_to_pools, compose, pools, transfer_map


def demurrage(s: Arrays, p: Arrays, rng: RandomStreams) -> dict[str, np.ndarray]:
    """Stage 14."""
    c = lambda v: v[:, None]  # noqa: E731
    dt = c(p.dt)
    centre = 0.5 * (c(p.aec_low) + c(p.aec_high))
    rate_r = np.maximum(c(p.demurrage) * (1.0 + 0.5 * np.tanh(c(p.ers_k) * (s.aec_r - centre))), 0.0)
    decay = transfer_map(rate_r * dt / (1.0 + rate_r * dt), 0, 1)
    pools_r3 = apply_to_pools(decay, pools(s))
    aec_r = aec(pools_r3[..., 0], pools_r3[..., 1], pools_r3[..., 2])
    leak_r = 0.01 * np.maximum(c(p.aec_low) - aec_r, 0.0)
    leak = transfer_map(leak_r * dt / (1.0 + leak_r * dt), 2, 1)
    pools_r3 = apply_to_pools(leak, pools_r3)
    return {
        "atp_r": pools_r3[..., 0],
        "adp_r": pools_r3[..., 1],
        "amp_r": pools_r3[..., 2],
        "wallet_map_r": compose(compose(s.wallet_map_r, decay), leak),
    }
