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
                     reward since the last decision: r_i = 100·(w_i(t) − w_i(t−1 decision))/w_i(0).

At ``shock_step`` every agent but the arbitrageurs also dumps ``shock_size`` of its tokens (a panic
sale) — the disturbance whose drawdown and recovery time the stability metrics measure.
"""

from __future__ import annotations

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
    col = lambda x: np.asarray(x)[:, None]  # noqa: E731 — per-run value against the agent axis
    phi = col(p.trade_fraction)
    trend_b = np.log(s.price / s.ema)
    band = col(p.signal_band)
    zero = np.zeros(code.shape)

    perceived = col(s.value) * np.exp(s.bias)
    price = col(s.price)
    buy = np.where(code == THRESHOLD, np.where(price < perceived * (1 - col(p.threshold)), phi, 0.0), zero)
    sell = np.where(code == THRESHOLD, np.where(price > perceived * (1 + col(p.threshold)), phi, 0.0), zero)

    up, down = col(trend_b) > band, col(trend_b) < -band
    buy = np.where((code == MOMENTUM) & up | (code == MEAN_REVERSION) & down, phi, buy)
    sell = np.where((code == MOMENTUM) & down | (code == MEAN_REVERSION) & up, phi, sell)

    u = rng("noise").random(code.shape[1:])
    activity = col(p.noise_activity)
    buy = np.where((code == NOISE) & (u < activity / 2), phi, buy)
    sell = np.where((code == NOISE) & (u > 1 - activity / 2), phi, sell)

    wealth = wealth_bn(s, p)
    share = np.where(wealth > 0, s.tokens * price / np.where(wealth > 0, wealth, 1.0), 0.5)
    buy = np.where(code == LIQUIDITY, 2 * phi * np.clip(0.5 - share, 0, 0.5), buy)
    sell = np.where(code == LIQUIDITY, 2 * phi * np.clip(share - 0.5, 0, 0.5), sell)

    period = col(p.pump_period)
    phase = np.mod(col(s.t) + s.offset, period) / period
    manip = code == MANIPULATION
    buy = np.where(manip & (phase < 0.4), phi / 2, buy)
    buy = np.where(manip & (phase >= 0.4) & (phase < 0.5), col(p.pump_fraction), buy)
    sell = np.where(manip & (phase >= 0.5) & (phase < 0.65), 0.5, sell)

    out: dict[str, np.ndarray] = {}
    learner = code == LEARNING
    if learner.any():
        out = _learn(s, p, rng, learner, share, wealth)
        action = out["q_action"]
        buy = np.where(learner, np.where(action == learning.BUY, phi, 0.0), buy)
        sell = np.where(learner, np.where(action == learning.SELL, phi, 0.0), sell)

    shock = (s.t == p.shock_step) & (p.shock_step > 0)
    sell = np.where(col(shock) & (code != ARBITRAGE), np.maximum(sell, col(p.shock_size)), sell)
    buy = np.where(col(shock) & (code != ARBITRAGE), 0.0, buy)
    out.update({"buy_frac": np.clip(buy, 0.0, 1.0), "sell_frac": np.clip(sell, 0.0, 1.0)})
    return out


def _learn(s, p, rng, learner, share, wealth) -> dict[str, np.ndarray]:
    """Reward since the last decision, the Q update, and this step's ε-greedy action."""
    state = learning.market_state(s.last_ret, s.price, s.ema, p.signal_band, share)
    reward = 100.0 * (wealth - s.mark) / s.wealth0
    reward = np.where(learner & (s.t[:, None] > 1), reward, 0.0)
    q = s.q
    if (s.t > 1).any():
        q = learning.q_update(q, s.q_state, s.q_action, reward, state, learner & (s.t[:, None] > 1),
                              p.learning_rate, p.discount)
    draws = rng("learning").random((2, *learner.shape[1:]))
    action = learning.choose_action(q, state, p.epsilon, draws[:, 0], draws[:, 1])
    return {"q": q, "q_state": state, "q_action": action, "reward": reward, "mark": wealth}
