"""The wallet ledger: pools, gates, settlement, and the two compiled passes over the agents.

Every money movement of a step except inheritance, birth endowments and the FX valve is, within a region,
the same linear map of each agent's wallet (x, y, w): minting moves a share s of every y into x,
settlement a share φ of every x into y, demurrage and the AMP leak likewise. Such maps are booked on the
regional pools at once and composed into ``wallet_map_r`` (B, R, 3, 3); the agents' wallets are brought up
to date once per step, by the composed map; the two passes over the agents are compiled kernels for one
run (``demand_kernel``, ``closing_kernel``) that ``engine.per_run`` maps over the batch in one compiled loop:

* ``demand_pass`` (stage 5) reads each agent's eATP after the map of stage 1 (minting) and computes
  demand from it; it writes no wallet;
* ``closing_pass`` (after demography) applies the maps of stages 1 and 7–14 composed, then inheritance,
  the FX valve and the birth endowments, and returns the exact regional wallet sums, which become the
  tracked pools.

Primitives of every stage:

    headroom  h_r = [C_r − P_r − E_r]₊
    gate      s_r = min(1, b_r/(c_r + ε), h_r/(e_r + ε))
    settle    a_r = min(c_r, b_r, X_r), φ_r = a_r / X_r:  x ← (1−φ)x, y ← y + φx;  b ← b − a
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import prange, types
from numba.extending import intrinsic

from econsim.engine import Arrays, per_run
from econsim.engine.jit import njit

EPS = 1e-9
OUTSIDE = float(np.exp(-5.0))  # weight of the outside option in the demand logit


def headroom(s: Arrays, emis_r: np.ndarray) -> np.ndarray:
    return np.maximum(s.sink_cap_r - s.pollutant_r - emis_r, 0.0)


def gate(
    s: Arrays, book_r: np.ndarray, emis_r: np.ndarray, cost_r: np.ndarray, load_r: np.ndarray
) -> np.ndarray:
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
    return {
        "book_r": s.book_r,
        "pools_r3": pools(s),
        "wallet_map_r": s.wallet_map_r,
        "need_r": s.need_r,
        "emis_r": s.emis_r,
    }


def ledger_updates(acc: dict) -> dict[str, np.ndarray]:
    p = acc["pools_r3"]
    return {
        "book_r": acc["book_r"],
        "atp_r": p[..., 0],
        "adp_r": p[..., 1],
        "amp_r": p[..., 2],
        "wallet_map_r": acc["wallet_map_r"],
        "need_r": acc["need_r"],
        "emis_r": acc["emis_r"],
    }


# --- compiled passes over the agents --------------------------------------------------------------------

# float32 constants: a Python float would promote the demand arithmetic to float64
_F = np.float32
_LOG2E, _LN2_HI, _LN2_LO = _F(1.4426950408889634), _F(0.693359375), _F(-2.12194440e-4)
_C2, _C3, _C4, _C5, _C6, _C7 = _F(1 / 2), _F(1 / 6), _F(1 / 24), _F(1 / 120), _F(1 / 720), _F(1 / 5040)
_ONE, _HALF, _CLIP, _NAN = _F(1.0), _F(0.5), _F(40.0), _F(np.nan)
_LANES = 16  # float32 lanes of a 512-bit vector: the loops over goods run over whole vectors


@intrinsic
def _pow2(typingctx, k):
    """2^k as float32 for an int32 k with −126 ≤ k ≤ 127, written into the exponent bits. In registers:
    building it in an int32 array viewed as float32 made the loop store, reload and check aliasing."""

    def codegen(context, builder, signature, args):
        i32 = ir.IntType(32)
        biased = builder.shl(builder.add(args[0], ir.Constant(i32, 127)), ir.Constant(i32, 23))
        return builder.bitcast(biased, ir.FloatType())

    return types.float32(types.int32), codegen


def region_bounds(agents_r: np.ndarray) -> np.ndarray:
    """(B, R + 1) index of each region's first agent (agents are stored sorted by region)."""
    counts = np.rint(agents_r).astype(np.int64)
    out = np.zeros((counts.shape[0], counts.shape[1] + 1), dtype=np.int64)
    np.cumsum(counts, axis=1, out=out[:, 1:])
    return out


