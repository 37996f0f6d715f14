"""The wallet ledger: pools, gates, settlement, and the two compiled passes over the agents.

Every money movement of a step except inheritance, birth endowments and the FX valve is, within a region,
the same linear map of each agent's wallet (x, y, w): minting moves a share s of every y into x,
settlement a share φ of every x into y, demurrage and the AMP leak likewise. Such maps are booked on the
regional pools at once and composed into ``wallet_map_r`` (B, R, 3, 3); the agents' wallets are brought up
to date in two passes per step, which is the same arithmetic as applying each map in turn:

* ``demand_pass`` (stage 5) applies the map of stage 1 (minting) and computes demand from the updated x;
* ``closing_pass`` (after demography) applies the maps of stages 7–14, then inheritance, the FX valve and
  the birth endowments, and returns the exact regional wallet sums, which become the tracked pools.

Primitives of every stage:

    headroom  h_r = [C_r − P_r − E_r]₊
    gate      s_r = min(1, b_r/(c_r + ε), h_r/(e_r + ε))
    settle    a_r = min(c_r, b_r, X_r), φ_r = a_r / X_r:  x ← (1−φ)x, y ← y + φx;  b ← b − a
"""

from __future__ import annotations

import numpy as np
from numba import njit

from econsim.engine import Arrays

EPS = 1e-9
OUTSIDE = float(np.exp(-5.0))  # weight of the outside option in the demand logit


def headroom(s: Arrays, emis_r: np.ndarray) -> np.ndarray:
    return np.maximum(s.sink_cap_r - s.pollutant_r - emis_r, 0.0)


def gate(s: Arrays, book_r: np.ndarray, emis_r: np.ndarray, cost_r: np.ndarray, load_r: np.ndarray) -> np.ndarray:
    """Largest share s ≤ 1 of a bundle (eATP cost c, emission e) that the allowance and the sink admit."""
    return np.minimum(1.0, np.minimum(book_r / (cost_r + EPS), headroom(s, emis_r) / (load_r + EPS)))


def compose(map_r: np.ndarray, step_r: np.ndarray) -> np.ndarray:
    """The map ``step`` applied after ``map``: (B, R, 3, 3)."""
    return np.matmul(step_r, map_r)


def transfer_map(share_r: np.ndarray, src: int, dst: int) -> np.ndarray:
    """Per-region map moving the share ``share_r`` of wallet ``src`` into wallet ``dst`` (0 x, 1 y, 2 w)."""
    out = np.zeros((*share_r.shape, 3, 3))
    out[..., 0, 0] = out[..., 1, 1] = out[..., 2, 2] = 1.0
    out[..., src, src] = 1.0 - share_r
    out[..., dst, src] = share_r
    return out


def pools(s: Arrays) -> np.ndarray:
    return np.stack([s.atp_r, s.adp_r, s.amp_r], axis=-1)


def apply_to_pools(step_r: np.ndarray, pools_r3: np.ndarray) -> np.ndarray:
    return np.einsum("brij,brj->bri", step_r, pools_r3)


def settle(s: Arrays, acc: dict, cost_r: np.ndarray) -> None:
    """Spend eATP: a_r = min(c_r, b_r, X_r) turns into eADP pro rata to holdings (nobody is paid).

    ``acc`` carries this step's running values (book_r, pools_r3, wallet_map_r); the shortfall c − a is
    discarded, as in the original."""
    x_r = acc["pools_r3"][..., 0]
    spent_r = np.minimum(np.minimum(cost_r, acc["book_r"]), x_r)
    share_r = np.where(x_r > 0, spent_r / np.where(x_r > 0, x_r, 1.0), 0.0)
    step_r = transfer_map(share_r, 0, 1)
    acc["pools_r3"] = apply_to_pools(step_r, acc["pools_r3"])
    acc["wallet_map_r"] = compose(acc["wallet_map_r"], step_r)
    acc["book_r"] = acc["book_r"] - spent_r


def book(acc: dict, cost_r: np.ndarray, load_r: np.ndarray) -> None:
    acc["need_r"] = acc["need_r"] + cost_r
    acc["emis_r"] = acc["emis_r"] + load_r


def ledger(s: Arrays) -> dict:
    """This step's running ledger values, to be threaded through the spending stages and returned."""
    return {"book_r": s.book_r, "pools_r3": pools(s), "wallet_map_r": s.wallet_map_r,
            "need_r": s.need_r, "emis_r": s.emis_r}


def ledger_updates(acc: dict) -> dict[str, np.ndarray]:
    p = acc["pools_r3"]
    return {"book_r": acc["book_r"], "atp_r": p[..., 0], "adp_r": p[..., 1], "amp_r": p[..., 2],
            "wallet_map_r": acc["wallet_map_r"], "need_r": acc["need_r"], "emis_r": acc["emis_r"]}


# --- compiled passes over the agents --------------------------------------------------------------------

