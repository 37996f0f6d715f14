"""Learning agents: tabular Q-learning over a discrete action set, and replicator dynamics.

Q-learning, every agent its own table Q_i(s, a), all agents and runs updated at once (seed's
π* = argmax E[Σ γᵗ R_t]):

    Q_i(s, a) ← Q_i(s, a) + α·(r_i + γ·max_a' Q_i(s', a') − Q_i(s, a))
    a_i = argmax_a Q_i(s_i, a) with probability 1 − ε, else uniform

The state combines what the agent sees of the market and of itself (12 states):

    s = 4·(sign of the last return: −, 0, +) + 2·(price above its moving average) + (tokens > half of wealth)

Actions: 0 sell, 1 hold, 2 buy (a fraction ``trade_fraction`` of tokens or cash), or in the
resource economy 0 request nothing, 1 request the need, 2 request twice the need (hoard).

Replicator dynamics over strategy shares x_k with fitness f_k (mean return of strategy k since the
last revision), in the exponential form that keeps shares positive and summing to one:

    x_k' = x_k·exp(β·f_k) / Σ_j x_j·exp(β·f_j)
"""

from __future__ import annotations

import numpy as np

N_STATES = 12
N_ACTIONS = 3
SELL, HOLD, BUY = range(N_ACTIONS)


def market_state(last_ret_b, price_b, ema_b, band_b, token_share_bn) -> np.ndarray:
    """State index (B, N) from the last return, the price against its average, and the agent's holdings."""
    ret_bucket_b = np.where(last_ret_b < -band_b, 0, np.where(last_ret_b > band_b, 2, 1))
    above_b = (price_b > ema_b).astype(np.int64)
    heavy_bn = (token_share_bn > 0.5).astype(np.int64)
    return (4 * ret_bucket_b + 2 * above_b)[:, None] + heavy_bn


def q_update(q_bnsa, state_bn, action_bn, reward_bn, next_state_bn, learner_bn, alpha_b, gamma_b):
    """One Q-learning update of every learner's (state, action) entry; other agents keep their table."""
    b, n = state_bn.shape
    flat = q_bnsa.reshape(b, n, N_STATES * N_ACTIONS)
    idx = (state_bn * N_ACTIONS + action_bn)[..., None]
    current = np.take_along_axis(flat, idx, axis=-1)[..., 0]
    best_next = q_bnsa.reshape(b * n, N_STATES, N_ACTIONS)[np.arange(b * n), next_state_bn.reshape(-1)].max(axis=-1)
    target = reward_bn + gamma_b[:, None] * best_next.reshape(b, n)
    new = np.where(learner_bn, current + alpha_b[:, None] * (target - current), current)
    out = flat.copy()
    np.put_along_axis(out, idx, new[..., None].astype(out.dtype), axis=-1)
    return out.reshape(q_bnsa.shape)


def choose_action(q_bnsa, state_bn, epsilon_b, explore_u_bn, random_action_u_bn) -> np.ndarray:
    """ε-greedy action (B, N): greedy in Q, uniform with probability ε."""
    b, n = state_bn.shape
    rows = q_bnsa.reshape(b * n, N_STATES, N_ACTIONS)[np.arange(b * n), state_bn.reshape(-1)]
    greedy = rows.argmax(axis=-1).reshape(b, n)
    random_action = np.minimum((random_action_u_bn * N_ACTIONS).astype(np.int64), N_ACTIONS - 1)
    return np.where(explore_u_bn < epsilon_b[:, None], random_action, greedy)


def replicator(shares_bk, fitness_bk, selection_b) -> np.ndarray:
    """x_k' ∝ x_k·exp(β·f_k): shares stay on the simplex; a strategy at share 0 stays at 0."""
    present = shares_bk > 0
    f = np.where(present & np.isfinite(fitness_bk), fitness_bk, 0.0)
    # subtract the best fitness so exp never overflows; the normalisation cancels it
    z = selection_b[:, None] * (f - np.where(present, f, -np.inf).max(axis=-1, keepdims=True))
    weight = np.where(present, shares_bk * np.exp(z), 0.0)
    return weight / weight.sum(axis=-1, keepdims=True)


def draw_from_shares(shares_bk, u_bn) -> np.ndarray:
    """A strategy per agent drawn from the shares by inverse CDF on uniforms u (B, N)."""
    cdf = np.cumsum(shares_bk, axis=-1)
    cdf[:, -1] = 1.0  # the last edge is exactly one, so no u ∈ [0, 1) falls past it
    return (u_bn[..., None] >= cdf[:, None, :]).sum(axis=-1)
