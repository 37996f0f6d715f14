"""Market clearing: call auction volume maximisation, Walrasian prices, tâtonnement."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from econsim.mechanisms.market_clearing import (
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


def test_walrasian_price_without_bracket_is_nan():
    price = walrasian_price(lambda p: 5.0 - p, np.array([0.0, 6.0]), np.array([10.0, 10.0]))
    assert price[0] == pytest.approx(5.0, rel=1e-12) and np.isnan(price[1])


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
