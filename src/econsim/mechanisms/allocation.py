"""Allocation: sharing scarce capacity, distributing tokens, and paying incentives.

Agents request quantities Q_i of a resource with capacity C (seed §4.2); an allocation rule decides
what each receives, never more than requested and never more than C in total:

    proportional  x_i = Q_i · min(1, C / Σ_j Q_j)
    priority      serve agents in descending priority: x_i = clip(C − Σ_{j ahead of i} Q_j, 0, Q_i)
    auction       as priority, with the bid as priority and bids below a reserve price excluded;
                  winners pay their bid (pay-as-bid) or the marginal winning bid (uniform)

Token distribution (seed §5) splits a total T: uniformly, by weights (x_i = T·w_i/Σw), or as an
airdrop to eligible (optionally randomly drawn) agents. With ``integer=True`` shares are whole
tokens by the largest-remainder method, so they still sum to T exactly.

Incentives: rewards and penalties around a performance target, and the seed's affiliate scheme, in
which primary agent a pays affiliate f the reward R_af = k_a · ΔS_af for the supply increase ΔS_af
it brought about.

Arrays are indexed by run(s) then agent: ``request_bn`` is (..., n_agents); per-run quantities such
as ``capacity_b`` have the leading shape only.
"""

from __future__ import annotations

from typing import Literal, NamedTuple

import numpy as np
from numpy.typing import ArrayLike

__all__ = [
    "AuctionAllocation",
    "Incentives",
    "affiliate_rewards",
    "airdrop",
    "apply_incentives",
    "auction_allocation",
    "priority_allocation",
    "proportional_allocation",
    "uniform_distribution",
    "weighted_distribution",
]


def _f(x: ArrayLike) -> np.ndarray:
    return np.asarray(x, dtype=float)


def _col(x: ArrayLike) -> np.ndarray:
    """Per-run value as a column against the agent axis."""
    return _f(x)[..., None]


# --------------------------------------------------------------------------------------------------
# Capacity allocation


def proportional_allocation(request_bn: ArrayLike, capacity_b: ArrayLike) -> np.ndarray:
    """x_i = Q_i · min(1, C / ΣQ): everyone is scaled back by the same factor when capacity binds."""
    q = np.maximum(_f(request_bn), 0.0)
    total = q.sum(axis=-1)
    cap = np.broadcast_to(_f(capacity_b), total.shape)
    binds = total > cap
    factor = np.where(binds, cap / np.where(binds, total, 1.0), 1.0)
    return q * factor[..., None]


def priority_allocation(request_bn: ArrayLike, priority_bn: ArrayLike, capacity_b: ArrayLike) -> np.ndarray:
    """Serve requests in descending priority (ties: lower agent index first) until capacity runs out."""
    q = np.maximum(_f(request_bn), 0.0)
    priority = np.broadcast_to(_f(priority_bn), q.shape)
    order = np.argsort(-priority, axis=-1, kind="stable")
    q_sorted = np.take_along_axis(q, order, axis=-1)
    # Exclusive prefix sum built by shifting, not cumsum − q, which cancels when q dwarfs earlier requests.
    ahead = np.zeros_like(q_sorted)
    np.cumsum(q_sorted[..., :-1], axis=-1, out=ahead[..., 1:])
    served = np.clip(_col(capacity_b) - ahead, 0.0, q_sorted)
    out = np.empty_like(q)
    np.put_along_axis(out, order, served, axis=-1)
    return out


class AuctionAllocation(NamedTuple):
    allocation: np.ndarray  # by run and agent
    payment: np.ndarray  # by run and agent
    price: np.ndarray  # by run: uniform price (reserve price if capacity does not bind)


def auction_allocation(
    request_bn: ArrayLike,
    bid_bn: ArrayLike,
    capacity_b: ArrayLike,
    *,
    reserve_price: ArrayLike = 0.0,
    pricing: Literal["uniform", "pay_as_bid"] = "uniform",
) -> AuctionAllocation:
    """Highest unit bids first; bids below ``reserve_price`` get nothing.

    Uniform pricing charges every winner the lowest bid that still receives something when capacity
    binds (the marginal bid), and the reserve price when it does not.
    """
    q = np.maximum(_f(request_bn), 0.0)
    bid = np.broadcast_to(_f(bid_bn), q.shape)
    eligible = bid >= _col(reserve_price)
    allocation = priority_allocation(np.where(eligible, q, 0.0), bid, capacity_b)
    binds = np.where(eligible, q, 0.0).sum(axis=-1) > np.broadcast_to(_f(capacity_b), q.shape[:-1])
    marginal = np.where(allocation > 0, bid, np.inf).min(axis=-1)
    price = np.where(
        binds & np.isfinite(marginal), marginal, np.broadcast_to(_f(reserve_price), marginal.shape)
    )
    if pricing == "uniform":
        payment = allocation * price[..., None]
    elif pricing == "pay_as_bid":
        payment = allocation * bid
    else:
        raise ValueError(f"unknown pricing {pricing!r}")
    return AuctionAllocation(allocation, payment, price)


