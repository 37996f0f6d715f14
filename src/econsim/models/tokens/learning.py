"""Learning agents: tabular Q-learning over a discrete action set, and replicator dynamics.

Q-learning, every agent its own table Q_ij(s, a) per token, all agents, tokens and runs updated at once (seed's
π* = argmax E[Σ γᵗ R_t]):

    Q_i(s, a) ← Q_i(s, a) + α·(r_i + γ·max_a' Q_i(s', a') − Q_i(s, a))
    a_i = argmax_a Q_i(s_i, a) with probability 1 − ε, else uniform

The state combines what the agent sees of the token's market and of itself (12 states):

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


def market_state(last_ret_bj, price_bj, ema_bj, band_b, token_share_bnj) -> np.ndarray:
    """State index (B, N, J) of each agent and token from the token's last return, its price against
    its average, and the agent's holdings of it (more than half of its wealth)."""
    band = band_b[:, None]
    ret_bucket_bj = np.where(last_ret_bj < -band, 0, np.where(last_ret_bj > band, 2, 1))
    above_bj = (price_bj > ema_bj).astype(np.int64)
    heavy_bnj = (token_share_bnj > 0.5).astype(np.int64)
    return (4 * ret_bucket_bj + 2 * above_bj)[:, None, :] + heavy_bnj


def q_update(q_msa, state_m, action_m, reward_m, next_state_m, alpha_m, gamma_m) -> np.ndarray:
    """One Q-learning update of the (state, action) entry of each of M tables (M, S, A); a new array."""
    rows = np.arange(len(state_m))
    current = q_msa[rows, state_m, action_m]
    target = reward_m + gamma_m * q_msa[rows, next_state_m].max(axis=-1)
    out = q_msa.copy()
    out[rows, state_m, action_m] = current + alpha_m * (target - current)
    return out


def choose_action(q_msa, state_m, epsilon_m, explore_u_m, random_action_u_m) -> np.ndarray:
    """ε-greedy action of each of M tables: greedy in Q, uniform with probability ε."""
    greedy = q_msa[np.arange(len(state_m)), state_m].argmax(axis=-1)
    random_action = np.minimum((random_action_u_m * N_ACTIONS).astype(np.int64), N_ACTIONS - 1)
    return np.where(explore_u_m < epsilon_m, random_action, greedy)


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
