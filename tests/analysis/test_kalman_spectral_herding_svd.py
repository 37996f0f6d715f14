"""Generic analyses used by the network model: the Kalman filter against its closed form, the periodogram
finding an injected cycle, herding of identical and independent series, the SVD's Eckart–Young error."""

from __future__ import annotations

import math

import numpy as np
import pytest

from econsim.analysis.compression import compress, tail_norms
from econsim.analysis.herding import cluster_correlation, random_group_baseline
from econsim.analysis.kalman import KalmanFilter, filter_series, steady_state
from econsim.analysis.spectral import dominant_cycles, fisher_g_pvalue, periodogram
from econsim.engine import run_generator


def test_scalar_kalman_converges_to_the_closed_form_steady_state():
    q, r = 0.04, 1.0
    gain, prior, post = steady_state(q, r)
    # random walk observed directly: P⁻∞ = (q + √(q² + 4qr))/2, K∞ = P⁻∞/(P⁻∞ + r), P∞ = K∞·r
    assert prior == pytest.approx((q + math.sqrt(q * q + 4 * q * r)) / 2, rel=1e-12)
    assert gain == pytest.approx(prior / (prior + r), rel=1e-12)
    assert post == pytest.approx(gain * r, rel=1e-12)
    assert gain == pytest.approx(0.1810, abs=1e-4)
    z = run_generator(1, (0,), "test").standard_normal(400)
    _, variances, gains = filter_series(z, q, r)
    assert gains[-1] == pytest.approx(gain, rel=1e-10) and variances[-1] == pytest.approx(post, rel=1e-10)
    # the posterior variance does not depend on the data; the first reading is taken almost as it is
    assert gains[0] == pytest.approx(1.0, abs=1e-9)


def test_kalman_with_decay_and_gain_matches_the_riccati_root_and_irregular_steps():
    q, r, a, h = 0.5, 2.0, 0.9, 2.0
    gain, prior, post = steady_state(q, r, a, h)
    # the prior is a fixed point of the Riccati recursion P⁻ = a²·(1 − K h)·P⁻ + q
    assert a * a * (1 - gain * h) * prior + q == pytest.approx(prior, rel=1e-12)
    kf = KalmanFilter.make(2, q, r, a, h)
    for _ in range(200):
        kf.step(np.zeros(2))
    np.testing.assert_allclose(kf.P, post, rtol=1e-10)
    # a gap of Δt between readings adds q·Δt of variance: 3 steps of 1 without readings = one of 3 (a = 1)
    rw = KalmanFilter.make(1, 0.1, 1.0, x0=0.0, P0=0.5)
    rw.predict(3.0)
    assert rw.P[0] == pytest.approx(0.8)


def test_periodogram_finds_an_injected_cycle_at_its_frequency():
    T, period = 240, 12.0
    t = np.arange(T)
    rng = run_generator(2, (0,), "test")
    x = 0.8 * np.sin(2 * np.pi * t / period) + rng.standard_normal(T) + 0.01 * t
    freqs, power = periodogram(x, detrend="linear")
    assert freqs[np.argmax(power)] == pytest.approx(1 / period)
    assert fisher_g_pvalue(power) < 1e-6
    # white noise: the test's false-alarm rate at 5 % stays near 5 %
    noise_p = [fisher_g_pvalue(periodogram(rng.standard_normal(T))[1]) for _ in range(40)]
    assert 0.0 < np.mean(np.array(noise_p) < 0.05) < 0.2
    # many series sharing the cycle: the first principal component carries it
    series = np.stack([np.sin(2 * np.pi * t / period + ph) for ph in rng.uniform(0, 0.5, 20)], axis=1)
    series += 0.3 * rng.standard_normal(series.shape)
    table = dominant_cycles(series, k=2)
    assert table.loc[0, "period"] == pytest.approx(period) and table.loc[0, "variance_share"] > 0.6


def test_herding_is_one_for_identical_series_and_near_zero_for_independent_ones():
    rng = run_generator(3, (0,), "test")
    N, T = 400, 500
    base = rng.standard_normal((N // 40, T))
    labels = np.repeat(np.arange(N // 40), 40)
    identical = base[labels] * rng.uniform(0.5, 2.0, (N, 1)) + rng.uniform(-1, 1, (N, 1))
    assert cluster_correlation(identical, labels)["rho"] == pytest.approx(1.0, abs=1e-12)
    independent = rng.standard_normal((N, T))
    rho = cluster_correlation(independent, labels)["rho"]
    assert abs(rho) < 3 / math.sqrt(T * 780) * 2 + 0.01
    # the O(N·T) identity equals the mean over the explicit pair correlations
    small = rng.standard_normal((30, 50)) + rng.standard_normal((1, 50))
    lab = np.arange(30) % 3
    corr = np.corrcoef(small)
    pair = [corr[i, j] for i in range(30) for j in range(i + 1, 30) if lab[i] == lab[j]]
    assert cluster_correlation(small, lab)["rho"] == pytest.approx(np.mean(pair), rel=1e-10)
    # random regroupings of clustered series fall to the share of same-cluster pairs
    mean, sd = random_group_baseline(identical, labels, rng, draws=5)
    assert mean == pytest.approx(39 / 399, abs=0.02) and sd < 0.02


def test_svd_rank_meets_the_stated_error_and_the_eckart_young_bound_is_exact():
    rng = run_generator(4, (0,), "test")
    x = rng.standard_normal((300, 5)) @ rng.standard_normal((5, 40)) + 0.05 * rng.standard_normal((300, 40))
    c = compress(x, rel_error=0.05)
    assert c.rank == 5
    centred = x - x.mean(axis=0)
    err = np.linalg.norm(centred - (c.reconstruct() - c.mean))
    assert err == pytest.approx(c.bound, rel=1e-9)  # ‖X − X_r‖_F = √(Σ_{i>r} σ_i²)
    assert c.relative_bound <= 0.05 and tail_norms(c.singular_values)[c.rank - 1] > 0.05 * np.linalg.norm(
        centred
    )
    assert np.linalg.norm(centred - (c.reconstruct() - c.mean), 2) == pytest.approx(
        c.singular_values[5], rel=1e-9
    )
    # no other rank-5 matrix does better (random ones are far worse)
    other = rng.standard_normal((300, 5)) @ rng.standard_normal((5, 40))
    assert np.linalg.norm(centred - other) > c.bound
    assert c.ratio < 0.2
