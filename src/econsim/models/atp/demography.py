"""Demography (SPEC.md §6.15–6.16): age-structured survival, ageing, fertility and migration, one day per step.

    an = clip((AEC − aec_low)/(aec_high − aec_low), 0, 1);  ema ← 0.9 ema + 0.1 g;  gr = log max(ema/base, 1e−6)
    H = clip(0.5 an + 0.4 clip(½ + ½ tanh(½ gr), 0, 1) + 0.1 (1 − util), 0, 1)
    Dv ← 0.99 Dv + 0.01 clip(½ + ½ tanh(0.3 gr), 0, 1)
    h_ra = clip(h⁰_a · M_a(H) · (1 + mort_sink_mult util) · D_r, 0, 5),  survival e^(−h dy), dy = 1/365
    fertility F = clip(F_dev F_rep F_cyc, 0.4, 1.8) · F_r;  births Σ_a female_share n_a ASFR_a F dy

The README's keys act as AEC multipliers (the original ignored them):
    D_r = death_base/0.010 · (1 + death_k [aec_death_center − AEC]₊)      on every hazard
    F_r = birth_base/0.015 · (1 + birth_k [AEC − aec_birth_center]₊)      on fertility
so at the README defaults and with AEC between the two centres the original's rates are unchanged.

Ageing moves 1/365 of each age bin to the next bin per day and keeps the open-ended last bin, conserving
mass; the original applied the transpose (people got younger, bin 0 leaked, bin 100 created mass), which
``legacy_reverse_ageing`` restores.
"""

from __future__ import annotations

import numpy as np

from econsim.engine import Arrays, RandomStreams
from econsim.engine.numerics import per_run_power
from econsim.models.atp.trade import route_graph


def clip(x, lo, hi):
    """``np.clip``'s values (NaN stays NaN) without its Python dispatch, several µs a call here."""
    return np.minimum(np.maximum(x, lo), hi)


AGE = np.arange(101)
DAY = 1.0 / 365.0
CONS_WEIGHT_A = np.where(AGE < 18, 0.6, np.where(AGE < 65, 1.0, 0.8))
LABOUR_WEIGHT_A = np.select(
    [AGE < 18, AGE < 25, AGE < 55, AGE < 65, AGE < 75], [0.0, 0.5, 0.9, 0.5, 0.1], 0.05
)
_SHAPE = np.where(
    (AGE >= 15) & (AGE <= 49),
    0.75 * np.exp(-0.5 * ((AGE - 26) / 4.0) ** 2) + 0.25 * np.exp(-0.5 * ((AGE - 32) / 5.5) ** 2),
    0.0,
)
ASFR_A = _SHAPE / _SHAPE.sum() * 0.075  # total fertility 0.075, as the original
MOBILE_A = (AGE >= 18) & (AGE <= 39)
AGE_GROUP_A = np.where(AGE == 0, 0, np.where(AGE <= 14, 1, 2))  # neonatal, child, adult elasticities


def base_hazard(p: Arrays) -> np.ndarray:
    """Annual hazard h⁰ (B, A): infant, child, youth, Gompertz–Makeham adult."""
    c = lambda v: v[:, None]  # noqa: E731
    adult = c(p.adult_makeham_lambda) + c(p.adult_gomp_alpha) * np.exp(
        c(p.adult_gomp_beta) * clip(AGE - 40, -40, 60)
    )
    return np.where(
        AGE == 0,
        c(p.imr_base),
        np.where(AGE <= 4, c(p.u5_child_base), np.where(AGE <= 14, c(p.youth_base), adult)),
    )


def age_forward(n_ra: np.ndarray) -> np.ndarray:
    """n'_a = (1 − 1/365) n_a + n_{a−1}/365;  the last bin keeps its mass."""
    moved = n_ra * DAY
    out = n_ra - moved
    out[..., 1:] += moved[..., :-1]
    out[..., -1] += moved[..., -1]
    return out


