"""Token flows along the interaction graph (§2.2): payments and over-the-counter trades, exact integers.

Every flow of a step is computed from the balances H⁰ the stage starts with (a bulk-synchronous
update: no agent's flows depend on the order in which the others walk their links, which is what lets
a run be split over workers). Agent i walks its active edge slots e (η_e ≥ eta_min); with
w_e = η_e / Σ_active η its weight,

    payment on chain c:   ⌊pay_rate · μ_i0 · w_e · H⁰_ic0⌋      from i to j = target_e
    OTC offer:            q_e = ⌊otc_rate · μ_i0 · w_e · H⁰_ica · (μ_j1 − μ_i1)⌋ tokens of asset a on chain c
                          from i to j when j wants more risk (μ_j1 > μ_i1), at cost_e = ⌊q_e · P_ca⌋;
                          (c, a) = slot (e + t) mod C·A, rotating daily (e the slot's id)

Buyer j has budget b_jc = its numeraire on chain c after its own payments; when the offers to j on
chain c cost more than that, every one is cut by the same factor s_jc = b_jc·(1 − 10⁻¹²) / Σ cost_e:
q_e' = ⌊q_e s_jc⌋, cost_e' = min(⌊q_e' P_ca⌋, ⌊cost_e s_jc⌋). Payments take at most pay_rate ≤ 1 of
H⁰ and sales at most otc_rate ≤ 1 of the tokens, so no balance goes negative, and every unit leaves one
agent for another: flows conserve every token exactly. ``edges.flow`` is the value each slot carried;
``agents.traded`` adds what an agent sent and received, counted in base units (exact in any order).

Three passes, each over the walking agents only (so a pass runs on any block of agents, reading ghost
copies of the others): ``_pay`` (payments, offer totals per buyer), ``_scales`` (each buyer's s_jc),
``_fill`` (the trades). What a pass owes an agent — its own or another block's — is added to the agent's
row of one credit array ``due`` (n, W) int64 (``columns``), which the stage applies (``_credit``) or a
partitioned run sends to the owners:

    due[j] = [cash received per chain (C) | base units traded | offer totals per chain (C) | tokens per (c, a)]

One row holds everything a walk writes to a counterparty, so a slot's writes to a target share one or
two cache lines (at 10⁶ agents on a random graph every target row is a cache miss).
"""

from __future__ import annotations

import numpy as np
from numba import prange

from econsim.engine import Arrays, RandomStreams, per_run
from econsim.engine.jit import njit
from econsim.engine.kernels import jit
from econsim.models.network.draws import stream_word
from econsim.models.network.prefetch import AHEAD, prefetch
from econsim.models.network.state import UNIT
from econsim.models.network.strategies import imitation


def columns(C: int, A: int) -> tuple[int, int, int, int]:
    """(units column, first offer-total column, first token column, row width) of the credit rows."""
    return C, C + 1, 2 * C + 1, 2 * C + 1 + C * A


@njit()
def _prices(pool_cash, pool_asset):
    C, A = pool_cash.shape
    price = np.empty((C, A))
    for c in range(C):
        for a in range(A):
            price[c, a] = pool_cash[c, a] / pool_asset[c, a]
    return price


@njit(inline="always")
def _prefetch_row(flat, start, width):
    """Prefetch every cache line of the row flat[start : start + width] (8-byte elements)."""
    for q in range(0, width, 8):
        prefetch(flat, start + q)
    prefetch(flat, start + width - 1)


@njit(inline="always")
def _offer(r, i, act, want, h0, price, otc_rate, A):
    """(chain, asset, tokens, cost) of the OTC offer from i on the slot whose rotation is r = (e + t) mod
    C·A (e the slot's id; tokens 0: none). The walks step r along a row instead of dividing per slot."""
    c = r // A
    a = r - c * A
    q = int(otc_rate * act * want * h0[i, c, a + 1])
    cost = int(q * price[c, a]) if q > 0 else 0
    return c, a, q, cost


