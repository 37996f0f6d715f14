"""The agents' decisions π_i, per token j: what fraction of cash to spend on it (β_ij) and of its
holdings to sell (σ_ij) this step. Orders over all tokens are then capped by the cash (``market.orders``).

Signals of token j: its primary price P_j, moving average P̄_j (trend τ_j = log P_j/P̄_j), fundamental
value V_j, each agent's valuation bias b_ij (perceived value V_j·e^{b_ij}), and the trade fraction φ.

    threshold        buy φ if P < V·e^{b}·(1 − θ); sell φ if P > V·e^{b}·(1 + θ)
    momentum         buy φ if τ > ε; sell φ if τ < −ε
    mean reversion   buy φ if τ < −ε; sell φ if τ > ε
    noise            buy φ or sell φ, each with probability activity/2
    liquidity        lean against inventory: with h_j = P_j·H_ij/w_i the token's share of wealth and
                     τ = 1/(J + 1) its share when cash and every token weigh the same, buy
                     φ·min((τ − h_j)⁺/τ, 1), sell φ·min((h_j − τ)⁺/τ, 1) (for J = 1: 2φ·(½ − h)⁺ …)
    arbitrage        nothing here: arbitrageurs act between venues in the trade and ``arbitrage`` stages
    manipulation     pump-and-dump of one token (``target_i``) on a cycle of ``pump_period`` steps,
                     phase ψ = (t + offset_i)/period mod 1: accumulate (buy φ/2) for ψ < 0.4, pump (buy
                     ``pump_fraction``) for ψ < 0.5, dump (sell ½) for ψ < 0.65, then wait. With
                     ``collusion`` the members of a group of ``group_size`` share one offset and one
                     target, so they pump and dump the same token together.
    learning         per token, the ε-greedy Q-learning action (``learning.py``), after updating Q with
                     the agent's return since the last decision, in percent:
                     r_i = 100·(w_i(t)/w_i(last decision) − 1).

At ``shock_step`` every agent but the arbitrageurs also dumps ``shock_size`` of every token (a panic
sale) — the disturbance whose drawdown and recovery time the stability metrics measure.
"""

from __future__ import annotations

import numpy as np

from econsim.engine import Arrays, RandomStreams, per_run
from econsim.engine.jit import njit
from econsim.models.tokens import learning
from econsim.models.tokens.population import (
    ARBITRAGE,
    LEARNING,
    LIQUIDITY,
    MANIPULATION,
    MEAN_REVERSION,
    MOMENTUM,
    NOISE,
    THRESHOLD,
)


def wealth_bn(s: Arrays, p: Arrays) -> np.ndarray:
    """Mark-to-market wealth: cash plus every token at its primary price; in the resource economy,
    cash plus the value of everything consumed so far (the utility U_i)."""
    resource = (p.venue == "resource")[:, None]
    return s.cash + np.where(resource, s.utility, (s.tokens * s.price[:, None, :]).sum(axis=-1))


def decide(s: Arrays, p: Arrays, rng: RandomStreams) -> dict[str, np.ndarray]:
    code = s.strategy
    u = rng("noise").random(s.tokens.shape[1:])
    trend_bj = np.log(s.price / s.ema)
    shock_b = (s.t == p.shock_step) & (p.shock_step > 0)
    f = lambda x: np.ascontiguousarray(x, dtype=np.float64)  # noqa: E731
    buy, sell = np.empty(s.tokens.shape), np.empty(s.tokens.shape)
    rule_orders(
        code,
        f(s.cash),
        f(s.tokens),
        f(s.bias),
        s.offset,
        s.target,
        f(u),
        f(s.price),
        f(trend_bj),
        f(s.value),
        f(s.t),
        f(p.trade_fraction),
        f(p.threshold),
        f(p.signal_band),
        f(p.noise_activity),
        f(p.pump_period),
        f(p.pump_fraction),
        shock_b,
        f(p.shock_size),
        buy,
        sell,
    )
    out: dict[str, np.ndarray] = {}
    learner = code == LEARNING
    if learner.any():
        wealth = wealth_bn(s, p)[:, :, None]
        share = np.where(wealth > 0, s.tokens * s.price[:, None, :] / np.where(wealth > 0, wealth, 1.0), 0.5)
        out = _learn(s, p, rng, learner, share, wealth[:, :, 0])
        action = out["q_action"]
        phi = p.trade_fraction[:, None, None]
        # the shock's panic sale overrides the learner's own choice, as for everyone else
        calm = ~shock_b[:, None, None]
        is_learner = learner[:, :, None]
        buy = np.where(is_learner & calm, np.where(action == learning.BUY, phi, 0.0), buy)
        sell = np.where(is_learner & calm, np.where(action == learning.SELL, phi, 0.0), sell)
    out.update({"buy_frac": buy, "sell_frac": sell})
    return out


