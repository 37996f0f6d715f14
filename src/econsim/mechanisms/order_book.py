"""A continuous limit order book with price-time priority.

Orders arrive one at a time. A buy limit order at price p trades against resting sells priced at
or below p, best (lowest) price first and, within a price, oldest first; each trade happens at the
resting order's price. Whatever is left of a limit order rests in the book; whatever is left of a
market order is cancelled (it has no price to rest at). A cancel removes the rest of a resting
order. Quantity is conserved order by order:

    submitted = filled + resting + cancelled

Prices are integer ticks 0 … n_prices − 1 and quantities integer lots (a caller multiplies by its
tick and lot sizes outside), held as int64, so conservation is exact. ``submit`` checks every event
before the compiled kernel and raises ``OrderError`` for a value that is not exactly such an integer
— it never truncates: a sell limit at 5.9 ticks would trade below its limit at 5, and 2.7 lots are
not 2 — for a side or kind that is not one of the constants (257 is not SELL), for a quantity above
``MAX_QUANTITY`` = 2⁵³ lots (the largest range in which float input holds every integer), and for a
batch that could overflow the int64 depth of a level. Well-formed orders the book cannot take
(quantity ≤ 0, a limit price outside the ticks, a cancel of an order not resting) are rejected with
id −1, as an exchange rejects them.

Layout: one FIFO queue per (side, price level), kept as a doubly linked list threaded through
preallocated per-order arrays (``next_o``, ``prev_o``), with head/tail indices per level. Appending,
matching the head and cancelling from the middle are all O(1); finding the next best level after
one empties is a scan over the (usually short) gap.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from econsim.engine.jit import njit

__all__ = [
    "BUY",
    "CANCEL",
    "CANCELLED",
    "FILLED",
    "LIMIT",
    "MARKET",
    "MAX_QUANTITY",
    "RESTING",
    "SELL",
    "DepthSnapshot",
    "LimitOrderBook",
    "OrderError",
    "OrderTable",
    "Trades",
    "day_of_limit_orders",
    "match_in_empty_book",
    "random_order_flow",
]

# Event kinds, sides and order statuses (plain ints so numba can compare against them).
LIMIT, MARKET, CANCEL = 0, 1, 2
BUY, SELL = 0, 1
RESTING, FILLED, CANCELLED = 1, 2, 3

MAX_QUANTITY = 2**53  # lots per order; every integer up to here is exact in a float


class OrderError(ValueError):
    """An event that is not a well-formed order (non-integer tick or lot, unknown side or kind)."""


def _integers(name: str, values: ArrayLike, n: int, used) -> np.ndarray:
    """``values`` broadcast to n events as int64, refusing any value at the events that read it
    (``used()``, a mask, asked for only when the input is not int64 already) that is not exactly an
    integer in int64's range."""
    a = np.broadcast_to(np.asarray(values), (n,))
    if a.dtype.kind == "b" or (a.dtype.kind in "iu" and a.dtype.itemsize < 8):
        return a.astype(np.int64)
    if a.dtype.kind == "i":
        return a
    if a.dtype.kind == "u":
        bad = used() & (a > np.iinfo(np.int64).max)
    elif a.dtype.kind == "f":
        with np.errstate(invalid="ignore"):
            bad = used() & ~(np.isfinite(a) & (a == np.round(a)) & (np.abs(a) < 2.0**63))
    else:
        raise OrderError(f"{name} must be integers, got dtype {a.dtype}")
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise OrderError(
            f"{name} of event {i} is {a[i].item()!r}: ticks and lots are exact integers (scale prices "
            "by the tick size and quantities by the lot size, then round as the order's side allows)"
        )
    return np.where(used(), a, 0).astype(np.int64)


_BAD_KIND, _BAD_SIDE, _TOO_BIG = 1, 2, 3


