"""Evolutionary revision of strategies: replicator dynamics over the strategy shares.

Every ``evolve_every`` steps (when ``selection`` > 0): the fitness of strategy k is the mean return
of its agents since the last revision, f_k = mean_i∈k (w_i/w_i(last) − 1); the shares follow the
replicator x_k' ∝ x_k·exp(β·f_k) (``learning.replicator``); then each agent, with probability
``revise_rate``, adopts a strategy drawn from the new shares.
"""

from __future__ import annotations

import numpy as np

from econsim.engine import Arrays, RandomStreams
from econsim.models.tokens import learning
from econsim.models.tokens.policies import wealth_bn
from econsim.models.tokens.population import K


def mean_by_strategy(values_bn: np.ndarray, code_bn: np.ndarray) -> np.ndarray:
    """Mean of ``values`` over the agents of each strategy: (B, K), NaN for a strategy with no agents."""
    onehot = code_bn[..., None] == np.arange(K)
    count = onehot.sum(axis=1)
    total = np.einsum("bn,bnk->bk", values_bn, onehot)
    return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def evolve(s: Arrays, p: Arrays, rng: RandomStreams) -> dict[str, np.ndarray]:
    due = (p.selection > 0) & (s.t % p.evolve_every == 0)
    if not due.any():
        return {}
    wealth = wealth_bn(s, p)
    fitness = mean_by_strategy(wealth / s.epoch_wealth - 1.0, s.strategy)
    shares = learning.replicator(s.shares, fitness, p.selection)
    u = rng("revision").random((2, *s.strategy.shape[1:]))
    revise = (u[:, 0] < p.revise_rate[:, None]) & due[:, None]
    strategy = np.where(revise, learning.draw_from_shares(shares, u[:, 1]), s.strategy)
    return {
        "shares": np.where(due[:, None], shares, s.shares),
        "strategy": strategy,
        "epoch_wealth": np.where(due[:, None], wealth, s.epoch_wealth),
    }
