"""Extraction and depletion of the finite resources (goods 0 … M−1) (SPEC.md §6.5).

    fr = clip(Φ/(Φ̄ + ε), 1e−9, 1)
    ξ^e = xi_ext0 (1 + dep_alpha_xi (1 − fr)),  σ^e = sig_ext0 (1 + dep_alpha_sig (1 − fr))
    A^e = p_m − μ ξ^e − λ σ^e
    q̂ = k_ext · sp(beta_ext A^e)/beta_ext · tanh(fr/(1 + fr))         sp = softplus
    q = min(s_r q̂, Φ)     s_r the gate of the bundle (Σ q̂ ξ^e, Σ q̂ σ^e)
    Φ ← Φ − q;  Q_m ← Q_m + q;  settle Σ q ξ^e;  book Σ q σ^e

Deviations: ``beta_ext`` (unused by the original, which uses [A^e]₊) sets the sharpness of the response to
the affinity as the README says — sp(βA)/β → [A]₊ as β → ∞; and reserves fall by exactly what is
extracted (the original's Patankar form lowered Φ by Φq/(Φ+q) while the inventory gained q;
``legacy_reserves``).
"""

from __future__ import annotations

import numpy as np

from econsim.engine import Arrays, RandomStreams
from econsim.models.atp.demography import clip
from econsim.models.atp.wallets import EPS, book, gate, ledger, ledger_updates, settle


def softplus_drive(a: np.ndarray, beta: np.ndarray) -> np.ndarray:
    """sp(βa)/β, computed without overflow."""
    z = beta * a
    return (np.maximum(z, 0.0) + np.log1p(np.exp(-np.abs(z)))) / beta


def extraction(s: Arrays, p: Arrays, rng: RandomStreams) -> dict[str, np.ndarray]:
    """Stage 7."""
    c = lambda v: v[:, None, None]  # noqa: E731
    M = s.reserves_rm.shape[2]
    fill = clip(s.reserves_rm / (s.reserves_max_rm + EPS), 1e-9, 1.0)
    xi = c(p.xi_ext0) * (1.0 + c(p.dep_alpha_xi) * (1.0 - fill))
    sig = c(p.sig_ext0) * (1.0 + c(p.dep_alpha_sig) * (1.0 - fill))
    affinity = s.price_rg[:, :, :M] - s.mu_r[:, :, None] * xi - s.lam_r[:, :, None] * sig
    potential = c(p.k_ext) * softplus_drive(affinity, c(p.beta_ext)) * np.tanh(fill / (1.0 + fill))
    share_r = gate(s, s.book_r, s.emis_r, (potential * xi).sum(axis=2), (potential * sig).sum(axis=2))
    legacy = p.legacy_reserves[:, None, None]
    q = share_r[:, :, None] * potential
    q = np.where(legacy, q, np.minimum(q, s.reserves_rm))
    # legacy 10: Patankar depletion Φ/(1 + dt·q/(Φ + ε)), which lowers Φ by less than q
    depleted = np.where(
        legacy, s.reserves_rm / (1.0 + c(p.dt) * q / (s.reserves_rm + EPS)), s.reserves_rm - q
    )
    acc = ledger(s)
    cost_r, load_r = (q * xi).sum(axis=2), (q * sig).sum(axis=2)
    settle(s, acc, cost_r)
    book(acc, cost_r, load_r)
    stock_rg = s.stock_rg.copy()
    stock_rg[:, :, :M] += q
    return {
        "reserves_rm": np.maximum(depleted, 0.0),
        "stock_rg": stock_rg,
        "extracted_rm": q,
        **ledger_updates(acc),
    }
