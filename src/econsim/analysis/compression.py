"""Low-rank compression of agent state (§7) by the truncated SVD, with the rank chosen for a stated error.

For a matrix X (agents × features) with singular values σ_1 ≥ σ_2 ≥ …, the rank-r truncation
X_r = U_r Σ_r V_rᵀ is the best rank-r approximation (Eckart–Young–Mirsky), and its errors are exactly

    ‖X − X_r‖_F = √(Σ_{i>r} σ_i²),     ‖X − X_r‖_2 = σ_{r+1}.

``compress(X, rel_error=ε)`` keeps the smallest r with ‖X − X_r‖_F ≤ ε·‖X‖_F (columns centred first when
``center``: the mean row is stored beside the factors). Storage: r·(N + F + 1) numbers instead of N·F.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Compressed:
    u: np.ndarray  # (N, r)
    s: np.ndarray  # (r,)
    vt: np.ndarray  # (r, F)
    mean: np.ndarray  # (F,) (zeros when not centred)
    rank: int
    bound: float  # the Eckart–Young Frobenius error √(Σ_{i>r} σ_i²)
    relative_bound: float  # bound / ‖X − mean‖_F
    singular_values: np.ndarray  # all of them

    def reconstruct(self) -> np.ndarray:
        return (self.u * self.s) @ self.vt + self.mean

    @property
    def ratio(self) -> float:
        """Numbers stored compressed / uncompressed."""
        n, f = self.u.shape[0], self.vt.shape[1]
        return (self.rank * (n + f + 1) + f) / (n * f)


def tail_norms(singular_values: np.ndarray) -> np.ndarray:
    """√(Σ_{i>r} σ_i²) for r = 0 … len(σ)."""
    s2 = np.asarray(singular_values, float) ** 2
    tail = np.concatenate([np.cumsum(s2[::-1])[::-1], [0.0]])
    return np.sqrt(tail)


def compress(x_nf: np.ndarray, rel_error: float = 0.05, center: bool = True) -> Compressed:
    """The truncated SVD of the smallest rank whose relative Frobenius error is at most ``rel_error``."""
    if not 0.0 <= rel_error < 1.0:
        raise ValueError(f"rel_error = {rel_error} must be in [0, 1)")
    x = np.asarray(x_nf, float)
    mean = x.mean(axis=0) if center else np.zeros(x.shape[1])
    u, s, vt = np.linalg.svd(x - mean, full_matrices=False)
    tails = tail_norms(s)
    total = tails[0]
    rank = int(np.argmax(tails <= rel_error * total)) if total > 0 else 0
    return Compressed(
        u[:, :rank].copy(),
        s[:rank].copy(),
        vt[:rank].copy(),
        mean,
        rank,
        float(tails[rank]),
        float(tails[rank] / total) if total > 0 else 0.0,
        s,
    )