def age_backward(n_ra: np.ndarray) -> np.ndarray:
    """The original's operator: n'_a = (1 − 1/365) n_a + n_{a+1}/365 for a < 100, n'_100 = n_100."""
    out = n_ra * (1.0 - DAY)
    out[..., :-1] += n_ra[..., 1:] * DAY
    out[..., -1] = n_ra[..., -1]
    return out


def gdp_per_capita(s: Arrays) -> np.ndarray:
    return s.gdp_r / np.maximum(s.pop_r, 1e-9)


def demography(s: Arrays, p: Arrays, rng: RandomStreams) -> dict[str, np.ndarray]:
    """Stage 16 (population only; wallets follow in ``inheritance``)."""
    c = lambda v: v[:, None]  # noqa: E731
    g_r = gdp_per_capita(s)
    day0 = (s.day == 0)[:, None]
    # the original ran day 0 with placeholder trackers (= 1, development 0) and set them from day 0's GDP
    # per capita after the step (legacy 13); we start them from day 0's GDP per capita
    placeholder = day0 & p.legacy_day0_demography[:, None]
    first = day0 & ~placeholder
    start_base_r = np.maximum(g_r, 1e-6)
    start_develop_r = clip(
        0.5 + 0.5 * np.tanh(0.3 * np.log(np.maximum(g_r / (start_base_r + 1e-9), 1e-6))), 0.0, 1.0
    )
    base_r = np.where(first, start_base_r, s.gdppc_base_r)
    ema_prev_r = np.where(first, g_r, s.gdppc_ema_r)
    develop_r = np.where(first, start_develop_r, s.develop_r)
    an = clip((s.aec_r - c(p.aec_low)) / np.maximum(1e-6, c(p.aec_high) - c(p.aec_low)), 0.0, 1.0)
    ema_r = 0.9 * ema_prev_r + 0.1 * g_r
    growth = np.log(np.maximum(ema_r / (base_r + 1e-9), 1e-6))
    util = clip(s.pollutant_r / (s.sink_cap_r + 1e-9), 0.0, 1.0)
    health = clip(
        0.5 * an + 0.4 * clip(0.5 + 0.5 * np.tanh(0.5 * growth), 0.0, 1.0) + 0.1 * (1.0 - util), 0.0, 1.0
    )
    develop_r = 0.99 * develop_r + 0.01 * clip(0.5 + 0.5 * np.tanh(0.3 * growth), 0.0, 1.0)
    death_mult = (
        c(p.death_base) / 0.010 * (1.0 + c(p.death_k) * np.maximum(c(p.aec_death_center) - s.aec_r, 0.0))
    )
    birth_mult = (
        c(p.birth_base) / 0.015 * (1.0 + c(p.birth_k) * np.maximum(s.aec_r - c(p.aec_birth_center), 0.0))
    )
    # the hazard elasticity e^(−η H) per age group (neonatal, child, adult), spread over the age bins
    elastic = np.exp(
        -np.stack([p.eta_neonatal, p.eta_child, p.eta_adult], axis=1)[:, None, :] * health[:, :, None]
    )
    # C order: an indexed axis lands outermost in memory, the products below would inherit a layout
    # that depends on the batch size, and the sums over ages would then add in another order
    elastic = np.ascontiguousarray(elastic[:, :, AGE_GROUP_A])
    hazard = clip(
        base_hazard(p)[:, None, :]
        * elastic
        * (1.0 + c(p.mort_sink_mult) * util)[:, :, None]
        * death_mult[:, :, None],
        0.0,
        5.0,
    )
    survivors = s.pop_ra * np.exp(-hazard * DAY)
    deaths_r = np.maximum(s.pop_ra.sum(axis=2) - survivors.sum(axis=2), 0.0)
    death_frac = clip(deaths_r / (s.pop_r + 1e-9), 0.0, 0.99)
    legacy = p.legacy_reverse_ageing
    aged = age_forward(survivors)
    if legacy.any():
        aged = np.where(legacy[:, None, None], age_backward(survivors), aged)
    surv5 = np.exp(-hazard[:, :, :5].sum(axis=2))
    f_dev = clip(np.exp(-c(p.fert_theta_dev) * develop_r), 0.5, 1.5)
    f_rep = clip(per_run_power(0.995 / np.maximum(surv5, 1e-3), p.fert_phi_rep), 0.5, 1.8)
    shock = np.maximum(
        -(np.log(np.maximum(ema_r + 1e-9, 1e-6)) - np.log(np.maximum(ema_prev_r + 1e-9, 1e-6))), 0.0
    )
    f_cyc = clip(np.exp(-c(p.fert_theta_cyc) * shock), 0.6, 1.2)
    fert = clip(f_dev * f_rep * f_cyc, 0.4, 1.8) * birth_mult
    births = np.maximum((c(p.female_share)[:, :, None] * aged * ASFR_A).sum(axis=2) * fert * DAY, 0.0)
    newborn = births * np.exp(-hazard[:, :, 0] * DAY)
    aged[:, :, 0] += newborn
    aged = migrate(s, p, aged, g_r, base_r, an)
    pop_ra = np.maximum(aged, 0.0)
    pop_r = pop_ra.sum(axis=2)
    working, retire = p.working_age, p.retirement_age  # per-batch scalars
    work = pop_ra[:, :, working:retire].sum(axis=2)
    young, old = pop_ra[:, :, :working].sum(axis=2), pop_ra[:, :, retire:].sum(axis=2)
    return {
        "pop_ra": pop_ra,
        "pop_r": pop_r,
        "births_r": newborn,
        "death_frac_r": death_frac,
        "gdppc_base_r": np.where(placeholder, start_base_r, base_r),
        "gdppc_ema_prev_r": np.where(placeholder, g_r, ema_prev_r),
        "gdppc_ema_r": np.where(placeholder, g_r, ema_r),
        "develop_r": np.where(placeholder, start_develop_r, develop_r),
        "health_r": health,
        "cons_scale_r": clip(pop_ra @ CONS_WEIGHT_A / s.cons_base_r, 0.25, 4.0),
        "labour_r": clip(pop_ra @ LABOUR_WEIGHT_A / s.labour_base_r, 0.2, 1.2),
        "psr_r": work / (old + 1e-9),
        "dep_r": (young + old) / (work + 1e-9),
    }


