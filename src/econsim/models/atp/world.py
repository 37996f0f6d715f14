"""World generation (SPEC.md §3): geography, stoichiometry, processes, resources, agents, wallets, population.

Each component draws from its own named stream (``world``, ``stoichiometry``, ``agents``, ``wallets``), so a
scenario that changes, say, the wallet draws keeps the same geography. Agents are drawn i.i.d. over regions
with probabilities ∝ quality and then stored sorted by region (agents are exchangeable, so this changes no
distribution; it keeps each region's agents contiguous for the compiled passes).
"""

from __future__ import annotations

import numpy as np

from econsim.engine import Arrays, RandomStreams
from econsim.engine.errors import ConfigError
from econsim.engine.numerics import per_run_power
from econsim.engine.streams import Stream
from econsim.models.atp.demand import aec
from econsim.models.atp.demography import AGE, CONS_WEIGHT_A, LABOUR_WEIGHT_A
from econsim.models.atp.innovation import effective_parameters
from econsim.models.atp.state import AGES


def sizes(p: Arrays) -> tuple[int, int, int, int, int, int, int]:
    """(R, G, J, N, K, M, κ) of the batch; M and κ are checked against G and R."""
    R, G, J, N, K = (int(p[k]) for k in ("R", "G", "J", "N", "K_latent"))  # per-batch scalars
    M = int(p.n_resources)
    if M > G - 2:
        raise ConfigError(
            f"n_resources = {M} must be at most G − 2 = {G - 2} (resources, intermediates and "
            "final goods each need at least one good)"
        )
    return R, G, J, N, K, M, min(int(p.k_neighbors), R - 1)