@njit(fastmath=True, inline="always")
def _exp(z):
    """exp(z) for |z| ≤ 40 as (Taylor₁₂(z/64))⁶⁴: plain arithmetic, so LLVM vectorises the loop over goods
    (numba's math.exp does not: this halves the demand pass). Relative error < 5e-11."""
    y = z * (1.0 / 64.0)
    r = 1.0 + y * (1.0 + y * (1 / 2 + y * (1 / 6 + y * (1 / 24 + y * (1 / 120 + y * (1 / 720 + y * (
        1 / 5040 + y * (1 / 40320 + y * (1 / 362880 + y * (1 / 3628800 + y * (1 / 39916800 + y * (
            1 / 479001600))))))))))))
    r = r * r
    r = r * r
    r = r * r
    r = r * r
    r = r * r
    return r * r


@njit(cache=True, inline="always")
def _apply_map(m, b, r, x, y, w):
    return (m[b, r, 0, 0] * x + m[b, r, 0, 1] * y + m[b, r, 0, 2] * w,
            m[b, r, 1, 0] * x + m[b, r, 1, 1] * y + m[b, r, 1, 2] * w,
            m[b, r, 2, 0] * x + m[b, r, 2, 1] * y + m[b, r, 2, 2] * w)


@njit(cache=True, fastmath=True)  # fastmath: lets LLVM vectorise the sums over goods (reassociation)
def demand_pass(x_bn, y_bn, w_bn, map_br33, region_bn, theta_bng, inv_tau_bn, cons_bn, innov_bn, store_bn,
                price_brg, scale_br, spend_brg, innov_br, store_br):
    """Apply the pending wallet map, then every agent's demand (a loop over agents: numba-compiled, one pass).

    L_ig = clip((θ_ig − p_g,ρ(i))/τ_i, −40, 40); π_ig = e^L_ig / (Σ_h e^L_ih + e^−5);
    spend_ig = cons_i · x_i · cs_ρ(i) · π_ig summed into spend_rg; R&D and storage budgets likewise.
    """
    n_b, n_n = x_bn.shape
    n_g = theta_bng.shape[2]
    e = np.empty(n_g)
    for b in range(n_b):
        for i in range(n_n):
            r = region_bn[b, i]
            x, y, w = _apply_map(map_br33, b, r, x_bn[b, i], y_bn[b, i], w_bn[b, i])
            x_bn[b, i] = x
            y_bn[b, i] = y
            w_bn[b, i] = w
            u = inv_tau_bn[b, i]
            theta = theta_bng[b, i]
            price = price_brg[b, r]
            total = OUTSIDE
            for g in range(n_g):
                z = (theta[g] - price[g]) * u
                z = min(max(z, -40.0), 40.0)
                v = _exp(z)
                e[g] = v
                total += v
            budget = x * scale_br[b, r]
            f = cons_bn[b, i] * budget / total
            spend = spend_brg[b, r]
            for g in range(n_g):
                spend[g] += f * e[g]
            innov_br[b, r] += innov_bn[b, i] * budget
            store_br[b, r] += store_bn[b, i] * budget


@njit(cache=True, fastmath=True)
def closing_pass(x_bn, y_bn, w_bn, fiat_bn, crypto_bn, map_br33, region_bn, heir_bn, fx_prop_bn,
                 keep_br, inherit_br3, fx_scale_br, fx_net_fiat_b, fx_net_crypto_b, endow_atp_br, endow_fiat_br,
                 sums_br3, fx_in_br, fx_want_br):
    """Apply the pending wallet map; inheritance v ← keep·v + heir·pool; the FX valve; birth endowments.

    Returns through ``sums_br3`` the regional wallet sums, ``fx_in_br`` the eADP credited and
    ``fx_want_br`` the eADP the new nominal balances will offer next step."""
    n_b, n_n = x_bn.shape
    for b in range(n_b):
        for i in range(n_n):
            r = region_bn[b, i]
            x, y, w = _apply_map(map_br33, b, r, x_bn[b, i], y_bn[b, i], w_bn[b, i])
            keep = keep_br[b, r]
            h = heir_bn[b, i]
            x = keep * x + h * inherit_br3[b, r, 0]
            y = keep * y + h * inherit_br3[b, r, 1]
            w = keep * w + h * inherit_br3[b, r, 2]
            share = fx_scale_br[b, r] * fx_prop_bn[b, i]
            cf = share * fiat_bn[b, i]
            cc = share * crypto_bn[b, i]
            credit = fx_net_fiat_b[b] * cf + fx_net_crypto_b[b] * cc
            y += credit
            x += endow_atp_br[b, r]
            fiat = fiat_bn[b, i] - cf + endow_fiat_br[b, r]
            crypto = crypto_bn[b, i] - cc
            x_bn[b, i] = x
            y_bn[b, i] = y
            w_bn[b, i] = w
            fiat_bn[b, i] = fiat
            crypto_bn[b, i] = crypto
            sums_br3[b, r, 0] += x
            sums_br3[b, r, 1] += y
            sums_br3[b, r, 2] += w
            fx_in_br[b, r] += credit
            fx_want_br[b, r] += fx_prop_bn[b, i] * (fx_net_fiat_b[b] * fiat + fx_net_crypto_b[b] * crypto)