def migrate(
    s: Arrays, p: Arrays, n_ra: np.ndarray, g_r: np.ndarray, base_r: np.ndarray, an: np.ndarray
) -> np.ndarray:
    """Ages 18–39 move towards attractive neighbours: outflow min(rate·dy, 0.25) of the mobile, split by
    ω_rk ∝ at_n(r,k) / cost_rk^kappa, at = 0.6 g/base + 0.4(½ + ½an) over its mean, cost = 1 + D/mean D.
    Wallets stay where they are."""
    rate = np.minimum(np.maximum(p.migration_rate_annual * DAY, 0.0), 0.25)
    if not (rate > 0).any():
        return n_ra
    routes = route_graph(s)
    attract = 0.6 * g_r / (base_r + 1e-9) + 0.4 * (0.5 + 0.5 * an)
    attract = attract / (attract.mean(axis=1, keepdims=True) + 1e-12)
    cost = 1.0 + s.route_dist_rk / (s.route_dist_rk.mean(axis=(1, 2), keepdims=True) + 1e-9)
    at_destination = routes.gather(attract).reshape(s.nbr_rk.shape)
    weight = np.maximum(at_destination / per_run_power(cost, p.migration_kappa), 0.0)
    weight = weight / (weight.sum(axis=2, keepdims=True) + 1e-12)
    out_ra = n_ra * MOBILE_A * rate[:, None, None]
    flows = weight[..., None] * out_ra[:, :, None, :]  # (B, R, κ, A)
    # stayers plus the arrivals along every route, added in route order
    return routes.scatter_sum(flows.reshape(n_ra.shape[0], -1, n_ra.shape[2]), initial=n_ra - out_ra)
