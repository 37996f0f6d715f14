"""Bonding curves: a token's price set by its supply, traded against a reserve.

The spot price of a curve-issued token is a function of its supply and of parameters Φ that a
controller may change between steps (seed §3.1):

    P(t) = f(S(t), Φ(t))

Minting dS tokens at supply S costs the area under the curve, paid into the reserve; burning dS
tokens refunds the area back out of it:

    cost(S, dS)   = ∫_S^{S+dS} P(s) ds = F(S + dS) − F(S)
    refund(S, dS) = ∫_{S−dS}^{S} P(s) ds = F(S) − F(S − dS)        F(S) = ∫_0^S P(s) ds

so the reserve backing S tokens is F(S) and any buy-then-sell round trip is neutral. Each curve
gives these integrals and their inverses (tokens for a deposit, tokens to burn for a payout) in
closed form; a curve that only defines ``price`` and ``reserve`` gets the inverses from a
vectorized safeguarded Newton solver.

Curves are frozen dataclasses of parameters. Every method broadcasts over numpy arrays, so one
call prices a whole batch (``supply_b`` by run, or by run and agent), and a parameter may itself be
an array (one curve per run). A controller changes a curve with ``dataclasses.replace``.

The augmented bonding curve (hatch phase, entry and exit tributes to a common funding pool) is a
power curve plus bookkeeping; it lives at the end of this module.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike

__all__ = [
    "AugmentedBondingCurveParams",
    "AugmentedBondingCurveState",
    "AugmentedBondingCurveTrade",
    "BondingCurve",
    "CurveTrade",
    "ExponentialCurve",
    "LinearCurve",
    "PowerCurve",
    "SigmoidCurve",
    "abc_buy",
    "abc_close_hatch",
    "abc_sell",
    "abc_spot_price",
    "buy_exact_tokens",
    "buy_for_deposit",
    "sell_exact_tokens",
    "sell_for_payout",
    "solve_tokens_for_deposit",
    "solve_tokens_for_payout",
]


def _f(x: ArrayLike) -> np.ndarray:
    return np.asarray(x, dtype=float)


def _softplus(x: np.ndarray) -> np.ndarray:
    """log(1 + eˣ) without overflow."""
    return np.logaddexp(0.0, x)


def _log_expm1(x: np.ndarray) -> np.ndarray:
    """log(eˣ − 1) for x ≥ 0 without overflow (−inf at 0)."""
    with np.errstate(divide="ignore"):
        return x + np.log(-np.expm1(-x))


def _log1mexp(a: np.ndarray) -> np.ndarray:
    """log(1 − eᵃ) for a ≤ 0, switching forms at −log 2 to keep precision (Mächler 2012)."""
    with np.errstate(divide="ignore"):
        near_zero = np.log(-np.expm1(np.minimum(a, -1e-300)))
        far = np.log1p(-np.exp(np.minimum(a, -np.log(2.0))))
    return np.where(a > -np.log(2.0), near_zero, far)


def _expm1_ratio(k: np.ndarray, x: np.ndarray) -> np.ndarray:
    """(e^{kx} − 1)/k, written x·(eᶻ − 1)/z with z = kx so that k → 0 (even subnormal) gives x."""
    z = k * x
    safe_z = np.where(z == 0, 1.0, z)
    return x * np.where(z == 0, 1.0, np.expm1(safe_z) / safe_z)


def _log1p_ratio(k: np.ndarray, x: np.ndarray) -> np.ndarray:
    """log(1 + kx)/k, written x·log(1 + z)/z with z = kx (limit x at k = 0)."""
    z = k * x
    safe_z = np.where(z == 0, 1.0, z)
    return x * np.where(z == 0, 1.0, np.log1p(safe_z) / safe_z)


def _burn_capped(
    tokens: np.ndarray, supply: np.ndarray, payout: np.ndarray, reserve: np.ndarray
) -> np.ndarray:
    """Tokens to burn for a payout, held to the documented cap: a payout of at least the reserve F(S)
    burns exactly S, and no rounding (nor a NaN from a log of a rounded-negative argument) burns
    below zero supply or a negative amount."""
    inside = np.where(np.isnan(tokens), supply, np.clip(tokens, 0.0, supply))
    return np.where(payout >= reserve, supply, np.where(payout > 0, inside, 0.0))


class BondingCurve(ABC):
    """A price curve P(S). Subclasses define ``price`` and ``reserve``; the rest has defaults.

    The defaults are exact but generic: ``mint_cost`` differences the reserve (loses digits when
    dS ≪ S) and the inverses call the numerical solver. The built-in curves override all four
    with closed forms.
    """

    @abstractmethod
    def price(self, supply: ArrayLike) -> np.ndarray:
        """Spot price P(S)."""

    @abstractmethod
    def reserve(self, supply: ArrayLike) -> np.ndarray:
        """Reserve backing S tokens: F(S) = ∫_0^S P(s) ds."""

    def mint_cost(self, supply: ArrayLike, tokens: ArrayLike) -> np.ndarray:
        """Reserve paid to mint dS tokens at supply S: F(S + dS) − F(S)."""
        supply, tokens = _f(supply), _f(tokens)
        return self.reserve(supply + tokens) - self.reserve(supply)

    def burn_refund(self, supply: ArrayLike, tokens: ArrayLike) -> np.ndarray:
        """Reserve paid out for burning dS ≤ S tokens at supply S: F(S) − F(S − dS)."""
        supply, tokens = _f(supply), _f(tokens)
        return self.mint_cost(supply - tokens, tokens)

    def tokens_for_deposit(self, supply: ArrayLike, deposit: ArrayLike) -> np.ndarray:
        """dS with mint_cost(S, dS) = deposit."""
        return solve_tokens_for_deposit(self, supply, deposit)

    def tokens_for_payout(self, supply: ArrayLike, payout: ArrayLike) -> np.ndarray:
        """dS with burn_refund(S, dS) = payout; a payout of F(S) or more burns exactly all S."""
        return solve_tokens_for_payout(self, supply, payout)


@dataclass(frozen=True)
class LinearCurve(BondingCurve):
    """P(S) = m·S + b, with slope m ≥ 0 and intercept b ≥ 0.

    F(S) = ½·m·S² + b·S;  cost(S, dS) = dS·(m·(S + ½dS) + b);
    tokens for deposit R solve ½·m·dS² + P(S)·dS − R = 0:  dS = 2R / (P + √(P² + 2mR)).
    """

    slope: ArrayLike = 1.0
    intercept: ArrayLike = 0.0

    def price(self, supply: ArrayLike) -> np.ndarray:
        return _f(self.slope) * _f(supply) + _f(self.intercept)

    def reserve(self, supply: ArrayLike) -> np.ndarray:
        s = _f(supply)
        return s * (0.5 * _f(self.slope) * s + _f(self.intercept))

    def mint_cost(self, supply: ArrayLike, tokens: ArrayLike) -> np.ndarray:
        d = _f(tokens)
        return d * (_f(self.slope) * (_f(supply) + 0.5 * d) + _f(self.intercept))

    def burn_refund(self, supply: ArrayLike, tokens: ArrayLike) -> np.ndarray:
        d = _f(tokens)
        return d * (_f(self.slope) * (_f(supply) - 0.5 * d) + _f(self.intercept))

    def tokens_for_deposit(self, supply: ArrayLike, deposit: ArrayLike) -> np.ndarray:
        p, r = self.price(supply), _f(deposit)
        # The rationalised root 2R/(P + √…) stays accurate when m·R ≪ P² and when m = 0.
        denom = p + np.sqrt(p * p + 2.0 * _f(self.slope) * r)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(r == 0, 0.0, 2.0 * r / denom)

    def tokens_for_payout(self, supply: ArrayLike, payout: ArrayLike) -> np.ndarray:
        s, pay = np.broadcast_arrays(_f(supply), _f(payout))
        p, held = self.price(s), self.reserve(s)
        r = np.minimum(pay, held)
        disc = np.maximum(p * p - 2.0 * _f(self.slope) * r, 0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            return _burn_capped(2.0 * r / (p + np.sqrt(disc)), s, pay, held)


@dataclass(frozen=True)
class ExponentialCurve(BondingCurve):
    """P(S) = a·e^{kS}, with a > 0 and growth rate k ≥ 0 (k = 0 is a flat price a).

    F(S) = a·(e^{kS} − 1)/k;  cost(S, dS) = P(S)·(e^{k·dS} − 1)/k;
    tokens for deposit R:  dS = log(1 + k·R/P(S))/k.
    """

    scale: ArrayLike = 1.0
    growth: ArrayLike = 1.0

    def price(self, supply: ArrayLike) -> np.ndarray:
        return _f(self.scale) * np.exp(_f(self.growth) * _f(supply))

    def reserve(self, supply: ArrayLike) -> np.ndarray:
        return _f(self.scale) * _expm1_ratio(_f(self.growth), _f(supply))

    def mint_cost(self, supply: ArrayLike, tokens: ArrayLike) -> np.ndarray:
        return self.price(supply) * _expm1_ratio(_f(self.growth), _f(tokens))

    def burn_refund(self, supply: ArrayLike, tokens: ArrayLike) -> np.ndarray:
        # (1 − e^{−k·dS})/k is _expm1_ratio with k → −k.
        return self.price(supply) * _expm1_ratio(-_f(self.growth), _f(tokens))

    def tokens_for_deposit(self, supply: ArrayLike, deposit: ArrayLike) -> np.ndarray:
        return _log1p_ratio(_f(self.growth), _f(deposit) / self.price(supply))

    def tokens_for_payout(self, supply: ArrayLike, payout: ArrayLike) -> np.ndarray:
        """Burning dS pays P(S)·(1 − e^{−k·dS})/k, so dS = −log(1 − k·R/P(S))/k, capped at S.

        R/P(S) is taken in log space where P(S) overflows (k·S > 709), and k·R/P(S), which tends to
        1 − e^{−kS} at the cap, is held below that bound: rounded up past 1 it made log1p NaN.
        """
        s, pay = np.broadcast_arrays(_f(supply), _f(payout))
        k, a = _f(self.growth), _f(self.scale)
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            held, p = self.reserve(s), self.price(s)
            ratio = np.where(np.isfinite(p), pay / p, np.exp(np.log(pay) - np.log(a) - k * s))
            # (1 − e^{−kS})/k: the value of R/P(S) at R = F(S)
            ratio = np.minimum(ratio, _expm1_ratio(-k, s))
            tokens = _log1p_ratio(-k, ratio)
        return _burn_capped(tokens, s, pay, held)


@dataclass(frozen=True)
class SigmoidCurve(BondingCurve):
    """P(S) = K / (1 + e^{−k(S − S₀)}): price rises from ≈0 to the ceiling K around S₀ (k > 0).

    With u = k(S − S₀) and softplus(u) = log(1 + eᵘ):
    F(S) = (K/k)·(softplus(u) − softplus(−k·S₀));
    cost(S, dS) = (K/k)·log(1 + σ(u)·(e^{k·dS} − 1)),  σ(u) = 1/(1 + e^{−u});
    tokens for deposit R, y = k·R/K:  dS = log(1 + (eʸ − 1)/σ(u))/k;
    tokens to burn for payout R:      dS = −log(1 + (e^{−y} − 1)/σ(u))/k.
    """

    max_price: ArrayLike = 1.0
    steepness: ArrayLike = 1.0
    midpoint: ArrayLike = 0.0

    def _u(self, supply: ArrayLike) -> np.ndarray:
        return _f(self.steepness) * (_f(supply) - _f(self.midpoint))

    def price(self, supply: ArrayLike) -> np.ndarray:
        return _f(self.max_price) * np.exp(-_softplus(-self._u(supply)))

    def reserve(self, supply: ArrayLike) -> np.ndarray:
        # The increment form keeps its digits at small S, where softplus(u) − softplus(u₀) cancels.
        return self.mint_cost(0.0, supply)

    def mint_cost(self, supply: ArrayLike, tokens: ArrayLike) -> np.ndarray:
        k = _f(self.steepness)
        # log(1 + σ(u)·(eˣ − 1)) = softplus(log(eˣ − 1) + log σ(u)), stable for tiny and huge steps.
        x = k * _f(tokens)
        return _f(self.max_price) / k * _softplus(_log_expm1(x) - _softplus(-self._u(supply)))

    def tokens_for_deposit(self, supply: ArrayLike, deposit: ArrayLike) -> np.ndarray:
        k = _f(self.steepness)
        # log(1 + (eʸ − 1)/σ(u)) = softplus(log(eʸ − 1) − log σ(u))
        y = k * _f(deposit) / _f(self.max_price)
        return _softplus(_log_expm1(y) + _softplus(-self._u(supply))) / k

    def tokens_for_payout(self, supply: ArrayLike, payout: ArrayLike) -> np.ndarray:
        k = _f(self.steepness)
        s, pay = np.broadcast_arrays(_f(supply), _f(payout))
        held = self.reserve(s)
        r = np.minimum(pay, held)
        y = k * r / _f(self.max_price)
        # Burning x/k tokens pays y·K/k when e^{−x} = e^{−y}·(1 − e^{−u}·(eʸ − 1)), so
        # x = y − log(1 − e^{log(eʸ − 1) − u}); the form avoids 1 + (tiny − 1) cancellations.
        # Near r = F(S) on a steep curve the refund is flat (P(0) ≈ 0), so a rounding of y burns far
        # too little; the cap below makes a payout of F(S) burn exactly S.
        with np.errstate(divide="ignore"):
            tokens = (y - _log1mexp(np.minimum(_log_expm1(y) - self._u(s), 0.0))) / k
        return _burn_capped(tokens, s, pay, held)


@dataclass(frozen=True)
class PowerCurve(BondingCurve):
    """P(S) = c·S^{1/r − 1}: the Bancor curve with constant reserve ratio r ∈ (0, 1].

    F(S) = c·r·S^{1/r}, so the reserve is always the fraction r of market cap: F = r·S·P.
    Bancor's purchase and sale returns follow; with R = F(S):
    tokens for deposit ΔR:  dS = S·((1 + ΔR/R)^r − 1);
    payout for burning dS:  ΔR = R·(1 − (1 − dS/S)^{1/r}).
    r = 1 is a flat price c, r = ½ a linear curve c·S.
    """

    scale: ArrayLike = 1.0
    reserve_ratio: ArrayLike = 0.5

    @classmethod
    def from_state(cls, supply: ArrayLike, reserve: ArrayLike, reserve_ratio: ArrayLike) -> PowerCurve:
        """The curve through a (supply, reserve) pair: c = R / (r·S^{1/r}).

        Use this to re-anchor after a controller changes the reserve ratio, so the new curve
        prices the reserve actually held.
        """
        r = _f(reserve_ratio)
        return cls(scale=_f(reserve) / (r * _f(supply) ** (1.0 / r)), reserve_ratio=r)

    def price(self, supply: ArrayLike) -> np.ndarray:
        r = _f(self.reserve_ratio)
        return _f(self.scale) * _f(supply) ** (1.0 / r - 1.0)

    def reserve(self, supply: ArrayLike) -> np.ndarray:
        r = _f(self.reserve_ratio)
        return _f(self.scale) * r * _f(supply) ** (1.0 / r)

    def mint_cost(self, supply: ArrayLike, tokens: ArrayLike) -> np.ndarray:
        s, d, r = _f(supply), _f(tokens), _f(self.reserve_ratio)
        safe_s = np.where(s > 0, s, 1.0)
        growth = self.reserve(s) * np.expm1(np.log1p(d / safe_s) / r)
        return np.where(s > 0, growth, self.reserve(d))

    def burn_refund(self, supply: ArrayLike, tokens: ArrayLike) -> np.ndarray:
        s, r = _f(supply), _f(self.reserve_ratio)
        d = np.minimum(_f(tokens), s)
        safe_s = np.where(s > 0, s, 1.0)
        with np.errstate(divide="ignore"):
            return self.reserve(s) * -np.expm1(np.log1p(-d / safe_s) / r)

    def tokens_for_deposit(self, supply: ArrayLike, deposit: ArrayLike) -> np.ndarray:
        s, dr, r = _f(supply), _f(deposit), _f(self.reserve_ratio)
        held = self.reserve(s)
        safe_held = np.where(held > 0, held, 1.0)
        bancor = s * np.expm1(r * np.log1p(dr / safe_held))
        from_zero = (dr / (_f(self.scale) * r)) ** r
        return np.where(held > 0, bancor, from_zero)

    def tokens_for_payout(self, supply: ArrayLike, payout: ArrayLike) -> np.ndarray:
        s, r = _f(supply), _f(self.reserve_ratio)
        held = self.reserve(s)
        pay = np.minimum(_f(payout), held)
        safe_held = np.where(held > 0, held, 1.0)
        with np.errstate(divide="ignore"):
            tokens = s * -np.expm1(r * np.log1p(-pay / safe_held))
        return np.where(held > 0, _burn_capped(tokens, s, _f(payout), held), 0.0)


# --------------------------------------------------------------------------------------------------
# Numerical inverses for curves without closed forms


def _expand_bracket(g, hi: np.ndarray, max_doublings: int = 1100) -> np.ndarray:
    """Double ``hi`` where g(hi) < 0 until g(hi) ≥ 0 (g increasing)."""
    for _ in range(max_doublings):
        short = g(hi) < 0
        if not short.any():
            break
        hi = np.where(short, 2.0 * hi, hi)
    return hi


def _newton_bisect(g, dg, lo, hi, rtol: float, max_iter: int) -> np.ndarray:
    """Root of increasing g in [lo, hi], per element: Newton steps, bisection when they leave the bracket."""
    x = 0.5 * (lo + hi)
    for _ in range(max_iter):
        gx = g(x)
        lo = np.where(gx < 0, x, lo)
        hi = np.where(gx >= 0, x, hi)
        with np.errstate(divide="ignore", invalid="ignore"):
            newton = x - gx / dg(x)
        inside = np.isfinite(newton) & (newton > lo) & (newton < hi)
        x_new = np.where(inside, newton, 0.5 * (lo + hi))
        done = (np.abs(x_new - x) <= rtol * np.abs(x_new)) | (hi - lo <= rtol * np.abs(hi)) | (gx == 0)
        x = np.where(gx == 0, x, x_new)
        if done.all():
            break
    return x


def solve_tokens_for_deposit(
    curve: BondingCurve, supply: ArrayLike, deposit: ArrayLike, *, rtol: float = 1e-14, max_iter: int = 200
) -> np.ndarray:
    """Solve mint_cost(S, dS) = R for dS ≥ 0, elementwise, for any curve with P ≥ 0.

    Bracket [0, R/P(S)] (an upper bound when P is nondecreasing; doubled otherwise), then
    safeguarded Newton with derivative ∂cost/∂dS = P(S + dS).
    """
    s, r = np.broadcast_arrays(_f(supply), _f(deposit))
    p0 = np.broadcast_to(curve.price(s), s.shape)
    lo = np.zeros(s.shape)
    with np.errstate(divide="ignore", invalid="ignore"):
        hi = np.where(p0 > 0, r / p0, 1.0)
    hi = np.where(hi > 0, hi, 1.0)

    def g(x):
        return curve.mint_cost(s, x) - r

    def dg(x):
        return curve.price(s + x)

    hi = _expand_bracket(g, hi)
    return np.where(r > 0, _newton_bisect(g, dg, lo, hi, rtol, max_iter), 0.0)


def solve_tokens_for_payout(
    curve: BondingCurve, supply: ArrayLike, payout: ArrayLike, *, rtol: float = 1e-14, max_iter: int = 200
) -> np.ndarray:
    """Solve burn_refund(S, dS) = R for 0 ≤ dS ≤ S, elementwise; R ≥ F(S) − F(0) burns exactly all S."""
    s, pay = np.broadcast_arrays(_f(supply), _f(payout))
    everything = curve.burn_refund(s, s)
    r = np.minimum(pay, everything)

    def g(x):
        return curve.burn_refund(s, x) - r

    def dg(x):
        return curve.price(s - x)

    x = _newton_bisect(g, dg, np.zeros(s.shape), s.copy(), rtol, max_iter)
    return _burn_capped(x, s, pay, everything)


# --------------------------------------------------------------------------------------------------
# Trades with slippage


class CurveTrade(NamedTuple):
    """One trade (or a batch of them) against a curve.

    ``slippage`` is the relative gap between the average execution price and the pre-trade spot
    price, signed so that it is ≥ 0 when the trader is worse off than at spot (buys above spot,
    sells below it). It is 0 for empty trades.
    """

    tokens: np.ndarray  # minted (buy) or burned (sell)
    reserve: np.ndarray  # paid into (buy) or out of (sell) the reserve
    average_price: np.ndarray
    spot_before: np.ndarray
    spot_after: np.ndarray
    slippage: np.ndarray


def _trade(curve, supply, tokens, reserve, side: float) -> CurveTrade:
    spot_before = curve.price(supply)
    spot_after = curve.price(supply + side * tokens)
    with np.errstate(divide="ignore", invalid="ignore"):
        average = np.where(tokens > 0, reserve / tokens, spot_before)
        slippage = np.where(spot_before > 0, side * (average / spot_before - 1.0), 0.0)
    return CurveTrade(tokens, reserve, average, spot_before, spot_after, slippage)


def buy_for_deposit(curve: BondingCurve, supply: ArrayLike, deposit: ArrayLike) -> CurveTrade:
    """Spend ``deposit`` of reserve currency on newly minted tokens."""
    s, r = np.broadcast_arrays(_f(supply), _f(deposit))
    return _trade(curve, s, curve.tokens_for_deposit(s, r), r, +1.0)


def buy_exact_tokens(curve: BondingCurve, supply: ArrayLike, tokens: ArrayLike) -> CurveTrade:
    """Mint exactly ``tokens``, paying ∫_S^{S+dS} P."""
    s, d = np.broadcast_arrays(_f(supply), _f(tokens))
    return _trade(curve, s, d, curve.mint_cost(s, d), +1.0)


def sell_exact_tokens(curve: BondingCurve, supply: ArrayLike, tokens: ArrayLike) -> CurveTrade:
    """Burn ``tokens`` (capped at the supply) for ∫_{S−dS}^{S} P out of the reserve."""
    s, d = np.broadcast_arrays(_f(supply), _f(tokens))
    d = np.minimum(d, s)
    return _trade(curve, s, d, curve.burn_refund(s, d), -1.0)


def sell_for_payout(curve: BondingCurve, supply: ArrayLike, payout: ArrayLike) -> CurveTrade:
    """Burn as many tokens as it takes to receive ``payout`` (all of S if the reserve is short)."""
    s, r = np.broadcast_arrays(_f(supply), _f(payout))
    d = curve.tokens_for_payout(s, r)
    return _trade(curve, s, d, curve.burn_refund(s, d), -1.0)


# --------------------------------------------------------------------------------------------------
# Augmented bonding curve


@dataclass(frozen=True)
class AugmentedBondingCurveParams:
    """Parameters of an augmented bonding curve (Commons Stack / BlockScience ABC).

    kappa                 curvature κ: after the hatch the reserve R and supply S keep
                          V = S^κ / R constant, so P = dR/dS = κ·R/S (a power curve, reserve ratio 1/κ)
    hatch_price           p₀, the fixed price during the hatch
    hatch_funding_share   θ, share of hatch contributions sent to the funding pool
    entry_tribute         share of every post-hatch deposit sent to the funding pool
    exit_tribute          share of every sale's proceeds sent to the funding pool
    """

    kappa: ArrayLike = 2.0
    hatch_price: ArrayLike = 0.1
    hatch_funding_share: ArrayLike = 0.3
    entry_tribute: ArrayLike = 0.0
    exit_tribute: ArrayLike = 0.0


@dataclass(frozen=True)
class AugmentedBondingCurveState:
    """Supply, reserve and funding pool by run; ``hatched`` is False while the hatch is open.

    ``curve_invariant`` is the curve's V = S^κ/R, recorded by every post-hatch trade from the state
    it starts from (nan until the first one). Buys and sells keep V constant, so this is the V₀
    the hatch closed at, and it survives zero supply: after a full sell-off (S = R = 0, where S^κ/R
    is 0/0) the curve S^κ = V₀·R still stands, and the next buyer enters at its foot, minting
    S' = (V₀·R')^{1/κ} at the marginal price P(0) = κ·0^{κ−1}/V₀. This is the defensible reading:
    the hatch fixed the price schedule every later holder bought on, no holder is left to be
    diluted, and re-opening a hatch (a new p₀ and V₀) is a governance act, not the mechanism's.
    """

    supply: np.ndarray
    reserve: np.ndarray
    funding_pool: np.ndarray
    hatched: np.ndarray
    curve_invariant: np.ndarray

    @classmethod
    def empty(cls, shape: int | tuple[int, ...]) -> AugmentedBondingCurveState:
        zeros = np.zeros(shape)
        return cls(zeros, zeros.copy(), zeros.copy(), np.zeros(shape, dtype=bool), np.full(shape, np.nan))

    def invariant(self, params: AugmentedBondingCurveParams) -> np.ndarray:
        """V = S^κ / R, constant under post-hatch buys and sells (V₀ at zero supply)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(
                self.supply > 0, self.supply ** _f(params.kappa) / self.reserve, self.curve_invariant
            )


