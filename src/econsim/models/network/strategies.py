"""Strategies μ_i = (activity, risk target) imitate the neighbourhood (Euler–Maruyama, dt = one day):

    μ_i' = clip(μ_i + κ_μ·(m̄_i − μ_i) + σ_μ·z_i, 0, 1),     m̄_i = Σ_active η_e μ_{j_e} / Σ_active η_e

(m̄_i = μ_i for an agent without active links). Linked agents converge, so trading within clusters
correlates (herding); the noise keeps strategies moving, and clusters re-form as they move.
"""

from __future__ import annotations

import numpy as np
from numba import prange

from econsim.engine import Arrays, RandomStreams, per_run
from econsim.engine.jit import njit
from econsim.engine.kernels import jit
from econsim.models.network.draws import normal, stream_word
from econsim.models.network.prefetch import AHEAD, BLOCKS, prefetch


def _imitate_one(indptr, agent_id, target, eta, mu, word, eta_min, pull, sigma, mu_new):
    """The agents 0 … len(indptr) − 2 (their rows of ``mu`` may be followed by ghost copies of others);
    agent i's noise is keyed by its id ``agent_id[i]``, so it is the same wherever the agent is computed."""
    _imitate_rows(
        0, indptr.shape[0] - 1, indptr, agent_id, target, eta, mu, word, eta_min, pull, sigma, mu_new
    )


def _imitate_threads_one(indptr, agent_id, target, eta, mu, word, eta_min, pull, sigma, mu_new):
    """``_imitate`` over agent blocks spread over threads (each agent's row written by its block only)."""
    n = indptr.shape[0] - 1
    size = (n + BLOCKS - 1) // BLOCKS
    for blk in prange(BLOCKS):
        lo, hi = min(n, blk * size), min(n, (blk + 1) * size)
        _imitate_rows(lo, hi, indptr, agent_id, target, eta, mu, word, eta_min, pull, sigma, mu_new)


@njit(inline="always")
def _imitate_rows(lo, hi, indptr, agent_id, target, eta, mu, word, eta_min, pull, sigma, mu_new):
    slots = indptr[indptr.shape[0] - 1]
    mu_flat = mu.reshape(-1)
    for i in range(lo, hi):
        g = agent_id[i]
        total, m0, m1 = 0.0, 0.0, 0.0
        for e in range(indptr[i], indptr[i + 1]):
            if e + AHEAD < slots:  # the strategy of the target AHEAD slots on (``prefetch``)
                prefetch(mu_flat, 2 * np.int64(target[e + AHEAD]))
            if eta[e] >= eta_min:
                j = target[e]
                total += eta[e]
                m0 += eta[e] * mu[j, 0]
                m1 += eta[e] * mu[j, 1]
        imitation(i, g, total, m0, m1, mu, word, pull, sigma, mu_new)


@njit(inline="always")
def imitation(i, g, total, m0, m1, mu, word, pull, sigma, mu_new):
    """μ_i' from the sums Σ η (``total``), Σ η μ_j0 and Σ η μ_j1 over i's active links (g: i's id)."""
    if total > 0.0:
        m0, m1 = m0 / total, m1 / total
    else:
        m0, m1 = mu[i, 0], mu[i, 1]
    a = mu[i, 0] + pull * (m0 - mu[i, 0]) + sigma * normal(word, 2 * g)
    b = mu[i, 1] + pull * (m1 - mu[i, 1]) + sigma * normal(word, 2 * g + 1)
    mu_new[i, 0] = min(max(a, 0.0), 1.0)
    mu_new[i, 1] = min(max(b, 0.0), 1.0)


_imitate = per_run(_imitate_one, shared=("indptr", "agent_id"), cache=True)
_imitate_threads = per_run(
    jit(_imitate_threads_one, cache=True, parallel=True), shared=("indptr", "agent_id")
)


def imitate(s: Arrays, p, rng: RandomStreams) -> dict[str, np.ndarray]:
    mu = np.empty_like(s.agents.mu)
    (_imitate_threads if int(p.threads) > 1 else _imitate)(
        p.graph_indptr,
        np.arange(s.agents.mu.shape[1]),
        s.edges.target,
        s.edges.eta,
        s.agents.mu,
        stream_word(rng, "strategies"),
        np.asarray(p.eta_min, float),
        np.asarray(p.imitation, float),
        np.asarray(p.strategy_vol, float),
        mu,
    )
    return {"agents.mu": mu}
