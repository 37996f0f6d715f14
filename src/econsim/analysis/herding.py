"""Herding (§8.2): the mean pairwise correlation of agents' trading within clusters, in O(N·T).

With each agent's series standardized over time (z_it = (x_it − x̄_i)/s_i, s_i the population standard
deviation, so Σ_t z_it² = T), the correlation of agents i and j is ρ_ij = (1/T)·Σ_t z_it z_jt, and within
a cluster m of n_m agents, by Σ_{i<j} x_i x_j = ((Σ_i x_i)² − Σ_i x_i²)/2 at each t,

    Σ_{i<j ∈ m} ρ_ij = (Σ_t S_mt² / T − n_m) / 2,    S_mt = Σ_{i∈m} z_it

    ρ_cluster = Σ_m Σ_{i<j∈m} ρ_ij / Σ_m n_m(n_m − 1)/2      (the mean over all within-cluster pairs)

one pass over the N×T entries, no N² pair loop. Agents whose series does not vary are left out (their
correlation is undefined). The baseline ("random network") puts the same agents into groups of the same
sizes uniformly at random: the mean correlation of random pairs.
"""

from __future__ import annotations

import numpy as np


def standardize(x_nt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(z (N', T), kept (N,) bool): the varying rows of x standardized over time."""
    x = np.asarray(x_nt, float)
    sd = x.std(axis=1)
    kept = sd > 1e-12 * (np.abs(x).max(axis=1) + 1e-300)
    z = (x[kept] - x[kept].mean(axis=1, keepdims=True)) / sd[kept, None]
    return z, kept


def cluster_correlation(x_nt: np.ndarray, labels_n: np.ndarray) -> dict[str, float]:
    """ρ_cluster of series x (N, T) grouped by integer ``labels`` (N,): the pair-weighted mean of the
    within-cluster correlations, the unweighted mean over clusters with two or more members, and the
    counts."""
    z, kept = standardize(x_nt)
    labels = np.asarray(labels_n)[kept]
    T = z.shape[1]
    _, groups = np.unique(labels, return_inverse=True)
    M = int(groups.max()) + 1 if groups.size else 0
    s_mt = np.zeros((M, T))
    np.add.at(s_mt, groups, z)
    n_m = np.bincount(groups, minlength=M).astype(float)
    pair_sum = ((s_mt**2).sum(axis=1) / T - n_m) / 2.0
    pairs = n_m * (n_m - 1) / 2.0
    multi = pairs > 0
    return {
        "rho": float(pair_sum[multi].sum() / pairs[multi].sum()) if multi.any() else float("nan"),
        "rho_mean_over_clusters": float((pair_sum[multi] / pairs[multi]).mean())
        if multi.any()
        else float("nan"),
        "clusters": int(multi.sum()),
        "pairs": float(pairs.sum()),
        "agents": int(kept.sum()),
    }


def random_group_baseline(x_nt: np.ndarray, labels_n: np.ndarray, rng: np.random.Generator, draws: int = 20):
    """(mean, sd) of ρ over ``draws`` random regroupings keeping the cluster sizes (``rng``: a stream)."""
    labels = np.asarray(labels_n)
    values = np.array([cluster_correlation(x_nt, rng.permutation(labels))["rho"] for _ in range(draws)])
    return float(values.mean()), float(values.std())