# Reassociation (and friends) let LLVM vectorise the loops over goods and agents. Not the full fastmath
# set: "no NaNs / no infinities" would let the compiler drop the NaN checks and turn a NaN into garbage.
# error_model="numpy": a division by zero gives inf or NaN, never an exception.
_FAST = {"reassoc", "contract", "arcp", "nsz", "afn"}


@njit(fastmath=_FAST, error_model="numpy", parallel=True)
def demand_kernel(
    x_n,
    y_n,
    w_n,
    map_r33,
    bounds_r,
    theta_ng,
    inv_tau_n,
    cons_n,
    innov_n,
    store_n,
    price_rg,
    scale_r,
    spend_rg,
    innov_r,
    store_r,
):
    """One run: every agent's demand at its eATP after the pending wallet map (a compiled loop over agents).

    x'_i = (map · (x, y, w)_i)₀ (the wallets themselves are left alone: the closing pass applies the whole
    step's map, this one included);
    L_ig = clip((θ_ig − p_g,ρ(i))/τ_i, −40, 40); π_ig = e^L_ig / (Σ_h e^L_ih + e^−5);
    spend_ig = cons_i · x'_i · cs_ρ(i) · π_ig summed into spend_rg; R&D and storage budgets likewise.

    The logits and e^L are float32 (as in the original, whose tensors were all float32): 16 SIMD lanes
    instead of 8 halve the cost of the N × G exponentials, most of the step. e^L = 2^k ·
    P₇(L − k ln 2), k the nearest integer to L/ln 2; relative error ≈ 2·10⁻⁶, set by rounding L to
    float32. Wallets, budgets and the sums over agents stay float64.

    Non-finite inputs (a run without the strict check): ±∞ logits clip to ±40 like any other; an agent with
    a NaN logit, wallet or coefficient spends NaN on every good, so the NaN reaches its region's demand.

    Regions are spread over numba's threads (``NUMBA_NUM_THREADS``) when the batch is one run (several
    runs are spread over them instead, by ``demand_pass``): each region's sums are taken by one thread over
    its agents in order, so the results are the same bits on any thread count.

    The loops over goods run over G rounded up to a multiple of 16 (``_LANES``; padding goods have θ = 0,
    p = 1 and weight 0): the compiler splits a loop into whole vectors and a scalar remainder, and with G = 24
    the remainder's 8 scalar exponentials cost more than the 16 in one vector (1.4× faster pass).
    """
    n_g = theta_ng.shape[1]
    n_pad = (n_g + _LANES - 1) // _LANES * _LANES
    for r in prange(bounds_r.shape[0] - 1):
        e = np.zeros(n_pad, np.float32)
        price = np.ones(n_pad, np.float32)  # padding: θ − p = −1, so an infinite 1/τ gives −∞, not NaN
        theta = np.zeros(n_pad, np.float32)
        weight = np.zeros(n_pad, np.float32)  # 1 for the goods, 0 for the padding
        spend = np.zeros(n_pad)
        m0, m1, m2 = map_r33[r, 0, 0], map_r33[r, 0, 1], map_r33[r, 0, 2]
        for g in range(n_g):
            price[g] = price_rg[r, g]
            weight[g] = 1.0
        scale = scale_r[r]
        innov = store = 0.0
        for i in range(bounds_r[r], bounds_r[r + 1]):
            budget = (m0 * x_n[i] + m1 * y_n[i] + m2 * w_n[i]) * scale
            u = _F(inv_tau_n[i])
            row = theta_ng[i]
            for g in range(n_g):
                theta[g] = row[g]
            total = OUTSIDE  # float64: a float32 sum here made the loop twice as slow
            for g in range(n_pad):
                z = (theta[g] - price[g]) * u
                c = z if z > -_CLIP else -_CLIP  # NaN lands here and is put back below: k stays finite
                c = c if c < _CLIP else _CLIP
                k = np.floor(c * _LOG2E + _HALF)
                q = (c - k * _LN2_HI) - k * _LN2_LO
                v = _ONE + q * (_ONE + q * (_C2 + q * (_C3 + q * (_C4 + q * (_C5 + q * (_C6 + q * _C7))))))
                v = v * _pow2(np.int32(k)) * weight[g]
                v = v if z == z else _NAN
                e[g] = v
                total += v
            f = cons_n[i] * budget / total
            for g in range(n_pad):
                spend[g] += f * e[g]
            innov += innov_n[i] * budget
            store += store_n[i] * budget
        for g in range(n_g):
            spend_rg[r, g] += spend[g]
        innov_r[r] += innov
        store_r[r] += store


