"""Where orders execute: the bonding curve, the constant-product AMM, the call auction, tâtonnement,
and an exogenous price (a fixed environment for learning agents).

Orders arrive as a cash amount to spend (``buy_cash_bn``) and tokens to sell (``sell_tok_bn``) per
agent. Every venue fills them in aggregate per run and shares the proceeds pro rata, so no agent
pays more cash or delivers more tokens than it holds, and cash and tokens only move between agents
and venues:

    bonding curve   mint ΔS = N·f⁻¹(S/N, D/N) for deposits D, reserve += D; then burn the sells T,
                    refund = N·∫_{(S−T)/N}^{S/N} f, reserve −= refund. The curve is written per agent
                    (price f(S/N)) so its parameters do not depend on the population size.
    AMM             cash→token swap of the aggregate buys, then token→cash swap of the sells (v2, fee).
    call auction    each agent's buy and sell limit order; one uniform clearing price (max volume).
    tâtonnement     trade min(D, O) at P, then P' = P + g·P·(D − O)/S (``price_adjustment``).
    exogenous       trade at the given price against an outside account (``outside_*``).
"""

from __future__ import annotations

import numpy as np

from econsim.engine import Arrays
from econsim.mechanisms import (
    ConstantProductPool,
    ExponentialCurve,
    LinearCurve,
    PowerCurve,
    SigmoidCurve,
    call_auction_batch,
    price_adjustment,
    swap,
)

CURVES = ("linear", "exponential", "sigmoid", "power")


def _curve(kind: str, p: Arrays):
    if kind == "linear":
        return LinearCurve(p.curve_slope, p.curve_intercept)
    if kind == "exponential":
        return ExponentialCurve(p.curve_scale, p.curve_growth)
    if kind == "sigmoid":
        return SigmoidCurve(p.curve_max_price, p.curve_steepness, p.curve_midpoint)
    return PowerCurve(p.curve_scale, p.reserve_ratio)


def _per_curve(p: Arrays, method: str, *args: np.ndarray) -> np.ndarray:
    """``curve.method(*args)`` with each run's own curve kind (one call per kind in the batch)."""
    if (p.curve == p.curve[0]).all():
        return getattr(_curve(str(p.curve[0]), p), method)(*args)
    kinds = np.unique(p.curve)
    out = np.zeros(np.broadcast_shapes(*(np.shape(a) for a in args)))
    for kind in kinds:
        out = np.where(p.curve == kind, getattr(_curve(str(kind), p), method)(*args), out)
    return out


def curve_price(p: Arrays, supply_b: np.ndarray) -> np.ndarray:
    return _per_curve(p, "price", supply_b / p.N)


def curve_reserve(p: Arrays, supply_b: np.ndarray) -> np.ndarray:
    """Reserve backing the supply: N·F(S/N)."""
    return p.N * _per_curve(p, "reserve", supply_b / p.N)


def curve_mint(p: Arrays, supply_b, deposit_b) -> np.ndarray:
    """Tokens minted for a deposit: N·f⁻¹(S/N, D/N)."""
    return p.N * _per_curve(p, "tokens_for_deposit", supply_b / p.N, deposit_b / p.N)


def curve_refund(p: Arrays, supply_b, tokens_b) -> np.ndarray:
    """Reserve paid out for burning tokens: N·∫ f over the burned per-agent supply."""
    return p.N * _per_curve(p, "burn_refund", supply_b / p.N, np.minimum(tokens_b, supply_b) / p.N)


def _share(total_b: np.ndarray, part_bn: np.ndarray, amount_b: np.ndarray) -> np.ndarray:
    """amount·part/total per agent (0 where the total is 0)."""
    ratio = np.where(total_b > 0, amount_b / np.where(total_b > 0, total_b, 1.0), 0.0)
    return part_bn * ratio[:, None]


def bonding_curve(s: Arrays, p: Arrays, buy_cash_bn, sell_tok_bn) -> dict[str, np.ndarray]:
    """Mint for the aggregate deposit, then burn the aggregate sells; shares pro rata."""
    deposit_b = buy_cash_bn.sum(axis=-1)
    minted_b = curve_mint(p, s.supply, deposit_b)
    supply_b = s.supply + minted_b
    burn_b = sell_tok_bn.sum(axis=-1)
    refund_b = curve_refund(p, supply_b, burn_b)
    got_bn = _share(deposit_b, buy_cash_bn, minted_b)
    paid_bn = _share(burn_b, sell_tok_bn, refund_b)
    return {
        "cash": s.cash - buy_cash_bn + paid_bn,
        "tokens": s.tokens + got_bn - sell_tok_bn,
        "supply": supply_b - burn_b,
        "reserve": s.reserve + deposit_b - refund_b,
        "fill": got_bn - sell_tok_bn,
        "volume": minted_b + burn_b,
    }


