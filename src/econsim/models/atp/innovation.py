"""Innovation (SPEC.md §6.4): R&D effort builds the regional technology stock, which lowers the eATP and
emission intensities of production and raises its rate constants.

    effort   Ĩ_rj = min(([I_rj]₊ + ε)^innov_alpha, innov_I_cap)
    spill    sp_rj = innov_spill · ((1/κ) Σ_k T_n(r,k),j − T_rj)
    T ← [(T + dt(eta_innov Ĩ + sp)) / (1 + dt·innov_decay)]₊
    ξ_eff = max(ξ_base e^(−beta_xi T), xi_floor);  σ_eff = max(σ_base e^(−beta_sigma T), sigma_floor)
    k_eff = k_base (1 + beta_kcat tanh T)
"""

from __future__ import annotations

import numpy as np

from econsim.engine import Arrays, RandomStreams
from econsim.engine.numerics import per_run_power

EPS = 1e-9


def allocation(s: Arrays, p: Arrays) -> np.ndarray:
    """Share ω_rj of the regional R&D budget per process: softmax of σ_eff (dirtier processes get more)."""
    z = (
        np.maximum(s.sig_eff_rj, p.sigma_floor[:, None, None])
        / np.maximum(p.softmax_temp_sigma, 1e-6)[:, None, None]
    )
    z = np.exp(z - z.max(axis=2, keepdims=True))
    return z / z.sum(axis=2, keepdims=True)


def effective_parameters(s, p: Arrays, budget_rj: np.ndarray) -> dict[str, np.ndarray]:
    """The technology update for R&D budgets ``budget_rj`` and the effective process parameters."""
    c = lambda v: v[:, None, None]  # noqa: E731
    T = s["tech_rj"]
    effort = np.minimum(per_run_power(np.maximum(budget_rj, 0.0) + EPS, p.innov_alpha), c(p.innov_I_cap))
    nbr_rk = s["nbr_rk"]
    runs = np.arange(T.shape[0])[:, None, None]
    spill = c(p.innov_spill) * (T[runs, nbr_rk].mean(axis=2) - T)
    T = np.maximum(
        (T + c(p.dt) * (c(p.eta_innov) * effort + spill)) / (1.0 + c(p.dt) * c(p.innov_decay)), 0.0
    )
    j = lambda v: v[:, None, :]  # noqa: E731  (per-process base values against regions)
    return {
        "tech_rj": T,
        "xi_eff_rj": np.maximum(j(s["xi_base_j"]) * np.exp(-c(p.beta_xi) * T), c(p.xi_floor)),
        "sig_eff_rj": np.maximum(j(s["sig_base_j"]) * np.exp(-c(p.beta_sigma) * T), c(p.sigma_floor)),
        "k_eff_rj": j(s["k_base_j"]) * (1.0 + c(p.beta_kcat) * np.tanh(T)),
    }


def innovation(s: Arrays, p: Arrays, rng: RandomStreams) -> dict[str, np.ndarray]:
    """Stage 6: this step's R&D budget, allocated over processes, updates T and the effective parameters."""
    return effective_parameters(s, p, s.innov_budget_r[:, :, None] * allocation(s, p))