class AugmentedBondingCurveTrade(NamedTuple):
    tokens: np.ndarray  # minted (buy) or burned (sell)
    amount: np.ndarray  # paid by the buyer, or received by the seller net of tribute
    tribute: np.ndarray  # sent to the funding pool
    slippage: np.ndarray  # of the curve leg, as in CurveTrade; 0 during the hatch


def abc_spot_price(state: AugmentedBondingCurveState, params: AugmentedBondingCurveParams) -> np.ndarray:
    """P = κ·R/S after the hatch (κ·0^{κ−1}/V₀ at zero supply); p₀ while it is open."""
    kappa = _f(params.kappa)
    with np.errstate(divide="ignore", invalid="ignore"):
        curve_price = np.where(
            state.supply > 0,
            kappa * state.reserve / state.supply,
            kappa * 0.0 ** (kappa - 1.0) / state.curve_invariant,
        )
    return np.where(state.hatched, curve_price, _f(params.hatch_price))


def _abc_curve(state, params) -> PowerCurve:
    """The power curve through (S, R), or with scale κ/V₀ (F(S) = S^κ/V₀) at zero supply."""
    kappa = _f(params.kappa)
    live = (state.supply > 0) & (state.reserve > 0)
    supply = np.where(live, state.supply, 1.0)
    reserve = np.where(live, state.reserve, 1.0)
    through = PowerCurve.from_state(supply, reserve, 1.0 / kappa)
    v = state.curve_invariant
    with np.errstate(divide="ignore", invalid="ignore"):
        at_zero = kappa / np.where(np.isfinite(v) & (v > 0), v, 1.0)
    return PowerCurve(np.where(live, through.scale, at_zero), 1.0 / kappa)


