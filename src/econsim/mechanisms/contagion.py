"""Default contagion over an exposure network (§6, §9): conditional default probabilities and cascades.

Agent i holds exposures c_ik ≥ 0 to its counterparties k (edge slots of a CSR graph: slot e = (i → k_e)
with weight c_e; repeated slots to one k add up). Its loss when the set D of agents is stressed is
L_i(D) = Σ_k c_ik·1{k ∈ D}; it defaults when the loss exceeds its buffer θ_i less a normal shock:

    default_i  ⇔  L_i(D) ≥ θ_i − σ_i·z_i,   z_i ~ N(0, 1)    ⇒   P(default_i | D) = 1 − Φ((θ_i − L_i(D))/σ_i)

so for one stressed counterparty j:  P(default_i | stressed_j) = 1 − Φ((θ_i − c_ij)/σ_i)  (= ½ at θ_i = c_ij).

A cascade starts from the stressed set D_0; with each agent's shock z_i drawn once, D_{n+1} = D_n ∪
{i : L_i(D_n) ≥ θ_i − σ_i z_i} until nothing changes (at most N rounds; losses only grow, so it ends).
``cascade`` runs many shock draws at once (rows of z), each round one weighted bincount: O(rounds·E).
"""

from __future__ import annotations

import numpy as np


def _phi(x: np.ndarray) -> np.ndarray:
    from scipy.special import ndtr

    return ndtr(x)


def default_probability(theta, sigma, loss) -> np.ndarray:
    """1 − Φ((θ − L)/σ), elementwise."""
    return 1.0 - _phi((np.asarray(theta, float) - np.asarray(loss, float)) / np.asarray(sigma, float))


def conditional_default(indptr, indices, weights, theta_n, sigma_n):
    """(i, j, P(default_i | stressed_j)) for every distinct linked pair (i → j): arrays of one length."""
    indptr = np.asarray(indptr)
    n = indptr.size - 1
    sources = np.repeat(np.arange(n), np.diff(indptr))
    targets = np.asarray(indices)[: indptr[-1]].astype(np.int64)
    key = sources * n + targets
    pairs, inverse = np.unique(key, return_inverse=True)
    exposure = np.bincount(inverse, weights=np.asarray(weights, float)[: indptr[-1]], minlength=pairs.size)
    i, j = pairs // n, pairs % n
    theta, sigma = np.asarray(theta_n, float), np.asarray(sigma_n, float)
    return i, j, default_probability(theta[i], sigma[i], exposure)


def cascade(indptr, indices, weights, theta_n, sigma_n, stressed_n, z_dn) -> np.ndarray:
    """Final default sets (D, N) bool of the cascades started from ``stressed`` (N,) bool, one per row of
    shocks ``z`` (D, N)."""
    indptr = np.asarray(indptr)
    n = indptr.size - 1
    E = int(indptr[-1])
    sources = np.repeat(np.arange(n), np.diff(indptr))
    targets = np.asarray(indices)[:E].astype(np.int64)
    w = np.asarray(weights, float)[:E]
    z = np.atleast_2d(np.asarray(z_dn, float))
    D = z.shape[0]
    barrier = np.asarray(theta_n, float) - np.asarray(sigma_n, float) * z  # (D, N)
    defaulted = np.broadcast_to(np.asarray(stressed_n, bool), (D, n)).copy()
    offsets = (np.arange(D) * n)[:, None]
    for _ in range(n):
        hit = defaulted[:, targets]  # (D, E): the slot's counterparty is in default
        loss = np.bincount((offsets + sources).ravel(), weights=(hit * w).ravel(), minlength=D * n)
        new = (loss.reshape(D, n) >= barrier) | defaulted
        if np.array_equal(new, defaulted):
            break
        defaulted = new
    return defaulted


def cascade_sizes(indptr, indices, weights, theta_n, sigma_n, stressed_n, z_dn) -> np.ndarray:
    """Share of agents in default at the end of each cascade (D,), the initially stressed included."""
    return cascade(indptr, indices, weights, theta_n, sigma_n, stressed_n, z_dn).mean(axis=1)
