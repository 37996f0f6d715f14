"""AMMs: v2 swap arithmetic against exact fractions, the invariant, liquidity; v3 ranges and ticks."""

from __future__ import annotations

from decimal import Decimal, getcontext
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from econsim.mechanisms.amm import (
    ConcentratedLiquidityPool,
    ConstantProductPool,
    add_liquidity,
    amounts_for_liquidity,
    price_to_tick,
    remove_liquidity,
    swap,
    swap_input_for_output,
    swap_output,
    tick_to_price,
    tick_to_sqrt_price,
)


def rel_err(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    return np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-300))


def exact_out(x, y, a, f):
    x, y, a, f = map(Fraction, (x, y, a, f))
    return a * (1 - f) * y / (x + a * (1 - f))


def pool(x, y):
    return add_liquidity(ConstantProductPool.empty(np.shape(x)), x, y).pool


@pytest.mark.parametrize(
    ("x", "y", "a", "f"),
    [(1000.0, 2000.0, 10.0, 0.003), (1e6, 3.5, 1.0, 0.003), (5.0, 7.0, 1e4, 0.01), (1e-3, 1e9, 2e-7, 0.0)],
)
def test_swap_output_is_uniswap_v2_formula(x, y, a, f):
    assert rel_err(swap_output(x, y, a, f), float(exact_out(x, y, a, f))) < 1e-12
    needed = swap_input_for_output(x, y, float(exact_out(x, y, a, f)), f)
    assert rel_err(needed, a) < 1e-12


def test_exact_output_beyond_reserve_is_impossible():
    assert swap_input_for_output(100.0, 50.0, 50.0, 0.003) == np.inf
    assert swap_input_for_output(100.0, 50.0, 60.0, 0.003) == np.inf


def test_swap_moves_reserves_by_run_and_direction():
    p = pool(np.array([1000.0, 1000.0, 400.0]), np.array([2000.0, 2000.0, 100.0]))
    result = swap(p, np.array([10.0, 10.0, 0.0]), fee=0.003, x_to_y=np.array([True, False, True]))
    out0 = float(exact_out(1000, 2000, 10, 0.003))
    out1 = float(exact_out(2000, 1000, 10, 0.003))
    np.testing.assert_allclose(result.amount_out, [out0, out1, 0.0], rtol=1e-12)
    np.testing.assert_allclose(result.pool.reserve_x, [1010.0, 1000.0 - out1, 400.0], rtol=1e-15)
    np.testing.assert_allclose(result.pool.reserve_y, [2000.0 - out0, 2010.0, 100.0], rtol=1e-15)
    # Price impact includes the fee: for a tiny trade it tends to f.
    tiny = swap(p, 1e-9, fee=0.003)
    np.testing.assert_allclose(tiny.price_impact, 0.003, rtol=1e-5)
    assert result.price_impact[2] == 0.0


def exact_impact(x, y, a, f):
    """1 − (dy/a)/(y/x) in exact arithmetic."""
    return 1 - exact_out(x, y, a, f) / Fraction(a) / (Fraction(y) / Fraction(x))


# Tiny trades against large reserves: the old swap took the output as y − y' after rounding y' up,
# which kept only the digits of dy above ulp(y) (e.g. rel. error 9.9e-5 and a price impact of 9.9e-5
# where the truth is ~1e-12, and an output of 0 at a = 2e-18).
@pytest.mark.parametrize(
    ("x", "y", "a", "f"),
    [(1.0, 1.0, 1e-12, 0.003), (1e6, 1e6, 1e-6, 0.0), (1000.0, 2000.0, 1e-9, 0.0),
     (0.015245876907195375, 92465037.16931307, 2.1582894155084642e-18, 0.0), (5.0, 7.0, 1e4, 0.01)],
)  # fmt: skip
def test_swap_output_and_price_impact_keep_their_digits_for_tiny_trades(x, y, a, f):
    result = swap(pool(np.array([x]), np.array([y])), a, f)
    assert rel_err(result.amount_out, float(exact_out(x, y, a, f))) < 1e-15
    assert rel_err(result.price_impact, float(exact_impact(x, y, a, f))) < 1e-15
    assert rel_err(result.average_price, float(exact_out(x, y, a, f) / Fraction(a))) < 1e-15


