"""Limit order book: hand-checked scenarios, a pure-Python reference book, conservation."""

from __future__ import annotations

from collections import deque

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from econsim.mechanisms.order_book import (
    BUY,
    CANCEL,
    CANCELLED,
    FILLED,
    LIMIT,
    MARKET,
    RESTING,
    SELL,
    LimitOrderBook,
    OrderError,
    random_order_flow,
)


class ReferenceBook:
    """Price-time priority written the obvious way: a dict of FIFO deques per side."""

    def __init__(self, n_prices):
        self.n_prices = n_prices
        self.levels = {BUY: {}, SELL: {}}
        self.orders = []  # [side, price, qty, filled, resting, cancelled, status]
        self.trades = []

    def best(self, side):
        prices = [p for p, q in self.levels[side].items() if q]
        if not prices:
            return None
        return max(prices) if side == BUY else min(prices)

    def submit(self, kind, side, price, qty, target):
        if kind == CANCEL:
            if not 0 <= target < len(self.orders) or self.orders[target][6] != RESTING:
                return -1
            o = self.orders[target]
            self.levels[o[0]][o[1]].remove(target)
            o[5] += o[4]
            o[4] = 0
            o[6] = CANCELLED
            return target
        if qty <= 0 or (kind == LIMIT and not 0 <= price < self.n_prices):
            return -1
        oid = len(self.orders)
        o = [side, price if kind == LIMIT else -1, qty, 0, 0, 0, 0]
        self.orders.append(o)
        other = SELL if side == BUY else BUY
        while o[2] - o[3] > 0:
            best = self.best(other)
            if best is None or (kind == LIMIT and (best > price if side == BUY else best < price)):
                break
            queue = self.levels[other][best]
            maker = self.orders[queue[0]]
            fill = min(maker[4], o[2] - o[3])
            buy, sell = (oid, queue[0]) if side == BUY else (queue[0], oid)
            self.trades.append((best, fill, buy, sell))
            maker[4] -= fill
            maker[3] += fill
            o[3] += fill
            if maker[4] == 0:
                maker[6] = FILLED
                queue.popleft()
        left = o[2] - o[3]
        if left == 0:
            o[6] = FILLED
        elif kind == MARKET:
            o[5], o[6] = left, CANCELLED
        else:
            o[4], o[6] = left, RESTING
            self.levels[side].setdefault(price, deque()).append(oid)
        return oid


def test_hand_checked_scenario():
    book = LimitOrderBook(100)
    assert book.limit(BUY, 50, 10) == 0
    assert book.limit(BUY, 51, 5) == 1
    assert book.limit(SELL, 55, 7) == 2
    assert book.limit(SELL, 55, 3) == 3
    assert (book.best_bid, book.best_ask, book.last_price) == (51, 55, None)
    # Market buy of 8: all of order 2 (older) then 1 of order 3, at the resting price.
    assert book.market(BUY, 8) == 4
    t = book.trades()
    assert t.price.tolist() == [55, 55] and t.quantity.tolist() == [7, 1]
    assert t.buy_order.tolist() == [4, 4] and t.sell_order.tolist() == [2, 3]
    assert book.last_price == 55
    # A sell limit at 50 sweeps the bids best-first (51 then 50) and rests the remainder at 50.
    assert book.limit(SELL, 50, 20) == 5
    t = book.trades()
    assert t.price[2:].tolist() == [51, 50] and t.quantity[2:].tolist() == [5, 10]
    depth = book.depth(5)
    assert depth.bid_price.size == 0
    assert depth.ask_price.tolist() == [50, 55] and depth.ask_quantity.tolist() == [5, 2]
    assert (book.best_bid, book.best_ask, book.last_price) == (None, 50, 50)
    # Cancel the partially filled order 3: its remaining 2 are cancelled, the 1 filled stays filled.
    assert book.cancel(3)
    assert not book.cancel(3)
    assert not book.cancel(0)  # already filled
    o = book.orders()
    assert (o.quantity[3], o.filled[3], o.resting[3], o.cancelled[3], o.status[3]) == (3, 1, 0, 2, CANCELLED)
    assert book.best_ask == 50


def test_time_priority_within_a_level_and_price_priority_across_levels():
    book = LimitOrderBook(20)
    early = book.limit(SELL, 10, 5)
    better_but_later = book.limit(SELL, 9, 5)
    late = book.limit(SELL, 10, 5)
    book.limit(BUY, 10, 12)
    t = book.trades()
    assert t.sell_order.tolist() == [better_but_later, early, late]
    assert t.quantity.tolist() == [5, 5, 2]
    assert t.price.tolist() == [9, 10, 10]


