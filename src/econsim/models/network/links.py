"""Edge strengths, link dissolution and formation (§2.2), and the systemic-risk index (§6.1).

For every active slot e = (i → j), with Δ_e = ‖μ_i − μ_j‖, d_e = 1 + Δ_e/θ_c the economic distance and
∇U_e = flow_e / f̄_i − 2·Δ_e/(Δ_e + θ_c) the marginal utility of the link (its use relative to i's mean
active flow f̄_i, less the cost of dissimilarity: links between agents further apart than θ_c weaken), one Euler step of dη = γ·η·∇U − δ·(1 − η)·d⁻²:

    η_e' = clip(η_e + γ·η_e·∇U_e − δ·(1 − η_e)/d_e², 0, 1)

A slot whose η falls below ``eta_min`` dissolves (carries nothing). A dissolved slot re-forms with
probability ``form_prob`` per step by triadic closure: it points to a uniformly chosen neighbour k of
its old target (read from the targets before this step, so the update of one agent's rows never depends
on another's), unless k = i; it starts at η = eta_new. Its draws are keyed by the slot's id, and the
question "which is slot r of agent j now?" is answered by whoever holds j (``closure``): in a
partitioned run, an immediate message to j's partition and back within the step.

Systemic risk, with d_i = Σ_active η (connectedness) and W_i = Σ_active η_e·(1 − |μ_i1 − μ_j1|) / d_i
(the portfolio similarity of i's links, in [0, 1], standing in for the correlation weights w_ij summed
over j):

    R_sys = 1 − Σ_i W_i (d_i − d̄)² / Σ_i d_i²

It is 1 for a regular network (all d_i equal) and falls as connectedness concentrates on few agents
whose counterparties hold similar portfolios. R_sys and ``cluster_edge_share`` count the links that
were active before this step's formation (a new link enters them from the next step: its far end k may
be an agent nobody near i holds yet). Every float sum over agents or slots is exact
(``engine.partition.exact``), so it is the same however the agents are split.
"""

from __future__ import annotations

import math

import numpy as np
from numba import prange

from econsim.engine import Arrays, RandomStreams
from econsim.engine.jit import njit
from econsim.engine.kernels import jit
from econsim.engine.partition import exact
from econsim.models.network.draws import stream_word, uniform
from econsim.models.network.prefetch import AHEAD, BLOCKS, prefetch


def _update_one(
    indptr,
    slot_id,
    target,
    eta,
    flow,
    mu,
    word,
    gamma,
    delta,
    theta,
    eta_min,
    form_prob,
    new_target,
    new_eta,
    ask,
    ask_u,
    eta_acc,
    counts,
):
    """The strengths of the walkers' slots (0 … len(indptr) − 2); a dissolved slot that re-forms asks for
    slot ⌊u·deg_j⌋ of its old target j (``ask`` = j, ``ask_u`` = u; else ask = −1). counts: active, near."""
    n = indptr.shape[0] - 1
    slots = indptr[n]
    mu_flat = mu.reshape(-1)
    for i in range(n):
        s0, s1 = indptr[i], indptr[i + 1]
        fsum, fn = 0.0, 0
        for e in range(s0, s1):
            if eta[e] >= eta_min:
                fsum += flow[e]
                fn += 1
        fbar = fsum / fn if fn > 0 else 0.0
        for e in range(s0, s1):
            if e + AHEAD < slots:
                prefetch(mu_flat, 2 * np.int64(target[e + AHEAD]))
            j = target[e]
            new_target[e] = j
            ask[e] = -1
            h = eta[e]
            if h >= eta_min:
                dmu = math.sqrt((mu[i, 0] - mu[j, 0]) ** 2 + (mu[i, 1] - mu[j, 1]) ** 2)
                x = dmu / theta
                grad = (flow[e] / fbar if fbar > 0.0 else 1.0) - 2.0 * x / (x + 1.0)
                d = 1.0 + x
                h = min(max(h + gamma * h * grad - delta * (1.0 - h) / (d * d), 0.0), 1.0)
            else:
                g = slot_id[i] + (e - s0)
                if uniform(word, 2 * g) < form_prob:
                    ask[e] = j
                    ask_u[e] = uniform(word, 2 * g + 1)
            new_eta[e] = h
            if h >= eta_min:
                counts[0] += 1
                exact.add(eta_acc, h)
                if math.sqrt((mu[i, 0] - mu[j, 0]) ** 2 + (mu[i, 1] - mu[j, 1]) ** 2) < theta:
                    counts[1] += 1


def _closure_one(indptr, target, rows, u, k):
    """Triadic closure's answers: k[r] = slot ⌊u[r]·deg⌋ of agent rows[r]'s row of ``target`` (−1: no slot)."""
    for r in range(rows.shape[0]):
        j = rows[r]
        deg = indptr[j + 1] - indptr[j]
        k[r] = target[indptr[j] + min(int(u[r] * deg), deg - 1)] if deg > 0 else -1


