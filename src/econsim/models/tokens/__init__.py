"""The tokens model: autonomous agents trading J dynamically priced tokens (seed 003).

N agents per run hold cash B_i (B, N) and holdings H_ij of J = ``n_tokens`` tokens (B, N, J), follow
a policy π_i (rule-based, strategic, learning; the mix is ``population``) that decides per token, and
score a utility U_i. Each token j has its own venues and price P_j (B, J): a primary venue (``venue``:
bonding curve, call auction, tâtonnement, continuous limit order book, an exogenous price) and a
constant-product AMM pool, between which arbitrageurs trade; or, in the resource economy, agents
request a resource of limited capacity (J = 1). One step::

    step = [fundamental, decide, trade, arbitrage, account, evolve]

Scenarios (seed §7) are in ``configs/tokens/``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from econsim.engine import Model, Param
from econsim.engine.errors import ConfigError
from econsim.engine.state import Arrays
from econsim.engine.streams import RandomStreams
from econsim.models.registry import ModelExtras
from econsim.models.tokens import learning, venues
from econsim.models.tokens.evolution import evolve
from econsim.models.tokens.market import arbitrage, fundamental, trade
from econsim.models.tokens.metrics import OBSERVABLES, account, summary
from econsim.models.tokens.policies import decide
from econsim.models.tokens.population import POPULATIONS, PRESETS, STRATEGIES, assign_strategies, mix_bk
from econsim.models.tokens.state import STATE

VENUES = ("bonding_curve", "call_auction", "tatonnement", "order_book", "exogenous", "resource")

PARAMS = [
    Param("N", 200, "agents per run", bounds=(2, 10_000_000), kind="int"),
    Param(
        "n_tokens",
        1,
        "J: tokens traded, each on its own venues (the resource economy has one)",
        bounds=(1, 64),
        kind="int",
    ),
    Param(
        "venue",
        "bonding_curve",
        "primary venue: bonding curve (7.1), call auction or tâtonnement (7.2), "
        "a continuous limit order book, an exogenous price, or the resource economy (7.4)",
        kind="choice",
        choices=VENUES,
    ),
    Param(
        "population",
        "mixed",
        "intelligence mix: a preset or 'custom' (the share_* parameters)",
        kind="choice",
        choices=POPULATIONS,
    ),
    *[
        Param(
            f"share_{name}",
            PRESETS["mixed"][k],
            f"share of {name} agents (population: custom)",
            bounds=(0.0, None),
        )
        for k, name in enumerate(STRATEGIES)
    ],
    Param(
        "curve",
        "linear",
        "bonding curve f(s) of the supply per agent s = S/N",
        kind="choice",
        choices=venues.CURVES,
        per_batch=True,  # picks the curve's code path for the whole batch
    ),
    Param("curve_slope", 0.1, "linear curve: slope m in f = m·s + b", bounds=(0.0, None)),
    Param("curve_intercept", 0.0, "linear curve: intercept b", bounds=(0.0, None)),
    Param(
        "curve_scale",
        0.1,
        "exponential curve a in a·e^{ks}; power curve c in c·s^{1/r−1}",
        bounds=(1e-12, None),
    ),
    Param("curve_growth", 0.1, "exponential curve: growth k", bounds=(0.0, None)),
    Param("curve_max_price", 2.0, "sigmoid curve: ceiling K", bounds=(1e-12, None)),
    Param("curve_steepness", 0.3, "sigmoid curve: steepness k", bounds=(1e-9, None)),
    Param("curve_midpoint", 12.0, "sigmoid curve: midpoint s₀ (tokens per agent)"),
    Param("reserve_ratio", 0.5, "power (Bancor) curve: reserve ratio r", bounds=(0.01, 1.0)),
    Param("initial_cash", 12.0, "cash per agent at the start", bounds=(0.0, None)),
    Param("initial_tokens", 10.0, "tokens per agent at the start (token economies)", bounds=(0.0, None)),
    Param("initial_price", 1.0, "starting price where no curve sets it", bounds=(1e-12, None)),
    Param("pool_depth", 2.0, "tokens per agent in the AMM at the start", bounds=(1e-9, None)),
    Param("amm_fee", 0.003, "AMM fee on the input", bounds=(0.0, 0.5)),
    Param(
        "amm_share",
        0.2,
        "share of each order routed to the AMM instead of the primary venue",
        bounds=(0.0, 1.0),
    ),
    Param("trade_fraction", 0.05, "share of cash (buy) or tokens (sell) an order uses", bounds=(0.0, 1.0)),
    Param(
        "threshold",
        0.05,
        "threshold agents trade when the price is this far from their value",
        bounds=(0.0, None),
    ),
    Param("signal_band", 0.005, "trends smaller than this are no signal", bounds=(0.0, None)),
    Param("noise_activity", 0.5, "probability a noise trader trades in a step", bounds=(0.0, 1.0)),
    Param(
        "value_dispersion", 0.1, "standard deviation of the agents' log valuation biases", bounds=(0.0, None)
    ),
    Param("ema_rate", 0.1, "weight of the new price in the moving average", bounds=(1e-6, 1.0)),
    Param("value_vol", 0.01, "volatility of the fundamental value per step", bounds=(0.0, None)),
    Param("cycle_amplitude", 0.0, "relative amplitude of a deterministic value cycle", bounds=(0.0, 0.99)),
    Param("cycle_period", 50.0, "period of the value cycle, in steps", bounds=(2.0, None)),
    Param("pump_period", 50, "manipulators' pump-and-dump cycle, in steps", bounds=(4, None), kind="int"),
    Param("pump_fraction", 0.5, "share of cash manipulators spend per pump step", bounds=(0.0, 1.0)),
    Param("collusion", True, "manipulators in a group pump and dump together", kind="bool"),
    Param(
        "group_size",
        5,
        "agents per colluding group",
        bounds=(1, None),
        kind="int",
        per_batch=True,  # groups are slices of the agent axis
    ),
    Param(
        "max_slack",
        0.02,
        "call auction: largest relative distance of a limit price from the last price",
        bounds=(0.0, 0.99),
    ),
    Param(
        "tick_size",
        1e-4,
        "order book: price tick, relative to the price at the start of the step",
        bounds=(1e-7, 0.01),
    ),
    Param(
        "book_range",
        0.25,
        "order book: limit prices lie within this relative distance of the price",
        bounds=(0.01, 0.99),
    ),
    Param("lot_size", 1e-3, "order book: smallest quantity of tokens in an order", bounds=(1e-9, None)),
    Param(
        "adjust_speed", 0.5, "tâtonnement / resource price: g in ΔP = g·P·(D − O)/scale", bounds=(0.0, None)
    ),
    Param("learning_rate", 0.1, "Q-learning step α", bounds=(0.0, 1.0)),
    Param("discount", 0.9, "Q-learning discount γ", bounds=(0.0, 0.999)),
    Param("epsilon", 0.05, "Q-learning exploration probability ε", bounds=(0.0, 1.0)),
    Param(
        "selection", 0.0, "replicator selection strength β (0: strategies never change)", bounds=(0.0, None)
    ),
    Param("evolve_every", 25, "steps between strategy revisions", bounds=(1, None), kind="int"),
    Param("revise_rate", 0.1, "probability an agent revises its strategy at a revision", bounds=(0.0, 1.0)),
    Param("shock_step", 0, "step of the panic sale (0: no shock)", bounds=(0, None), kind="int"),
    Param("shock_size", 0.3, "share of its tokens each agent dumps in the shock", bounds=(0.0, 1.0)),
    Param(
        "recovery_tolerance",
        0.05,
        "recovered once the price is within this of the pre-shock price",
        bounds=(0.0, 1.0),
    ),
    Param("capacity", 1.0, "resource economy: capacity per agent per step", bounds=(1e-9, None)),
    Param("need_mean", 1.0, "resource economy: mean need per agent per step", bounds=(0.0, None)),
    Param("valuation_mean", 2.0, "resource economy: mean value of a unit consumed", bounds=(0.0, None)),
    Param(
        "income_rate",
        0.1,
        "resource economy: share of the treasury paid back to agents per step",
        bounds=(0.0, 1.0),
    ),
    Param(
        "allocation",
        "proportional",
        "resource economy: allocation rule",
        kind="choice",
        choices=("proportional", "priority", "auction"),
    ),
]


def init(s: Arrays, p: Arrays, rng: RandomStreams) -> dict[str, np.ndarray]:
    """Endowments of every token, strategies, biases, manipulators' offsets and targets, venues at
    their starting prices."""
    n, j = s.tokens.shape[1:]
    if ((p.venue == "resource") & (p.n_tokens > 1)).any():
        raise ConfigError("venue = resource models one resource: set n_tokens = 1")
    col = lambda x: np.asarray(x, dtype=float)[:, None]  # noqa: E731
    shares = mix_bk(p)
    strategy = assign_strategies(shares, n, rng)
    bias = col(p.value_dispersion)[:, :, None] * rng("bias").standard_normal((n, j))
    u = rng("offsets").random((n,))
    group = np.arange(n) // p.group_size
    group_u = u[:, group * p.group_size]
    offset = np.floor(np.where(col(p.collusion) > 0, group_u, u) * col(p.pump_period)).astype(np.int64)
    # colluding groups pump one token together; lone manipulators spread over the tokens
    target = np.where(col(p.collusion) > 0, group[None, :], np.arange(n)[None, :]) % j
    resource = col(p.venue == "resource") > 0
    tokens = np.broadcast_to(
        np.where(resource, 0.0, col(p.initial_tokens))[:, :, None], s.tokens.shape
    ).copy()
    cash = np.broadcast_to(col(p.initial_cash), s.cash.shape).copy()
    pool_tokens = np.broadcast_to(np.where(resource, 0.0, col(p.pool_depth) * p.N), s.price.shape).copy()
    supply = tokens.sum(axis=1) + pool_tokens
    curve = col(p.venue == "bonding_curve") > 0
    price = np.where(curve, venues.curve_price(p, supply), col(p.initial_price))
    wealth = cash + (tokens * price[:, None, :]).sum(axis=-1)
    q = 1e-3 * rng("q_init").random((n, j, learning.N_STATES, learning.N_ACTIONS))
    scalars = dict.fromkeys(
        ("price", "prev_price", "amm_price", "value", "base_value", "ema", "peak_price", "ref_price"), price
    )
    return {
        **scalars,
        "supply": supply,
        "reserve": np.where(curve, venues.curve_reserve(p, supply), 0.0),
        "pool_tokens": pool_tokens,
        "pool_cash": pool_tokens * price,
        "cash": cash,
        "tokens": tokens,
        "bias": bias,
        "strategy": strategy,
        "offset": offset,
        "target": target,
        "wealth0": wealth,
        "mark": wealth.copy(),
        "epoch_wealth": wealth.copy(),
        "q": q.astype(np.float32),
        "shares": shares,
    }


def economy_figure(results, df, options):
    """The overview figure (``figure.py``; imported on use, as it loads matplotlib)."""
    from econsim.models.tokens.figure import economy_figure as draw

    return draw(results, df, options)


FIGURES: list[dict[str, Any]] = [
    {"kind": "model", "name": "economy", "file": "economy.png"},
    {"kind": "timeseries", "vars": ["price", "amm_price", "value"], "file": "prices.png"},
    {"kind": "timeseries", "vars": ["volatility", "gini", "exploitation"], "file": "metrics.png"},
]

model = Model(
    name="tokens",
    doc="autonomous agents (rule-based, strategic, learning) trading a token on bonding curves, AMMs, "
    "auctions, or sharing a scarce resource",
    params=PARAMS,
    state=STATE,
    step=[fundamental, decide, trade, arbitrage, account, evolve],
    observables=OBSERVABLES,
    # per-strategy observables are recorded as e.g. strategy_share_momentum, not strategy_share_1
    column_labels=dict.fromkeys(("return_by_strategy", "gain_by_strategy", "strategy_share"), STRATEGIES),
    init=init,
)


def progress_fields(s: Arrays, p: Arrays) -> dict[str, float]:
    """The mean price over runs and tokens, beside the progress bar."""
    return {"price": float(np.mean(s.price))}


extras = ModelExtras(
    figures={"economy": economy_figure},
    default_figures=FIGURES,
    reports={"summary": summary},
    progress_fields=progress_fields,
)