# Why numba: the range checks are one pass over the batch instead of a dozen numpy passes, which
# would cost ~5 % of the matching itself on large batches.
@njit(fastmath=True)  # lets the float total vectorize; it is only compared with 2^62
def _first_bad_event(kind_e, side_e, qty_e, max_quantity):
    """(index, reason) of the first event with an unknown kind or side or too many lots, else
    (−1, 0); and the total lots of the batch's orders."""
    total = 0.0
    any_bad = False
    # branch-free first pass (random kinds and sides would mispredict every branch); locate after
    for e in range(kind_e.shape[0]):
        k = kind_e[e]
        is_order = k != CANCEL
        s = side_e[e]
        q = qty_e[e]
        any_bad |= (k < 0) | (k > CANCEL) | (is_order & ((s < 0) | (s > SELL) | (q > max_quantity)))
        total += max(q, 0) * is_order
    if any_bad:
        for e in range(kind_e.shape[0]):
            k = kind_e[e]
            if k < 0 or k > CANCEL:
                return e, _BAD_KIND, total
            if k != CANCEL:
                if side_e[e] < 0 or side_e[e] > SELL:
                    return e, _BAD_SIDE, total
                if qty_e[e] > max_quantity:
                    return e, _TOO_BIG, total
    return -1, 0, total


# Slots of the book's scalar state vector.
_BEST_BID, _BEST_ASK, _N_ORDERS, _N_TRADES, _LAST_PRICE, _N_RESTING = range(6)


