"""Market clearing: call auction volume maximisation, Walrasian prices, tâtonnement."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from econsim.mechanisms.market_clearing import (
    ExcessDemandError,
    call_auction,
    call_auction_batch,
    price_adjustment,
    walrasian_price,
    walrasian_price_brentq,
)


def volume_at(p, bp, bq, sp, sq):
    return min(bq[bp >= p].sum(), sq[sp <= p].sum())


def test_call_auction_hand_example():
    # Bids: 10@12, 5@11, 8@10; asks: 6@9, 7@10, 9@11.
    # D(10)=23, O(10)=13 → 13; D(11)=15, O(11)=22 → 15; D(12)=10 → 10. Max volume 15 at 11.
    bp, bq = np.array([12.0, 11.0, 10.0]), np.array([10.0, 5.0, 8.0])
    sp, sq = np.array([9.0, 10.0, 11.0]), np.array([6.0, 7.0, 9.0])
    r = call_auction(bp, bq, sp, sq)
    assert (r.price, r.volume, r.imbalance) == (11.0, 15.0, 15.0 - 22.0)
    np.testing.assert_array_equal(r.buy_fill, [10.0, 5.0, 0.0])
    # Sellers at 9 and 10 fill fully (13), the ask at 11 gets the last 2.
    np.testing.assert_array_equal(r.sell_fill, [6.0, 7.0, 2.0])


def test_call_auction_ties_use_reference_price_and_no_cross_gives_nan():
    bp, bq = np.array([10.0]), np.array([5.0])
    sp, sq = np.array([8.0]), np.array([5.0])
    # Volume 5 at both 8 and 10 with zero surplus: the reference price picks.
    assert call_auction(bp, bq, sp, sq, reference_price=9.9).price == 10.0
    assert call_auction(bp, bq, sp, sq, reference_price=7.0).price == 8.0
    none = call_auction(np.array([5.0]), np.array([1.0]), np.array([6.0]), np.array([1.0]))
    assert np.isnan(none.price) and none.volume == 0.0 and none.buy_fill.tolist() == [0.0]


orders = st.lists(st.tuples(st.integers(1, 30), st.integers(1, 20)), min_size=1, max_size=25)


@settings(max_examples=300, deadline=None)
@given(buys=orders, sells=orders)
def test_call_auction_maximises_volume_and_fills_consistently(buys, sells):
    bp, bq = (np.array(c, float) for c in zip(*buys, strict=True))
    sp, sq = (np.array(c, float) for c in zip(*sells, strict=True))
    r = call_auction(bp, bq, sp, sq)
    grid = np.arange(0.0, 31.5, 0.25)
    best = max(volume_at(p, bp, bq, sp, sq) for p in grid)
    assert r.volume == best
    if best == 0:
        assert np.isnan(r.price)
        return
    assert volume_at(r.price, bp, bq, sp, sq) == best
    assert r.buy_fill.sum() == r.sell_fill.sum() == r.volume
    assert np.all((r.buy_fill >= 0) & (r.buy_fill <= bq)) and np.all((r.sell_fill >= 0) & (r.sell_fill <= sq))
    # Nobody trades through their limit.
    assert np.all(r.buy_fill[bp < r.price] == 0) and np.all(r.sell_fill[sp > r.price] == 0)
    # Price priority: a buyer left short means every lower bid got nothing (likewise for sellers).
    for i in np.flatnonzero(r.buy_fill < bq):
        assert np.all(r.buy_fill[bp < bp[i]] == 0)
    for i in np.flatnonzero(r.sell_fill < sq):
        assert np.all(r.sell_fill[sp > sp[i]] == 0)


@settings(max_examples=100, deadline=None)
@given(
    runs=st.lists(st.tuples(orders, orders), min_size=1, max_size=6),
    width=st.integers(25, 30),
    pad_price=st.integers(0, 40),
    use_reference=st.booleans(),
)
def test_batched_call_auction_matches_one_market_at_a_time(runs, width, pad_price, use_reference):
    n = len(runs)
    arrays = {k: np.full((n, width), float(pad_price)) for k in ("bp", "sp")}
    arrays |= {k: np.zeros((n, width)) for k in ("bq", "sq")}  # quantity-0 padding never trades
    reference = np.linspace(5.0, 25.0, n)
    for r, (buys, sells) in enumerate(runs):
        arrays["bp"][r, : len(buys)], arrays["bq"][r, : len(buys)] = zip(*buys, strict=True)
        arrays["sp"][r, : len(sells)], arrays["sq"][r, : len(sells)] = zip(*sells, strict=True)
    batch = call_auction_batch(
        arrays["bp"], arrays["bq"], arrays["sp"], arrays["sq"], reference if use_reference else None
    )
    for r, (buys, sells) in enumerate(runs):
        nb, ns = len(buys), len(sells)
        one = call_auction(
            arrays["bp"][r, :nb], arrays["bq"][r, :nb], arrays["sp"][r, :ns], arrays["sq"][r, :ns],
            reference[r] if use_reference else None,
        )  # fmt: skip
        np.testing.assert_array_equal(batch.price[r], one.price)
        assert (batch.volume[r], batch.imbalance[r]) == (one.volume, one.imbalance)
        np.testing.assert_array_equal(batch.buy_fill[r, :nb], one.buy_fill)
        np.testing.assert_array_equal(batch.sell_fill[r, :ns], one.sell_fill)
        assert np.all(batch.buy_fill[r, nb:] == 0) and np.all(batch.sell_fill[r, ns:] == 0)


def test_zero_quantity_orders_do_not_set_the_price():
    # Volume 5 at 8, 9 and 10; the old call_auction let the 0-lot sell at 9 be a candidate and the
    # middle of the tie (9) won, while call_auction_batch (which skipped it) said 8.
    bp, bq, sp, sq = np.array([10.0]), np.array([5.0]), np.array([8.0, 9.0]), np.array([5.0, 0.0])
    one = call_auction(bp, bq, sp, sq)
    batch = call_auction_batch(bp[None], bq[None], sp[None], sq[None])
    assert one.price == batch.price[0] == 8.0
    # A 0-lot bid at 20 must not pull a reference-price tie-break to itself either.
    with_ref = call_auction(
        np.array([10.0, 20.0]), np.array([5.0, 0.0]), np.array([8.0]), np.array([5.0]), 19.0
    )
    assert with_ref.price == 10.0 and with_ref.buy_fill.tolist() == [5.0, 0.0]
    assert call_auction(
        np.array([10.0]), np.array([0.0]), np.array([8.0]), np.array([5.0])
    ).buy_fill.shape == (1,)


zero_or_more = st.lists(
    st.tuples(st.integers(1, 30), st.sampled_from([0, 0, 1, 2, 5, 20, -3])), min_size=1, max_size=20
)


@settings(max_examples=150, deadline=None)
@given(buys=zero_or_more, sells=zero_or_more, use_reference=st.booleans())
def test_orders_of_no_quantity_change_nothing_in_either_auction(buys, sells, use_reference):
    """The class of the bug: adding orders with quantity ≤ 0 anywhere changes no result, in the single
    and the batched auction, compared with the auction on the real orders alone (the reference)."""
    bp, bq = (np.array(c, float) for c in zip(*buys, strict=True))
    sp, sq = (np.array(c, float) for c in zip(*sells, strict=True))
    reference = 15.5 if use_reference else None
    real_b, real_s = bq > 0, sq > 0
    alone = call_auction(bp[real_b], bq[real_b], sp[real_s], sq[real_s], reference)
    one = call_auction(bp, bq, sp, sq, reference)
    batch = call_auction_batch(
        bp[None], bq[None], sp[None], sq[None], None if reference is None else [reference]
    )
    for got in (one, BatchAuctionLike(batch)):
        np.testing.assert_array_equal(got.price, alone.price)
        assert (got.volume, got.imbalance) == (alone.volume, alone.imbalance)
        np.testing.assert_array_equal(got.buy_fill[real_b], alone.buy_fill)
        np.testing.assert_array_equal(got.sell_fill[real_s], alone.sell_fill)
        assert np.all(got.buy_fill[~real_b] == 0) and np.all(got.sell_fill[~real_s] == 0)


class BatchAuctionLike:
    """A one-run batch result read like an AuctionResult."""

    def __init__(self, batch):
        self.price, self.volume, self.imbalance = batch.price[0], batch.volume[0], batch.imbalance[0]
        self.buy_fill, self.sell_fill = batch.buy_fill[0], batch.sell_fill[0]


def test_walrasian_price_linear_markets_by_run():
    # D = a − b·P, O = c + d·P  ⇒  P* = (a − c)/(b + d)
    a = np.array([100.0, 50.0, 7.0, 1e6])
    b = np.array([2.0, 0.5, 0.1, 3.0])
    c = np.array([10.0, 0.0, 1.0, 1.0])
    d = np.array([1.0, 0.25, 0.2, 7.0])
    price = walrasian_price(lambda p: (a - b * p) - (c + d * p), 0.0, 1e7)
    np.testing.assert_allclose(price, (a - c) / (b + d), rtol=1e-12)


def test_walrasian_price_cobb_douglas_and_brentq_agree():
    # D = α·W/P, O = β·P  ⇒  P* = √(α·W/β)
    alpha, wealth, beta = 0.3, 1e4, 2.5
    expected = np.sqrt(alpha * wealth / beta)
    vec = walrasian_price(lambda p: alpha * wealth / p - beta * p, 1e-6, 1e6)
    one = walrasian_price_brentq(lambda p: alpha * wealth / p, lambda p: beta * p, 1e-6, 1e6)
    assert vec == pytest.approx(expected, rel=1e-12)
    assert one == pytest.approx(expected, rel=1e-12)


def test_walrasian_price_without_bracket_is_a_named_error_or_nan_on_request():
    def z(p):
        return 5.0 - p

    with pytest.raises(ExcessDemandError, match=r"run\(s\) 1: no bracket"):
        walrasian_price(z, np.array([0.0, 6.0]), np.array([10.0, 10.0]))
    price = walrasian_price(z, np.array([0.0, 6.0]), np.array([10.0, 10.0]), on_failure="nan")
    assert price[0] == pytest.approx(5.0, rel=1e-12) and np.isnan(price[1])
    # increasing excess demand (supply and demand swapped) used to come back as a silent nan
    with pytest.raises(ExcessDemandError, match="not decreasing"):
        walrasian_price(lambda p: p - 5.0, 0.0, 10.0)
    with pytest.raises(ValueError, match="on_failure"):
        walrasian_price(z, 0.0, 10.0, on_failure="ignore")


def test_walrasian_price_sees_z_rising_inside_the_bracket():
    # Z(0) = 1 > 0 > Z(10) = −1, but Z climbs to 3 on (4, 6): not a decreasing excess demand
    def bumpy(p):
        return np.where(p < 4.0, 1.0 - p / 5, np.where(p < 6.0, 3.0, -1.0))

    with pytest.raises(ExcessDemandError, match="increasing"):
        walrasian_price(bumpy, 0.0, 10.0)
    assert np.isnan(walrasian_price(bumpy, np.zeros(2), np.full(2, 10.0), on_failure="nan")).all()


def step(edge, flat_to=None):
    """Z = +1 below ``edge``, 0 on [edge, flat_to], −1 above (a step excess demand)."""
    flat_to = edge if flat_to is None else flat_to

    def z(p):
        return np.where(p < edge, 1.0, np.where(p <= flat_to, 0.0, -1.0))

    return z


def test_walrasian_price_of_a_step_is_in_its_zero_set_or_at_its_edge():
    # The old solver returned the midpoint of its last bracket: 2.9999999999999716 with Z = +1 for
    # both of these, although Z = 0 on all of [3, 5] in the second.
    jump = walrasian_price(step(3.0), 0.0, 10.0)
    assert abs(jump - 3.0) <= 1e-13 * 3.0
    flat = walrasian_price(step(3.0, 5.0), 0.0, 10.0)
    assert step(3.0, 5.0)(flat) == 0.0 and 3.0 <= flat <= 3.0 * (1 + 1e-13)


@settings(max_examples=100, deadline=None)
@given(
    edge=st.floats(0.01, 99.0),
    width=st.floats(0.0, 50.0),
    low=st.floats(0.0, 0.009),
    high=st.floats(150.0, 1e4),
)
def test_walrasian_price_of_any_step_clears_or_sits_at_the_edge(edge, width, low, high):
    """The class of the bug: steps with and without a flat zero stretch, anywhere in the bracket."""
    z = step(edge, edge + width)
    price = float(walrasian_price(z, low, high))
    if width > 1e-12 * edge:
        assert z(price) == 0.0
    assert edge * (1 - 1e-12) <= price <= edge * (1 + 1e-12)


def test_price_adjustment_step_floor_and_convergence():
    p = price_adjustment(
        np.array([10.0, 1.0]), demand=np.array([30.0, 0.0]), supply=np.array([20.0, 50.0]), speed=0.1
    )
    np.testing.assert_allclose(p, [11.0, 0.0])  # second run hits the floor at zero
    # Normalised by supply: ΔP = g·(D − O)/S.
    assert price_adjustment(10.0, 30.0, 20.0, 0.1, scale=20.0) == pytest.approx(10.05, rel=1e-15)
    # Tâtonnement on D = 100 − 2P, O = 10 + P converges to P* = 30 when g·(b + d) < 2.
    price = np.array([1.0, 80.0])
    for _ in range(200):
        price = price_adjustment(price, 100 - 2 * price, 10 + price, speed=0.2)
    np.testing.assert_allclose(price, 30.0, rtol=1e-12)