@settings(max_examples=300, deadline=None)
@given(
    x=st.floats(1e-3, 1e9),
    y=st.floats(1e-3, 1e9),
    log_ratio=st.floats(-17.0, 3.0),
    fee=st.sampled_from([0.0, 1e-4, 0.003, 0.01, 0.3]),
    x_to_y=st.booleans(),
)
def test_swap_output_and_impact_match_exact_arithmetic_at_every_trade_size(x, y, log_ratio, fee, x_to_y):
    """The class of the bug: any trade size relative to the reserves, checked against Fractions."""
    reserve_in, reserve_out = (x, y) if x_to_y else (y, x)
    a = reserve_in * 10.0**log_ratio
    result = swap(pool(np.array([x]), np.array([y])), a, fee, x_to_y)
    assert rel_err(result.amount_out, float(exact_out(reserve_in, reserve_out, a, fee))) < 2e-15
    assert rel_err(result.price_impact, float(exact_impact(reserve_in, reserve_out, a, fee))) < 2e-15
    # the pool keeps at least y − dy (its rounding dust stays in the pool) and k does not fall
    new_out = result.pool.reserve_y[0] if x_to_y else result.pool.reserve_x[0]
    assert Fraction(new_out) + Fraction(result.amount_out[0]) >= Fraction(reserve_out) * (
        1 - Fraction(1, 2**51)
    )
    assert result.pool.invariant[0] >= x * y


@settings(max_examples=200, deadline=None)
@given(
    x=st.floats(1e-3, 1e9),
    y=st.floats(1e-3, 1e9),
    fee=st.floats(0.0, 0.05),
    trades=st.lists(st.tuples(st.floats(0.0, 1e9), st.booleans()), min_size=1, max_size=30),
)
def test_invariant_never_decreases(x, y, fee, trades):
    p = pool(np.array([x]), np.array([y]))
    for amount, x_to_y in trades:
        k_before = p.invariant[0]
        reserve_in = p.reserve_x[0] if x_to_y else p.reserve_y[0]
        result = swap(p, amount, fee, x_to_y)
        p = result.pool
        k_after = p.invariant[0]
        # k' = k·(x + a)/(x + a(1 − f)); reserves round in the pool's favour so float k never falls.
        growth = (reserve_in + amount) / (reserve_in + amount * (1 - fee))
        assert k_after >= k_before
        assert k_after == pytest.approx(k_before * growth, rel=1e-12)
        assert result.amount_out >= 0
        assert p.reserve_x[0] > 0 and p.reserve_y[0] > 0


def test_liquidity_first_deposit_proportional_adds_and_removal():
    p0 = ConstantProductPool.empty(2)
    first = add_liquidity(p0, np.array([100.0, 4.0]), np.array([400.0, 9.0]))
    np.testing.assert_allclose(first.shares, [200.0, 6.0], rtol=1e-15)  # √(x·y)
    # A lopsided second deposit only uses the pool's ratio; price is unchanged.
    second = add_liquidity(first.pool, np.array([10.0, 4.0]), np.array([100.0, 4.5]))
    np.testing.assert_allclose(second.amount_x, [10.0, 2.0], rtol=1e-15)
    np.testing.assert_allclose(second.amount_y, [40.0, 4.5], rtol=1e-15)
    np.testing.assert_allclose(second.shares, [20.0, 3.0], rtol=1e-15)
    np.testing.assert_allclose(second.pool.price, first.pool.price, rtol=1e-15)
    # Burning the new shares returns exactly what was added; burning everything empties the pool.
    back = remove_liquidity(second.pool, second.shares)
    np.testing.assert_allclose(back.amount_x, second.amount_x, rtol=1e-14)
    np.testing.assert_allclose(back.amount_y, second.amount_y, rtol=1e-14)
    drained = remove_liquidity(back.pool, 1e9)
    np.testing.assert_allclose(drained.amount_x, [100.0, 4.0], rtol=1e-14)
    assert np.all(drained.pool.reserve_x == 0) and np.all(drained.pool.shares == 0)


