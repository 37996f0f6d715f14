"""The agents' decisions π_i: what fraction of cash to spend and of tokens to sell this step.

Signals: the primary price P, its moving average P̄ (trend τ = log P/P̄), the fundamental value V,
each agent's valuation bias b_i (perceived value V·e^{b_i}), and the trade fraction φ.

    threshold        buy φ if P < V·e^{b_i}·(1 − θ); sell φ if P > V·e^{b_i}·(1 + θ)
    momentum         buy φ if τ > ε; sell φ if τ < −ε
    mean reversion   buy φ if τ < −ε; sell φ if τ > ε
    noise            buy φ or sell φ, each with probability activity/2
    liquidity        lean against inventory: buy 2φ·(½ − h)⁺, sell 2φ·(h − ½)⁺, h = token share of wealth
    arbitrage        nothing here: arbitrageurs act between venues in the ``arbitrage`` stage
    manipulation     pump-and-dump on a cycle of ``pump_period`` steps, phase ψ = (t + offset_i)/period mod 1:
                     accumulate (buy φ/2) for ψ < 0.4, pump (buy ``pump_fraction``) for ψ < 0.5,
                     dump (sell ½) for ψ < 0.65, then wait. With ``collusion`` the members of a group
                     of ``group_size`` share one offset, so they pump and dump together.
    learning         the ε-greedy Q-learning action (``learning.py``), after updating Q with the
                     return since the last decision, in percent: r_i = 100·(w_i(t)/w_i(last decision) − 1).

At ``shock_step`` every agent but the arbitrageurs also dumps ``shock_size`` of its tokens (a panic
sale) — the disturbance whose drawdown and recovery time the stability metrics measure.
"""

from __future__ import annotations

import numba
import numpy as np

from econsim.engine import Arrays, RandomStreams
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
    """Mark-to-market wealth: cash plus tokens at the primary price; in the resource economy, cash
    plus the value of everything consumed so far (the utility U_i)."""
    resource = (p.venue == "resource")[:, None]
    return s.cash + np.where(resource, s.utility, s.tokens * s.price[:, None])


def decide(s: Arrays, p: Arrays, rng: RandomStreams) -> dict[str, np.ndarray]:
    code = s.strategy
    u = rng("noise").random(code.shape[1:])
    trend_b = np.log(s.price / s.ema)
    shock_b = (s.t == p.shock_step) & (p.shock_step > 0)
    f = lambda x: np.ascontiguousarray(x, dtype=np.float64)  # noqa: E731
    buy, sell = _rule_orders(code, f(s.cash), f(s.tokens), f(s.bias), s.offset, f(u), f(s.price), f(trend_b),
                             f(s.value), f(s.t), f(p.trade_fraction), f(p.threshold), f(p.signal_band),
                             f(p.noise_activity), f(p.pump_period), f(p.pump_fraction), shock_b, f(p.shock_size))
    out: dict[str, np.ndarray] = {}
    learner = code == LEARNING
    if learner.any():
        wealth = wealth_bn(s, p)
        share = np.where(wealth > 0, s.tokens * s.price[:, None] / np.where(wealth > 0, wealth, 1.0), 0.5)
        out = _learn(s, p, rng, learner, share, wealth)
        action = out["q_action"]
        phi = p.trade_fraction[:, None]
        # the shock's panic sale overrides the learner's own choice, as for everyone else
        calm = ~shock_b[:, None]
        buy = np.where(learner & calm, np.where(action == learning.BUY, phi, 0.0), buy)
        sell = np.where(learner & calm, np.where(action == learning.SELL, phi, 0.0), sell)
    out.update({"buy_frac": buy, "sell_frac": sell})
    return out


# A compiled pass over agents: eight strategies as a branch per agent cost one read of each array,
# where the same rules as whole-array numpy expressions cost ~30 temporaries of (B, N) per step.
@numba.njit(cache=True)
def _rule_orders(code, cash, tokens, bias, offset, u, price, trend, value, t, phi, theta, band, activity,
                 period, pump, shock, shock_size):
    n_b, n_a = code.shape
    buy = np.zeros((n_b, n_a))
    sell = np.zeros((n_b, n_a))
    for b in range(n_b):
        for i in range(n_a):
            c = code[b, i]
            bu = 0.0
            se = 0.0
            if c == THRESHOLD:
                perceived = value[b] * np.exp(bias[b, i])
                if price[b] < perceived * (1.0 - theta[b]):
                    bu = phi[b]
                elif price[b] > perceived * (1.0 + theta[b]):
                    se = phi[b]
            elif c == MOMENTUM or c == MEAN_REVERSION:  # noqa: SIM109 — plain compares for numba
                sign = 1.0 if c == MOMENTUM else -1.0
                if sign * trend[b] > band[b]:
                    bu = phi[b]
                elif sign * trend[b] < -band[b]:
                    se = phi[b]
            elif c == NOISE:
                if u[b, i] < activity[b] / 2:
                    bu = phi[b]
                elif u[b, i] > 1.0 - activity[b] / 2:
                    se = phi[b]
            elif c == LIQUIDITY:
                wealth = cash[b, i] + tokens[b, i] * price[b]
                h = tokens[b, i] * price[b] / wealth if wealth > 0 else 0.5
                bu = 2.0 * phi[b] * min(max(0.5 - h, 0.0), 0.5)
                se = 2.0 * phi[b] * min(max(h - 0.5, 0.0), 0.5)
            elif c == MANIPULATION:
                phase = ((t[b] + offset[b, i]) % period[b]) / period[b]
                if phase < 0.4:
                    bu = phi[b] / 2
                elif phase < 0.5:
                    bu = pump[b]
                elif phase < 0.65:
                    se = 0.5
            if shock[b] and c != ARBITRAGE:
                bu = 0.0
                se = max(se, shock_size[b])
            buy[b, i] = min(max(bu, 0.0), 1.0)
            sell[b, i] = min(max(se, 0.0), 1.0)
    return buy, sell


def _learn(s, p, rng, learner, share, wealth) -> dict[str, np.ndarray]:
    """Reward since the last decision, the Q update, and this step's ε-greedy action — computed on the
    learners' rows only (the Q-tables of other agents are carried unchanged)."""
    state = learning.market_state(s.last_ret, s.price, s.ema, p.signal_band, share)
    reward = np.where(learner & (s.t[:, None] > 1), 100.0 * (wealth / np.maximum(s.mark, 1e-12) - 1.0), 0.0)
    draws = rng("learning").random((2, *learner.shape[1:]))
    b, n = np.nonzero(learner)
    q_rows = s.q[b, n]
    if (s.t > 1).any():
        updated = learning.q_update(q_rows, s.q_state[b, n], s.q_action[b, n], reward[b, n], state[b, n],
                                    np.where(s.t[b] > 1, p.learning_rate[b], 0.0), p.discount[b])
        q_rows = updated.astype(s.q.dtype)
    q = s.q.copy()
    q[b, n] = q_rows
    action = s.q_action.copy()
    action[b, n] = learning.choose_action(q_rows, state[b, n], p.epsilon[b], draws[:, 0][b, n], draws[:, 1][b, n])
    return {"q": q, "q_state": state, "q_action": action, "reward": reward, "mark": wealth}
