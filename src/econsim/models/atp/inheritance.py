"""Inheritance and birth endowments (SPEC.md §6.15), with the FX valve, in one pass over the agents.

    death share df_r;  for v ∈ {x, y, w}: v_i ← (1 − df) v_i + ψ̂_i · inherit_frac_on_death · df · V_r
    ψ̂_i = (greed_i + ε)^inherit_conc normalised within the region;  (1 − inherit_frac) df V_r is destroyed
    x_i += birth_endow_atp · b̃_r / agents_r;   fiat_i += birth_endow_fiat · b̃_r / agents_r

Deviation: the endowment is added to the tracked eATP pool too (the original let the pools drift from the
wallets; ``legacy_endowment_drift`` keeps that gap in ``pool_drift_r3``). After this pass the tracked pools
are set to the exact wallet sums (less that gap).
"""

from __future__ import annotations

import numpy as np

from econsim.engine import Arrays, RandomStreams
from econsim.models.atp.fx import valve_share
from econsim.models.atp.wallets import apply_to_pools, closing_pass, pools, region_bounds


def inheritance(s: Arrays, p: Arrays, rng: RandomStreams) -> dict[str, np.ndarray]:
    """Stage 17: wallets brought up to date, inheritance, FX valve, birth endowments."""
    B, R = s.pop_r.shape
    df_r = s.death_frac_r
    drift_r3 = apply_to_pools(s.wallet_map_r, s.pool_drift_r3)  # 0 unless legacy_endowment_drift
    wallets_r3 = pools(s) + drift_r3  # the wallet sums after this step's maps
    frac = p.inherit_frac_on_death[:, None]
    inherit_r3 = (frac * df_r)[:, :, None] * wallets_r3
    per_agent = 1.0 / np.maximum(s.agents_r, 1.0)
    endow_atp_r = p.birth_endow_atp[:, None] * s.births_r * per_agent
    # legacy 3: the endowment reaches the wallets but not the tracked eATP pool; the gap is carried on by
    # every later map (the death share leaves wallets and pools alike)
    drift_r3 = drift_r3.copy()
    drift_r3[..., 0] += np.where(p.legacy_endowment_drift[:, None], endow_atp_r * s.agents_r, 0.0)
    endow_fiat_r = p.birth_endow_fiat[:, None] * s.births_r * per_agent
    share_r = valve_share(s, p)
    sums_r3 = np.zeros((B, R, 3))
    fx_in_r = np.zeros((B, R))
    fx_want_r = np.zeros((B, R))
    closing_pass(
        s.atp_n,
        s.adp_n,
        s.amp_n,
        s.fiat_n,
        s.crypto_n,
        s.wallet_map_r,
        region_bounds(s.agents_r),
        s.heir_n,
        s.fx_prop_n,
        1.0 - df_r,
        inherit_r3,
        share_r,
        1.0 - p.fx_spread_fiat,
        1.0 - p.fx_spread_crypto,
        endow_atp_r,
        endow_fiat_r,
        sums_r3,
        fx_in_r,
        fx_want_r,
    )
    out = {
        "wallet_map_r": np.broadcast_to(np.eye(3), s.wallet_map_r.shape).copy(),
        "atp_r": sums_r3[..., 0] - drift_r3[..., 0],
        "adp_r": sums_r3[..., 1] - drift_r3[..., 1],
        "amp_r": sums_r3[..., 2] - drift_r3[..., 2],
        "pool_drift_r3": drift_r3,
        "fx_in_r": fx_in_r,
        "fx_want_r": fx_want_r,
        "endowed_r": endow_atp_r * s.agents_r,
        "destroyed_r": ((1.0 - frac) * df_r) * wallets_r3.sum(axis=2),
        "day": s.day + 1,
    }
    # The wallets were updated in place. A finite sum proves every summand finite, so they are handed to
    # the engine's strict check (one more pass over 5 × N floats) only when a sum is not, and first: the
    # check then names the agent array, the step and the run. fx_want_r covers fiat and crypto (0·∞ is
    # NaN too).
    if np.isfinite(sums_r3).all() and np.isfinite(fx_want_r).all():
        return out
    wallets = {
        "atp_n": s.atp_n,
        "adp_n": s.adp_n,
        "amp_n": s.amp_n,
        "fiat_n": s.fiat_n,
        "crypto_n": s.crypto_n,
    }
    return {**wallets, **out}