# A compiled pass over agents and tokens: eight strategies as a branch per agent cost one read of each
# array, where the same rules as whole-array numpy expressions cost ~30 temporaries of (B, N, J) per step.
@njit()
def rule_kernel(
    code_n,
    cash_n,
    tokens_nj,
    bias_nj,
    offset_n,
    target_n,
    u_nj,
    price_j,
    trend_j,
    value_j,
    t,
    phi,
    theta,
    band,
    activity,
    period,
    pump,
    shock,
    shock_size,
    buy_nj,
    sell_nj,
):
    """One run: every agent's buy and sell fractions per token under its strategy's rule."""
    n_a, n_j = tokens_nj.shape
    neutral = 1.0 / (n_j + 1)
    for i in range(n_a):
        c = code_n[i]
        wealth = 0.0
        if c == LIQUIDITY:
            wealth = cash_n[i]
            for j in range(n_j):
                wealth += tokens_nj[i, j] * price_j[j]
        for j in range(n_j):
            bu = 0.0
            se = 0.0
            if c == THRESHOLD:
                perceived = value_j[j] * np.exp(bias_nj[i, j])
                if price_j[j] < perceived * (1.0 - theta):
                    bu = phi
                elif price_j[j] > perceived * (1.0 + theta):
                    se = phi
            elif c == MOMENTUM or c == MEAN_REVERSION:  # noqa: SIM109 — plain compares for numba
                sign = 1.0 if c == MOMENTUM else -1.0
                if sign * trend_j[j] > band:
                    bu = phi
                elif sign * trend_j[j] < -band:
                    se = phi
            elif c == NOISE:
                if u_nj[i, j] < activity / 2:
                    bu = phi
                elif u_nj[i, j] > 1.0 - activity / 2:
                    se = phi
            elif c == LIQUIDITY:
                h = tokens_nj[i, j] * price_j[j] / wealth if wealth > 0 else neutral
                bu = phi * min(max((neutral - h) / neutral, 0.0), 1.0)
                se = phi * min(max((h - neutral) / neutral, 0.0), 1.0)
            elif c == MANIPULATION and target_n[i] == j:
                phase = ((t + offset_n[i]) % period) / period
                if phase < 0.4:
                    bu = phi / 2
                elif phase < 0.5:
                    bu = pump
                elif phase < 0.65:
                    se = 0.5
            if shock and c != ARBITRAGE:
                bu = 0.0
                se = max(se, shock_size)
            buy_nj[i, j] = min(max(bu, 0.0), 1.0)
            sell_nj[i, j] = min(max(se, 0.0), 1.0)


#: ``rule_kernel`` over the batch: agents' arrays (B, N[, J]), tokens' (B, J), parameters (B,)
rule_orders = per_run(rule_kernel)


def _learn(s, p, rng, learner, share, wealth) -> dict[str, np.ndarray]:
    """Reward since the last decision, the Q update, and this step's ε-greedy action per token —
    computed on the learners' rows only (the Q-tables of other agents are carried unchanged)."""
    n_j = s.tokens.shape[-1]
    state = learning.market_state(s.last_ret, s.price, s.ema, p.signal_band, share)
    reward = np.where(learner & (s.t[:, None] > 1), 100.0 * (wealth / np.maximum(s.mark, 1e-12) - 1.0), 0.0)
    draws = rng("learning").random((2, *s.tokens.shape[1:]))
    b, n = np.nonzero(learner)
    rows = lambda x: x[b, n].reshape(len(b) * n_j, *x.shape[3:])  # noqa: E731 — (learner, token) rows
    per_token = lambda x: np.repeat(x, n_j)  # noqa: E731
    q_rows = rows(s.q)
    if (s.t > 1).any():
        updated = learning.q_update(
            q_rows,
            rows(s.q_state),
            rows(s.q_action),
            per_token(reward[b, n]),
            rows(state),
            per_token(np.where(s.t[b] > 1, p.learning_rate[b], 0.0)),
            per_token(p.discount[b]),
        )
        q_rows = updated.astype(s.q.dtype)
    q = s.q.copy()
    q[b, n] = q_rows.reshape(len(b), n_j, *q_rows.shape[1:])
    action = s.q_action.copy()
    chosen = learning.choose_action(
        q_rows, rows(state), per_token(p.epsilon[b]), rows(draws[:, 0]), rows(draws[:, 1])
    )
    action[b, n] = chosen.reshape(len(b), n_j)
    return {"q": q, "q_state": state, "q_action": action, "reward": reward, "mark": wealth}
