"""Price discovery in log space with a trust region, a slow anchor and a unit-cost floor (SPEC.md §6.11).

    g = clip(log max(d, 1e−12) − log max(Q, 1e−12), −5, 5)          excess demand (flow over stock)
    ℓ̄ ← 0.999 ℓ̄ + 0.001 ℓ;   ℓ* = ℓ + 0.01 g + 0.005 (ℓ̄ − ℓ)
    floor: cost_rj = Σ_g p S⁻ + μ ξ_eff + λ σ_eff;  fl_rg = min over producers j of g of cost_rj / S⁺_gj;
           final goods also max(·, μ ξ^c + λ σ^c);  fl ← 1.02 fl
    ℓ* ← max(ℓ*, 0.7 ℓ + 0.3 log max(fl, 1e−12));  ℓ ← clip(ℓ*, −20, 20)

Deviation: the production-cost floor is the minimum over the good's producers, as documented in the
original; its code took the minimum over all processes (≈ 0 for every good). ``legacy_price_floor``
restores that.
"""

from __future__ import annotations

import numpy as np

from econsim.engine import Arrays, RandomStreams
from econsim.models.atp.consumption import SIG_CONS, XI_CONS
from econsim.models.atp.demography import clip
from econsim.models.atp.world import goods_partition

LOG_BOUND = 20.0


def unit_cost_floor(s: Arrays, p: Arrays) -> np.ndarray:
    """fl_rg from the old prices and the current duals and intensities."""
    S = s.stoich_gj
    outputs, inputs = np.maximum(S, 0.0), np.maximum(-S, 0.0)
    cost_rj = (
        np.matmul(s.price_rg, inputs) + s.mu_r[:, :, None] * s.xi_eff_rj + s.lam_r[:, :, None] * s.sig_eff_rj
    )
    produces = outputs > 0  # (B, G, J)
    per_unit = cost_rj[:, :, None, :] / np.where(produces, outputs, 1.0)[:, None]  # (B, R, G, J)
    legacy = p.legacy_price_floor[:, None, None, None]
    # legacy: non-producers' candidate cost/1e30 takes part in the minimum (the original's dead floor)
    outsider = np.where(legacy, cost_rj[:, :, None, :] / 1e30, np.inf)
    floor_rg = np.where(produces[:, None], per_unit, outsider).min(axis=3)
    floor_rg = np.where(np.isfinite(floor_rg), np.maximum(floor_rg, 0.0), 0.0)
    finals = goods_partition(S.shape[1], s.reserves_rm.shape[2])[2]
    use_r = (s.mu_r * XI_CONS + s.lam_r * SIG_CONS)[:, :, None]
    floor_rg[:, :, finals] = np.maximum(floor_rg[:, :, finals], use_r)
    return 1.02 * floor_rg


def price_update(s: Arrays, p: Arrays, rng: RandomStreams) -> dict[str, np.ndarray]:
    """Stage 13a."""
    log_p = np.log(np.maximum(s.price_rg, 1e-12))
    supply = np.maximum(s.stock_rg, 0.0)
    excess = clip(np.log(np.maximum(s.demand_rg, 1e-12)) - np.log(np.maximum(supply, 1e-12)), -5.0, 5.0)
    anchor = 0.999 * s.anchor_rg + 0.001 * log_p
    candidate = log_p + 0.01 * excess + 0.005 * (anchor - log_p)
    floor = 0.7 * log_p + 0.3 * np.log(np.maximum(unit_cost_floor(s, p), 1e-12))
    log_new = clip(np.maximum(candidate, floor), -LOG_BOUND, LOG_BOUND)
    return {"price_rg": np.exp(log_new), "anchor_rg": anchor}