# --------------------------------------------------------------------------------------------------
# Token distribution


def _largest_remainder(total: np.ndarray, share_bn: np.ndarray) -> np.ndarray:
    """Whole-token shares summing to the (integer) total: floor, then +1 for the largest remainders."""
    base = np.floor(share_bn)
    left = np.rint(total - base.sum(axis=-1)).astype(np.int64)
    rank_order = np.argsort(-(share_bn - base), axis=-1, kind="stable")
    ranks = np.empty_like(rank_order)
    np.put_along_axis(
        ranks, rank_order, np.broadcast_to(np.arange(share_bn.shape[-1]), share_bn.shape), axis=-1
    )
    return base + (ranks < left[..., None])


def weighted_distribution(total_b: ArrayLike, weight_bn: ArrayLike, *, integer: bool = False) -> np.ndarray:
    """x_i = T · w_i / Σ_j w_j (weights ≥ 0, not all zero)."""
    w = np.maximum(_f(weight_bn), 0.0)
    total = np.broadcast_to(_f(total_b), w.shape[:-1])
    share = total[..., None] * w / w.sum(axis=-1, keepdims=True)
    return _largest_remainder(total, share) if integer else share


def uniform_distribution(total_b: ArrayLike, n_agents: int, *, integer: bool = False) -> np.ndarray:
    """x_i = T / n; with ``integer``, the first T mod n agents get one token more."""
    total = _f(total_b)
    return weighted_distribution(total, np.ones((*total.shape, n_agents)), integer=integer)


def airdrop(
    rng: np.random.Generator,
    total_b: ArrayLike,
    eligible_bn: ArrayLike,
    *,
    n_recipients: int | None = None,
    weight_bn: ArrayLike | None = None,
    integer: bool = False,
) -> np.ndarray:
    """Drop T tokens on eligible agents: all of them, or ``n_recipients`` drawn uniformly without
    replacement from the eligible; shares equal, or by ``weight_bn`` among the recipients.

    A run with no eligible agent drops nothing.
    """
    eligible = np.asarray(eligible_bn, dtype=bool)
    recipients = eligible
    if n_recipients is not None:
        # Random keys with ineligible agents pushed last; the n smallest keys win the draw.
        keys = np.where(eligible, rng.random(eligible.shape), np.inf)
        rank = np.argsort(np.argsort(keys, axis=-1), axis=-1)
        recipients = eligible & (rank < n_recipients)
    w = np.where(recipients, 1.0 if weight_bn is None else np.maximum(_f(weight_bn), 0.0), 0.0)
    has_any = w.sum(axis=-1) > 0
    total = np.where(has_any, np.broadcast_to(_f(total_b), has_any.shape), 0.0)
    safe_w = np.where(has_any[..., None], w, 1.0)
    return weighted_distribution(total, safe_w, integer=integer)


# --------------------------------------------------------------------------------------------------
# Incentives


class Incentives(NamedTuple):
    balance: np.ndarray  # by run and agent, after incentives
    pool: np.ndarray  # by run: incentive pool after paying rewards and collecting penalties
    reward: np.ndarray  # by run and agent
    penalty: np.ndarray  # by run and agent


def apply_incentives(
    balance_bn: ArrayLike,
    performance_bn: ArrayLike,
    pool_b: ArrayLike,
    *,
    target: ArrayLike,
    reward_rate: ArrayLike,
    penalty_rate: ArrayLike,
) -> Incentives:
    """Reward performance above target, penalise it below, funded by a pool (seed §5).

    penalty_i = min(p·max(x̄ − x_i, 0), B_i)  (nobody pays more than they hold), into the pool;
    reward_i  = r·max(x_i − x̄, 0), scaled down pro rata if the pool (after penalties) is short.
    Money is conserved: Σ B' + pool' = Σ B + pool.
    """
    balance = _f(balance_bn)
    gap = _f(performance_bn) - _col(target)
    penalty = np.minimum(_col(penalty_rate) * np.maximum(-gap, 0.0), np.maximum(balance, 0.0))
    pool = _f(pool_b) + penalty.sum(axis=-1)
    reward = proportional_allocation(_col(reward_rate) * np.maximum(gap, 0.0), np.maximum(pool, 0.0))
    return Incentives(balance - penalty + reward, pool - reward.sum(axis=-1), reward, penalty)


def affiliate_rewards(
    supply_increase_af: ArrayLike,
    reward_coefficient_a: ArrayLike,
    budget_a: ArrayLike | None = None,
) -> np.ndarray:
    """Payment from each primary a to each affiliate f: R_af = k_a · max(ΔS_af, 0).

    ``supply_increase_af`` is the measured token-supply increase affiliate f brought to primary a's
    goal (leading run axes allowed: (..., A, F)); a negative contribution earns nothing rather than a
    charge. If a primary's rewards exceed its budget they are scaled down pro rata.
    """
    reward = _col(reward_coefficient_a) * np.maximum(_f(supply_increase_af), 0.0)
    if budget_a is None:
        return reward
    return proportional_allocation(reward, budget_a)