def test_market_order_into_empty_side_is_cancelled_and_bad_events_are_rejected():
    book = LimitOrderBook(10)
    oid = book.market(SELL, 7)
    o = book.orders()
    assert (o.filled[oid], o.cancelled[oid], o.status[oid]) == (0, 7, CANCELLED)
    # well-formed orders the book cannot take are rejected with −1: a limit off the ticks, no lots,
    # a cancel of an unknown order
    ids = book.submit([LIMIT, LIMIT, MARKET, CANCEL], [BUY, BUY, BUY, BUY], [10, -1, 0, 0], [1, 1, 0, 0],
                      target=[0, 0, 0, 99])  # fmt: skip
    assert ids.tolist() == [-1, -1, -1, -1]
    assert book.n_orders == 1 and book.n_resting == 0


# Each of these was cast silently before the kernel: side 257 → int8 1 = SELL, kind 256 → LIMIT,
# tick 5.9 → 5 (a sell limit that trades below its limit), 2.7 lots → 2, 1e30 lots → int64 garbage.
MALFORMED = [
    ({"side": 257}, "side of event 0 is 257"),
    ({"side": 2}, "side of event 0 is 2: must be one of"),
    ({"kind": 256}, "kind of event 0 is 256"),
    ({"kind": 0.5}, "kind of event 0 is 0.5"),
    ({"price": 5.9}, "price of event 0 is 5.9"),
    ({"price": np.nan}, "price of event 0 is nan"),
    ({"quantity": 2.7}, "quantity of event 0 is 2.7"),
    ({"quantity": 1e30}, "quantity of event 0 is 1e[+]30"),
    ({"quantity": 2**53 + 2}, "above MAX_QUANTITY"),
    ({"quantity": np.uint64(2**64 - 1)}, "quantity of event 0 is 18446744073709551615"),
    ({"kind": CANCEL, "target": 1.5}, "target of event 0 is 1.5"),
    ({"price": "7"}, "price must be integers"),
]


@pytest.mark.parametrize(("change", "message"), MALFORMED, ids=[m for _, m in MALFORMED])
def test_malformed_events_are_refused_before_the_kernel(change, message):
    book = LimitOrderBook(10)
    book.limit(BUY, 5, 3)
    event = {"kind": LIMIT, "side": SELL, "price": 6, "quantity": 1, "target": -1, **change}
    with pytest.raises(OrderError, match=message):
        book.submit([event["kind"]], event["side"], event["price"], event["quantity"], event["target"])
    # nothing was processed: the book is as it was
    assert (book.n_orders, book.n_trades, book.best_bid) == (1, 0, 5)


def test_exact_float_ticks_and_lots_are_taken_and_unused_fields_are_not_checked():
    book = LimitOrderBook(10)
    # 6.0 and 2.0 are exactly integers; a market order's price and a cancel's side are never read
    assert book.submit([LIMIT], SELL, 6.0, 2.0).tolist() == [0]
    assert book.submit([MARKET], BUY, 4.5, 1).tolist() == [1]
    assert book.submit([CANCEL], 99, 0.5, 0.5, target=0).tolist() == [0]
    o = book.orders()
    assert (o.filled[0], o.cancelled[0], o.status[0]) == (1, 1, CANCELLED)


def test_a_batch_that_could_overflow_a_levels_depth_is_refused():
    book = LimitOrderBook(10)
    with pytest.raises(OrderError, match="overflow"):
        book.submit(np.full(600, LIMIT), BUY, 3, np.full(600, 2**53))
    assert book.n_orders == 0


def test_owner_is_recorded_and_capacity_grows():
    book = LimitOrderBook(1000, capacity=1)
    rng = np.random.default_rng(3)
    flow = random_order_flow(rng, 5000, 1000)
    owner = rng.integers(0, 50, 5000)
    ids = book.submit(**flow, owner=owner)
    placed = (ids >= 0) & (flow["kind"] != CANCEL)
    np.testing.assert_array_equal(book.orders().owner[ids[placed]], owner[placed])


def replay(n_prices, events):
    book, ref = LimitOrderBook(n_prices, capacity=4), ReferenceBook(n_prices)
    kind, side, price, qty, target = (np.array(c, dtype=np.int64) for c in zip(*events, strict=True))
    ids = book.submit(kind, side, price, qty, target)
    ref_ids = [ref.submit(*e) for e in events]
    return book, ref, ids, ref_ids


event = st.tuples(
    st.sampled_from([LIMIT, LIMIT, LIMIT, MARKET, CANCEL]),
    st.sampled_from([BUY, SELL]),
    st.integers(0, 11),
    st.integers(1, 8),
    st.integers(-1, 40),
)


