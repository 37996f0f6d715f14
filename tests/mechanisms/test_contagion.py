"""Contagion: Eisenberg–Noe, DebtRank and Furfine on cases worked by hand, dense, stacked and sparse
matrices agreeing, the clearing vector a fixed point on a random network, and bad input refused."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from econsim.engine.errors import ConfigError
from econsim.mechanisms.contagion import debtrank, eisenberg_noe, furfine, impact_matrix


def three_banks():
    """L[i, j] = what bank i owes bank j: bank 1 owes bank 2 six; bank 2 owes banks 1 and 3 four each."""
    return np.array([[0.0, 6.0, 0.0], [4.0, 0.0, 4.0], [0.0, 0.0, 0.0]]), np.array([1.0, 2.5, 1.0])


def test_eisenberg_noe_three_banks_by_hand():
    """p̄ = (6, 8, 0); Π has rows (0, 1, 0), (½, 0, ½), (0, 0, 0); e = (1, 2.5, 1).

    Round 1, everyone paying p̄: bank 1 has 1 + ½·8 = 5 < 6 and defaults; bank 2 has 2.5 + 6 = 8.5 ≥ 8.
    Bank 1 then pays all it has, p₁ = 1 + ½·8 = 5. Round 2: bank 2 has 2.5 + 5 = 7.5 < 8 and defaults.
    Both pay what they have: p₁ = 1 + ½ p₂, p₂ = 2.5 + p₁  ⇒  p₁ = 2.25 + ½ p₁  ⇒  p₁ = 4.5, p₂ = 7.
    Round 3: no new default. Clearing vector p = (4.5, 7, 0); equity e + Πᵀp − p̄ = (−1.5, −1, 4.5)
    (bank 3 receives ½·7 = 3.5 on top of its 1)."""
    L, e = three_banks()
    res = eisenberg_noe(L, e)
    np.testing.assert_allclose(res.payments, [4.5, 7.0, 0.0], rtol=1e-14)
    np.testing.assert_allclose(res.equity, [-1.5, -1.0, 4.5], rtol=1e-14)
    np.testing.assert_array_equal(res.default_round, [1, 2, 0])
    np.testing.assert_allclose(res.shortfall, [1.5, 1.0, 0.0], rtol=1e-14)
    assert res.rounds == 2
    sparse = eisenberg_noe(sp.csr_matrix(L), e)
    np.testing.assert_allclose(sparse.payments, res.payments, rtol=1e-14)
    np.testing.assert_array_equal(sparse.default_round, res.default_round)


def test_eisenberg_noe_stacked_runs_are_independent():
    """Runs stacked (B, n, n) equal each run alone, bit for bit; a solvent run is untouched."""
    L, e = three_banks()
    Ls, es = np.stack([L, 0.1 * L, L]), np.stack([e, e, [5.0, 5.0, 5.0]])
    batch = eisenberg_noe(Ls, es)
    for b in range(3):
        alone = eisenberg_noe(Ls[b : b + 1], es[b : b + 1])
        np.testing.assert_array_equal(batch.payments[b], alone.payments[0])
    np.testing.assert_array_equal(batch.payments[1], 0.1 * L.sum(axis=1))
    np.testing.assert_array_equal(batch.default_round[2], [0, 0, 0])


def test_eisenberg_noe_external_liabilities_share_pro_rata():
    """One bank owing 6 to a bank and 4 outside, with 5 of assets, pays half of each: 3 and 2."""
    L = np.array([[0.0, 6.0], [0.0, 0.0]])
    res = eisenberg_noe(L, [5.0, 0.0], external_liabilities=[4.0, 0.0])
    np.testing.assert_allclose(res.payments, [5.0, 0.0])
    np.testing.assert_allclose(res.equity, [-5.0, 3.0])


def random_network(n, k, seed, scale):
    rng = np.random.default_rng(seed)
    src, dst = np.repeat(np.arange(n), k), rng.integers(0, n, n * k)
    keep = src != dst
    L = sp.csr_matrix((rng.lognormal(0, 1, keep.sum()), (src[keep], dst[keep])), shape=(n, n))
    L.sum_duplicates()
    e = scale * np.asarray(L.sum(axis=1)).ravel() * rng.random(n) * 1.6
    return L, e


def test_eisenberg_noe_is_the_greatest_fixed_point_on_a_random_network():
    """On 400 banks (the iterative-solver path), p = min(p̄, e + Πᵀp) holds to 1e-9, and Picard
    iteration down from p̄ (which converges to the greatest fixed point) reaches the same vector."""
    L, e = random_network(400, 6, 3, 0.1)
    res = eisenberg_noe(L, e)
    assert 100 < res.defaulted.sum() < 400
    p_bar = res.obligations
    pi = sp.diags(1.0 / np.where(p_bar > 0, p_bar, 1.0)) @ L
    fixed = np.minimum(p_bar, e + pi.T @ res.payments)
    np.testing.assert_allclose(res.payments, fixed, rtol=0, atol=1e-9 * p_bar.max())
    p = p_bar.copy()
    for _ in range(3000):
        p = np.minimum(p_bar, e + pi.T @ p)
    np.testing.assert_allclose(res.payments, p, rtol=0, atol=1e-6 * p_bar.max())
    dense = eisenberg_noe(L.toarray(), e)
    np.testing.assert_allclose(dense.payments, res.payments, rtol=0, atol=1e-9 * p_bar.max())
    np.testing.assert_array_equal(dense.default_round, res.default_round)


def test_debtrank_two_banks_by_hand():
    """Bank 1 (E₁ = 10) holds a claim of 5 on bank 2 (L₂₁ = 5); bank 2 (E₂ = 4) a claim of 2 on bank 1.
    W₁₂ = min(1, 5/10) = ½, W₂₁ = min(1, 2/4) = ½; weights v = E/ΣE = (10/14, 4/14).

    Bank 2 fails (h = (0, 1)): round 1 it passes ½·1 to bank 1 (h₁ = ½) and goes inactive; round 2 bank 1
    passes ½·½ back, but h₂ is capped at 1. R = v₁·½ = 5/14.
    Half a shock (h = (0, ½)): h₁ = ½·½ = ¼, then h₂ = ½ + ½·¼ = 5/8 and both are inactive;
    R = (10/14)·¼ + (4/14)·⅛ = 3/14.
    The differential variant keeps passing increments: h₁ = ½ h₂, h₂ = ½ + ½ h₁ ⇒ h = (⅓, ⅔), R = 2/7."""
    L = np.array([[0.0, 2.0], [5.0, 0.0]])
    np.testing.assert_allclose(impact_matrix(L, [10.0, 4.0]), [[0.0, 0.5], [0.5, 0.0]])
    full = debtrank(L, [10.0, 4.0], [0.0, 1.0])
    np.testing.assert_allclose(full.distress, [0.5, 1.0])
    assert full.debtrank == pytest.approx(5 / 14, rel=1e-14)
    half = debtrank(L, [10.0, 4.0], [0.0, 0.5])
    np.testing.assert_allclose(half.distress, [0.25, 0.625])
    assert half.debtrank == pytest.approx(3 / 14, rel=1e-14)
    diff = debtrank(L, [10.0, 4.0], [0.0, 0.5], variant="differential")
    np.testing.assert_allclose(diff.distress, [1 / 3, 2 / 3], rtol=1e-12)
    assert diff.debtrank == pytest.approx(2 / 7, rel=1e-12)
    sparse = debtrank(sp.csr_matrix(L), [10.0, 4.0], [0.0, 0.5])
    np.testing.assert_allclose(sparse.distress, half.distress)


def test_furfine_chain():
    """A chain: bank k owes bank k + 1 ten. Bank 0 fails; with loss given default 1 bank 1 (capital 5)
    and bank 2 (5) fail in rounds 2 and 3, bank 3 (capital 20) absorbs the 10 and the cascade stops;
    with loss given default 0.4 bank 1 loses 4 < 5 and only the trigger fails."""
    L = np.zeros((5, 5))
    for k in range(4):
        L[k, k + 1] = 10.0
    capital, trigger = [1.0, 5.0, 5.0, 20.0, 5.0], np.eye(5, dtype=bool)[0]
    res = furfine(L, capital, trigger)
    np.testing.assert_array_equal(res.default_round, [1, 2, 3, 0, 0])
    np.testing.assert_allclose(res.losses, [0.0, 10.0, 10.0, 10.0, 0.0])
    assert res.rounds == 3
    mild = furfine(sp.csr_matrix(L), capital, trigger, loss_given_default=0.4)
    np.testing.assert_array_equal(mild.default_round, [1, 0, 0, 0, 0])
    stacked = furfine(np.stack([L, L]), np.stack([capital, capital]), np.stack([trigger, ~trigger & False]))
    np.testing.assert_array_equal(stacked.default_round, [[1, 2, 3, 0, 0], [0, 0, 0, 0, 0]])


def test_bad_input_is_refused():
    L, e = three_banks()
    with pytest.raises(ConfigError, match="non-negative"):
        eisenberg_noe(-L, e)
    with pytest.raises(ConfigError, match="external_assets must be non-negative"):
        eisenberg_noe(L, [-1.0, 0.0, 0.0])
    with pytest.raises(ConfigError, match="shape"):
        eisenberg_noe(L, [1.0, 2.0])
    with pytest.raises(ConfigError, match="square"):
        eisenberg_noe(sp.csr_matrix(np.ones((2, 3))), [1.0, 1.0])
    with pytest.raises(ConfigError, match=r"\[0, 1\]"):
        debtrank(L, [1.0, 1.0, 1.0], [0.0, 2.0, 0.0])
    with pytest.raises(ConfigError, match="variant"):
        debtrank(L, [1.0, 1.0, 1.0], [0.0, 1.0, 0.0], variant="linear")
    with pytest.raises(ConfigError, match="loss_given_default"):
        furfine(L, [1.0, 1.0, 1.0], [True, False, False], loss_given_default=1.5)
