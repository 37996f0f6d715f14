"""Where orders execute: the bonding curve, the constant-product AMM, the call auction, tâtonnement,
the continuous limit order book and an exogenous price (a fixed environment for learning agents).

Every token j has its own venues: a market is a (run, token) pair, so market arrays are (B, J) and
orders are (B, N, J). Orders arrive as a cash amount to spend (``buy_cash_bnj``) and tokens to sell
(``sell_tok_bnj``) per agent and token. Every venue but the order book fills them in aggregate per
market and shares the proceeds pro rata, so no agent pays more cash or delivers more tokens than it
holds, and cash and tokens only move between agents and venues:

    bonding curve   mint ΔS = N·f⁻¹(S/N, D/N) for deposits D, reserve += D; then burn the sells T,
                    refund = N·∫_{(S−T)/N}^{S/N} f, reserve −= refund. The curve is written per agent
                    (price f(S/N)) so its parameters do not depend on the population size.
    AMM             cash→token swap of the aggregate buys, then token→cash swap of the sells (v2, fee).
    call auction    each agent's buy and sell limit order; one uniform clearing price (max volume).
    tâtonnement     trade min(D, O) at P, then P' = P + g·P·(D − O)/S (``price_adjustment``).
    order book      each agent's limit orders, in a random arrival order, through a price-time
                    priority book (``order_book.py``); P' = the last trade's price.
    exogenous       trade at the given price against an outside account (``outside_*``).
"""

from __future__ import annotations

import numpy as np

from econsim.engine import Arrays, RandomStreams, per_run
from econsim.mechanisms import (
    MAX_QUANTITY,
    ConstantProductPool,
    ExponentialCurve,
    LinearCurve,
    OrderError,
    PowerCurve,
    SigmoidCurve,
    call_auction_batch,
    price_adjustment,
    swap,
)
from econsim.mechanisms.order_book import day_of_limit_orders

CURVES = ("linear", "exponential", "sigmoid", "power")

# one compiled loop over markets (run b, token j) around the one-market book (mechanisms.order_book)
_books = per_run(day_of_limit_orders, cache=True)


def col(x) -> np.ndarray:
    """A per-run (B,) parameter as (B, 1), to broadcast against a market array (B, J)."""
    return np.asarray(x)[:, None]


def agents(x_bj) -> np.ndarray:
    """A market array (B, J) as (B, 1, J), to broadcast against per-agent orders (B, N, J)."""
    return np.asarray(x_bj)[:, None, :]


def _curve(kind: str, p: Arrays):
    if kind == "linear":
        return LinearCurve(col(p.curve_slope), col(p.curve_intercept))
    if kind == "exponential":
        return ExponentialCurve(col(p.curve_scale), col(p.curve_growth))
    if kind == "sigmoid":
        return SigmoidCurve(col(p.curve_max_price), col(p.curve_steepness), col(p.curve_midpoint))
    return PowerCurve(col(p.curve_scale), col(p.reserve_ratio))


def _per_curve(p: Arrays, method: str, *args: np.ndarray) -> np.ndarray:
    """``curve.method(*args)`` on (B, J) markets; the curve kind is one per batch (``p.curve`` is a str)."""
    return getattr(_curve(p.curve, p), method)(*args)


def curve_price(p: Arrays, supply_bj: np.ndarray) -> np.ndarray:
    return _per_curve(p, "price", supply_bj / p.N)


def curve_reserve(p: Arrays, supply_bj: np.ndarray) -> np.ndarray:
    """Reserve backing the supply: N·F(S/N)."""
    return p.N * _per_curve(p, "reserve", supply_bj / p.N)


def curve_mint(p: Arrays, supply_bj, deposit_bj) -> np.ndarray:
    """Tokens minted for a deposit: N·f⁻¹(S/N, D/N)."""
    return p.N * _per_curve(p, "tokens_for_deposit", supply_bj / p.N, deposit_bj / p.N)