#: ``demand_kernel`` over the batch: every argument has the run axis first (x_bn, …, store_br). Several
#: runs go to numba's threads one run each; a single run spreads its regions over them.
demand_pass = per_run(demand_kernel, parallel=True)


@njit(fastmath=_FAST, error_model="numpy", parallel=True)  # vectorised sums per region; NaN stays NaN
def closing_kernel(
    x_n,
    y_n,
    w_n,
    fiat_n,
    crypto_n,
    map_r33,
    bounds_r,
    heir_n,
    fx_prop_n,
    keep_r,
    inherit_r3,
    fx_scale_r,
    net_fiat,
    net_crypto,
    endow_atp_r,
    endow_fiat_r,
    sums_r3,
    fx_in_r,
    fx_want_r,
):
    """One run: apply the pending wallet map; inheritance v ← keep·v + heir·pool; the FX valve; birth
    endowments.

    Returns through ``sums_r3`` the regional wallet sums, ``fx_in_r`` the eADP credited and ``fx_want_r``
    the eADP the new nominal balances will offer next step. One region at a time, so the sums stay in
    registers; regions spread over threads as in ``demand_kernel`` (the same bits on any thread count)."""
    for r in prange(bounds_r.shape[0] - 1):
        m = map_r33[r]
        keep = keep_r[r]
        hx, hy, hw = inherit_r3[r, 0], inherit_r3[r, 1], inherit_r3[r, 2]
        fx_scale, endow_atp, endow_fiat = fx_scale_r[r], endow_atp_r[r], endow_fiat_r[r]
        sx = sy = sw = fx_in = fx_want = 0.0
        for i in range(bounds_r[r], bounds_r[r + 1]):
            x0, y0, w0 = x_n[i], y_n[i], w_n[i]
            h = heir_n[i]
            x = keep * (m[0, 0] * x0 + m[0, 1] * y0 + m[0, 2] * w0) + h * hx + endow_atp
            y = keep * (m[1, 0] * x0 + m[1, 1] * y0 + m[1, 2] * w0) + h * hy
            w = keep * (m[2, 0] * x0 + m[2, 1] * y0 + m[2, 2] * w0) + h * hw
            prop = fx_prop_n[i]
            cf = fx_scale * prop * fiat_n[i]
            cc = fx_scale * prop * crypto_n[i]
            credit = net_fiat * cf + net_crypto * cc
            y += credit
            fiat = fiat_n[i] - cf + endow_fiat
            crypto = crypto_n[i] - cc
            x_n[i], y_n[i], w_n[i] = x, y, w
            fiat_n[i], crypto_n[i] = fiat, crypto
            sx += x
            sy += y
            sw += w
            fx_in += credit
            fx_want += prop * (net_fiat * fiat + net_crypto * crypto)
        sums_r3[r, 0] += sx
        sums_r3[r, 1] += sy
        sums_r3[r, 2] += sw
        fx_in_r[r] += fx_in
        fx_want_r[r] += fx_want


#: ``closing_kernel`` over the batch: every argument has the run axis first (the FX spreads are (B,));
#: threads as in ``demand_pass``
closing_pass = per_run(closing_kernel, parallel=True)