def _pay_one(
    indptr,
    slot_id,
    target,
    eta,
    holdings,
    h0,
    mu,
    pool_cash,
    pool_asset,
    t,
    eta_min,
    pay_rate,
    otc_rate,
    due,
    flow,
):
    """Payments (debited from the walker now, credited to the payee's row of ``due``, both counted as
    traded units) and each buyer's offer total per chain — over the walkers 0 … len(indptr) − 2. Each
    active slot's payments (base units, exact as a float) are left in ``flow`` for ``_fill``."""
    price = _prices(pool_cash, pool_asset)
    _pay_rows(
        0, indptr.shape[0] - 1, indptr, slot_id, target, eta, holdings, h0, mu, price, t, eta_min, pay_rate, otc_rate,
        due, flow,
    )  # fmt: skip


@njit(inline="always")
def _pay_rows(
    lo, hi, indptr, slot_id, target, eta, holdings, h0, mu, price, t, eta_min, pay_rate, otc_rate, due, flow
):
    C, K = holdings.shape[1], holdings.shape[2]
    A = K - 1
    U, OWED, CA = C, C + 1, max(C * A, 1)
    slots = indptr[indptr.shape[0] - 1]
    width = due.shape[1]
    mu_flat, due_flat = mu.reshape(-1), due.reshape(-1)
    for i in range(lo, hi):
        total = 0.0
        for e in range(indptr[i], indptr[i + 1]):
            if eta[e] >= eta_min:
                total += eta[e]
        paid = 0
        r = (slot_id[i] + t) % CA - 1  # the rotation of the row's first slot, less one
        for e in range(indptr[i], indptr[i + 1]):
            r = r + 1 if r + 1 < CA else 0
            if e + AHEAD < slots:  # the target's rows AHEAD slots on (``prefetch``): its μ, its credits
                ahead = np.int64(target[e + AHEAD])
                prefetch(mu_flat, 2 * ahead + 1)
                _prefetch_row(due_flat, ahead * width, 2 * C + 1)
            if eta[e] < eta_min:
                continue
            j = target[e]
            act = mu[i, 0] * (eta[e] / total)
            moved = 0
            for c in range(C):
                pay = int(pay_rate * act * h0[i, c, 0])
                if pay > 0:
                    holdings[i, c, 0] -= pay
                    due[j, c] += pay
                    moved += pay
            due[j, U] += moved
            flow[e] = moved
            paid += moved
            want = mu[j, 1] - mu[i, 1]
            if want > 0.0 and A > 0:
                c, _, q, cost = _offer(r, i, act, want, h0, price, otc_rate, A)
                if q > 0 and cost > 0:
                    due[j, OWED + c] += cost
        due[i, U] += paid


def _scales_one(holdings, due, scale):
    """s_jc for the buyers 0 … len(holdings) − 1: 1 when their budget covers the offers, else the cut."""
    C = holdings.shape[1]
    for j in range(holdings.shape[0]):
        for c in range(C):
            budget = holdings[j, c, 0]
            owed = due[j, C + 1 + c]
            scale[j, c] = 1.0 if owed <= budget else budget * (1.0 - 1e-12) / owed


def _fill_one(
    indptr,
    slot_id,
    target,
    eta,
    holdings,
    h0,
    mu,
    pool_cash,
    pool_asset,
    t,
    eta_min,
    pay_rate,
    otc_rate,
    scale,
    due,
    flow,
    out,
    agent_id,
    word,
    pull,
    sigma,
    mu_new,
):
    """The trades at the buyers' scales: the walker's side applied now, the buyer's into its row of
    ``due`` (traded units of both sides too); each slot's value and the total; and the walkers'
    imitation (``strategies``: μ' into ``mu_new``, read from the same μ and η)."""
    price = _prices(pool_cash, pool_asset)
    out[0] = _fill_rows(
        0, indptr.shape[0] - 1, indptr, slot_id, target, eta, holdings, h0, mu, price, t, eta_min, pay_rate, otc_rate,
        scale, due, flow, agent_id, word, pull, sigma, mu_new,
    )  # fmt: skip


