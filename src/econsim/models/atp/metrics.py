"""Value added (SPEC.md §6.14) and the recorded metrics (§7.1), each a (B, R) array per step.

    GDP_r = Σ_j (Σ_g p_rg S⁺_gj − Σ_g p_rg S⁻_gj) [v_rj]₊ + Σ_m p_rm [q_rm]₊

Deviation: GDP is valued at the prices the step's decisions used (the original used the prices already
updated in stage 13; ``legacy_gdp_prices``).
"""

from __future__ import annotations

import numpy as np

from econsim.engine import Arrays, RandomStreams
from econsim.models.atp.demography import gdp_per_capita


def value_added(s: Arrays, p: Arrays, rng: RandomStreams) -> dict[str, np.ndarray]:
    """Stage 15."""
    # legacy 9: the prices already updated in stage 13
    prices = np.where(p.legacy_gdp_prices[:, None, None], s.price_rg, s.gdp_prices_rg)
    M = s.extracted_rm.shape[2]
    net_rj = np.matmul(prices, s.stoich_gj)  # output value − input value per unit rate
    gdp_r = (net_rj * np.maximum(s.rates_rj, 0.0)).sum(axis=2)
    gdp_r = gdp_r + (prices[:, :, :M] * np.maximum(s.extracted_rm, 0.0)).sum(axis=2)
    return {"gdp_r": gdp_r}


METRICS = {
    "AEC_region": lambda s, p: s.aec_r,
    "GDP_proxy_region": lambda s, p: (s.price_rg * np.maximum(s.stock_rg, 0.0)).sum(axis=2),
    "GDP_flow_region": lambda s, p: s.gdp_r,
    "GDP_pc_region": lambda s, p: gdp_per_capita(s),
    "ATP_minted_region": lambda s, p: s.minted_r,
    "sink_utilization": lambda s, p: s.pollutant_r / s.sink_cap_r,
    "mu_ex": lambda s, p: s.mu_r,
    "lambda_sink": lambda s, p: s.lam_r,
    "population_region": lambda s, p: s.pop_r,
    "psr_region": lambda s, p: s.psr_r,
    "dependency_region": lambda s, p: s.dep_r,
    "exergy_productivity_region": lambda s, p: s.gdp_r / (s.minted_r + 1e-9),
    "sink_intensity_region": lambda s, p: s.emis_r / (s.gdp_r + 1e-9),
}

SUMMARIES = {
    "AEC_mean": lambda s, p: s.aec_r.mean(axis=1),
    "GDP_world": lambda s, p: s.gdp_r.sum(axis=1),
    "mu_mean": lambda s, p: s.mu_r.mean(axis=1),
    "lambda_mean": lambda s, p: s.lam_r.mean(axis=1),
    "sink_util_mean": lambda s, p: (s.pollutant_r / s.sink_cap_r).mean(axis=1),
    "population_world": lambda s, p: s.pop_r.sum(axis=1),
}


def progress_fields(s: Arrays, p: Arrays) -> dict[str, float]:
    """Mean AEC, world GDP, mean μ and mean λ, averaged over the batch's runs."""
    return {
        "AEC": float(s.aec_r.mean()),
        "GDP": float(s.gdp_r.sum(axis=1).mean()),
        "μ": float(s.mu_r.mean()),
        "λ": float(s.lam_r.mean()),
    }