def test_liquidity_providers_earn_the_fees():
    p = add_liquidity(ConstantProductPool.empty(1), 1000.0, 1000.0).pool
    for _ in range(50):
        p = swap(p, 100.0, 0.003, True).pool
        p = swap(p, swap_input_for_output(p.reserve_y, p.reserve_x, 100.0, 0.003), 0.003, False).pool
    out = remove_liquidity(p, p.shares)
    assert out.amount_x[0] * out.amount_y[0] > 1000.0 * 1000.0


# ------------------------------------------------------------------------------------ concentrated


def test_ticks_and_prices():
    ticks = np.array([-887272, -50000, -1, 0, 1, 12345, 200000])
    getcontext().prec = 40
    expected = [float(Decimal("1.0001") ** int(t)) for t in ticks]
    assert rel_err(tick_to_price(ticks), expected) < 1e-12
    assert rel_err(tick_to_sqrt_price(ticks) ** 2, expected) < 1e-12
    np.testing.assert_array_equal(price_to_tick(tick_to_price(ticks)), ticks)
    np.testing.assert_array_equal(price_to_tick(tick_to_price(ticks) * (1 + 1e-6)), ticks)
    np.testing.assert_array_equal(price_to_tick(tick_to_price(ticks) * (1 - 1e-6)), ticks - 1)


def test_amounts_for_liquidity_below_inside_above():
    sa, sb, liquidity = 2.0, 3.0, 600.0
    x, y = amounts_for_liquidity(np.array([1.0, 2.5, 4.0]), sa, sb, liquidity)
    np.testing.assert_allclose(x, [600 * (1 / 2 - 1 / 3), 600 * (1 / 2.5 - 1 / 3), 0.0], rtol=1e-15)
    np.testing.assert_allclose(y, [0.0, 600 * 0.5, 600 * 1.0], rtol=1e-15)


def test_swap_inside_one_range_is_v2_on_virtual_reserves():
    for x_to_y in (True, False):
        pool3 = ConcentratedLiquidityPool(price=2.0, fee=0.003)
        liquidity = 1e6
        pool3.add_position(-20000, 20000, liquidity)
        sp = np.sqrt(2.0)
        x_v, y_v = liquidity / sp, liquidity * sp
        used, out = pool3.swap(500.0, x_to_y)
        reserve_in, reserve_out = (x_v, y_v) if x_to_y else (y_v, x_v)
        assert used == 500.0
        assert rel_err(out, float(exact_out(reserve_in, reserve_out, 500.0, 0.003))) < 1e-12
        assert (pool3.price < 2.0) == x_to_y


def test_swap_crosses_ticks_and_changes_active_liquidity():
    fee = 0.003
    pool3 = ConcentratedLiquidityPool(price=1.0, fee=fee)
    pool3.add_position(-100, 100, 1e5)
    pool3.add_position(100, 300, 4e5)
    assert pool3.liquidity == 1e5
    s0, s100, s300 = 1.0, tick_to_sqrt_price(100), tick_to_sqrt_price(300)
    # Y in: first leg takes √P to the tick at 100 on L = 1e5, then L = 4e5 takes the rest.
    leg1_net = 1e5 * (s100 - s0)
    amount = 2 * leg1_net / (1 - fee)
    leg2_net = amount * (1 - fee) - leg1_net
    s_end = s100 + leg2_net / 4e5
    expected_out = 1e5 * (1 / s0 - 1 / s100) + 4e5 * (1 / s100 - 1 / s_end)
    used, out = pool3.swap(amount, x_to_y=False)
    assert used == pytest.approx(amount, rel=1e-15)
    assert rel_err(out, expected_out) < 1e-12
    assert rel_err(pool3.sqrt_price, s_end) < 1e-12
    assert pool3.liquidity == 4e5
    assert pool3.fees_y == pytest.approx(amount * fee, rel=1e-12)
    # Past the last tick there is no liquidity: the swap stops at √P(300) with input left over.
    used, out = pool3.swap(1e9, x_to_y=False)
    assert used < 1e9
    assert rel_err(pool3.sqrt_price, s300) < 1e-12
    assert rel_err(used * (1 - fee), 4e5 * (s300 - s_end)) < 1e-9


