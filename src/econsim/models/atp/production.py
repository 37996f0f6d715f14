"""Production (SPEC.md §6.6): processes transform goods by the stoichiometry S, driven by their affinity,
limited by inputs, throttled by the AMPK gate on AEC, and gated by the eATP allowance and the sink.

    A_rj = Σ_g p_rg S_gj − μ_r ξ_eff_rj − λ_r σ_eff_rj
    α_rj = min_{g: S⁻_gj > 0} Q_rg / S⁻_gj                             input availability (1e30 without inputs)
    Ga_r = gate_min + (1 − gate_min) σ(gate_k (AEC_r − c)),  c = (aec_low + aec_high)/2
    v̂_rj = min(k_eff · sp(β A)/β · tanh(α/(1 + α)), cap_j) · Ga_r · lf_r
    v = s_r v̂  (gate of Σ v̂ ξ_eff, Σ v̂ σ_eff), then each process scaled so that no input is overdrawn
    Q ← Q + v Sᵀ;  settle Σ v ξ_eff;  book Σ v σ_eff

Deviation: the last scaling (per good, the share of the requested inputs that the stock covers; per
process, the least of its inputs' shares) replaces the original's clamp Q ← [Q + vSᵀ]₊, which created
inputs from nothing whenever rates exceeded stocks (``legacy_inventory_clamp``).
"""

from __future__ import annotations

import numpy as np

from econsim.engine import Arrays, RandomStreams
from econsim.models.atp.extraction import softplus_drive
from econsim.models.atp.wallets import EPS, book, gate, ledger, ledger_updates, settle

CAP_J = 1e6  # per-process rate cap


def ampk_gate(s: Arrays, p: Arrays) -> np.ndarray:
    centre = 0.5 * (p.aec_low + p.aec_high)
    z = p.gate_k[:, None] * (s.aec_r - centre[:, None])
    return p.gate_min[:, None] + (1.0 - p.gate_min[:, None]) / (1.0 + np.exp(-z))


def production(s: Arrays, p: Arrays, rng: RandomStreams) -> dict[str, np.ndarray]:
    """Stage 8."""
    S = s.stoich_gj
    inputs_gj = np.maximum(-S, 0.0)
    value_rj = np.matmul(s.price_rg, S)
    affinity = value_rj - s.mu_r[:, :, None] * s.xi_eff_rj - s.lam_r[:, :, None] * s.sig_eff_rj
    has_input = inputs_gj > 0  # (B, G, J)
    ratio = np.where(has_input[:, None], s.stock_rg[:, :, :, None] / (inputs_gj[:, None] + EPS), 1e30)
    avail = ratio.min(axis=2)  # (B, R, J)
    drive = softplus_drive(affinity, np.maximum(p.beta_aff, 1e-6)[:, None, None])
    potential = np.minimum(s.k_eff_rj * drive * np.tanh(avail / (1.0 + avail)), CAP_J)
    potential = potential * (ampk_gate(s, p) * s.labour_r)[:, :, None]
    potential = np.maximum(potential, 0.0)
    share_r = gate(
        s, s.book_r, s.emis_r, (potential * s.xi_eff_rj).sum(axis=2), (potential * s.sig_eff_rj).sum(axis=2)
    )
    rates = share_r[:, :, None] * potential
    # no input overdrawn: per good the covered share of the request, per process the least over its inputs
    request_rg = np.matmul(rates, np.swapaxes(inputs_gj, 1, 2))
    covered_rg = np.where(request_rg > s.stock_rg, s.stock_rg / np.maximum(request_rg, 1e-300), 1.0)
    limit_rj = np.where(has_input[:, None], covered_rg[:, :, :, None], 1.0).min(axis=2)
    # legacy 11: no limit; the clamp below then creates the missing inputs
    rates = np.where(p.legacy_inventory_clamp[:, None, None], rates, rates * limit_rj)
    stock_rg = np.maximum(s.stock_rg + np.matmul(rates, np.swapaxes(S, 1, 2)), 0.0)  # clamp: round-off only
    acc = ledger(s)
    cost_r, load_r = (rates * s.xi_eff_rj).sum(axis=2), (rates * s.sig_eff_rj).sum(axis=2)
    settle(s, acc, cost_r)
    book(acc, cost_r, load_r)
    return {"stock_rg": stock_rg, "rates_rj": rates, **ledger_updates(acc)}
