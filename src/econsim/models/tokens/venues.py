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

from econsim.engine import Arrays, RandomStreams
from econsim.engine.jit import njit
from econsim.mechanisms import (
    BUY,
    MAX_QUANTITY,
    SELL,
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
from econsim.mechanisms.order_book import match_in_empty_book

CURVES = ("linear", "exponential", "sigmoid", "power")


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
    result = call_auction_batch(
        *(markets(x) for x in (buy_limit_bnj, buy_qty_bnj, sell_limit_bnj, sell_tok_bnj)), s.price.reshape(-1)
    )
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
    _books(*rows, s.price.reshape(-1), tick.reshape(-1), half_b[run_m], p.lot_size[run_m],
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


@njit()
def _block_sum(a, lo, n):
    """numpy's pairwise leaf: Σ a[lo : lo + n] for n ≤ 128, 8 partial sums when n ≥ 8."""
    if n < 8:
        res = 0.0
        for i in range(lo, lo + n):
            res += a[i]
        return res
    r = a[lo : lo + 8].copy()
    i = 8
    while i < n - n % 8:
        for k in range(8):
            r[k] += a[lo + i + k]
        i += 8
    res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
    while i < n:
        res += a[lo + i]
        i += 1
    return res


@njit()
def _pairwise_sum(a):
    """Σ a in numpy's pairwise order (halves, rounded to multiples of 8, down to blocks of ≤ 128), so
    the compiled sum is bit-identical to ``ndarray.sum``. An explicit stack walks the halving tree
    (numba does not cache recursive functions reliably)."""
    lo_s = np.empty(64, dtype=np.int64)
    n_s = np.empty(64, dtype=np.int64)
    left_s = np.empty(64)
    done_s = np.zeros(64, dtype=np.bool_)  # the frame's left half is summed (into left_s)
    depth = 0
    lo_s[0], n_s[0] = 0, a.shape[0]
    result = right_value = 0.0
    while depth >= 0:
        n = n_s[depth]
        if n <= 128:
            value = _block_sum(a, lo_s[depth], n)
        else:
            half = n // 2 - (n // 2) % 8
            if not done_s[depth]:  # descend into the left half first
                lo_s[depth + 1], n_s[depth + 1], done_s[depth + 1] = lo_s[depth], half, False
                depth += 1
                continue
            value = left_s[depth] + right_value
        # hand the value to the parent: as its left half (then do its right) or as its right half
        depth -= 1
        if depth < 0:
            result = value
        elif not done_s[depth]:
            done_s[depth] = True
            left_s[depth] = value
            half = n_s[depth] // 2 - (n_s[depth] // 2) % 8
            lo_s[depth + 1], n_s[depth + 1], done_s[depth + 1] = lo_s[depth] + half, n_s[depth] - half, False
            depth += 1
        else:
            right_value = value
    return result


@njit()
def _book_market(buy_tick_n, sell_tick_n, buy_lots_n, sell_lots_n, buy_arrival_n, sell_arrival_n,
                 price, tick, half, lot, agents_4n, price_volume_2):  # fmt: skip
    """One market's day of limit orders (one run and token): every agent's live buy then sell order,
    in arrival order, through an empty book; each trade's lots and cash booked to its two agents
    (``agents_4n`` = bought, sold, paid, received by agent, added in trade order). Where anything
    trades, ``price_volume_2`` becomes (the last trade's price, the units traded)."""
    n_n = buy_lots_n.shape[0]
    n_live = 0
    for i in range(n_n):
        n_live += (buy_lots_n[i] > 0) + (sell_lots_n[i] > 0)
    key = np.empty(n_live)
    side = np.empty(n_live, dtype=np.int8)
    ticks = np.empty(n_live, dtype=np.int64)
    lots = np.empty(n_live, dtype=np.int64)
    owner = np.empty(n_live, dtype=np.int64)
    e = 0
    for sell in range(2):  # buys first, then sells: the order a stable sort breaks ties in
        for i in range(n_n):
            q = sell_lots_n[i] if sell else buy_lots_n[i]
            if q > 0:
                key[e] = sell_arrival_n[i] if sell else buy_arrival_n[i]
                side[e] = SELL if sell else BUY
                ticks[e] = sell_tick_n[i] if sell else buy_tick_n[i]
                lots[e] = q
                owner[e] = i
                e += 1
    order = np.argsort(key, kind="mergesort")  # stable
    ids, trade_tick, trade_lots, buy_order, sell_order, last = match_in_empty_book(
        np.zeros(n_live, dtype=np.int8), side[order], ticks[order], lots[order],
        np.full(n_live, -1, dtype=np.int64), 2 * half + 1,
    )  # fmt: skip
    if trade_lots.shape[0] == 0:
        return
    owner_o = np.empty(n_live, dtype=np.int64)
    for e in range(n_live):
        if ids[e] >= 0:
            owner_o[ids[e]] = owner[order[e]]
    units = trade_lots * lot
    for t in range(units.shape[0]):
        cash = units[t] * (price + (trade_tick[t] - half) * tick)
        buyer, seller = owner_o[buy_order[t]], owner_o[sell_order[t]]
        agents_4n[0, buyer] += units[t]
        agents_4n[1, seller] += units[t]
        agents_4n[2, buyer] += cash
        agents_4n[3, seller] += cash
    price_volume_2[0] = price + (last - half) * tick
    price_volume_2[1] = _pairwise_sum(units)


@njit()
def _books(buy_tick_mn, sell_tick_mn, buy_lots_mn, sell_lots_mn, buy_arrival_mn, sell_arrival_mn,
           price_m, tick_m, half_m, lot_m, agents_m4n, price_volume_m2):  # fmt: skip
    """``_book_market`` for every market m (a run's token), in one compiled loop."""
    for m in range(price_m.shape[0]):
        _book_market(
            buy_tick_mn[m], sell_tick_mn[m], buy_lots_mn[m], sell_lots_mn[m], buy_arrival_mn[m],
            sell_arrival_mn[m], price_m[m], tick_m[m], half_m[m], lot_m[m], agents_m4n[m],
            price_volume_m2[m],
        )  # fmt: skip


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
