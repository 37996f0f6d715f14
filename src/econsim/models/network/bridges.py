"""Cross-chain bridges and the arbitrage desk (§4.1).

Route i → j (buy on chain i, bridge, sell on chain j) sees chain j's price through the bridge:

    P̃^(i←j)(t) = B_ij · P^(j)(t − τ_ij) + ε_ij,     B_ij = (1 − bridge_fee)·I,  ε_ij ~ N(0, (noise·P_j)²)
    τ_ij = bridge_delay · |i − j|                      (chains on a line; L = bridge_delay·(C − 1) + 1 slots)

The desk buys α of the risky token on chain i where that pays, with the quadratic execution cost
C(α) = ½·c_eff·α², c_eff = arb_cost·P_i / X_i (X_i the pool's token depth: the cost of moving the pool):

    α* = argmax_α α·(P̃ − P_i) − ½ c_eff α²  =  clip((P̃ − P_i)/c_eff, 0, capacity·X_i)

Bought tokens, less the bridge fee (kept by the bridge), enter the delay buffer and arrive on chain j
τ_ij steps later, where the desk sells them into j's pool. Each step the desk also bridges a quarter of
the numeraire gap between its richest and poorest chain. Every amount is an integer of base units.
"""

from __future__ import annotations

import numpy as np

from econsim.engine import Arrays, RandomStreams, per_run
from econsim.models.network.draws import normal, stream_word
from econsim.models.network.state import UNIT


def arbitrage_size(gap, cost, capacity):
    """α* = clip(gap / cost, 0, capacity): the maximiser of α·gap − ½·cost·α² on [0, capacity]."""
    return np.clip(np.asarray(gap, dtype=float) / cost, 0.0, capacity)


def delay_slot(t, tau, n_lags):
    """Ring slot that holds step t − τ (reading) or receives step t + τ (``tau`` negative): (t − τ) mod L."""
    return (np.asarray(t) - np.asarray(tau)) % n_lags


def _bridge_one(
    t, hist, pool_cash, pool_asset, arb, inflight, fees, word, tau, fee, noise, cost, capacity, pool_fee, out
):
    """One run, step t: arrivals, sales on arrival, price record, arbitrage on every route, desk cash."""
    L = hist.shape[0]
    C, A = pool_cash.shape
    K = A + 1
    slot = t % L
    for c in range(C):
        for k in range(K):
            arb[c, k] += inflight[slot, c, k]
            inflight[slot, c, k] = 0
    for c in range(C):
        for a in range(A):
            q = arb[c, a + 1]
            if q > 0:
                net = q * (1.0 - pool_fee)
                got = int(net * pool_cash[c, a] / (pool_asset[c, a] + net))
                got = max(0, min(got, pool_cash[c, a] - 1))
                pool_asset[c, a] += q
                pool_cash[c, a] -= got
                arb[c, 0] += got
                arb[c, a + 1] = 0
    for c in range(C):
        for a in range(A):
            hist[slot, c, a] = pool_cash[c, a] / pool_asset[c, a]
    volume = 0.0
    profit = 0.0
    n = 0
    for i in range(C):
        for j in range(C):
            if i == j:
                continue
            for a in range(A):
                pj = hist[(t - tau[i, j]) % L, j, a]
                seen = (1.0 - fee) * pj + noise * pj * normal(word, n)
                n += 1
                pi = pool_cash[i, a] / pool_asset[i, a]
                depth = pool_asset[i, a] / UNIT
                c_eff = cost * pi / depth
                alpha = min(max((seen - pi) / c_eff, 0.0), capacity * depth)
                if alpha <= 0.0:
                    continue
                profit += alpha * (seen - pi) - 0.5 * c_eff * alpha * alpha
                spend = min(arb[i, 0], int(alpha * pi * UNIT))
                if spend <= 0:
                    continue
                net = spend * (1.0 - pool_fee)
                got = int(net * pool_asset[i, a] / (pool_cash[i, a] + net))
                got = max(0, min(got, pool_asset[i, a] - 1))
                pool_cash[i, a] += spend
                pool_asset[i, a] -= got
                arb[i, 0] -= spend
                kept = int(got * fee)
                fees[a + 1] += kept
                inflight[(t + tau[i, j]) % L, j, a + 1] += got - kept
                volume += spend / UNIT
    if C > 1:
        rich, poor = 0, 0
        for c in range(C):
            if arb[c, 0] > arb[rich, 0]:
                rich = c
            if arb[c, 0] < arb[poor, 0]:
                poor = c
        amount = (arb[rich, 0] - arb[poor, 0]) // 4
        if amount > 0:
            arb[rich, 0] -= amount
            kept = int(amount * fee)
            fees[0] += kept
            inflight[(t + tau[rich, poor]) % L, poor, 0] += amount - kept
    wealth = 0.0
    for c in range(C):
        wealth += arb[c, 0]
        for a in range(A):
            wealth += arb[c, a + 1] * hist[slot, c, a]
        for s in range(L):
            wealth += inflight[s, c, 0]
            for a in range(A):
                wealth += inflight[s, c, a + 1] * hist[slot, c, a]
    out[0] = volume
    out[1] = profit
    out[2] = wealth / UNIT


_bridge = per_run(_bridge_one, shared=("tau",), cache=True)


def bridges(s: Arrays, p, rng: RandomStreams) -> dict[str, np.ndarray]:
    B = p.n_runs
    t = s.day + 1
    hist, pool_cash, pool_asset = s.price_hist.copy(), s.pool_cash.copy(), s.pool_asset.copy()
    arb, inflight, fees = s.arb_holdings.copy(), s.bridge_inflight.copy(), s.bridge_fees.copy()
    out = np.zeros((B, 3))
    _bridge(
        t,
        hist,
        pool_cash,
        pool_asset,
        arb,
        inflight,
        fees,
        stream_word(rng, "bridges"),
        p.bridge_tau,
        np.asarray(p.bridge_fee, float),
        np.asarray(p.bridge_noise, float),
        np.asarray(p.arb_cost, float),
        np.asarray(p.bridge_capacity, float),
        np.asarray(p.pool_fee, float),
        out,
    )
    return {
        "day": t,
        "price_hist": hist,
        "pool_cash": pool_cash,
        "pool_asset": pool_asset,
        "arb_holdings": arb,
        "bridge_inflight": inflight,
        "bridge_fees": fees,
        "arb_volume": out[:, 0],
        "arb_profit": out[:, 1],
        "arb_wealth": out[:, 2],
    }
