"""The tokens model's state: per run, per run and token (B, J), per agent (B, N), per agent and token
(B, N, J), and the learners' Q-tables."""

from __future__ import annotations

import numpy as np

from econsim.engine import Var
from econsim.models.tokens import learning
from econsim.models.tokens.population import K

_RUN = [
    ("t", 0.0, "step"),
    ("outside_cash", 0.0, "exogenous venue: cash received from agents"),
    ("treasury", 0.0, "resource economy: payments not yet paid back"),
    ("utilization", 0.0, "resource allocated / capacity"),
    ("useful_utilization", 0.0, "resource allocated within need / capacity"),
    ("arb_profit", 0.0, "arbitrageurs' gain from arbitrage this step (cash + tokens at the price)"),
    ("arb_gain", 0.0, "arbitrageurs' gain from arbitrage since the start"),
]
#: one value per run and token (B, J); recorded as the mean over tokens (``metrics.OBSERVABLES``)
TOKEN_VARS = [
    ("price", 1.0, "primary venue's price P_j (resource price in 7.4)"),
    ("prev_price", 1.0, "price before this step"),
    ("amm_price", 1.0, "AMM price (cash per token)"),
    ("value", 1.0, "fundamental value V_j"),
    ("base_value", 1.0, "value before the cycle"),
    ("ema", 1.0, "moving average of the price"),
    ("last_ret", 0.0, "last log return"),
    ("supply", 0.0, "token supply S_j (agents + AMM)"),
    ("reserve", 0.0, "bonding-curve reserve"),
    ("pool_tokens", 0.0, "AMM token reserve"),
    ("pool_cash", 0.0, "AMM cash reserve"),
    ("outside_tokens", 0.0, "exogenous venue: tokens received from agents"),
    ("volume", 0.0, "tokens (resource units) traded this step"),
    ("imbalance", 0.0, "demand − supply"),
    ("arb_volume", 0.0, "tokens moved by arbitrage this step"),
    ("sum_r2", 0.0, "Σ squared log returns"),
    ("sum_track", 0.0, "Σ |log(P/V)|"),
    ("peak_price", 1.0, "highest price so far"),
    ("max_drawdown", 0.0, "largest fall from a peak"),
    ("ref_price", 1.0, "price just before the shock"),
    ("shock_drawdown", 0.0, "largest fall after the shock"),
    ("recovery_time", 0.0, "steps from the shock to recovery (time under water until then)"),
    ("recovered", 0.0, "1 once the price is back after the shock"),
]
_AGENTS = [
    ("cash", 0.0, "cash B_i"),
    ("utility", 0.0, "utility U_i"),
    ("wealth0", 1.0, "initial wealth"),
    ("mark", 1.0, "wealth at the last decision (learning reward)"),
    ("epoch_wealth", 1.0, "wealth at the last revision"),
    ("reward", 0.0, "learning reward this step"),
]
_HOLDINGS = [
    ("tokens", 0.0, "holdings H_ij"),
    ("bias", 0.0, "log valuation bias b_ij"),
    ("buy_frac", 0.0, "share of cash to spend on token j this step"),
    ("sell_frac", 0.0, "share of token j to sell this step"),
    ("fill", 0.0, "tokens (resource units) received this step on the primary venue and the AMM, net"),
    ("fill_cash", 0.0, "cash received net on the primary venue this step (what arbitrageurs unwind)"),
]
STATE = [
    *[Var(name, init, doc) for name, init, doc in _RUN],
    *[Var(name, init, doc, shape=("n_tokens",)) for name, init, doc in TOKEN_VARS],
    *[Var(name, init, doc, shape=("N",)) for name, init, doc in _AGENTS],
    *[Var(name, init, doc, shape=("N", "n_tokens")) for name, init, doc in _HOLDINGS],
    Var("strategy", 0, "strategy code π_i (population.STRATEGIES)", shape=("N",), dtype=np.int64),
    Var("offset", 0, "manipulator's phase offset", shape=("N",), dtype=np.int64),
    Var(
        "target",
        0,
        "the token a manipulator pumps (its group's, with collusion)",
        shape=("N",),
        dtype=np.int64,
    ),
    Var(
        "q_state",
        0,
        "learner's state per token at its last decision",
        shape=("N", "n_tokens"),
        dtype=np.int64,
    ),
    Var(
        "q_action",
        1,
        "learner's action per token at its last decision",
        shape=("N", "n_tokens"),
        dtype=np.int64,
    ),
    Var(
        "q",
        0.0,
        "Q-table Q_ij(s, a), one per agent and token",
        shape=("N", "n_tokens", learning.N_STATES, learning.N_ACTIONS),
        dtype=np.float32,
    ),
    Var("shares", 0.0, "strategy shares x_k", shape=(K,)),
]
