"""Token flows along the interaction graph (§2.2): payments and over-the-counter trades, exact integers.

Agent i walks its active edge slots e (η_e ≥ eta_min) in CSR order; with w_e = η_e / Σ_active η its
weight and H⁰ its numeraire balances when its walk starts,

    payment on chain c:   ⌊pay_rate · μ_i0 · w_e · H⁰_ic0⌋      from i to j = target_e
    OTC trade:            ⌊otc_rate · μ_i0 · w_e · H_ica · (μ_j1 − μ_i1)⌋ tokens of asset a on chain c
                          from i to j when j wants more risk (μ_j1 > μ_i1), paid by j at the pool price
                          ⌊q · P_ca⌋ (q cut to what j can pay); (c, a) = slot (e + t) mod C·A, rotating daily

Σ_e w_e = 1 and the rates are at most 1, so no balance goes negative, and every unit leaves one agent
for another: flows conserve every token exactly. ``edges.flow`` is the value each slot carried.
"""

from __future__ import annotations

import numpy as np

from econsim.engine import Arrays, RandomStreams, per_run
from econsim.models.network.prefetch import AHEAD, prefetch
from econsim.models.network.state import UNIT


def _flows_one(
    indptr,
    target,
    eta,
    holdings,
    mu,
    pool_cash,
    pool_asset,
    t,
    eta_min,
    pay_rate,
    otc_rate,
    flow,
    traded,
    out,
):
    N, C, K = holdings.shape
    A = K - 1
    CK = C * K
    CA = C * A
    slots = indptr[N]
    price = np.empty((C, A))
    for c in range(C):
        for a in range(A):
            price[c, a] = pool_cash[c, a] / pool_asset[c, a]
    # the OTC slot r = (e + t) mod C·A as (chain, asset), looked up rather than divided per edge
    chain_of = np.empty(max(CA, 1), np.int64)
    asset_of = np.empty(max(CA, 1), np.int64)
    for r in range(CA):
        chain_of[r], asset_of[r] = r // A, r % A
    flat = holdings.reshape(-1)
    mu_flat = mu.reshape(-1)
    cash0 = np.empty(C, np.int64)
    volume = 0.0
    for i in range(N):
        s0, s1 = indptr[i], indptr[i + 1]
        total = 0.0
        for e in range(s0, s1):
            if eta[e] >= eta_min:
                total += eta[e]
        for c in range(C):
            cash0[c] = holdings[i, c, 0]
        r = (s0 + t) % CA if CA > 0 else 0
        for e in range(s0, s1):
            if e + AHEAD < slots:
                # the row of the target AHEAD slots on: holdings (C·K int64), μ and traded
                ahead = np.int64(target[e + AHEAD])
                for q in range(0, CK, 8):
                    prefetch(flat, ahead * CK + q)
                prefetch(flat, ahead * CK + CK - 1)
                prefetch(mu_flat, 2 * ahead)
                prefetch(traded, ahead)
            rr = r
            r += 1
            if r == CA:
                r = 0
            flow[e] = 0.0
            if eta[e] < eta_min:
                continue
            j = target[e]
            w = eta[e] / total
            moved = 0
            act = mu[i, 0] * w
            for c in range(C):
                pay = int(pay_rate * act * cash0[c])
                if pay > 0:
                    holdings[i, c, 0] -= pay
                    holdings[j, c, 0] += pay
                    moved += pay
            want = mu[j, 1] - mu[i, 1]
            if want > 0.0 and A > 0:
                c, a = chain_of[rr], asset_of[rr]
                q = int(otc_rate * act * want * holdings[i, c, a + 1])
                if q > 0:
                    cost = int(q * price[c, a])
                    if cost > holdings[j, c, 0]:
                        q = int(holdings[j, c, 0] / price[c, a])
                        cost = min(int(q * price[c, a]), holdings[j, c, 0])
                    if q > 0 and cost > 0:
                        holdings[i, c, a + 1] -= q
                        holdings[j, c, a + 1] += q
                        holdings[j, c, 0] -= cost
                        holdings[i, c, 0] += cost
                        moved += cost
            value = moved / UNIT
            flow[e] = value
            traded[i] += value
            traded[j] += value
            volume += value
    out[0] = volume


_flows = per_run(_flows_one, shared=("indptr",), cache=True)


def edge_flows(s: Arrays, p, rng: RandomStreams) -> dict[str, np.ndarray]:
    holdings, traded = s.agents.holdings.copy(), s.agents.traded.copy()
    flow = np.empty_like(s.edges.eta)
    out = np.zeros((p.n_runs, 1))
    _flows(
        p.graph_indptr,
        s.edges.target,
        s.edges.eta,
        holdings,
        s.agents.mu,
        s.pool_cash,
        s.pool_asset,
        s.day,
        np.asarray(p.eta_min, float),
        np.asarray(p.pay_rate, float),
        np.asarray(p.otc_rate, float),
        flow,
        traded,
        out,
    )
    return {"agents.holdings": holdings, "agents.traded": traded, "edges.flow": flow, "p2p_volume": out[:, 0]}