# Why numba: matching is a sequential walk over FIFO queues in which every step depends on the one
# before (which order is at the head, what is left of the incoming order), so it cannot be written
# as whole-array numpy. Compiled, it runs at tens of millions of events per second; the same loop in
# Python manages well under one million.
@njit()
def _process_events(
    kind_e, side_e, price_e, qty_e, target_e, id_e,
    head_sp, tail_sp, depth_sp,
    side_o, price_o, qty_o, filled_o, resting_o, cancelled_o, status_o, next_o, prev_o,
    trade_price_t, trade_qty_t, trade_buy_t, trade_sell_t,
    meta,
):  # fmt: skip
    n_prices = depth_sp.shape[1]
    best_bid = meta[_BEST_BID]
    best_ask = meta[_BEST_ASK]
    n_orders = meta[_N_ORDERS]
    n_trades = meta[_N_TRADES]
    last_price = meta[_LAST_PRICE]
    n_resting = meta[_N_RESTING]

    for e in range(kind_e.shape[0]):
        kind = kind_e[e]
        id_e[e] = -1

        if kind == CANCEL:
            oid = target_e[e]
            if oid < 0 or oid >= n_orders or status_o[oid] != RESTING:
                continue  # unknown, filled or already cancelled: nothing to do
            s = side_o[oid]
            p = price_o[oid]
            nxt = next_o[oid]
            prv = prev_o[oid]
            if prv == -1:
                head_sp[s, p] = nxt
            else:
                next_o[prv] = nxt
            if nxt == -1:
                tail_sp[s, p] = prv
            else:
                prev_o[nxt] = prv
            q = resting_o[oid]
            depth_sp[s, p] -= q
            cancelled_o[oid] += q
            resting_o[oid] = 0
            status_o[oid] = CANCELLED
            n_resting -= 1
            id_e[e] = oid
            if head_sp[s, p] == -1:
                if s == BUY and p == best_bid:
                    while best_bid >= 0 and head_sp[BUY, best_bid] == -1:
                        best_bid -= 1
                elif s == SELL and p == best_ask:
                    while best_ask < n_prices and head_sp[SELL, best_ask] == -1:
                        best_ask += 1
            continue

        s = side_e[e]
        q = qty_e[e]
        p = price_e[e]
        if (kind != LIMIT and kind != MARKET) or (s != BUY and s != SELL) or q <= 0:
            continue
        if kind == LIMIT and (p < 0 or p >= n_prices):
            continue

        oid = n_orders
        n_orders += 1
        id_e[e] = oid
        side_o[oid] = s
        price_o[oid] = p if kind == LIMIT else -1
        qty_o[oid] = q
        filled_o[oid] = 0
        resting_o[oid] = 0
        cancelled_o[oid] = 0
        next_o[oid] = -1
        prev_o[oid] = -1
        remaining = q

        if s == BUY:
            limit = p if kind == LIMIT else n_prices - 1
            while remaining > 0 and best_ask <= limit:
                level = best_ask
                m = head_sp[SELL, level]
                while remaining > 0 and m != -1:
                    fill = min(resting_o[m], remaining)
                    trade_price_t[n_trades] = level
                    trade_qty_t[n_trades] = fill
                    trade_buy_t[n_trades] = oid
                    trade_sell_t[n_trades] = m
                    n_trades += 1
                    resting_o[m] -= fill
                    filled_o[m] += fill
                    filled_o[oid] += fill
                    depth_sp[SELL, level] -= fill
                    remaining -= fill
                    if resting_o[m] == 0:
                        status_o[m] = FILLED
                        n_resting -= 1
                        nxt = next_o[m]
                        head_sp[SELL, level] = nxt
                        if nxt == -1:
                            tail_sp[SELL, level] = -1
                        else:
                            prev_o[nxt] = -1
                        m = nxt
                last_price = level
                if head_sp[SELL, level] == -1:
                    while best_ask < n_prices and head_sp[SELL, best_ask] == -1:
                        best_ask += 1
        else:
            limit = p if kind == LIMIT else 0
            while remaining > 0 and best_bid >= 0 and best_bid >= limit:
                level = best_bid
                m = head_sp[BUY, level]
                while remaining > 0 and m != -1:
                    fill = min(resting_o[m], remaining)
                    trade_price_t[n_trades] = level
                    trade_qty_t[n_trades] = fill
                    trade_buy_t[n_trades] = m
                    trade_sell_t[n_trades] = oid
                    n_trades += 1
                    resting_o[m] -= fill
                    filled_o[m] += fill
                    filled_o[oid] += fill
                    depth_sp[BUY, level] -= fill
                    remaining -= fill
                    if resting_o[m] == 0:
                        status_o[m] = FILLED
                        n_resting -= 1
                        nxt = next_o[m]
                        head_sp[BUY, level] = nxt
                        if nxt == -1:
                            tail_sp[BUY, level] = -1
                        else:
                            prev_o[nxt] = -1
                        m = nxt
                last_price = level
                if head_sp[BUY, level] == -1:
                    while best_bid >= 0 and head_sp[BUY, best_bid] == -1:
                        best_bid -= 1

        if remaining == 0:
            status_o[oid] = FILLED
        elif kind == MARKET:
            cancelled_o[oid] = remaining  # nothing left to trade against: the rest expires
            status_o[oid] = CANCELLED
        else:
            tail = tail_sp[s, p]
            if tail == -1:
                head_sp[s, p] = oid
            else:
                next_o[tail] = oid
                prev_o[oid] = tail
            tail_sp[s, p] = oid
            depth_sp[s, p] += remaining
            resting_o[oid] = remaining
            status_o[oid] = RESTING
            n_resting += 1
            if s == BUY and p > best_bid:
                best_bid = p
            elif s == SELL and p < best_ask:
                best_ask = p

    meta[_BEST_BID] = best_bid
    meta[_BEST_ASK] = best_ask
    meta[_N_ORDERS] = n_orders
    meta[_N_TRADES] = n_trades
    meta[_LAST_PRICE] = last_price
    meta[_N_RESTING] = n_resting


