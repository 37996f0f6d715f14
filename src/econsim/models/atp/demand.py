"""Capital adequacy, budgets and demand (SPEC.md §5 items 3–5, §6.2–6.3).

AEC_r = (X_r + ½Y_r) / (X_r + Y_r + W_r + 1e−12)          after recharging; read by the gate, demurrage
                                                          and demography, and recorded
b_r = X_r                                                  the step's eATP spending allowance
β_i = ½ x_i · cs_ρ(i)                                      budget (a signal: nothing is debited)
V_rg = Σ_{i∈r} (1 − a^S − a^I − a^B)_i β_i π_ig ,  d_rg = V_rg / (p_rg + 1e−6)
I_r = min(Σ a^I β, cap_innov_exergy_mult([m]₊ + 1)),  Sb_r = min(Σ a^B β, cap_storage_exergy_mult([m]₊ + 1))
"""

from __future__ import annotations

import numpy as np

from econsim.engine import Arrays, RandomStreams
from econsim.models.atp.wallets import demand_pass, region_bounds


def aec(atp_r: np.ndarray, adp_r: np.ndarray, amp_r: np.ndarray) -> np.ndarray:
    return (atp_r + 0.5 * adp_r) / (atp_r + adp_r + amp_r + 1e-12)


def capital_adequacy(s: Arrays, p: Arrays, rng: RandomStreams) -> dict[str, np.ndarray]:
    """Stages 2–4: exogenous inflow Q ← [Q + dt·e]₊, the AEC, and the eATP allowance b = X."""
    return {
        "stock_rg": np.maximum(s.stock_rg + p.dt[:, None, None] * s.inflow_rg, 0.0),
        "aec_r": aec(s.atp_r, s.adp_r, s.amp_r),
        "book_r": s.atp_r.copy(),
    }


def demand(s: Arrays, p: Arrays, rng: RandomStreams) -> dict[str, np.ndarray]:
    """Stage 5: agents' demand at their eATP after the mint, and the investment budgets.

    The pass reads the wallets through the pending map and writes none of them: the map stays pending, and
    the closing pass applies it composed with the later stages' maps (3 × N floats less written, and
    checked, a step)."""
    B, R, G = s.price_rg.shape
    spend_rg = np.zeros((B, R, G))
    innov_r = np.zeros((B, R))
    store_r = np.zeros((B, R))
    demand_pass(
        s.atp_n,
        s.adp_n,
        s.amp_n,
        s.wallet_map_r,
        region_bounds(s.agents_r),
        s.theta_ng,
        s.inv_tau_n,
        s.cons_coef_n,
        s.innov_coef_n,
        s.store_coef_n,
        s.price_rg,
        s.cons_scale_r,
        spend_rg,
        innov_r,
        store_r,
    )
    mint_r = np.maximum(s.minted_r, 0.0) + 1.0
    return {
        "demand_rg": spend_rg / (s.price_rg + 1e-6),
        "innov_budget_r": np.minimum(innov_r, p.cap_innov_exergy_mult[:, None] * mint_r),
        "storage_budget_r": np.minimum(store_r, p.cap_storage_exergy_mult[:, None] * mint_r),
        "gdp_prices_rg": s.price_rg.copy(),
    }
