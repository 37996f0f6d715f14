"""The energy bank (SPEC.md §6.1, §6.10): generation and storage recharge eADP into eATP ("minting"),
collateralised by last step's eATP spending; storage investment grows the storage capacity.

    Gn = Γ · max(0.1, 1 + gen_noise(2U − 1))                    generation, U ~ U(0,1) per region and step
    dis = min([ν_prev − Gn]₊ / η, B)                              storage discharge on offer
    Dl  = min(Gn + η·dis, [ν_prev]₊)                              deliverable (never above last step's need)
    s   = min(1, h / (γ Dl + ε))                                  sink gate; delivered Dv = s·Dl, emission s·γ·Dl
    m   = min(Dv, Y)                                              minted: eADP → eATP, pro rata to eADP holdings
    storage: B ← min([B + min(η·[Dv − m]₊, [B̄ − B]₊) − [Dv − Gn]₊/η]₊, B̄)

Fixes: the surplus is stored as η·surplus (the original stored surplus/η, creating energy:
``legacy_storage_gain``), and only the discharge actually delivered leaves the store (the original lost
discharged energy cut by the sink gate: ``legacy_discharge_loss``).
"""

from __future__ import annotations

import numpy as np

from econsim.engine import Arrays, RandomStreams
from econsim.models.atp.wallets import EPS, apply_to_pools, compose, pools, transfer_map

ETA = 0.85  # storage round-trip efficiency


def recharge(s: Arrays, p: Arrays, rng: RandomStreams) -> dict[str, np.ndarray]:
    """Stage 1: mint eATP from generation and storage, at most last step's eATP spending."""
    R = s.gen_cap_r.shape[1]
    noise_r = np.maximum(0.1, 1.0 + p.gen_noise[:, None] * (2.0 * rng("generation").random((R,)) - 1.0))
    gen_r = s.gen_cap_r * noise_r
    need_prev_r = s.need_r  # the need booked last step
    offer_r = np.minimum(np.maximum(need_prev_r - gen_r, 0.0) / (ETA + EPS), s.storage_r)
    deliverable_r = np.minimum(gen_r + ETA * offer_r, np.maximum(need_prev_r, 0.0))
    load_r = deliverable_r * s.gen_sig_r
    share_r = np.minimum(1.0, np.maximum(s.sink_cap_r - s.pollutant_r, 0.0) / (load_r + EPS))
    delivered_r = share_r * deliverable_r
    minted_r = np.minimum(delivered_r, s.adp_r)
    # legacy 8: the whole discharge on offer leaves the store, whatever the sink gate let through
    used_r = np.minimum(np.maximum(delivered_r - gen_r, 0.0) / ETA, s.storage_r)
    discharged_r = np.where(p.legacy_discharge_loss[:, None], offer_r, used_r)
    surplus_r = np.maximum(delivered_r - minted_r, 0.0)
    # legacy 2: surplus/η is stored (the store gains energy)
    stored_r = np.where(p.legacy_storage_gain[:, None], surplus_r / (ETA + EPS), ETA * surplus_r)
    charged_r = np.minimum(stored_r, np.maximum(s.storage_cap_r - s.storage_r, 0.0))
    storage_r = np.minimum(np.maximum(s.storage_r + charged_r - discharged_r, 0.0), s.storage_cap_r)
    y_r = s.adp_r
    mint_share_r = np.where(y_r > EPS, minted_r / np.where(y_r > EPS, y_r, 1.0), 0.0)
    step_r = transfer_map(mint_share_r, 1, 0)
    pools_r3 = apply_to_pools(step_r, pools(s))
    zero_r = np.zeros_like(minted_r)
    return {
        "minted_r": minted_r,
        "storage_r": storage_r,
        "need_prev_r": need_prev_r,
        "need_r": zero_r,
        "emis_r": share_r * load_r,
        "wallet_map_r": compose(s.wallet_map_r, step_r),
        "atp_r": pools_r3[..., 0],
        "adp_r": pools_r3[..., 1],
        "amp_r": pools_r3[..., 2],
    }


def storage_investment(s: Arrays, p: Arrays, rng: RandomStreams) -> dict[str, np.ndarray]:
    """Stage 12: B̄ ← [(B̄ + dt·eta_storage·[Sb]₊) / (1 + dt·storage_decay)]₊; B ← min(B, B̄)."""
    dt = p.dt[:, None]
    cap_r = np.maximum(
        (s.storage_cap_r + dt * p.eta_storage[:, None] * np.maximum(s.storage_budget_r, 0.0))
        / (1.0 + dt * p.storage_decay[:, None]),
        0.0,
    )
    return {"storage_cap_r": cap_r, "storage_r": np.minimum(s.storage_r, cap_r)}