@njit()
def match_in_empty_book(kind_e, side_e, price_e, qty_e, target_e, n_prices):
    """Process one batch of events through a fresh, empty book of ``n_prices`` ticks, from compiled
    code (a kernel that runs one book per market calls this). The events must be well formed (int8
    kinds and sides, int64 ticks, lots and targets, as ``LimitOrderBook.submit`` checks them).

    Returns (id per event, trade price, quantity, buy order, sell order, last trade price or −1);
    the trade arrays hold exactly the trades made. Same matching as ``LimitOrderBook.submit``.
    """
    n = kind_e.shape[0]
    cap = max(n, 1)  # an empty book makes at most one trade per event that is not its last fill
    head_sp = np.full((2, n_prices), -1, dtype=np.int64)
    tail_sp = np.full((2, n_prices), -1, dtype=np.int64)
    depth_sp = np.zeros((2, n_prices), dtype=np.int64)
    side_o = np.zeros(cap, dtype=np.int8)
    status_o = np.zeros(cap, dtype=np.int8)
    price_o, qty_o, filled_o = np.zeros(cap, np.int64), np.zeros(cap, np.int64), np.zeros(cap, np.int64)
    resting_o, cancelled_o = np.zeros(cap, np.int64), np.zeros(cap, np.int64)
    next_o, prev_o = np.zeros(cap, np.int64), np.zeros(cap, np.int64)
    trade_price_t, trade_qty_t = np.zeros(cap, np.int64), np.zeros(cap, np.int64)
    trade_buy_t, trade_sell_t = np.zeros(cap, np.int64), np.zeros(cap, np.int64)
    meta = np.array([-1, n_prices, 0, 0, -1, 0], dtype=np.int64)
    id_e = np.empty(n, dtype=np.int64)
    _process_events(
        kind_e, side_e, price_e, qty_e, target_e, id_e,
        head_sp, tail_sp, depth_sp,
        side_o, price_o, qty_o, filled_o, resting_o, cancelled_o, status_o, next_o, prev_o,
        trade_price_t, trade_qty_t, trade_buy_t, trade_sell_t,
        meta,
    )  # fmt: skip
    k = meta[_N_TRADES]
    return id_e, trade_price_t[:k], trade_qty_t[:k], trade_buy_t[:k], trade_sell_t[:k], meta[_LAST_PRICE]


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


def day_of_limit_orders(buy_tick_n, sell_tick_n, buy_lots_n, sell_lots_n, buy_arrival_n, sell_arrival_n,
                        n_prices, origin, price_at_origin, price_per_tick, lot, agents_4n, price_volume_2):  # fmt: skip
    """One market's day of limit orders, for a compiled map over markets (``engine.per_run``).

    Every agent i has at most one buy (``buy_lots_n[i]`` > 0 lots at tick ``buy_tick_n[i]``) and one
    sell; the live ones arrive in the order of their arrival keys (a stable sort, buys before sells
    on a tie) at a fresh book of ``n_prices`` ticks. Tick k is worth price_at_origin + (k − origin)·
    price_per_tick per unit and a lot is ``lot`` units. Each trade's units and cash are added, in
    trade order, to its buyer's and seller's entries of ``agents_4n`` (bought, sold, paid, received
    by agent); where anything trades, ``price_volume_2`` becomes (the last trade's price, the units
    traded, summed in numpy's pairwise order). The lots must be at most ``MAX_QUANTITY`` and the ticks
    inside the book: the caller builds them, and nothing is checked here.
    """
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
        np.full(n_live, -1, dtype=np.int64), n_prices,
    )  # fmt: skip
    if trade_lots.shape[0] == 0:
        return
    owner_o = np.empty(n_live, dtype=np.int64)
    for e in range(n_live):
        if ids[e] >= 0:
            owner_o[ids[e]] = owner[order[e]]
    units = trade_lots * lot
    for t in range(units.shape[0]):
        cash = units[t] * (price_at_origin + (trade_tick[t] - origin) * price_per_tick)
        buyer, seller = owner_o[buy_order[t]], owner_o[sell_order[t]]
        agents_4n[0, buyer] += units[t]
        agents_4n[1, seller] += units[t]
        agents_4n[2, buyer] += cash
        agents_4n[3, seller] += cash
    price_volume_2[0] = price_at_origin + (last - origin) * price_per_tick
    price_volume_2[1] = _pairwise_sum(units)