def curve_refund(p: Arrays, supply_bj, tokens_bj) -> np.ndarray:
    """Reserve paid out for burning tokens: N·∫ f over the burned per-agent supply."""
    return p.N * _per_curve(p, "burn_refund", supply_bj / p.N, np.minimum(tokens_bj, supply_bj) / p.N)


def markets(x_bnj: np.ndarray) -> np.ndarray:
    """Per-agent orders (B, N, J) as one row per market (B·J, N), for mechanisms batched by row."""
    n_b, n_n, n_j = x_bnj.shape
    return np.ascontiguousarray(np.swapaxes(x_bnj, 1, 2)).reshape(n_b * n_j, n_n)


def unmarkets(x_mn: np.ndarray, n_b: int) -> np.ndarray:
    """The inverse of ``markets``: (B·J, N) back to (B, N, J)."""
    return np.swapaxes(x_mn.reshape(n_b, -1, x_mn.shape[-1]), 1, 2)


def _share(total_bj: np.ndarray, part_bnj: np.ndarray, amount_bj: np.ndarray) -> np.ndarray:
    """amount·part/total per agent and token (0 where the total is 0)."""
    ratio = np.where(total_bj > 0, amount_bj / np.where(total_bj > 0, total_bj, 1.0), 0.0)
    return part_bnj * agents(ratio)


def bonding_curve(s: Arrays, p: Arrays, buy_cash_bnj, sell_tok_bnj) -> dict[str, np.ndarray]:
    """Mint for the aggregate deposit, then burn the aggregate sells; shares pro rata."""
    deposit_bj = buy_cash_bnj.sum(axis=1)
    minted_bj = curve_mint(p, s.supply, deposit_bj)
    supply_bj = s.supply + minted_bj
    burn_bj = sell_tok_bnj.sum(axis=1)
    refund_bj = curve_refund(p, supply_bj, burn_bj)
    got_bnj = _share(deposit_bj, buy_cash_bnj, minted_bj)
    paid_bnj = _share(burn_bj, sell_tok_bnj, refund_bj)
    return {
        "cash": s.cash - buy_cash_bnj.sum(axis=-1) + paid_bnj.sum(axis=-1),
        "tokens": s.tokens + got_bnj - sell_tok_bnj,
        "supply": supply_bj - burn_bj,
        "reserve": s.reserve + deposit_bj - refund_bj,
        "fill": got_bnj - sell_tok_bnj,
        "volume": minted_bj + burn_bj,
    }


def amm(s: Arrays, p: Arrays, buy_cash_bnj, sell_tok_bnj, cash_bn, tokens_bnj) -> dict[str, np.ndarray]:
    """Aggregate buys swap cash→tokens, then aggregate sells swap tokens→cash, on the v2 pool."""
    pool = ConstantProductPool(s.pool_tokens, s.pool_cash, np.ones_like(s.pool_cash))
    cash_in_bj = buy_cash_bnj.sum(axis=1)
    bought = swap(pool, cash_in_bj, col(p.amm_fee), x_to_y=False)
    tok_in_bj = sell_tok_bnj.sum(axis=1)
    sold = swap(bought.pool, tok_in_bj, col(p.amm_fee), x_to_y=True)
    got_bnj = _share(cash_in_bj, buy_cash_bnj, bought.amount_out)
    paid_bnj = _share(tok_in_bj, sell_tok_bnj, sold.amount_out)
    return {
        "cash": cash_bn - buy_cash_bnj.sum(axis=-1) + paid_bnj.sum(axis=-1),
        "tokens": tokens_bnj + got_bnj - sell_tok_bnj,
        "pool_tokens": sold.pool.reserve_x,
        "pool_cash": sold.pool.reserve_y,
        "amm_fill": got_bnj - sell_tok_bnj,
        "amm_volume": bought.amount_out + tok_in_bj,
    }