def _strength_one(indptr, target, new_eta, fresh, mu, eta_min, strength, similar, sum_acc, den_acc):
    """d_i and d_i·W_i over the walkers' links active before formation (``target``: the slots' targets
    before formation); Σ d and Σ d² exactly."""
    n = indptr.shape[0] - 1
    slots = indptr[n]
    mu_flat = mu.reshape(-1)
    for i in range(n):
        d, w = 0.0, 0.0
        for e in range(indptr[i], indptr[i + 1]):
            if e + AHEAD < slots:
                prefetch(mu_flat, 2 * np.int64(target[e + AHEAD]) + 1)
            if new_eta[e] >= eta_min and not fresh[e]:
                d += new_eta[e]
                w += new_eta[e] * (1.0 - abs(mu[i, 1] - mu[target[e], 1]))
        strength[i] = d
        similar[i] = w
        exact.add(sum_acc, d)
        exact.add(den_acc, d * d)


def _spread_one(strength, similar, mean, num_acc):
    """Σ W_i (d_i − d̄)² exactly."""
    for i in range(strength.shape[0]):
        w = similar[i] / strength[i] if strength[i] > 0.0 else 0.0
        exact.add(num_acc, w * (strength[i] - mean) ** 2)


@njit(inline="always")
def _evolve_block(
    lo,
    hi,
    indptr,
    target,
    eta,
    flow,
    mu,
    word,
    gamma,
    delta,
    theta,
    eta_min,
    eta_new,
    form_prob,
    new_target,
    new_eta,
    strength,
    similar,
    acc,
    counts,
):
    """Agents lo … hi − 1 of a whole run in one pass over their slots: ``_update``, the closure (read from
    the targets before this step), ``formed`` and ``_strength`` together, each target's μ read once.
    acc (3, LIMBS): Σ η of the links active before formation, Σ d, Σ d²; counts: active, near, formed."""
    slots = indptr[mu.shape[0]]
    mu_flat = mu.reshape(-1)
    acc_eta, acc_d, acc_d2 = acc[0], acc[1], acc[2]
    active, near, n_formed = 0, 0, 0
    for i in range(lo, hi):
        s0, s1 = indptr[i], indptr[i + 1]
        mi0, mi1 = mu[i, 0], mu[i, 1]
        fsum, fn = 0.0, 0
        for e in range(s0, s1):
            if eta[e] >= eta_min:
                fsum += flow[e]
                fn += 1
        fbar = fsum / fn if fn > 0 else 0.0
        d_i, w_i = 0.0, 0.0
        for e in range(s0, s1):
            if e + AHEAD < slots:
                prefetch(mu_flat, 2 * np.int64(target[e + AHEAD]))
            j = target[e]
            new_target[e] = j
            h = eta[e]
            if h >= eta_min:
                dmu = math.sqrt((mi0 - mu[j, 0]) ** 2 + (mi1 - mu[j, 1]) ** 2)
                x = dmu / theta
                grad = (flow[e] / fbar if fbar > 0.0 else 1.0) - 2.0 * x / (x + 1.0)
                d = 1.0 + x
                h = min(max(h + gamma * h * grad - delta * (1.0 - h) / (d * d), 0.0), 1.0)
                new_eta[e] = h
                if h >= eta_min:
                    active += 1
                    exact.add(acc_eta, h)
                    if dmu < theta:
                        near += 1
                    d_i += h
                    w_i += h * (1.0 - abs(mi1 - mu[j, 1]))
                continue
            new_eta[e] = h
            if uniform(word, 2 * e) < form_prob:
                deg = indptr[j + 1] - indptr[j]
                if deg > 0:
                    k = target[indptr[j] + min(int(uniform(word, 2 * e + 1) * deg), deg - 1)]
                    if k != i:
                        new_target[e] = k
                        new_eta[e] = eta_new
                        n_formed += 1
        strength[i] = d_i
        similar[i] = w_i
        exact.add(acc_d, d_i)
        exact.add(acc_d2, d_i * d_i)
    counts[0] += active
    counts[1] += near
    counts[2] += n_formed


def _evolve_serial_one(
    indptr,
    target,
    eta,
    flow,
    mu,
    word,
    gamma,
    delta,
    theta,
    eta_min,
    eta_new,
    form_prob,
    new_target,
    new_eta,
    strength,
    similar,
    acc,
    counts,
):
    n, nb = mu.shape[0], acc.shape[0]
    size = (n + nb - 1) // nb
    for blk in range(nb):
        _evolve_block(
            min(n, blk * size),
            min(n, (blk + 1) * size),
            indptr,
            target,
            eta,
            flow,
            mu,
            word,
            gamma,
            delta,
            theta,
            eta_min,
            eta_new,
            form_prob,
            new_target,
            new_eta,
            strength,
            similar,
            acc[blk],
            counts[blk],
        )