@njit()
def _depth_levels(head_sp, depth_sp, best, step, n_levels, price_out, qty_out):
    """Walk from ``best`` in direction ``step`` collecting up to n_levels nonempty levels."""
    n_prices = depth_sp.shape[1]
    side = 0 if step < 0 else 1
    found = 0
    p = best
    while found < n_levels and p >= 0 and p < n_prices:
        if head_sp[side, p] != -1:
            price_out[found] = p
            qty_out[found] = depth_sp[side, p]
            found += 1
        p += step
    return found


class Trades(NamedTuple):
    price: np.ndarray  # tick of the resting (maker) order
    quantity: np.ndarray
    buy_order: np.ndarray  # order ids
    sell_order: np.ndarray


class OrderTable(NamedTuple):
    """Per-order record, indexed by order id (ids are 0, 1, 2, … in arrival order)."""

    side: np.ndarray
    price: np.ndarray  # −1 for market orders
    quantity: np.ndarray  # submitted
    filled: np.ndarray
    resting: np.ndarray
    cancelled: np.ndarray
    status: np.ndarray  # RESTING, FILLED or CANCELLED
    owner: np.ndarray


class DepthSnapshot(NamedTuple):
    bid_price: np.ndarray  # best first
    bid_quantity: np.ndarray
    ask_price: np.ndarray  # best first
    ask_quantity: np.ndarray


def _grown(a: np.ndarray, size: int) -> np.ndarray:
    out = np.empty(size, dtype=a.dtype)
    out[: a.size] = a
    return out


