"""Parameters of the ATP economy, with the names, defaults and YAML sections of the original.

Every key of the original's configuration table and of its README is here (the README's demography keys,
``beta_ext`` and the ``fx`` section act: see ``demography.py``, ``extraction.py`` and ``fx.py``). ``SECTIONS``
maps each YAML section to its keys; the sectioned layout is read by ``config.adapt_config``.
"""

from __future__ import annotations

from econsim.engine import Param

POS = (0.0, None)
UNIT = (0.0, 1.0)


def _legacy(name: str, doc: str) -> Param:
    return Param(name, False, f"the original's behaviour, fix {doc}", kind="bool")


SECTIONS: dict[str, list[Param]] = {
    "sizes": [
        Param("R", 16, "regions", bounds=(2, None), kind="int"),
        Param("G", 24, "goods", bounds=(3, None), kind="int"),
        Param("J", 12, "production processes (reactions)", bounds=(2, None), kind="int"),
        Param("N", 200_000, "agent cohorts (wallet holders)", bounds=(1, None), kind="int"),
        Param(
            "K_latent",
            4,
            "latent preference dimension (YAML may spell it k_latent)",
            bounds=(1, None),
            kind="int",
            per_batch=True,  # the width of the preference draws
        ),
    ],
    "markets": [
        Param(
            "tau", 0.15, "baseline demand temperature τ₀ (lower: more price-sensitive)", bounds=(1e-9, None)
        ),
        Param(
            "beta_aff", 2.0, "softplus sharpness of the production drive in the affinity", bounds=(1e-6, None)
        ),
    ],
    "trade": [
        Param(
            "k_neighbors",
            8,
            "trade and spill-over neighbours per region (κ = min(this, R−1))",
            bounds=(1, None),
            kind="int",
        ),
        Param("alpha_logistics_ex", 0.08, "eATP per unit shipped per unit distance", bounds=POS),
        Param("alpha_logistics_sink", 0.005, "emission per unit shipped per unit distance", bounds=POS),
    ],
    "time": [
        Param("demurrage", 0.01, "base per-step decay rate of eATP into eADP", bounds=POS),
        Param("dt", 1.0, "step length (demography always counts one step as one day)", bounds=(1e-9, None)),
    ],
    "duals": [
        Param("eta_ex", 0.01, "exponent of the μ controller", bounds=POS),
        Param("eta_sink", 0.01, "gain of the λ controller", bounds=POS),
        Param("util_target", 0.5, "target sink utilisation of the λ controller", bounds=UNIT),
        Param("mu_floor", 5e-3, "lower bound of μ", bounds=(1e-12, None)),
        Param("mu_cap", 1e6, "upper bound of μ", bounds=(1e-12, None)),
        Param("lambda_floor", 2e-2, "lower bound of λ", bounds=(1e-12, None)),
        Param("lambda_cap", 1e6, "upper bound of λ", bounds=(1e-12, None)),
        Param("mu0", 2e-2, "initial μ", bounds=(1e-12, None)),
        Param("lambda0", 5e-2, "initial λ", bounds=(1e-12, None)),
        Param("ema_ex", 0.9, "EMA retention of the need/mint ratio", bounds=UNIT),
        Param("ema_sink", 0.9, "EMA retention of the sink utilisation", bounds=UNIT),
    ],
    "environment": [
        Param("sink_assim_rate", 0.01, "natural assimilation rate a of the pollutant stock", bounds=UNIT),
    ],
    "scaling": [
        Param("gen_scale", 0.35, "× generation capacity", bounds=POS),
        Param("storage_scale", 0.30, "× initial storage charge (not the capacity)", bounds=POS),
        Param("sink_cap_scale", 0.10, "× sink capacity", bounds=(1e-12, None)),
        Param("sink_intensity_scale", 5.0, "× process emission intensity σ_base", bounds=POS),
        Param("gen_noise", 0.30, "half-width of the multiplicative generation noise", bounds=POS),
        Param("gen_sink_intensity_scale", 1.0, "× generation emission intensity", bounds=POS),
    ],
    "policy": [
        Param("aec_low", 0.78, "lower edge of the AEC corridor", bounds=UNIT),
        Param("aec_high", 0.92, "upper edge of the AEC corridor", bounds=UNIT),
        Param("ers_k", 6.0, "gain of the demurrage factor on AEC", bounds=POS),
        Param("gate_min", 0.10, "floor of the AMPK throughput gate", bounds=UNIT),
        Param("gate_k", 12.0, "slope of the AMPK throughput gate", bounds=POS),
        Param("aec_init", 0.86, "target AEC of the wallet initialisation", bounds=UNIT),
    ],
    "extraction": [
        Param(
            "n_resources",
            4,
            "finite extractable resources: goods 0 … n−1 (at most G−2)",
            bounds=(1, None),
            kind="int",
        ),
        Param("k_ext", 0.2, "extraction rate constant", bounds=POS),
        Param(
            "beta_ext",
            3.0,
            "softplus sharpness of extraction in its affinity (large: [A]₊ as the original)",
            bounds=(1e-6, None),
        ),
        Param("xi_ext0", 1.0, "base eATP per unit extracted", bounds=POS),
        Param("sig_ext0", 0.6, "base emission per unit extracted", bounds=POS),
        Param("dep_alpha_xi", 1.0, "escalation of the eATP cost with depletion", bounds=POS),
        Param("dep_alpha_sig", 1.2, "escalation of the emission with depletion", bounds=POS),
        Param("reserves_scale", 5e6, "reserve scale", bounds=POS),
    ],
    "demography": [
        Param("pop_init_scale", 1e6, "mean initial population per region", bounds=POS),
        Param("birth_base", 0.015, "baseline birth rate: fertility × birth_base / 0.015", bounds=POS),
        Param("death_base", 0.010, "baseline death rate: hazards × death_base / 0.010", bounds=POS),
        Param("aec_birth_center", 0.8, "AEC above which fertility rises (slope birth_k)", bounds=UNIT),
        Param("aec_death_center", 0.5, "AEC below which hazards rise (slope death_k)", bounds=UNIT),
        Param("birth_k", 5.0, "rise of fertility per unit AEC above aec_birth_center", bounds=POS),
        Param("death_k", 7.0, "rise of hazards per unit AEC below aec_death_center", bounds=POS),
        Param(
            "birth_endow_atp", 0.2, "eATP per surviving newborn, spread over the region's agents", bounds=POS
        ),
        Param(
            "birth_endow_fiat", 5.0, "fiat per surviving newborn, spread over the region's agents", bounds=POS
        ),
        Param(
            "working_age",
            18,
            "first working age (support ratio, dependency)",
            bounds=(1, 99),
            kind="int",
            per_batch=True,  # an age-bin slice bound
        ),
        Param(
            "retirement_age",
            65,
            "first retired age (support ratio, dependency)",
            bounds=(2, 100),
            kind="int",
            per_batch=True,  # an age-bin slice bound
        ),
        Param("female_share", 0.5, "share of women in every age bin", bounds=UNIT),
        Param("adult_gomp_alpha", 4.2e-5, "Gompertz level of the adult hazard", bounds=POS),
        Param("adult_gomp_beta", 0.085, "Gompertz slope of the adult hazard", bounds=POS),
        Param("adult_makeham_lambda", 5e-4, "Makeham constant of the adult hazard", bounds=POS),
        Param("imr_base", 0.03, "infant (age 0) annual hazard", bounds=POS),
        Param("u5_child_base", 0.001, "ages 1–4 annual hazard", bounds=POS),
        Param("youth_base", 2e-4, "ages 5–14 annual hazard", bounds=POS),
        Param("eta_neonatal", 2.5, "elasticity of the infant hazard to health", bounds=POS),
        Param("eta_child", 2.0, "elasticity of the child hazard to health", bounds=POS),
        Param("eta_adult", 1.0, "elasticity of the adult hazard to health", bounds=POS),
        Param("mort_sink_mult", 0.5, "hazards × (1 + this · sink utilisation)", bounds=POS),
        Param("fert_theta_dev", 1.0, "fertility decline with development", bounds=POS),
        Param("fert_phi_rep", 0.4, "fertility response to child survival (replacement)", bounds=POS),
        Param("fert_theta_cyc", 0.8, "fertility response to GDP shocks", bounds=POS),
    ],
    "inheritance": [
        Param("inherit_conc", 2.0, "exponent on greed of heirs' shares (1: proportional)", bounds=POS),
        Param(
            "inherit_frac_on_death",
            0.9,
            "share of the dead's wallets passed on (the rest is destroyed)",
            bounds=UNIT,
        ),
    ],
    "migration": [
        Param("migration_rate_annual", 0.0, "annual outflow share of ages 18–39", bounds=POS),
        Param("migration_kappa", 1.0, "distance exponent of migration weights", bounds=POS),
    ],
    "behavior": [
        Param(
            "greed_tau_scale",
            0.5,
            "greed lowers the demand temperature: τ = tau·exp(−this·greed)",
            bounds=POS,
        ),
        Param("save_base", 0.05, "base saving share of the budget", bounds=UNIT),
        Param("save_greed_scale", 0.10, "extra saving share per unit greed", bounds=POS),
        Param("invest_innov_base", 0.03, "base R&D share of the budget", bounds=UNIT),
        Param("invest_innov_greed_scale", 0.05, "extra R&D share per unit greed", bounds=POS),
        Param("invest_storage_base", 0.02, "base storage-investment share of the budget", bounds=UNIT),
        Param(
            "invest_storage_greed_scale", 0.04, "extra storage-investment share per unit greed", bounds=POS
        ),
    ],
    "innovation": [
        Param("eta_innov", 1e-3, "technology gained per unit of R&D effort", bounds=POS),
        Param("innov_alpha", 1.0, "concavity of R&D effort (exponent on the budget)", bounds=POS),
        Param("innov_spill", 1e-3, "per-step diffusion of technology from neighbours", bounds=POS),
        Param("innov_decay", 1e-3, "per-step depreciation of technology", bounds=POS),
        Param("beta_xi", 0.4, "technology lowers eATP intensity: ξ = ξ_base·exp(−this·T)", bounds=POS),
        Param("beta_sigma", 0.5, "technology lowers emission intensity: σ = σ_base·exp(−this·T)", bounds=POS),
        Param(
            "beta_kcat", 0.3, "technology raises the rate constant: k = k_base(1 + this·tanh T)", bounds=POS
        ),
    ],
    "investment": [
        Param("eta_storage", 1e-4, "storage capacity built per unit of storage budget", bounds=POS),
        Param("storage_decay", 2e-4, "per-step depreciation of storage capacity", bounds=POS),
    ],
    "engine": [
        Param("xi_floor", 1e-12, "floor of the effective eATP intensity", bounds=POS),
        Param("sigma_floor", 1e-12, "floor of the effective emission intensity", bounds=POS),
        Param("softmax_temp_sigma", 0.5, "temperature of the R&D allocation over σ_eff", bounds=POS),
        Param("cap_innov_exergy_mult", 50.0, "R&D budget cap, × (eATP minted this step + 1)", bounds=POS),
        Param(
            "cap_storage_exergy_mult", 25.0, "storage budget cap, × (eATP minted this step + 1)", bounds=POS
        ),
        Param("innov_I_cap", 1e12, "cap of the R&D effort per process and step", bounds=POS),
    ],
    "fx": [
        Param("fx_spread_fiat", 0.02, "spread of converting fiat into eADP", bounds=UNIT),
        Param("fx_spread_crypto", 0.05, "spread of converting crypto into eADP", bounds=UNIT),
        Param(
            "fx_cap_mult",
            10.0,
            "regional conversion cap, × eATP minted this step (0: valve shut)",
            bounds=POS,
        ),
        Param(
            "fx_convert_base_frac",
            0.25,
            "base share of nominal balances offered for conversion per step",
            bounds=UNIT,
        ),
        Param("fx_convert_greed_scale", 0.35, "extra share offered per unit greed", bounds=POS),
        Param("fiat_init", 100.0, "mean initial fiat balance per agent (uniform on [0, 2·this])", bounds=POS),
        Param(
            "crypto_init", 20.0, "mean initial crypto balance per agent (uniform on [0, 2·this])", bounds=POS
        ),
    ],
    # Each switch restores one bug of the original that econsim fixes (README: "Deviations", numbered as
    # SPEC.md §10). All of them on, with fx_cap_mult 0, beta_ext → ∞ and the README demography keys at
    # their neutral values, reproduce the original's step (README: "Side by side with the original").
    "legacy": [
        _legacy("legacy_reverse_ageing", "1: cohorts age backwards (not mass-conserving)"),
        _legacy("legacy_storage_gain", "2: surplus is stored as surplus/η (creates energy)"),
        _legacy("legacy_endowment_drift", "3: birth endowments miss the tracked eATP pool (pools drift)"),
        _legacy("legacy_initial_storage", "7: the initial storage charge may exceed its capacity"),
        _legacy("legacy_discharge_loss", "8: storage discharge the sink gate cut is lost"),
        _legacy("legacy_gdp_prices", "9: GDP valued at the prices already updated this step"),
        _legacy("legacy_reserves", "10: Patankar depletion Φ/(1 + q/Φ), extraction not capped by Φ"),
        _legacy(
            "legacy_inventory_clamp", "11: inventories clamped at 0 after production (inputs from nothing)"
        ),
        _legacy("legacy_day0_demography", "13: day 0's demography uses placeholder trackers (= 1)"),
        _legacy("legacy_price_floor", "15: the dead production-cost price floor (min over all processes)"),
        _legacy("legacy_world_reseed", "the stoichiometry restarts the world stream (later draws reuse it)"),
    ],
}

PARAMS: list[Param] = [p for params in SECTIONS.values() for p in params]
SECTION_OF: dict[str, str] = {p.name: section for section, params in SECTIONS.items() for p in params}