def _recorded_invariant(state: AugmentedBondingCurveState, params) -> np.ndarray:
    """V = S^κ/R of the state a post-hatch trade starts from (kept as it was at zero supply)."""
    live = state.hatched & (state.supply > 0) & (state.reserve > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(live, state.supply ** _f(params.kappa) / state.reserve, state.curve_invariant)


def abc_close_hatch(
    state: AugmentedBondingCurveState, close_b: ArrayLike = True
) -> AugmentedBondingCurveState:
    """End the hatch where ``close_b`` (and some supply exists): the curve starts at V₀ = S₀^κ/R₀.

    With a fully subscribed hatch of d₀, S₀ = d₀/p₀ and R₀ = (1 − θ)·d₀, so the opening curve price
    is p₁ = κ·(1 − θ)·p₀.
    """
    close = np.broadcast_to(_f(close_b).astype(bool), state.hatched.shape) & (state.supply > 0)
    return AugmentedBondingCurveState(
        state.supply, state.reserve, state.funding_pool, state.hatched | close, state.curve_invariant
    )


def abc_buy(
    state: AugmentedBondingCurveState, deposit: ArrayLike, params: AugmentedBondingCurveParams
) -> tuple[AugmentedBondingCurveState, AugmentedBondingCurveTrade]:
    """Buy with ``deposit`` (by run).

    Hatch open:  tokens = d/p₀; θ·d to the funding pool, (1 − θ)·d to the reserve.
    After hatch: tribute = entry_tribute·d to the pool; the rest R' − R = d − tribute mints
                 S' = (V·R')^{1/κ}, i.e. dS = S·((1 + (d − tribute)/R)^{1/κ} − 1).
    """
    d = np.broadcast_to(_f(deposit), state.supply.shape)
    theta, p0 = _f(params.hatch_funding_share), _f(params.hatch_price)
    tribute = np.where(state.hatched, _f(params.entry_tribute) * d, theta * d)
    into_reserve = d - tribute
    curve = _abc_curve(state, params)
    curve_trade = buy_for_deposit(curve, np.where(state.hatched, state.supply, 1.0), into_reserve)
    tokens = np.where(state.hatched, curve_trade.tokens, d / p0)
    slippage = np.where(state.hatched, curve_trade.slippage, 0.0)
    new = AugmentedBondingCurveState(
        state.supply + tokens,
        state.reserve + into_reserve,
        state.funding_pool + tribute,
        state.hatched,
        _recorded_invariant(state, params),
    )
    return new, AugmentedBondingCurveTrade(tokens, d, tribute, slippage)


def abc_sell(
    state: AugmentedBondingCurveState, tokens: ArrayLike, params: AugmentedBondingCurveParams
) -> tuple[AugmentedBondingCurveState, AugmentedBondingCurveTrade]:
    """Sell ``tokens`` (capped at supply) after the hatch; hatch tokens cannot be sold while it is open.

    The curve pays ΔR = R·(1 − (1 − dS/S)^κ) out of the reserve; exit_tribute·ΔR goes to the
    funding pool and the seller receives the rest.
    """
    d = np.where(state.hatched, np.minimum(_f(tokens), state.supply), 0.0)
    curve = _abc_curve(state, params)
    curve_trade = sell_exact_tokens(curve, np.where(state.hatched, state.supply, 1.0), d)
    # The refund is R·(1 − (1 − dS/S)^κ) evaluated through the curve's scale, which can round a hair
    # past R: the last seller gets exactly the reserve, and no sale more than it.
    refund = np.where(d == state.supply, state.reserve, np.minimum(curve_trade.reserve, state.reserve))
    gross = np.where(state.hatched, refund, 0.0)
    tribute = _f(params.exit_tribute) * gross
    new = AugmentedBondingCurveState(
        state.supply - d,
        state.reserve - gross,
        state.funding_pool + tribute,
        state.hatched,
        _recorded_invariant(state, params),
    )
    slippage = np.where(state.hatched, curve_trade.slippage, 0.0)
    return new, AugmentedBondingCurveTrade(d, gross - tribute, tribute, slippage)