class LimitOrderBook:
    """One price-time priority order book over price ticks 0 … n_prices − 1.

    Submit whole arrays of events with ``submit`` (the fast path: one compiled call per batch), or
    single orders with ``limit``, ``market`` and ``cancel``.
    """

    _ORDER_FIELDS = ("side_o", "price_o", "qty_o", "filled_o", "resting_o", "cancelled_o",
                     "status_o", "next_o", "prev_o", "owner_o")  # fmt: skip
    _TRADE_FIELDS = ("trade_price_t", "trade_qty_t", "trade_buy_t", "trade_sell_t")
    # per-order and per-trade arrays, set (and grown) by name through the field tuples above
    side_o: np.ndarray
    price_o: np.ndarray
    qty_o: np.ndarray
    filled_o: np.ndarray
    resting_o: np.ndarray
    cancelled_o: np.ndarray
    status_o: np.ndarray
    next_o: np.ndarray
    prev_o: np.ndarray
    owner_o: np.ndarray
    trade_price_t: np.ndarray
    trade_qty_t: np.ndarray
    trade_buy_t: np.ndarray
    trade_sell_t: np.ndarray

    def __init__(self, n_prices: int, capacity: int = 1024):
        if n_prices <= 0:
            raise ValueError("n_prices must be positive")
        self.n_prices = int(n_prices)
        self.head_sp = np.full((2, n_prices), -1, dtype=np.int64)
        self.tail_sp = np.full((2, n_prices), -1, dtype=np.int64)
        self.depth_sp = np.zeros((2, n_prices), dtype=np.int64)
        self.side_o = np.zeros(capacity, dtype=np.int8)
        self.status_o = np.zeros(capacity, dtype=np.int8)
        for name in (
            "price_o",
            "qty_o",
            "filled_o",
            "resting_o",
            "cancelled_o",
            "next_o",
            "prev_o",
            "owner_o",
        ):
            setattr(self, name, np.zeros(capacity, dtype=np.int64))
        for name in self._TRADE_FIELDS:
            setattr(self, name, np.zeros(capacity, dtype=np.int64))
        self.meta = np.array([-1, n_prices, 0, 0, -1, 0], dtype=np.int64)

    # ---------------------------------------------------------------- state
    @property
    def best_bid(self) -> int | None:
        b = int(self.meta[_BEST_BID])
        return None if b < 0 else b

    @property
    def best_ask(self) -> int | None:
        a = int(self.meta[_BEST_ASK])
        return None if a >= self.n_prices else a

    @property
    def last_price(self) -> int | None:
        p = int(self.meta[_LAST_PRICE])
        return None if p < 0 else p

    @property
    def n_orders(self) -> int:
        return int(self.meta[_N_ORDERS])

    @property
    def n_trades(self) -> int:
        return int(self.meta[_N_TRADES])

    @property
    def n_resting(self) -> int:
        return int(self.meta[_N_RESTING])

    def trades(self) -> Trades:
        n = self.n_trades
        return Trades(*(getattr(self, f)[:n].copy() for f in self._TRADE_FIELDS))

    def orders(self) -> OrderTable:
        n = self.n_orders
        return OrderTable(
            *(getattr(self, f)[:n].copy()
              for f in ("side_o", "price_o", "qty_o", "filled_o", "resting_o", "cancelled_o", "status_o", "owner_o"))
        )  # fmt: skip

    def depth(self, n_levels: int = 10) -> DepthSnapshot:
        """Quantity at the best ``n_levels`` nonempty price levels on each side."""
        out = [np.zeros(n_levels, dtype=np.int64) for _ in range(4)]
        nb = _depth_levels(self.head_sp, self.depth_sp, self.meta[_BEST_BID], -1, n_levels, out[0], out[1])
        na = _depth_levels(self.head_sp, self.depth_sp, self.meta[_BEST_ASK], 1, n_levels, out[2], out[3])
        return DepthSnapshot(out[0][:nb], out[1][:nb], out[2][:na], out[3][:na])

    # ---------------------------------------------------------------- events
    def _ensure_capacity(self, n_events: int) -> None:
        need_orders = self.n_orders + n_events
        if need_orders > self.side_o.size:
            size = max(need_orders, 2 * self.side_o.size)
            for f in self._ORDER_FIELDS:
                setattr(self, f, _grown(getattr(self, f), size))
        # Every trade but the last of an incoming order fully fills a resting order, so a batch makes
        # at most (resting orders + events) trades.
        need_trades = self.n_trades + self.n_resting + n_events
        if need_trades > self.trade_price_t.size:
            size = max(need_trades, 2 * self.trade_price_t.size)
            for f in self._TRADE_FIELDS:
                setattr(self, f, _grown(getattr(self, f), size))

    def submit(
        self,
        kind: ArrayLike,
        side: ArrayLike,
        price: ArrayLike,
        quantity: ArrayLike,
        target: ArrayLike | None = None,
        owner: ArrayLike | None = None,
    ) -> np.ndarray:
        """Process events in order. Returns the order id per event (the cancelled id for a cancel);
        −1 for rejected events (bad side/price/quantity, or a cancel of an order not resting).

        kind: LIMIT, MARKET or CANCEL; side: BUY or SELL; price: tick (ignored for market orders);
        quantity: lots; target: order id to cancel (cancel events only); owner: an agent id stored
        with each order. Raises ``OrderError`` (nothing is processed) for a malformed event: see the
        module docstring.
        """
        kind_all = np.ravel(np.asarray(kind))
        n = kind_all.size
        kinds = _integers("kind", kind_all, n, lambda: np.ones(n, dtype=bool))
        sides = _integers("side", side, n, lambda: kinds != CANCEL)
        qty_e = np.ascontiguousarray(_integers("quantity", quantity, n, lambda: kinds != CANCEL))
        bad, reason, total = _first_bad_event(kinds, sides, qty_e, MAX_QUANTITY)
        if reason == _BAD_KIND:
            raise OrderError(f"kind of event {bad} is {kinds[bad]}: must be one of (LIMIT, MARKET, CANCEL)")
        if reason == _BAD_SIDE:
            raise OrderError(f"side of event {bad} is {sides[bad]}: must be one of (BUY, SELL)")
        if reason == _TOO_BIG:
            raise OrderError(f"quantity of event {bad} is {qty_e[bad]} lots, above MAX_QUANTITY = 2**53")
        # the depth of a level is an int64 sum of resting lots: keep every possible sum in range
        if total + float(self.depth_sp.sum()) >= 2.0**62:
            raise OrderError("the batch's quantities could overflow a price level's int64 depth")
        price_e = np.ascontiguousarray(_integers("price", price, n, lambda: kinds == LIMIT))
        target_e = np.ascontiguousarray(
            _integers("target", -1 if target is None else target, n, lambda: kinds == CANCEL)
        )
        kind_e = kinds.astype(np.int8)
        side_e = sides.astype(np.int8)  # a cancel's side may be anything: the kernel never reads it
        id_e = np.empty(n, dtype=np.int64)
        self._ensure_capacity(n)
        _process_events(
            kind_e, side_e, price_e, qty_e, target_e, id_e,
            self.head_sp, self.tail_sp, self.depth_sp,
            self.side_o, self.price_o, self.qty_o, self.filled_o, self.resting_o, self.cancelled_o,
            self.status_o, self.next_o, self.prev_o,
            self.trade_price_t, self.trade_qty_t, self.trade_buy_t, self.trade_sell_t,
            self.meta,
        )  # fmt: skip
        if owner is not None:
            new = (id_e >= 0) & (kind_e != CANCEL)
            self.owner_o[id_e[new]] = np.broadcast_to(owner, (n,))[new]
        return id_e

    def limit(self, side: int, price: int, quantity: int, owner: int = 0) -> int:
        return int(self.submit([LIMIT], side, price, quantity, owner=owner)[0])

    def market(self, side: int, quantity: int, owner: int = 0) -> int:
        return int(self.submit([MARKET], side, 0, quantity, owner=owner)[0])

    def cancel(self, order_id: int) -> bool:
        """Cancel the rest of a resting order; False if it was not resting."""
        return bool(self.submit([CANCEL], 0, 0, 0, target=order_id)[0] >= 0)