def amm(s: Arrays, p: Arrays, buy_cash_bn, sell_tok_bn, cash_bn, tokens_bn) -> dict[str, np.ndarray]:
    """Aggregate buys swap cash→tokens, then aggregate sells swap tokens→cash, on the v2 pool."""
    pool = ConstantProductPool(s.pool_tokens, s.pool_cash, np.ones_like(s.pool_cash))
    cash_in_b = buy_cash_bn.sum(axis=-1)
    bought = swap(pool, cash_in_b, p.amm_fee, x_to_y=False)
    tok_in_b = sell_tok_bn.sum(axis=-1)
    sold = swap(bought.pool, tok_in_b, p.amm_fee, x_to_y=True)
    got_bn = _share(cash_in_b, buy_cash_bn, bought.amount_out)
    paid_bn = _share(tok_in_b, sell_tok_bn, sold.amount_out)
    return {
        "cash": cash_bn - buy_cash_bn + paid_bn,
        "tokens": tokens_bn + got_bn - sell_tok_bn,
        "pool_tokens": sold.pool.reserve_x,
        "pool_cash": sold.pool.reserve_y,
        "amm_fill": got_bn - sell_tok_bn,
        "amm_volume": bought.amount_out + tok_in_b,
    }


def call_auction(s: Arrays, p: Arrays, buy_cash_bn, sell_tok_bn, buy_limit_bn, sell_limit_bn):
    """One uniform-price call auction per run over every agent's buy and sell limit order."""
    buy_qty_bn = buy_cash_bn / buy_limit_bn
    result = call_auction_batch(buy_limit_bn, buy_qty_bn, sell_limit_bn, sell_tok_bn, s.price)
    traded = result.volume > 0
    price_b = np.where(traded, result.price, s.price)
    pay_bn = result.buy_fill * price_b[:, None]
    get_bn = result.sell_fill * price_b[:, None]
    return {
        "cash": s.cash - pay_bn + get_bn,
        "tokens": s.tokens + result.buy_fill - result.sell_fill,
        "price": price_b,
        "fill": result.buy_fill - result.sell_fill,
        "volume": result.volume,
        "imbalance": result.imbalance,
    }


def tatonnement(s: Arrays, p: Arrays, buy_cash_bn, sell_tok_bn):
    """Trade min(D, O) at P, rationing the long side pro rata; then P' = P + g·P·(D − O)/S."""
    demand_bn = buy_cash_bn / s.price[:, None]
    demand_b, offer_b = demand_bn.sum(axis=-1), sell_tok_bn.sum(axis=-1)
    volume_b = np.minimum(demand_b, offer_b)
    bought_bn = _share(demand_b, demand_bn, volume_b)
    sold_bn = _share(offer_b, sell_tok_bn, volume_b)
    total_tokens_b = s.tokens.sum(axis=-1) + s.pool_tokens
    new_price_b = price_adjustment(s.price, demand_b, offer_b, p.adjust_speed * s.price,
                                   scale=total_tokens_b, floor=1e-6 * s.price)
    return {
        "cash": s.cash + (sold_bn - bought_bn) * s.price[:, None],
        "tokens": s.tokens + bought_bn - sold_bn,
        "price": new_price_b,
        "fill": bought_bn - sold_bn,
        "volume": volume_b,
        "imbalance": demand_b - offer_b,
    }


def exogenous(s: Arrays, p: Arrays, buy_cash_bn, sell_tok_bn):
    """Trade at the exogenous price against an outside account that absorbs every order."""
    bought_bn = buy_cash_bn / s.price[:, None]
    cash_bn = s.cash - buy_cash_bn + sell_tok_bn * s.price[:, None]
    flow_cash_b = buy_cash_bn.sum(axis=-1) - (sell_tok_bn * s.price[:, None]).sum(axis=-1)
    flow_tok_b = bought_bn.sum(axis=-1) - sell_tok_bn.sum(axis=-1)
    return {
        "cash": cash_bn,
        "tokens": s.tokens + bought_bn - sell_tok_bn,
        "outside_cash": s.outside_cash + flow_cash_b,
        "outside_tokens": s.outside_tokens - flow_tok_b,
        "fill": bought_bn - sell_tok_bn,
        "volume": bought_bn.sum(axis=-1) + sell_tok_bn.sum(axis=-1),
    }