def call_auction(s: Arrays, p: Arrays, buy_cash_bnj, sell_tok_bnj, buy_limit_bnj, sell_limit_bnj):
    """One uniform-price call auction per market over every agent's buy and sell limit order."""
    buy_qty_bnj = buy_cash_bnj / buy_limit_bnj
    n_b, _, n_j = buy_qty_bnj.shape
    buy_px, buy_qty, sell_px, sell_qty = (
        markets(x) for x in (buy_limit_bnj, buy_qty_bnj, sell_limit_bnj, sell_tok_bnj)
    )
    result = call_auction_batch(buy_px, buy_qty, sell_px, sell_qty, s.price.reshape(-1))
    buy_fill, sell_fill = unmarkets(result.buy_fill, n_b), unmarkets(result.sell_fill, n_b)
    volume_bj = result.volume.reshape(n_b, n_j)
    traded = volume_bj > 0
    price_bj = np.where(traded, result.price.reshape(n_b, n_j), s.price)
    pay_bnj = buy_fill * price_bj[:, None, :]
    get_bnj = sell_fill * price_bj[:, None, :]
    fill = buy_fill - sell_fill
    return {
        "cash": s.cash - pay_bnj.sum(axis=-1) + get_bnj.sum(axis=-1),
        "tokens": s.tokens + buy_fill - sell_fill,
        "price": price_bj,
        "fill": fill,
        "fill_cash": -fill * price_bj[:, None, :],
        "volume": volume_bj,
        "imbalance": result.imbalance.reshape(n_b, n_j),
    }


def tatonnement(s: Arrays, p: Arrays, buy_cash_bnj, sell_tok_bnj):
    """Trade min(D, O) at P, rationing the long side pro rata; then P' = P + g·P·(D − O)/S."""
    demand_bnj = buy_cash_bnj / s.price[:, None, :]
    demand_bj, offer_bj = demand_bnj.sum(axis=1), sell_tok_bnj.sum(axis=1)
    volume_bj = np.minimum(demand_bj, offer_bj)
    bought_bnj = _share(demand_bj, demand_bnj, volume_bj)
    sold_bnj = _share(offer_bj, sell_tok_bnj, volume_bj)
    total_tokens_bj = s.tokens.sum(axis=1) + s.pool_tokens
    new_price_bj = price_adjustment(
        s.price,
        demand_bj,
        offer_bj,
        col(p.adjust_speed) * s.price,
        scale=total_tokens_bj,
        floor=1e-6 * s.price,
    )
    cash_in_bnj = (sold_bnj - bought_bnj) * s.price[:, None, :]
    return settle(s, bought_bnj, sold_bnj, cash_in_bnj, new_price_bj, volume_bj, demand_bj - offer_bj)


def exogenous(s: Arrays, p: Arrays, buy_cash_bnj, sell_tok_bnj):
    """Trade at the exogenous price against an outside account that absorbs every order."""
    bought_bnj = buy_cash_bnj / s.price[:, None, :]
    cash_bn = s.cash - buy_cash_bnj.sum(axis=-1) + (sell_tok_bnj * s.price[:, None, :]).sum(axis=-1)
    flow_cash_b = (buy_cash_bnj.sum(axis=1) - (sell_tok_bnj * s.price[:, None, :]).sum(axis=1)).sum(axis=-1)
    flow_tok_bj = bought_bnj.sum(axis=1) - sell_tok_bnj.sum(axis=1)
    return {
        "cash": cash_bn,
        "tokens": s.tokens + bought_bnj - sell_tok_bnj,
        "outside_cash": s.outside_cash + flow_cash_b,
        "outside_tokens": s.outside_tokens - flow_tok_bj,
        "fill": bought_bnj - sell_tok_bnj,
        "volume": bought_bnj.sum(axis=1) + sell_tok_bnj.sum(axis=1),
    }