def goods_partition(G: int, M: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Resources 0 … M−1, then ⌊(G−M)/2⌋ intermediates, then the final goods."""
    n_int = max(1, (G - M) // 2)
    return np.arange(M), np.arange(M, M + n_int), np.arange(M + n_int, G)


class _Draws:
    """Sequential uniform draws of one run (world generation's branching needs them one at a time)."""

    def __init__(self, u: np.ndarray) -> None:
        self.u, self.i = u, 0

    def next(self) -> float:
        self.i += 1
        return float(self.u[self.i - 1])

    def pick(self, pool: np.ndarray, counts: tuple[int, ...] = (1, 2)) -> np.ndarray:
        """Choose a count uniformly from ``counts`` (1 if the pool is small), then that many distinct members."""
        n = counts[int(self.next() * len(counts))] if len(pool) > 2 else 1
        n = min(n, len(pool))
        order = np.argsort([self.next() for _ in range(len(pool))])
        return pool[order[:n]]

    def mag(self) -> float:
        return 0.3 + 0.9 * self.next()


def stoichiometry(G: int, J: int, M: int, u: np.ndarray) -> np.ndarray:
    """S (G, J) by the rules of SPEC.md §3.2: stage-A processes make intermediates from resources, stage-B
    processes make final goods from intermediates (and sometimes resources); co-products happen."""
    return stoichiometry_draws(G, J, M, u)[0]


def stoichiometry_draws(G: int, J: int, M: int, u: np.ndarray) -> tuple[np.ndarray, int]:
    """S and the number of uniforms of ``u`` it consumed."""
    res, inter, final = goods_partition(G, M)
    J1 = max(1, min(J - 1, round(0.4 * J)))
    J2 = J - J1
    S = np.zeros((G, J))
    d = _Draws(u)
    for k, good in enumerate(inter):
        j = k % J1
        for m in d.pick(res):
            S[m, j] -= d.mag()
        S[good, j] += d.mag()
        if len(inter) > 1 and d.next() < 0.35:
            other = d.pick(inter[inter != good], (1,))
            S[other[0], j] += d.mag()
    for j in range(J1):
        if not S[:, j].any():
            for m in d.pick(res):
                S[m, j] -= d.mag()
            for good in d.pick(inter):
                S[good, j] += d.mag()
    for k, good in enumerate(final):
        j = J1 + k % J2
        for g in d.pick(inter):
            S[g, j] -= d.mag()
        if d.next() < 0.7:
            for m in d.pick(res):
                S[m, j] -= d.mag()
        S[good, j] += d.mag()
        if len(final) > 1 and d.next() < 0.35:
            for other in d.pick(final[final != good], (1, 2) if len(final) >= 3 else (1,)):
                S[other, j] += d.mag()
    for j in range(J1, J):
        if not S[:, j].any():
            for g in d.pick(inter):
                S[g, j] -= d.mag()
            if d.next() < 0.7:
                for m in d.pick(res):
                    S[m, j] -= d.mag()
            for good in d.pick(final):
                S[good, j] += d.mag()
    return S, d.i


class _Restarted:
    """The world stream as the original used it after building the stoichiometry (legacy_world_reseed).

    The original re-seeds its one generator inside the stoichiometry builder, so the stoichiometry draws
    the very numbers the geography drew, and every later world draw continues from where the
    stoichiometry stopped — again numbers the geography used. Runs with the switch take their draws from
    ``restarted_bk`` (the world stream from its start) after their own ``start_b`` used uniforms; the
    others from ``world`` as usual (drawn for every run, so the two kinds of runs share one batch)."""

    def __init__(
        self, world: Stream, restarted_bk: np.ndarray, start_b: np.ndarray, legacy_b: np.ndarray
    ) -> None:
        self.world, self.restarted, self.pos, self.legacy = world, restarted_bk, start_b.copy(), legacy_b

    def random(self, shape: tuple[int, ...]) -> np.ndarray:
        usual = self.world.random(shape)
        n = int(np.prod(shape))
        take = self.pos[:, None] + np.arange(n)
        self.pos = self.pos + n
        again = np.take_along_axis(self.restarted, take, axis=1).reshape(usual.shape)
        return np.where(self.legacy.reshape((-1,) + (1,) * len(shape)), again, usual)

    def uniform(self, low: float, high: float, shape: tuple[int, ...]) -> np.ndarray:
        return low + (high - low) * self.random(shape)


def generate_world(s: Arrays, p: Arrays, rng: RandomStreams) -> dict[str, np.ndarray]:
    """The initial state of every run of the batch."""
    R, G, J, N, K, M, kappa = sizes(p)
    B = p.n_runs
    col = lambda v: v[:, None]  # noqa: E731  (per-run parameter against a region axis)
    geography = rng("world")
    out: dict[str, np.ndarray] = {}

    # §3.1 geography
    q_r = 0.5 + geography.random((R,))
    z_r2 = 10.0 * geography.standard_normal((R, 2))
    dist_rr = np.linalg.norm(z_r2[:, :, None, :] - z_r2[:, None, :, :], axis=-1) + np.eye(R)
    friction_rr = 0.2 * geography.random((R, R))
    port_rr = geography.random((R, R))
    masked = dist_rr + np.where(np.eye(R, dtype=bool), np.inf, 0.0)
    nbr_rk = np.argsort(masked, axis=-1, kind="stable")[:, :, :kappa]
    take = lambda a: np.take_along_axis(a, nbr_rk, axis=-1)  # noqa: E731
    out.update(
        quality_r=q_r,
        dist_rr=dist_rr,
        nbr_rk=nbr_rk,
        route_cost_rk=0.01 * take(dist_rr) + take(friction_rr),
        route_cap_rk=take(port_rr),
        route_dist_rk=take(dist_rr),
    )

    # §3.2 stoichiometry (a generous block of uniforms per run, consumed in order)
    n_u = 16 * (G + J) * (G + 4)
    u = rng("stoichiometry").random((n_u,))
    legacy = np.asarray(p.legacy_world_reseed, dtype=bool)
    if legacy.any():
        later = 3 * J + 3 * R * G + R * J + 3 * R + R * M  # the world draws after the stoichiometry
        restarted = RandomStreams(rng.seed, rng.identity_rk)("world").random((n_u + later,))
        u = np.where(legacy[:, None], restarted[:, :n_u], u)
    built = [stoichiometry_draws(G, J, M, u[b]) for b in range(B)]
    out["stoich_gj"] = np.stack([S for S, _ in built])
    world: Stream | _Restarted = geography
    if legacy.any():
        world = _Restarted(geography, restarted, np.array([used for _, used in built]), legacy)

    # §3.3 processes, inventories, energy, sink
    out["k_base_j"] = world.uniform(0.1, 0.6, (J,))
    out["xi_base_j"] = world.uniform(0.0, 2.0, (J,))
    out["sig_base_j"] = world.uniform(0.0, 0.5, (J,)) * col(p.sink_intensity_scale)
    out["stock_rg"] = world.uniform(0.0, 1e5, (R, G))
    tech_rj = world.uniform(0.0, 0.1, (R, J)) * q_r[:, :, None]
    out["inflow_rg"] = world.uniform(0.0, 1e5, (R, G))
    out["gen_cap_r"] = (0.5 + world.random((R,))) * q_r * 2e5 * col(p.gen_scale)
    out["storage_cap_r"] = np.full((B, R), 1e6)
    # capped at capacity (the original lets storage_scale > 1 start a store above its capacity: legacy 7)
    charge_r = world.uniform(0.0, 1e6, (R,)) * col(p.storage_scale)
    out["storage_r"] = np.where(col(p.legacy_initial_storage), charge_r, np.minimum(charge_r, 1e6))
    out["sink_cap_r"] = q_r * 1e6 * col(p.sink_cap_scale)
    out["pollutant_r"] = np.zeros((B, R))
    out["gen_sig_r"] = (0.01 + 0.02 * world.random((R,))) * col(p.gen_sink_intensity_scale)

    # §3.4 resources
    out["reserves_max_rm"] = np.repeat((q_r * col(p.reserves_scale))[:, :, None], M, axis=2)
    out["reserves_rm"] = world.random((R, M)) * out["reserves_max_rm"]

    # §3.5 agents
    agents = rng("agents")
    cum_r = np.cumsum(q_r / q_r.sum(axis=1, keepdims=True), axis=1)
    draw_n = agents.random((N,))
    region_n = np.sort(
        np.stack([np.minimum(np.searchsorted(cum_r[b], draw_n[b], side="right"), R - 1) for b in range(B)]),
        axis=1,
    )
    a_nk = 0.5 * agents.standard_normal((N, K))
    b_kg = 0.5 * agents.standard_normal((K, G))
    theta_ng = np.matmul(a_nk, b_kg).astype(np.float32)  # the demand logits are float32
    greed_n = 1.0 / (1.0 + np.exp(-0.75 * agents.standard_normal((N,))))
    agents_r = np.stack([np.bincount(region_n[b], minlength=R) for b in range(B)]).astype(np.float64)
    out.update(region_n=region_n, theta_ng=theta_ng, greed_n=greed_n, agents_r=agents_r)
    out.update(agent_coefficients(p, greed_n, region_n, R))

    # §3.5–3.6 wallets, moved towards aec_init (saturates at "all eADP to eATP" with the default draws)
    wallets = rng("wallets")
    x_n = wallets.uniform(0.0, 1e3, (N,))
    y_n = wallets.uniform(0.0, 2e3, (N,))
    w_n = wallets.uniform(0.0, 1e3, (N,))
    X_r, Y_r, W_r = (region_sum(v, region_n, R) for v in (x_n, y_n, w_n))
    T_r = X_r + Y_r + W_r + 1e-12
    aec0_r = (X_r + 0.5 * Y_r) / T_r
    phi_r = np.clip(np.maximum(col(p.aec_init) - aec0_r, 0.0) / (0.5 * Y_r / T_r + 1e-12), 0.0, 1.0)
    moved_n = np.take_along_axis(phi_r, region_n, axis=1) * y_n
    x_n, y_n = x_n + moved_n, y_n - moved_n
    out.update(
        atp_n=x_n,
        adp_n=y_n,
        amp_n=w_n,
        atp_r=region_sum(x_n, region_n, R),
        adp_r=region_sum(y_n, region_n, R),
        amp_r=region_sum(w_n, region_n, R),
    )
    out["aec_r"] = aec(out["atp_r"], out["adp_r"], out["amp_r"])
    out["fiat_n"] = wallets.uniform(0.0, 2.0 * p.fiat_init, (N,))
    out["crypto_n"] = wallets.uniform(0.0, 2.0 * p.crypto_init, (N,))
    out["wallet_map_r"] = np.broadcast_to(np.eye(3), (B, R, 3, 3)).copy()
    net_f, net_c = col(1.0 - p.fx_spread_fiat), col(1.0 - p.fx_spread_crypto)
    out["fx_want_r"] = region_sum(
        out["fx_prop_n"] * (net_f * out["fiat_n"] + net_c * out["crypto_n"]), region_n, R
    )

    # prices and duals
    price_rg = world.random((R, G)) + 0.1
    out.update(
        price_rg=price_rg,
        anchor_rg=np.log(price_rg),
        gdp_prices_rg=price_rg.copy(),
        mu_r=np.repeat(col(p.mu0), R, axis=1),
        lam_r=np.repeat(col(p.lambda0), R, axis=1),
    )

    # §3.7 population
    pop_r = q_r / q_r.sum(axis=1, keepdims=True) * R * col(p.pop_init_scale)
    share_a = np.where(AGE < 18, 0.24 / 18, np.where(AGE < 65, 0.65 / 47, 0.11 / 36))
    pop_ra = pop_r[:, :, None] * share_a
    out.update(
        pop_ra=pop_ra,
        pop_r=pop_ra.sum(axis=2),
        cons_base_r=pop_ra @ CONS_WEIGHT_A,
        labour_base_r=pop_ra @ LABOUR_WEIGHT_A,
    )
    assert pop_ra.shape[2] == AGES

    # §3.8 effective process parameters (one zero-budget innovation update, as the original)
    eff = effective_parameters({**s, **out, "tech_rj": tech_rj}, p, np.zeros((B, R, J)))
    out.update(eff)
    return out


def agent_coefficients(p: Arrays, greed_n: np.ndarray, region_n: np.ndarray, R: int) -> dict[str, np.ndarray]:
    """Static per-agent coefficients of demand, budgets, inheritance and the FX valve (SPEC.md §6.3, §6.15)."""
    col = lambda v: v[:, None]  # noqa: E731
    shares = np.stack(
        [
            np.clip(col(p.save_base) + greed_n * col(p.save_greed_scale), 0.0, 0.9),
            np.clip(col(p.invest_innov_base) + greed_n * col(p.invest_innov_greed_scale), 0.0, 0.9),
            np.clip(col(p.invest_storage_base) + greed_n * col(p.invest_storage_greed_scale), 0.0, 0.9),
        ]
    )
    shares = shares * np.minimum(1.0, 0.95 / (shares.sum(axis=0) + 1e-9))
    weight_n = per_run_power(greed_n + 1e-9, p.inherit_conc)
    heir_n = weight_n / np.take_along_axis(region_sum(weight_n, region_n, R), region_n, axis=1)
    return {
        "inv_tau_n": (np.exp(col(p.greed_tau_scale) * greed_n) / col(p.tau)).astype(np.float32),
        "cons_coef_n": 0.5 * (1.0 - shares.sum(axis=0)),
        "innov_coef_n": 0.5 * shares[1],
        "store_coef_n": 0.5 * shares[2],
        "heir_n": heir_n,
        "fx_prop_n": np.clip(col(p.fx_convert_base_frac) + greed_n * col(p.fx_convert_greed_scale), 0.0, 1.0),
    }


def region_sum(v_bn: np.ndarray, region_bn: np.ndarray, R: int) -> np.ndarray:
    """Σ over each region's agents: (B, N) → (B, R)."""
    B = v_bn.shape[0]
    flat = (region_bn + R * np.arange(B)[:, None]).ravel()
    return np.bincount(flat, weights=v_bn.ravel(), minlength=B * R).reshape(B, R)