def test_swap_stops_at_price_limit():
    pool3 = ConcentratedLiquidityPool(price=1.0, fee=0.0)
    pool3.add_position(-1000, 1000, 1e5)
    used, out = pool3.swap(1e9, x_to_y=True, price_limit=0.95)
    assert pool3.price == pytest.approx(0.95, rel=1e-12)
    assert used == pytest.approx(1e5 * (1 / np.sqrt(0.95) - 1.0), rel=1e-12)
    assert out == pytest.approx(1e5 * (1.0 - np.sqrt(0.95)), rel=1e-12)


def test_position_round_trip_returns_deposit():
    pool3 = ConcentratedLiquidityPool(price=1.5, fee=0.003)
    x, y = pool3.add_position(-500, 7000, 1234.5)
    assert x > 0 and y > 0
    assert pool3.remove_position(-500, 7000, 1234.5) == pytest.approx((x, y), rel=1e-14)
    assert pool3.liquidity == 0.0
    with pytest.raises(ValueError):
        pool3.add_position(10, 10, 1.0)


position = st.tuples(st.integers(-3000, 3000), st.integers(1, 3000), st.floats(1.0, 1e6))


@settings(max_examples=150, deadline=None)
@given(
    positions=st.lists(position, min_size=1, max_size=6),
    swaps=st.lists(st.tuples(st.floats(0.0, 1e5), st.booleans()), min_size=1, max_size=15),
    fee=st.floats(0.0, 0.01),
)
def test_pool_balances_equal_position_holdings_plus_fees(positions, swaps, fee):
    pool3 = ConcentratedLiquidityPool(price=1.0, fee=fee)
    for lower, width, liquidity in positions:
        pool3.add_position(lower, lower + width, liquidity)
    for amount, x_to_y in swaps:
        price_before = pool3.price
        used, out = pool3.swap(amount, x_to_y)
        assert 0 <= used <= amount * (1 + 1e-15) and out >= 0
        assert (pool3.price <= price_before) if x_to_y else (pool3.price >= price_before)
    held_x = held_y = 0.0
    for lower, width, liquidity in positions:
        x, y = amounts_for_liquidity(
            pool3.sqrt_price, tick_to_sqrt_price(lower), tick_to_sqrt_price(lower + width), liquidity
        )
        held_x += float(x)
        held_y += float(y)
    scale_x = max(held_x, sum(a for a, _ in swaps), 1.0)
    scale_y = max(held_y, sum(a for a, _ in swaps), 1.0)
    assert abs(pool3.balance_x - held_x) <= 1e-9 * scale_x
    assert abs(pool3.balance_y - held_y) <= 1e-9 * scale_y
    assert pool3.fees_x >= 0 and pool3.fees_y >= 0


def exact_liquidity(positions, tick):
    """Σ L over the positions covering [tick, tick + 1), in exact arithmetic, rounded once."""
    return float(
        sum((Fraction(liq) for lower, upper, liq in positions if lower <= tick < upper), Fraction(0))
    )


def liquidity_at_tick(pool3, tick):
    pool3.sqrt_price = float(np.sqrt(tick_to_sqrt_price(tick) * tick_to_sqrt_price(tick + 1)))
    return pool3.liquidity


