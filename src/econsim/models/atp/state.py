"""State of the ATP economy: every array, its per-run shape and meaning (struct of arrays).

Suffixes name the axes after the run axis b: r region, g good, j process, m resource, k neighbour route,
a age bin, n agent. Agents are stored sorted by region, so a region's agents are contiguous.
"""

from __future__ import annotations

import numpy as np

from econsim.engine import Var

AGES = 101  # age bins 0 … 100 (100 is open-ended)


def _v(name: str, doc: str, *shape: int | str, dtype=np.float64, initial: float = 0.0) -> Var:
    return Var(name, initial, doc, shape=tuple(shape), dtype=dtype)


STATE: list[Var] = [
    _v("day", "steps completed", dtype=np.int64),
    # --- agents: wallets (money in float64) and static traits
    _v("atp_n", "agent eATP wallet x", "N"),
    _v("adp_n", "agent eADP wallet y", "N"),
    _v("amp_n", "agent eAMP wallet w", "N"),
    _v("fiat_n", "agent fiat balance (nominal overlay)", "N"),
    _v("crypto_n", "agent crypto balance (nominal overlay)", "N"),
    _v("region_n", "agent's region (static; agents sorted by region)", "N", dtype=np.int64),
    _v("greed_n", "greed γ̃ ∈ (0, 1) (static)", "N"),
    # float32, as the demand logits they feed (see wallets.demand_pass)
    _v("theta_ng", "preference θ = A·B (static)", "N", "G", dtype=np.float32),
    _v("inv_tau_n", "1 / demand temperature (static)", "N", dtype=np.float32),
    _v("cons_coef_n", "consumption budget per unit eATP: (1 − saving − R&D − storage shares)/2", "N"),
    _v("innov_coef_n", "R&D budget per unit eATP", "N"),
    _v("store_coef_n", "storage budget per unit eATP", "N"),
    _v("heir_n", "inheritance weight, normalised within the region", "N"),
    _v("fx_prop_n", "share of nominal balances offered to the FX valve per step", "N"),
    _v("agents_r", "agents per region", "R"),
    # --- money pools and the pending wallet map
    _v("atp_r", "tracked regional eATP pool X", "R"),
    _v("adp_r", "tracked regional eADP pool Y", "R"),
    _v("amp_r", "tracked regional eAMP pool W", "R"),
    _v(
        "wallet_map_r",
        "per-region linear map on (x, y, w) booked this step, not yet applied to agents",
        "R",
        3,
        3,
    ),
    _v(
        "pool_drift_r3",
        "wallet sums minus tracked pools (x, y, w); nonzero only under legacy_endowment_drift",
        "R",
        3,
    ),
    _v("fx_want_r", "eADP the agents offer to the FX valve (before the cap)", "R"),
    _v("fx_in_r", "eADP credited by the FX valve this step", "R"),
    _v("endowed_r", "eATP endowed to newborns this step", "R"),
    _v("destroyed_r", "money destroyed by inheritance this step (eATP + eADP + eAMP)", "R"),
    # --- world (static unless noted)
    _v("quality_r", "regional quality q", "R"),
    _v("dist_rr", "distance between regions (self: 1)", "R", "R"),
    _v("nbr_rk", "k-th nearest neighbour", "R", "k_neighbors", dtype=np.int64),
    _v("route_cost_rk", "route cost χ", "R", "k_neighbors"),
    _v("route_cap_rk", "route capacity c̄", "R", "k_neighbors"),
    _v("route_dist_rk", "route distance", "R", "k_neighbors"),
    _v("stoich_gj", "stoichiometry S (inputs < 0 < outputs)", "G", "J"),
    _v("k_base_j", "base rate constant", "J"),
    _v("xi_base_j", "base eATP intensity", "J"),
    _v("sig_base_j", "base emission intensity", "J"),
    _v("inflow_rg", "exogenous inflow per step", "R", "G"),
    _v("gen_cap_r", "generation capacity Γ", "R"),
    _v("gen_sig_r", "generation emission intensity γ", "R"),
    _v("sink_cap_r", "sink capacity C", "R"),
    # --- economy
    _v("stock_rg", "inventories Q", "R", "G"),
    _v("price_rg", "prices p", "R", "G"),
    _v("anchor_rg", "log-price anchor", "R", "G"),
    _v("tech_rj", "technology stock T", "R", "J"),
    _v("xi_eff_rj", "effective eATP intensity", "R", "J"),
    _v("sig_eff_rj", "effective emission intensity", "R", "J"),
    _v("k_eff_rj", "effective rate constant", "R", "J"),
    _v("reserves_rm", "reserves Φ", "R", "n_resources"),
    _v("reserves_max_rm", "reserve maxima Φ̄", "R", "n_resources"),
    _v("storage_r", "storage charge B", "R"),
    _v("storage_cap_r", "storage capacity B̄", "R"),
    _v("pollutant_r", "pollutant stock P", "R"),
    _v("mu_r", "exergy shadow price μ", "R"),
    _v("lam_r", "sink shadow price λ", "R"),
    _v("mu_ema_r", "EMA of the need/mint ratio ζμ", "R", initial=1.0),
    _v("lam_ema_r", "EMA of the sink utilisation ζλ", "R"),
    # --- per-step flows
    _v("aec_r", "AEC after recharging (the recorded AEC)", "R"),
    _v("book_r", "eATP spending allowance left this step", "R"),
    _v("minted_r", "eATP minted this step", "R"),
    _v("need_r", "eATP spent this step (exergy need)", "R"),
    _v("need_prev_r", "eATP spent last step", "R"),
    _v("emis_r", "emissions booked this step", "R"),
    _v("demand_rg", "demand quantities d", "R", "G"),
    _v("innov_budget_r", "R&D budget (capped)", "R"),
    _v("storage_budget_r", "storage budget (capped)", "R"),
    _v("extracted_rm", "resources extracted this step", "R", "n_resources"),
    _v("rates_rj", "production rates this step", "R", "J"),
    _v("gdp_prices_rg", "prices the step's production and extraction decisions used", "R", "G"),
    _v("gdp_r", "value added this step", "R"),
    # --- demography
    _v("pop_ra", "population by age", "R", AGES),
    _v("pop_r", "population", "R"),
    _v("cons_base_r", "consumption-weighted population at t = 0", "R"),
    _v("labour_base_r", "participation-weighted population at t = 0", "R"),
    _v("cons_scale_r", "consumption scale", "R", initial=1.0),
    _v("labour_r", "labour factor", "R", initial=1.0),
    _v("psr_r", "potential support ratio", "R", initial=1.0),
    _v("dep_r", "dependency ratio", "R", initial=1.0),
    _v("gdppc_ema_r", "EMA of GDP per capita", "R", initial=1.0),
    _v("gdppc_ema_prev_r", "previous EMA of GDP per capita", "R", initial=1.0),
    _v("gdppc_base_r", "baseline GDP per capita", "R", initial=1.0),
    _v("develop_r", "development index", "R"),
    _v("health_r", "health index", "R"),
    _v("births_r", "surviving newborns this step", "R"),
    _v("death_frac_r", "share of the population that died this step", "R"),
]
