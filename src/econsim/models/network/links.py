"""Edge strengths, link dissolution and formation (§2.2), and the systemic-risk index (§6.1).

For every active slot e = (i → j), with Δ_e = ‖μ_i − μ_j‖, d_e = 1 + Δ_e/θ_c the economic distance and
∇U_e = flow_e / f̄_i − 2·Δ_e/(Δ_e + θ_c) the marginal utility of the link (its use relative to i's mean
active flow f̄_i, less the cost of dissimilarity: links between agents further apart than θ_c weaken), one Euler step of dη = γ·η·∇U − δ·(1 − η)·d⁻²:

    η_e' = clip(η_e + γ·η_e·∇U_e − δ·(1 − η_e)/d_e², 0, 1)

A slot whose η falls below ``eta_min`` dissolves (carries nothing). A dissolved slot re-forms with
probability ``form_prob`` per step by triadic closure: it points to a uniformly chosen neighbour k of
its old target (read from the targets before this step, so the update of one agent's rows never depends
on another's), unless k = i; it starts at η = eta_new.

Systemic risk, with d_i = Σ_active η (connectedness) and W_i = Σ_active η_e·(1 − |μ_i1 − μ_j1|) / d_i
(the portfolio similarity of i's links, in [0, 1], standing in for the correlation weights w_ij summed
over j):

    R_sys = 1 − Σ_i W_i (d_i − d̄)² / Σ_i d_i²

It is 1 for a regular network (all d_i equal) and falls as connectedness concentrates on few agents
whose counterparties hold similar portfolios.
"""

from __future__ import annotations

import math

import numpy as np

from econsim.engine import Arrays, RandomStreams, per_run
from econsim.models.network.draws import stream_word, uniform
from econsim.models.network.prefetch import AHEAD, prefetch


def _links_one(
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
    out,
):
    # one pass over the slots: the update, the counts and the systemic-risk sums of each agent's row
    # together, so each target's μ is read from memory once (prefetched AHEAD slots early)
    N = mu.shape[0]
    slots = indptr[N]
    mu_flat = mu.reshape(-1)
    active = 0
    formed = 0
    eta_sum = 0.0
    near = 0
    strength = np.zeros(N)
    similar = np.zeros(N)
    for i in range(N):
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
            jj = j
            h = eta[e]
            dmu = 0.0
            if h >= eta_min:
                dmu = math.sqrt((mi0 - mu[j, 0]) ** 2 + (mi1 - mu[j, 1]) ** 2)
                x = dmu / theta
                grad = (flow[e] / fbar if fbar > 0.0 else 1.0) - 2.0 * x / (x + 1.0)
                d = 1.0 + x
                h = min(max(h + gamma * h * grad - delta * (1.0 - h) / (d * d), 0.0), 1.0)
            elif uniform(word, 2 * e) < form_prob:
                deg = indptr[j + 1] - indptr[j]
                if deg > 0:
                    k = target[indptr[j] + min(int(uniform(word, 2 * e + 1) * deg), deg - 1)]
                    if k != i:
                        jj = k
                        h = eta_new
                        formed += 1
                        dmu = math.sqrt((mi0 - mu[k, 0]) ** 2 + (mi1 - mu[k, 1]) ** 2)
            new_target[e] = jj
            new_eta[e] = h
            if h >= eta_min:
                active += 1
                eta_sum += h
                if dmu < theta:
                    near += 1
                d_i += h
                w_i += h * (1.0 - abs(mi1 - mu[jj, 1]))
        strength[i] = d_i
        similar[i] = w_i
    # systemic risk on the updated network
    mean = strength.mean()
    num, den = 0.0, 0.0
    for i in range(N):
        w = similar[i] / strength[i] if strength[i] > 0.0 else 0.0
        num += w * (strength[i] - mean) ** 2
        den += strength[i] ** 2
    out[0] = active / slots if slots > 0 else 0.0
    out[1] = eta_sum / active if active > 0 else 0.0
    out[2] = formed
    out[3] = 1.0 - num / den if den > 0.0 else 1.0
    out[4] = near / active if active > 0 else 0.0


_links = per_run(_links_one, shared=("indptr",), cache=True)


def systemic_risk(strength_n, similarity_n):
    """R_sys = 1 − Σ_i W_i (d_i − d̄)² / Σ_i d_i² for connectedness d (N,) and link similarity W (N,)."""
    d = np.asarray(strength_n, float)
    return 1.0 - float(np.sum(np.asarray(similarity_n) * (d - d.mean()) ** 2) / np.sum(d**2))


def evolve_links(s: Arrays, p, rng: RandomStreams) -> dict[str, np.ndarray]:
    target, eta = np.empty_like(s.edges.target), np.empty_like(s.edges.eta)
    out = np.zeros((p.n_runs, 5))
    _links(
        p.graph_indptr,
        s.edges.target,
        s.edges.eta,
        s.edges.flow,
        s.agents.mu,
        stream_word(rng, "links"),
        np.asarray(p.gamma, float),
        np.asarray(p.delta, float),
        np.asarray(s.threshold, float),
        np.asarray(p.eta_min, float),
        np.asarray(p.eta_new, float),
        np.asarray(p.form_prob, float),
        target,
        eta,
        out,
    )
    return {
        "edges.target": target,
        "edges.eta": eta,
        "active_edges": out[:, 0],
        "mean_eta": out[:, 1],
        "edges_formed": out[:, 2],
        "systemic_risk": out[:, 3],
        "cluster_edge_share": out[:, 4],
    }