@settings(max_examples=400, deadline=None)
@given(events=st.lists(event, min_size=1, max_size=60), split=st.integers(0, 60))
def test_matches_reference_book_exactly(events, split):
    n_prices = 12
    book, ref, ids, ref_ids = replay(n_prices, events)
    assert ids.tolist() == ref_ids
    t = book.trades()
    assert (
        list(
            zip(
                t.price.tolist(),
                t.quantity.tolist(),
                t.buy_order.tolist(),
                t.sell_order.tolist(),
                strict=True,
            )
        )
        == ref.trades
    )
    o = book.orders()
    table = np.array([o.side, o.price, o.quantity, o.filled, o.resting, o.cancelled, o.status]).T.tolist()
    assert table == ref.orders
    assert book.best_bid == ref.best(BUY) and book.best_ask == ref.best(SELL)
    # Submitting in two batches gives the same book as one.
    halves = LimitOrderBook(n_prices, capacity=2)
    cols = [np.array(c, dtype=np.int64) for c in zip(*events, strict=True)]
    halves.submit(*(c[:split] for c in cols))
    halves.submit(*(c[split:] for c in cols))
    np.testing.assert_array_equal(halves.trades().quantity, t.quantity)
    np.testing.assert_array_equal(halves.orders().status, o.status)


def check_book_invariants(book):
    o = book.orders()
    # Conservation order by order.
    np.testing.assert_array_equal(o.quantity, o.filled + o.resting + o.cancelled)
    t = book.trades()
    # Every traded unit is one unit filled on each side.
    assert t.quantity.sum() == o.filled[o.side == BUY].sum() == o.filled[o.side == SELL].sum()
    np.testing.assert_array_equal(
        np.bincount(t.buy_order, t.quantity, minlength=o.quantity.size), o.filled * (o.side == BUY)
    )
    np.testing.assert_array_equal(
        np.bincount(t.sell_order, t.quantity, minlength=o.quantity.size), o.filled * (o.side == SELL)
    )
    # Resting quantity is exactly what the price levels hold, and the book is not crossed.
    assert book.depth_sp.sum() == o.resting.sum()
    assert (o.resting > 0).sum() == book.n_resting == (o.status == RESTING).sum()
    if book.best_bid is not None and book.best_ask is not None:
        assert book.best_bid < book.best_ask
    # Price priority: a buyer never pays above its limit, a seller never receives below it.
    limit_buy = o.price[t.buy_order] >= 0
    assert np.all(t.price[limit_buy] <= o.price[t.buy_order][limit_buy])
    limit_sell = o.price[t.sell_order] >= 0
    assert np.all(t.price[limit_sell] >= o.price[t.sell_order][limit_sell])


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), spread=st.floats(1.0, 50.0), share_cancel=st.floats(0.0, 0.5))
def test_random_flow_conserves_quantity(seed, spread, share_cancel):
    book = LimitOrderBook(400)
    flow = random_order_flow(
        np.random.default_rng(seed), 20_000, 400, spread=spread, share_cancel=share_cancel
    )
    book.submit(**flow)
    check_book_invariants(book)
    assert book.n_trades > 0
    depth = book.depth(1000)
    assert np.all(np.diff(depth.bid_price) < 0) and np.all(np.diff(depth.ask_price) > 0)
    assert depth.bid_quantity.sum() + depth.ask_quantity.sum() == book.orders().resting.sum()


@settings(max_examples=150, deadline=None)
@given(
    events=st.lists(event, min_size=1, max_size=30),
    nudges=st.lists(st.sampled_from([0.0, 0.0, 0.0, 0.5, 0.25, 1e-9, -0.3]), min_size=60, max_size=60),
)
def test_float_input_is_taken_only_when_exact_and_then_matches_integer_input(events, nudges):
    """The class of the bug: prices and quantities given as floats either are exact integers (and
    trade exactly as the integers would) or the whole batch is refused; nothing is truncated."""
    kind, side, price, qty, target = (np.array(c, dtype=np.int64) for c in zip(*events, strict=True))
    n = kind.size
    price_f = price + np.array(nudges[:n])
    qty_f = qty + np.array(nudges[30 : 30 + n])
    used_price, used_qty = kind == LIMIT, kind != CANCEL
    exact = np.all((price_f == price) | ~used_price) and np.all((qty_f == qty) | ~used_qty)
    as_floats = LimitOrderBook(12)
    if not exact:
        with pytest.raises(OrderError):
            as_floats.submit(kind, side, price_f, qty_f, target)
        assert as_floats.n_orders == 0
        return
    as_ints = LimitOrderBook(12)
    np.testing.assert_array_equal(
        as_floats.submit(kind, side, price_f, qty_f, target), as_ints.submit(kind, side, price, qty, target)
    )
    np.testing.assert_array_equal(as_floats.trades().quantity, as_ints.trades().quantity)
    np.testing.assert_array_equal(as_floats.orders().status, as_ints.orders().status)