def order_book(
    s: Arrays, p: Arrays, rng: RandomStreams, buy_cash_bnj, sell_tok_bnj, buy_limit_bnj, sell_limit_bnj
):
    """Every agent's limit orders through a continuous price-time priority book, one per market.

    Ticks are relative to the price P at the start of the step (tick = ``tick_size``·P, limits within
    ``book_range``·P of it); buy limits round down and sell limits up, so nobody pays more or takes
    less than its limit. Quantities are whole lots of ``lot_size`` tokens: a buyer's lots at its limit
    cost at most its cash, a seller's lots are at most its tokens. Orders arrive in a random order
    (the ``arrivals`` stream); each trade is at the resting order's price. Orders are day orders: what
    rests at the end of the step expires (the book starts empty each step). P' = the last trade's price.
    """
    n_b, n_n, n_j = buy_cash_bnj.shape
    price = agents(s.price)
    tick = price * p.tick_size[:, None, None]
    half_b = np.ceil(p.book_range / p.tick_size).astype(np.int64)
    mid = half_b[:, None, None]
    buy_tick = np.clip(np.floor((buy_limit_bnj - price) / tick), -mid, mid).astype(np.int64) + mid
    sell_tick = np.clip(np.ceil((sell_limit_bnj - price) / tick), -mid, mid).astype(np.int64) + mid
    buy_px = price + (buy_tick - mid) * tick
    lot = p.lot_size[:, None, None]
    buy_lots = np.floor(buy_cash_bnj / buy_px / lot).astype(np.int64)
    sell_lots = np.floor(sell_tok_bnj / lot).astype(np.int64)
    # the kernel skips LimitOrderBook.submit's checks: the ticks are clipped into the book above,
    # and the lots are checked here (a float lot count past 2^53 is no longer a whole number)
    if max(buy_lots.max(initial=0), sell_lots.max(initial=0)) > MAX_QUANTITY or (
        (np.maximum(buy_lots, 0) + np.maximum(sell_lots, 0)).sum(axis=1, dtype=float).max(initial=0)
        >= 2.0**62
    ):
        raise OrderError(f"orders of more than 2**53 lots of lot_size {p.lot_size}: raise lot_size")
    arrival = rng("arrivals").random((2, n_n, n_j))
    # one row per market (run b, token j), m = b·J + j: a single compiled loop matches them all
    rows = [markets(x) for x in (buy_tick, sell_tick, buy_lots, sell_lots, arrival[:, 0], arrival[:, 1])]
    run_m = np.repeat(np.arange(n_b), n_j)
    agents_m4n = np.zeros((n_b * n_j, 4, n_n))  # bought, sold, paid, received
    price_volume_m2 = np.stack([s.price.reshape(-1), np.zeros(n_b * n_j)], axis=-1)
    half_m = half_b[run_m]
    _books(*rows, 2 * half_m + 1, half_m, s.price.reshape(-1), tick.reshape(-1), p.lot_size[run_m],
           agents_m4n, price_volume_m2)  # fmt: skip
    bought, sold, paid, received = (unmarkets(agents_m4n[:, k], n_b) for k in range(4))
    return settle(
        s,
        bought,
        sold,
        received - paid,
        price_volume_m2[:, 0].reshape(n_b, n_j),
        price_volume_m2[:, 1].reshape(n_b, n_j),
        ((buy_lots - sell_lots) * lot).sum(axis=1),
    )


def settle(
    s: Arrays,
    bought_bnj: np.ndarray,
    sold_bnj: np.ndarray,
    cash_in_bnj: np.ndarray,
    price_bj: np.ndarray,
    volume_bj: np.ndarray,
    imbalance_bj: np.ndarray,
) -> dict[str, np.ndarray]:
    """A venue's trades booked into the agents' accounts:

    cash' = cash + Σ_j cash_in_ij        H'_ij = H_ij + bought_ij − sold_ij
    """
    return {
        "cash": s.cash + cash_in_bnj.sum(axis=-1),
        "tokens": s.tokens + bought_bnj - sold_bnj,
        "price": price_bj,
        "fill": bought_bnj - sold_bnj,
        "fill_cash": cash_in_bnj,
        "volume": volume_bj,
        "imbalance": imbalance_bj,
    }
