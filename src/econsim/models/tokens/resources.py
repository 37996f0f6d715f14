"""The resource economy (seed §7.4; one resource, n_tokens = 1): a resource of limited capacity C per step, requested by agents,
allocated by a rule, priced by demand and supply.

Each step agent i needs n_i = n̄·Exp(1) units and values a unit at v_i = v̄·e^{b_i}. Its request
Q_i (capped by what its cash buys at the price P) depends on its strategy:

    threshold, arbitrage   n_i if P < v_i
    momentum               2n_i if the price is rising (hoard before it gets dearer), else as threshold
    mean reversion         0 if the price is above its average (wait), else as threshold
    noise                  n_i·U(0, 2)
    liquidity              n_i (inelastic)
    manipulation           2n_i (cornering: hoard regardless of price)
    learning               action·n_i, action ∈ {0, 1, 2} from Q-learning

Allocation x_i (``allocation``): proportional, priority by valuation, or a uniform-price auction
with bids v_i and reserve price P. Agents pay P·x_i (the auction price under ``auction``) into a
treasury that pays ``income_rate`` of itself back to all agents equally, so money is conserved.
The consumed value v_i·min(x_i, n_i) adds to the agent's utility U_i; units beyond the need are
wasted. Then the price moves with the imbalance: P' = P + g·P·(ΣQ − C)/C.

    utilization = Σx/C        useful utilization = Σ min(x, n)/C
"""

from __future__ import annotations

import numpy as np

from econsim.engine import Arrays, RandomStreams
from econsim.mechanisms import (
    auction_allocation,
    price_adjustment,
    priority_allocation,
    proportional_allocation,
)
from econsim.models.tokens.population import (
    LEARNING,
    LIQUIDITY,
    MANIPULATION,
    MEAN_REVERSION,
    MOMENTUM,
    NOISE,
)


def allocate(s: Arrays, p: Arrays, rng: RandomStreams) -> dict[str, np.ndarray]:
    code = s.strategy
    col = lambda x: np.asarray(x)[:, None]  # noqa: E731
    draws = rng("needs").random((2, *code.shape[1:]))
    need = col(p.need_mean) * -np.log1p(-draws[:, 0])
    valuation = col(p.valuation_mean) * np.exp(s.bias[..., 0])
    price = s.price  # (B, 1): one resource
    trend = np.log(s.price / s.ema)
    band = col(p.signal_band)
    base = np.where(price < valuation, need, 0.0)
    request = base
    request = np.where(code == MOMENTUM, np.where(trend > band, 2 * need, base), request)
    request = np.where(code == MEAN_REVERSION, np.where(trend > band, 0.0, base), request)
    request = np.where(code == NOISE, need * 2 * draws[:, 1], request)
    request = np.where(code == LIQUIDITY, need, request)
    request = np.where(code == MANIPULATION, 2 * need, request)
    request = np.where(code == LEARNING, s.q_action[..., 0] * need, request)
    request = np.minimum(request, s.cash / price)

    capacity_b = p.capacity * p.N
    kinds = np.unique(p.allocation)
    alloc = np.zeros_like(request)
    pay_price = np.broadcast_to(price, request.shape)
    for kind in kinds:
        m = col(p.allocation == kind)
        if kind == "proportional":
            alloc = np.where(m, proportional_allocation(request, capacity_b), alloc)
        elif kind == "priority":
            alloc = np.where(m, priority_allocation(request, valuation, capacity_b), alloc)
        else:
            auction = auction_allocation(request, valuation, capacity_b, reserve_price=s.price[:, 0])
            alloc = np.where(m, auction.allocation, alloc)
            pay_price = np.where(m, col(auction.price), pay_price)
    # the auction's uniform price may exceed P; never charge more than the agent holds
    payment = np.minimum(alloc * pay_price, s.cash)
    income = p.income_rate * (s.treasury + payment.sum(axis=-1))
    useful = np.minimum(alloc, need)
    demand_b = request.sum(axis=-1)
    return {
        "cash": s.cash - payment + col(income / p.N),
        "treasury": s.treasury + payment.sum(axis=-1) - income,
        "utility": s.utility + valuation * useful,
        "price": price_adjustment(
            s.price[:, 0], demand_b, capacity_b, p.adjust_speed * s.price[:, 0], scale=capacity_b, floor=1e-6
        )[:, None],
        "utilization": alloc.sum(axis=-1) / capacity_b,
        "useful_utilization": useful.sum(axis=-1) / capacity_b,
        "volume": alloc.sum(axis=-1)[:, None],
        "imbalance": (demand_b - capacity_b)[:, None],
        "fill": alloc[..., None],
    }