@njit(inline="always")
def _fill_rows(
    lo,
    hi,
    indptr,
    slot_id,
    target,
    eta,
    holdings,
    h0,
    mu,
    price,
    t,
    eta_min,
    pay_rate,
    otc_rate,
    scale,
    due,
    flow,
    agent_id,
    word,
    pull,
    sigma,
    mu_new,
):
    C, K = holdings.shape[1], holdings.shape[2]
    A = K - 1
    U, TOK, CA = C, 2 * C + 1, max(C * A, 1)
    volume = 0
    slots = indptr[indptr.shape[0] - 1]
    width = due.shape[1]
    mu_flat, due_flat, scale_flat = mu.reshape(-1), due.reshape(-1), scale.reshape(-1)
    for i in range(lo, hi):
        total, m0, m1 = 0.0, 0.0, 0.0
        for e in range(indptr[i], indptr[i + 1]):
            if eta[e] >= eta_min:
                total += eta[e]
        sold = 0
        r = (slot_id[i] + t) % CA - 1
        for e in range(indptr[i], indptr[i + 1]):
            r = r + 1 if r + 1 < CA else 0
            if e + AHEAD < slots:
                ahead = np.int64(target[e + AHEAD])
                prefetch(mu_flat, 2 * ahead)
                _prefetch_row(scale_flat, ahead * C, C)
                _prefetch_row(due_flat, ahead * width, width)
            if eta[e] < eta_min:
                flow[e] = 0.0
                continue
            j = target[e]
            m0 += eta[e] * mu[j, 0]
            m1 += eta[e] * mu[j, 1]
            act = mu[i, 0] * (eta[e] / total)
            moved = int(flow[e])  # the slot's payments, left by ``_pay``
            want = mu[j, 1] - mu[i, 1]
            if want > 0.0 and A > 0:
                c, a, q, cost = _offer(r, i, act, want, h0, price, otc_rate, A)
                if q > 0 and cost > 0:
                    s = scale[j, c]
                    if s < 1.0:
                        q = int(q * s)
                        cost = min(int(q * price[c, a]), int(cost * s))
                    if q > 0 and cost > 0:
                        holdings[i, c, a + 1] -= q
                        holdings[i, c, 0] += cost
                        due[j, TOK + c * A + a] += q
                        due[j, c] -= cost
                        due[j, U] += cost
                        sold += cost
                        moved += cost
            flow[e] = moved / UNIT
            volume += moved
        due[i, U] += sold
        imitation(i, agent_id[i], total, m0, m1, mu, word, pull, sigma, mu_new)
    return volume


def _credit_one(holdings, due, units):
    """Apply the credit rows: cash and tokens into the holdings, the traded units out (agents 0 … n − 1)."""
    C, K = holdings.shape[1], holdings.shape[2]
    A = K - 1
    for i in range(holdings.shape[0]):
        for c in range(C):
            holdings[i, c, 0] += due[i, c]
            for a in range(A):
                holdings[i, c, a + 1] += due[i, 2 * C + 1 + c * A + a]
        units[i] = due[i, C]


def _pay_threads_one(
    indptr,
    slot_id,
    target,
    eta,
    holdings,
    h0,
    mu,
    pool_cash,
    pool_asset,
    t,
    eta_min,
    pay_rate,
    otc_rate,
    due_k,
    flow,
):
    """``_pay`` with the walkers cut into one contiguous chunk per thread; chunk k credits its own
    ``due_k[k]`` (integers: their sum is the single-walk result, in any order)."""
    price = _prices(pool_cash, pool_asset)
    n, chunks = indptr.shape[0] - 1, due_k.shape[0]
    size = (n + chunks - 1) // chunks
    for k in prange(chunks):
        _pay_rows(
            min(n, k * size), min(n, (k + 1) * size), indptr, slot_id, target, eta, holdings, h0, mu, price, t,
            eta_min, pay_rate, otc_rate, due_k[k], flow,
        )  # fmt: skip


