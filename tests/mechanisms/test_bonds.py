"""Bonds: price at par, known prices, price ↔ yield round trips over a grid (fractional periods, zero
coupons, negative yields), the derivative, cash-flow schedules, and a Nelson–Siegel fit recovering known
factors for several curves at once."""

from __future__ import annotations

import numpy as np
import pytest

from econsim.engine.errors import ConfigError
from econsim.mechanisms.bonds import (
    cash_flow_schedule,
    nelson_siegel_fit,
    nelson_siegel_yield,
    price_from_yield,
    yield_from_price,
)


def test_known_prices():
    """At a coupon date a bond whose yield equals its coupon is at par; a 2-year 5 % semi-annual bond at
    4 % is Σ 2.5/1.02^k (k = 1..4) + 100/1.02⁴ = 101.9039; at y = 0 a 10-year 5 % bond pays 1 + 20·0.025."""
    assert price_from_yield(0.05, 0.05, 10.0, 2) == pytest.approx(1.0, abs=1e-14)
    by_hand = sum(2.5 / 1.02**k for k in range(1, 5)) + 100 / 1.02**4
    assert price_from_yield(0.04, 0.05, 2.0, 2, face=100.0) == pytest.approx(by_hand, rel=1e-14)
    assert price_from_yield(0.0, 0.05, 10.0, 2) == pytest.approx(1.5, rel=1e-14)
    assert price_from_yield(0.03, 0.0, 5.0, 1) == pytest.approx(1.03**-5, rel=1e-14)
    # a quarter of a period after a coupon date the price is the coupon-date price grown by (1 + y/f)^¼
    assert price_from_yield(0.06, 0.05, 9.875, 2) == pytest.approx(
        price_from_yield(0.06, 0.05, 10.0, 2) * 1.03**0.25, rel=1e-13
    )


def test_price_yield_round_trip_on_a_grid():
    rng = np.random.default_rng(0)
    y = rng.uniform(-0.02, 0.25, (6, 50))
    c = rng.choice([0.0, 0.01, 0.04, 0.08], (6, 50))
    tau = rng.uniform(0.05, 30.0, (6, 50))
    p = price_from_yield(y, c, tau, 2)
    np.testing.assert_allclose(yield_from_price(p, c, tau, 2), y, rtol=0, atol=1e-12)
    np.testing.assert_allclose(price_from_yield(yield_from_price(p, c, tau, 1), c, tau, 1), p, rtol=1e-12)


def test_price_derivative_is_the_duration():
    """For a zero-coupon bond dP/dy = −f·τ/(f + y)·P: a central difference agrees."""
    h = 1e-6
    up, down = price_from_yield(0.03 + h, 0.0, 7.0, 2), price_from_yield(0.03 - h, 0.0, 7.0, 2)
    p = price_from_yield(0.03, 0.0, 7.0, 2)
    assert (up - down) / (2 * h) == pytest.approx(-2 * 7.0 / 2.03 * p, rel=1e-7)


def test_cash_flow_schedule():
    """9 months left on a 4 % semi-annual bond of 100: 2 in 3 months and 102 in 9; 2 years of 6 %: 3, 3, 3, 103."""
    times, amounts, valid = cash_flow_schedule([0.75, 2.0], [0.04, 0.06], 2, 100.0)
    np.testing.assert_allclose(times[0, :2], [0.25, 0.75])
    np.testing.assert_allclose(amounts, [[2.0, 102.0, 0.0, 0.0], [3.0, 3.0, 3.0, 103.0]])
    np.testing.assert_array_equal(valid.sum(axis=1), [2, 4])
    # discounting the schedule at y gives the closed-form price
    disc = (1 + 0.05 / 2) ** (-2 * times)
    np.testing.assert_allclose(
        (amounts * disc).sum(axis=1), price_from_yield(0.05, [0.04, 0.06], [0.75, 2.0], 2, 100.0), rtol=1e-14
    )


def test_nelson_siegel_fit_recovers_known_factors():
    tau = np.array([0.25, 0.5, 1, 2, 3, 5, 7, 10, 20, 30.0])
    b0 = np.array([0.04, 0.05, 0.02])
    b1 = np.array([-0.02, 0.01, -0.015])
    b2 = np.array([0.01, -0.03, 0.02])
    lam = np.array([1.5, 4.0, 0.7])
    y = nelson_siegel_yield(tau, b0[:, None], b1[:, None], b2[:, None], lam[:, None])
    fit = nelson_siegel_fit(tau, y)
    np.testing.assert_allclose(fit.beta0, b0, atol=1e-8)
    np.testing.assert_allclose(fit.beta1, b1, atol=1e-8)
    np.testing.assert_allclose(fit.beta2, b2, atol=1e-8)
    np.testing.assert_allclose(fit.lam, lam, rtol=1e-5)
    assert fit.rmse.max() < 1e-10
    np.testing.assert_allclose(fit(tau), y, atol=1e-10)
    # limits: y(0⁺) = β₀ + β₁, y(∞) = β₀
    assert nelson_siegel_yield(1e-12, 0.04, -0.02, 0.01, 1.5) == pytest.approx(0.02)
    assert nelson_siegel_yield(1e6, 0.04, -0.02, 0.01, 1.5) == pytest.approx(0.04, abs=1e-7)


def test_bad_input_is_refused():
    with pytest.raises(ConfigError, match="maturity"):
        price_from_yield(0.03, 0.05, 0.0)
    with pytest.raises(ConfigError, match="no yield"):
        yield_from_price(-1.0, 0.05, 10.0)
    with pytest.raises(ConfigError, match="frequency"):
        price_from_yield(0.03, 0.05, 10.0, frequency=0)
    with pytest.raises(ConfigError, match="one per maturity"):
        nelson_siegel_fit([1.0, 2.0, 5.0], [0.01, 0.02])


def test_each_bonds_yield_is_the_same_alone_as_beside_slower_bonds():
    """A bond's yield stops at its own convergence: batched with a bond that needs more iterations it is
    bit-identical to its yield alone (a batch of runs must not change any run's numbers)."""
    from econsim.mechanisms.bonds import price_from_yield, yield_from_price

    price = price_from_yield(np.array([0.0312, 0.09]), np.array([0.03, 0.01]), np.array([2.0, 30.0]), 12)
    both = yield_from_price(price, np.array([0.03, 0.01]), np.array([2.0, 30.0]), 12)
    for i in range(2):
        alone = yield_from_price(
            price[i : i + 1], np.array([0.03, 0.01])[i : i + 1], np.array([2.0, 30.0])[i : i + 1], 12
        )
        assert alone[0] == both[i]
    np.testing.assert_allclose(both, [0.0312, 0.09], rtol=1e-12)
