"""Allocation: capacity never exceeded, shares sum to totals, incentives conserve money."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from econsim.mechanisms.allocation import (
    affiliate_rewards,
    airdrop,
    apply_incentives,
    auction_allocation,
    priority_allocation,
    proportional_allocation,
    uniform_distribution,
    weighted_distribution,
)


def test_proportional_and_priority_hand_examples():
    request = np.array([[10.0, 30.0, 60.0], [1.0, 2.0, 3.0]])
    capacity = np.array([50.0, 100.0])
    np.testing.assert_allclose(
        proportional_allocation(request, capacity), [[5.0, 15.0, 30.0], [1.0, 2.0, 3.0]]
    )
    priority = np.array([[1.0, 3.0, 2.0], [0.0, 0.0, 0.0]])
    # Run 0 serves agent 1 (30), then agent 2 (20 of 60), agent 0 gets nothing.
    np.testing.assert_array_equal(
        priority_allocation(request, priority, capacity), [[0.0, 30.0, 20.0], [1.0, 2.0, 3.0]]
    )
    # Equal priorities: lower index first.
    np.testing.assert_array_equal(priority_allocation([5.0, 5.0, 5.0], [1.0, 1.0, 1.0], 7.0), [5.0, 2.0, 0.0])


batch = hnp.arrays(float, st.tuples(st.integers(1, 4), st.integers(1, 12)), elements=st.floats(0.0, 1e6))


@settings(max_examples=200, deadline=None)
@given(request=batch, data=st.data())
def test_capacity_rules_never_exceed_capacity_or_requests(request, data):
    n_runs, _n_agents = request.shape
    capacity = data.draw(hnp.arrays(float, n_runs, elements=st.floats(0.0, 1e7)))
    priority = data.draw(hnp.arrays(float, request.shape, elements=st.floats(-10, 10)))
    total = request.sum(axis=1)
    for alloc in (
        proportional_allocation(request, capacity),
        priority_allocation(request, priority, capacity),
    ):
        assert np.all(alloc >= 0) and np.all(alloc <= request)
        assert np.all(alloc.sum(axis=1) <= capacity * (1 + 1e-12) + 1e-300)  # subnormals round coarsely
        # Capacity is used up whenever demand exceeds it, otherwise everyone is served in full.
        served = np.minimum(total, capacity)
        np.testing.assert_allclose(alloc.sum(axis=1), served, rtol=1e-12, atol=1e-9)
    alloc = priority_allocation(request, priority, capacity)
    # Nobody with lower priority receives anything while a higher-priority request is short.
    for r in range(n_runs):
        short = alloc[r] < request[r]
        if short.any():
            cut = priority[r][short].max()
            assert np.all(alloc[r][priority[r] < cut] == 0)


def test_auction_allocation_uniform_and_pay_as_bid():
    request = np.array([4.0, 3.0, 5.0, 2.0])
    bid = np.array([10.0, 12.0, 8.0, 3.0])
    uniform = auction_allocation(request, bid, 9.0, reserve_price=5.0)
    # Highest bids first: agent 1 (3), agent 0 (4), agent 2 gets 2 of 5; agent 3 is below the reserve.
    np.testing.assert_array_equal(uniform.allocation, [4.0, 3.0, 2.0, 0.0])
    assert uniform.price == 8.0  # the marginal winning bid
    np.testing.assert_array_equal(uniform.payment, [32.0, 24.0, 16.0, 0.0])
    pab = auction_allocation(request, bid, 9.0, reserve_price=5.0, pricing="pay_as_bid")
    np.testing.assert_array_equal(pab.payment, [40.0, 36.0, 16.0, 0.0])
    slack = auction_allocation(request, bid, 100.0, reserve_price=5.0)
    np.testing.assert_array_equal(slack.allocation, [4.0, 3.0, 5.0, 0.0])
    assert slack.price == 5.0
    with pytest.raises(ValueError):
        auction_allocation(request, bid, 1.0, pricing="dutch")


@settings(max_examples=200, deadline=None)
@given(
    weights=hnp.arrays(float, st.tuples(st.integers(1, 3), st.integers(1, 15)), elements=st.floats(0.0, 1e3)),
    total=st.integers(0, 10**6),
)
def test_distributions_sum_to_total(weights, total):
    weights[..., 0] += 1.0  # at least one positive weight per run
    shares = weighted_distribution(total, weights)
    np.testing.assert_allclose(shares.sum(axis=-1), total, rtol=1e-12)
    whole = weighted_distribution(total, weights, integer=True)
    assert np.all(whole.sum(axis=-1) == total)
    assert np.all(whole == np.round(whole)) and np.all(np.abs(whole - shares) < 1.0)


def test_uniform_distribution_and_integer_rounding():
    np.testing.assert_allclose(uniform_distribution(np.array([9.0, 12.0]), 4), [[2.25] * 4, [3.0] * 4])
    np.testing.assert_array_equal(uniform_distribution(10, 4, integer=True), [3.0, 3.0, 2.0, 2.0])


def test_airdrop_reaches_only_drawn_eligible_agents():
    rng = np.random.default_rng(7)
    eligible = rng.random((5, 40)) < 0.5
    eligible[4] = False
    drop = airdrop(np.random.default_rng(1), 1000, eligible, n_recipients=6, integer=True)
    assert np.all(drop[~eligible] == 0)
    np.testing.assert_array_equal(drop.sum(axis=1), [1000] * 4 + [0])
    np.testing.assert_array_equal((drop[:4] > 0).sum(axis=1), [6] * 4)
    # Same stream, same drop; weights split it within the recipients.
    again = airdrop(np.random.default_rng(1), 1000, eligible, n_recipients=6, integer=True)
    np.testing.assert_array_equal(drop, again)
    weighted = airdrop(rng, 90.0, np.array([True, False, True]), weight_bn=np.array([1.0, 5.0, 2.0]))
    np.testing.assert_allclose(weighted, [30.0, 0.0, 60.0], rtol=1e-15)


def test_incentives_hand_example_and_short_pool():
    balance = np.array([[10.0, 10.0, 1.0]])
    performance = np.array([[5.0, 2.0, 0.0]])
    out = apply_incentives(
        balance, performance, np.array([100.0]), target=3.0, reward_rate=2.0, penalty_rate=1.5
    )
    np.testing.assert_allclose(out.reward, [[4.0, 0.0, 0.0]])
    np.testing.assert_allclose(out.penalty, [[0.0, 1.5, 1.0]])  # agent 2 owes 4.5 but holds 1
    np.testing.assert_allclose(out.balance, [[14.0, 8.5, 0.0]])
    np.testing.assert_allclose(out.pool, [98.5])
    # An empty pool pays rewards only from the penalties it collects.
    poor = apply_incentives(
        balance, performance, np.array([0.0]), target=3.0, reward_rate=2.0, penalty_rate=1.5
    )
    np.testing.assert_allclose(poor.reward, [[2.5, 0.0, 0.0]])
    assert poor.pool[0] == pytest.approx(0.0, abs=1e-15)


@settings(max_examples=150, deadline=None)
@given(
    balance=hnp.arrays(float, (3, 8), elements=st.floats(0.0, 1e4)),
    performance=hnp.arrays(float, (3, 8), elements=st.floats(-10, 10)),
    pool=hnp.arrays(float, 3, elements=st.floats(0.0, 1e4)),
    rates=st.tuples(st.floats(0.0, 50), st.floats(0.0, 50)),
)
def test_incentives_conserve_money_and_keep_balances_nonnegative(balance, performance, pool, rates):
    out = apply_incentives(
        balance, performance, pool, target=0.0, reward_rate=rates[0], penalty_rate=rates[1]
    )
    before = balance.sum(axis=1) + pool
    np.testing.assert_allclose(out.balance.sum(axis=1) + out.pool, before, rtol=1e-12, atol=1e-9)
    assert np.all(out.balance >= 0)
    assert np.all(out.pool >= -1e-9 * np.maximum(before, 1.0))


def test_affiliate_rewards_pay_k_times_supply_increase_within_budget():
    increase = np.array([[10.0, -5.0, 30.0], [1.0, 1.0, 2.0]])  # primaries × affiliates
    k = np.array([0.5, 2.0])
    np.testing.assert_allclose(affiliate_rewards(increase, k), [[5.0, 0.0, 15.0], [2.0, 2.0, 4.0]])
    capped = affiliate_rewards(increase, k, budget_a=np.array([10.0, 100.0]))
    np.testing.assert_allclose(capped, [[2.5, 0.0, 7.5], [2.0, 2.0, 4.0]])
    assert np.all(capped.sum(axis=-1) <= np.array([10.0, 100.0]) * (1 + 1e-12))