def _evolve_threads_one(
    indptr,
    target,
    eta,
    flow,
    mu,
    word,
    gamma,
    delta,
    theta,
    eta_min,
    eta_new,
    form_prob,
    new_target,
    new_eta,
    strength,
    similar,
    acc,
    counts,
):
    n, nb = mu.shape[0], acc.shape[0]
    size = (n + nb - 1) // nb
    for blk in prange(nb):
        _evolve_block(
            min(n, blk * size),
            min(n, (blk + 1) * size),
            indptr,
            target,
            eta,
            flow,
            mu,
            word,
            gamma,
            delta,
            theta,
            eta_min,
            eta_new,
            form_prob,
            new_target,
            new_eta,
            strength,
            similar,
            acc[blk],
            counts[blk],
        )


_update = jit(_update_one, cache=True)
_closure = jit(_closure_one, cache=True)
_strength = jit(_strength_one, cache=True)
_spread = jit(_spread_one, cache=True)
_evolve = {
    False: jit(_evolve_serial_one, cache=True),
    True: jit(_evolve_threads_one, cache=True, parallel=True),
}


def formed(ask, answer, source_id, eta_new, new_target, new_eta, fresh):
    """Slots whose closure found a k other than their own agent point to k at η = eta_new; returns how many."""
    pending = np.flatnonzero(ask >= 0)
    k = answer[pending]
    ok = pending[(k >= 0) & (k != source_id[pending])]
    new_target[ok] = k[(k >= 0) & (k != source_id[pending])]
    new_eta[ok] = eta_new
    fresh[ok] = True
    return len(ok)


def summary(slots, active, near, n_formed, eta_new, eta_acc, num_acc, den_acc):
    """(active share, mean η, formed, R_sys, cluster edge share) from the step's exact totals."""
    eta_sum = exact.value_of(eta_acc + _constant_acc(eta_new, n_formed))
    den, num = exact.value_of(den_acc), exact.value_of(num_acc)
    active = active + n_formed
    return (
        active / slots if slots > 0 else 0.0,
        eta_sum / active if active > 0 else 0.0,
        float(n_formed),
        1.0 - num / den if den > 0.0 else 1.0,
        near / (active - n_formed) if active > n_formed else 0.0,
    )


def _constant_acc(x: float, n: int) -> np.ndarray:
    acc = exact.zeros()
    exact.add_array(acc, np.full(int(n), float(x)))
    return acc


def systemic_risk(strength_n, similarity_n):
    """R_sys = 1 − Σ_i W_i (d_i − d̄)² / Σ_i d_i² for connectedness d (N,) and link similarity W (N,)."""
    d = np.asarray(strength_n, float)
    return 1.0 - float(np.sum(np.asarray(similarity_n) * (d - d.mean()) ** 2) / np.sum(d**2))


def evolve_links(s: Arrays, p, rng: RandomStreams) -> dict[str, np.ndarray]:
    """One run at a time through ``_evolve`` (the in-process fusion of ``_update``, ``_closure``,
    ``formed`` and ``_strength``: the same numbers, its sums exact), agent blocks over ``threads``."""
    target, eta = np.empty_like(s.edges.target), np.empty_like(s.edges.eta)
    B, N = s.agents.mu.shape[:2]
    out = np.zeros((B, 5))
    words = stream_word(rng, "links")
    threads = int(p.threads) > 1
    blocks = BLOCKS if threads else 1
    for b in range(B):
        acc, counts = exact.zeros(blocks, 3), np.zeros((blocks, 3), np.int64)
        strength, similar = np.empty(N), np.empty(N)
        _evolve[threads](
            p.graph_indptr,
            s.edges.target[b],
            s.edges.eta[b],
            s.edges.flow[b],
            s.agents.mu[b],
            words[b],
            _at(p.gamma, b),
            _at(p.delta, b),
            _at(s.threshold, b),
            _at(p.eta_min, b),
            _at(p.eta_new, b),
            _at(p.form_prob, b),
            target[b],
            eta[b],
            strength,
            similar,
            acc,
            counts,
        )
        acc_3, (active, near, n_formed) = acc.sum(axis=0), counts.sum(axis=0)
        num_acc = exact.zeros()
        _spread(strength, similar, exact.value_of(acc_3[1]) / N, num_acc)
        out[b] = summary(p.n_slots, active, near, n_formed, _at(p.eta_new, b), acc_3[0], num_acc, acc_3[2])
    return {
        "edges.target": target,
        "edges.eta": eta,
        "active_edges": out[:, 0],
        "mean_eta": out[:, 1],
        "edges_formed": out[:, 2],
        "systemic_risk": out[:, 3],
        "cluster_edge_share": out[:, 4],
    }


def _at(value, b: int) -> float:
    """Run b's value of a per-run (B,) or shared scalar parameter."""
    v = np.asarray(value, float)
    return float(v if v.ndim == 0 else v[b])