def _fill_threads_one(
    indptr,
    slot_id,
    target,
    eta,
    holdings,
    h0,
    mu,
    pool_cash,
    pool_asset,
    t,
    eta_min,
    pay_rate,
    otc_rate,
    scale,
    due_k,
    flow,
    volume_k,
    agent_id,
    word,
    pull,
    sigma,
    mu_new,
):
    """``_fill`` chunked like ``_pay_threads``: chunk k's credits go to ``due_k[k]``, its volume to
    ``volume_k[k]``."""
    price = _prices(pool_cash, pool_asset)
    n, chunks = indptr.shape[0] - 1, due_k.shape[0]
    size = (n + chunks - 1) // chunks
    for k in prange(chunks):
        volume_k[k] = _fill_rows(
            min(n, k * size), min(n, (k + 1) * size), indptr, slot_id, target, eta, holdings, h0, mu, price, t,
            eta_min, pay_rate, otc_rate, scale, due_k[k], flow, agent_id, word, pull, sigma, mu_new,
        )  # fmt: skip


_pay = per_run(_pay_one, shared=("indptr", "slot_id"), cache=True)
_scales = per_run(_scales_one, cache=True)
_fill = per_run(_fill_one, shared=("indptr", "slot_id", "agent_id"), cache=True)
_credit = per_run(_credit_one, cache=True)
_pay_threads = per_run(jit(_pay_threads_one, cache=True, parallel=True), shared=("indptr", "slot_id"))
_fill_threads = per_run(
    jit(_fill_threads_one, cache=True, parallel=True), shared=("indptr", "slot_id", "agent_id")
)


def edge_flows(s: Arrays, p, rng: RandomStreams) -> dict[str, np.ndarray]:
    """Payments and trades along the links, and the agents' imitation (``strategies.imitate``), fused into
    the trades' walk: both read the step's μ and η, so one pass over the slots reads each target once."""
    h0 = s.agents.holdings
    holdings = h0.copy()
    B, N, C, K = h0.shape
    width = columns(C, K - 1)[3]
    indptr = p.graph_indptr
    t = np.broadcast_to(np.asarray(s.day, np.int64), (B,))
    rates = [np.broadcast_to(np.asarray(v, float), (B,)) for v in (p.eta_min, p.pay_rate, p.otc_rate)]
    common = (
        indptr,
        indptr[:-1],
        s.edges.target,
        s.edges.eta,
        holdings,
        h0,
        s.agents.mu,
        s.pool_cash,
        s.pool_asset,
        t,
    )
    mu_new = np.empty_like(s.agents.mu)
    imitation = (
        np.arange(N),
        stream_word(rng, "strategies"),
        np.broadcast_to(np.asarray(p.imitation, float), (B,)),
        np.broadcast_to(np.asarray(p.strategy_vol, float), (B,)),
        mu_new,
    )
    flow, scale = np.empty_like(s.edges.eta), np.empty((B, N, C))
    chunks = int(p.threads)
    if chunks > 1:  # one chunk of walkers per thread, each crediting its own rows (summed: exact)
        due_k = np.zeros((B, chunks, N, width), np.int64)
        _pay_threads(*common, *rates, due_k, flow)
        _scales(holdings, due_k.sum(axis=1), scale)
        volume_k = np.zeros((B, chunks), np.int64)
        _fill_threads(*common, *rates, scale, due_k, flow, volume_k, *imitation)
        due, volume = due_k.sum(axis=1), volume_k.sum(axis=1)
    else:
        due = np.zeros((B, N, width), np.int64)
        _pay(*common, *rates, due, flow)
        _scales(holdings, due, scale)
        out = np.zeros((B, 1), np.int64)
        _fill(*common, *rates, scale, due, flow, out, *imitation)
        volume = out[:, 0]
    units = np.empty((B, N), np.int64)
    _credit(holdings, due, units)
    return {
        "agents.holdings": holdings,
        "agents.traded": s.agents.traded + units / UNIT,
        "agents.mu": mu_new,
        "edges.flow": flow,
        "p2p_volume": volume / UNIT,
    }
