"""Shadow-price controllers (SPEC.md §6.12): pure integrators of the exergy and sink constraints.

ratio = clip((ν + 1e−12)/(m + 1e−12), 1e−6, 1e6);  ζμ ← ema_ex ζμ + (1 − ema_ex) ratio
μ ← clip(μ (ζμ)^eta_ex, mu_floor, mu_cap)
util = P/(C + 1e−12);  ζλ ← ema_sink ζλ + (1 − ema_sink) util
λ ← clip(λ exp(clip(eta_sink (ζλ − util_target), −40, 40)), lambda_floor, lambda_cap)
"""

from __future__ import annotations

import numpy as np

from econsim.engine import Arrays, RandomStreams
from econsim.engine.numerics import per_run_power
from econsim.models.atp.demography import clip


def shadow_prices(s: Arrays, p: Arrays, rng: RandomStreams) -> dict[str, np.ndarray]:
    """Stage 13b."""
    c = lambda v: v[:, None]  # noqa: E731
    ratio = clip((s.need_r + 1e-12) / (s.minted_r + 1e-12), 1e-6, 1e6)
    mu_ema = c(p.ema_ex) * s.mu_ema_r + (1.0 - c(p.ema_ex)) * ratio
    mu = clip(s.mu_r * per_run_power(mu_ema, p.eta_ex), c(p.mu_floor), c(p.mu_cap))
    util = s.pollutant_r / (s.sink_cap_r + 1e-12)
    lam_ema = c(p.ema_sink) * s.lam_ema_r + (1.0 - c(p.ema_sink)) * util
    lam = clip(
        s.lam_r * np.exp(clip(c(p.eta_sink) * (lam_ema - c(p.util_target)), -40.0, 40.0)),
        c(p.lambda_floor),
        c(p.lambda_cap),
    )
    return {"mu_ema_r": mu_ema, "mu_r": mu, "lam_ema_r": lam_ema, "lam_r": lam}