def random_order_flow(
    rng: np.random.Generator,
    n_events: int,
    n_prices: int,
    *,
    mid: int | None = None,
    spread: float = 20.0,
    mean_quantity: float = 10.0,
    share_market: float = 0.1,
    share_cancel: float = 0.2,
) -> dict[str, np.ndarray]:
    """Zero-intelligence order flow for ``submit``: a random mix of limit, market and cancel events.

    Limit prices are mid + Normal(0, spread) ticks, so about half rest and half cross the mid; quantities are 1 + Poisson(mean − 1); cancels target a uniformly chosen earlier
    order (which may already be gone).
    """
    mid = n_prices // 2 if mid is None else mid
    u = rng.random(n_events)
    kind = np.where(u < share_cancel, CANCEL, np.where(u < share_cancel + share_market, MARKET, LIMIT))
    side = rng.integers(0, 2, n_events)
    offset = np.rint(rng.normal(0.0, spread, n_events)).astype(np.int64)
    # A buy at mid − |offset| rests; one at mid + |offset| crosses (and vice versa for sells).
    direction = np.where(side == BUY, -1, 1)
    price = np.clip(mid + direction * offset, 0, n_prices - 1)
    quantity = 1 + rng.poisson(max(mean_quantity - 1.0, 0.0), n_events)
    is_order = kind != CANCEL
    prior_orders = np.cumsum(is_order) - is_order
    target = np.where(prior_orders > 0, (rng.random(n_events) * prior_orders).astype(np.int64), -1)
    return {"kind": kind, "side": side, "price": price, "quantity": quantity, "target": target}