def test_small_range_beside_a_large_one_reads_its_own_liquidity():
    # A float running sum read 1e8 − 1e8 + 3.3 as 3.2999999970 here.
    pool3 = ConcentratedLiquidityPool(price=tick_to_price(5), fee=0.003)
    pool3.add_position(-1000, 0, 1e8)
    pool3.add_position(0, 10, 3.3)
    assert pool3.liquidity == 3.3
    assert liquidity_at_tick(pool3, -1) == 1e8


GAP_POSITIONS = [(-191, 5, 20319.792463193833), (-87, 39, 36884.13128384579), (-180, -48, 982787122.4022554),
                 (182, 245, 0.47650394161210247), (-132, -68, 73280505.16201204)]  # fmt: skip


def test_an_empty_gap_holds_no_residue_and_a_swap_crosses_it():
    # The float running sum left 1.4e-7 of phantom liquidity on [39, 182); a small swap starting
    # there bought it and stopped inside the gap.
    pool3 = ConcentratedLiquidityPool(price=tick_to_price(100), fee=0.0)
    for lower, upper, liq in GAP_POSITIONS:
        pool3.add_position(lower, upper, liq)
    assert pool3.liquidity == 0.0 and liquidity_at_tick(pool3, 100) == 0.0
    pool3.sqrt_price = float(tick_to_sqrt_price(100))
    amount, liq, s182 = 1e-10, GAP_POSITIONS[3][2], float(tick_to_sqrt_price(182))
    used, out = pool3.swap(amount, x_to_y=False)
    s_end = Fraction(s182) + Fraction(amount) / Fraction(liq)
    assert used == amount
    assert rel_err(pool3.sqrt_price, float(s_end)) < 1e-15
    assert rel_err(out, float(Fraction(liq) * (1 / Fraction(s182) - 1 / s_end))) < 1e-12


def test_removing_a_missing_position_or_more_than_it_holds_is_refused():
    pool3 = ConcentratedLiquidityPool(price=1.0)
    with pytest.raises(ValueError, match=r"holds 0\.0"):
        pool3.remove_position(0, 10, 5.0)
    pool3.add_position(0, 10, 5.0)
    with pytest.raises(ValueError, match=r"holds 5\.0"):
        pool3.remove_position(0, 10, 5.5)
    with pytest.raises(ValueError, match=r"holds 0\.0"):
        pool3.remove_position(0, 20, 1.0)  # same lower tick, another range
    assert pool3.position(0, 10) == 5.0 and pool3.ticks.tolist() == [0, 10]
    pool3.remove_position(0, 10, 2.0)
    assert pool3.position(0, 10) == 3.0
    pool3.remove_position(0, 10, 3.0)
    # the last of a range's liquidity uninitialises its ticks
    assert pool3.ticks.size == 0 and pool3.liquidity == 0.0 and pool3.position(0, 10) == 0.0
    for bad in (0.0, -1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="positive and finite"):
            pool3.add_position(0, 10, bad)


@settings(max_examples=150, deadline=None)
@given(
    positions=st.lists(
        st.tuples(st.integers(-300, 300), st.integers(1, 300), st.floats(1e-3, 1e9)), min_size=1, max_size=8
    ),
    removed=st.lists(st.booleans(), min_size=8, max_size=8),
)
def test_active_liquidity_is_the_exact_sum_of_the_covering_positions(positions, removed):
    """The class of the bug: after any adds and full removals, the liquidity on every interval is
    the correctly rounded exact sum of the positions still covering it (0 exactly where none do)."""
    pool3 = ConcentratedLiquidityPool(price=1.0, fee=0.003)
    ranges = [(lower, lower + width, liq) for lower, width, liq in positions]
    for lower, upper, liq in ranges:
        pool3.add_position(lower, upper, liq)
    kept = []
    for (lower, upper, liq), gone in zip(ranges, removed, strict=False):
        if gone:
            pool3.remove_position(lower, upper, liq)
        else:
            kept.append((lower, upper, liq))
    for tick in sorted({t for lower, upper, _ in ranges for t in (lower - 1, lower, upper - 1, upper)}):
        assert liquidity_at_tick(pool3, tick) == exact_liquidity(kept, tick), tick
