"""Automated market makers: constant-product pools (Uniswap v2) and concentrated liquidity (v3).

A constant-product pool holds reserves x and y and quotes the price y/x. A swap of x_in tokens X
pays a fee f on the input and keeps x·y from falling:

    amount_out = x_in·(1 − f)·y / (x + x_in·(1 − f))
    (x + x_in)·(y − amount_out) = x·y·(x + x_in)/(x + x_in·(1 − f)) ≥ x·y

so the invariant k = x·y grows by the fee and never decreases. Liquidity providers own the pool
pro rata through LP shares.

Concentrated liquidity (Uniswap v3) lets each position provide liquidity L only on a price range
[1.0001^lower, 1.0001^upper). Inside a range the pool behaves like a constant-product pool on
virtual reserves x_v = L/√P, y_v = L·√P; a swap moves √P by

    X in:  Δ(1/√P) = Δx/L,    Y out = L·Δ√P
    Y in:  Δ√P = Δy/L,        X out = L·Δ(1/√P)

and when √P reaches an initialised tick the active liquidity changes by that tick's net liquidity.

Constant-product functions are vectorized over runs (pool reserves are arrays); the concentrated
pool is one pool per object, with its swap loop compiled by numba.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from econsim.engine.jit import njit

__all__ = [
    "MAX_TICK",
    "MIN_TICK",
    "ConcentratedLiquidityPool",
    "ConstantProductPool",
    "LiquidityChange",
    "Swap",
    "add_liquidity",
    "amounts_for_liquidity",
    "price_to_tick",
    "remove_liquidity",
    "swap",
    "swap_input_for_output",
    "swap_output",
    "tick_to_price",
    "tick_to_sqrt_price",
]

# --------------------------------------------------------------------------------------------------
# Constant product (Uniswap v2)


def _f(x: ArrayLike) -> np.ndarray:
    return np.asarray(x, dtype=float)


def swap_output(
    reserve_in: ArrayLike, reserve_out: ArrayLike, amount_in: ArrayLike, fee: ArrayLike
) -> np.ndarray:
    """amount_out = a·(1 − f)·y / (x + a·(1 − f)) for a tokens in against reserves (x in, y out)."""
    a_net = _f(amount_in) * (1.0 - _f(fee))
    return a_net * _f(reserve_out) / (_f(reserve_in) + a_net)


def swap_input_for_output(
    reserve_in: ArrayLike, reserve_out: ArrayLike, amount_out: ArrayLike, fee: ArrayLike
) -> np.ndarray:
    """Input needed for exactly ``amount_out``: a = x·b / ((y − b)·(1 − f)); inf if b ≥ y."""
    b, y = _f(amount_out), _f(reserve_out)
    with np.errstate(divide="ignore"):
        a = _f(reserve_in) * b / ((y - b) * (1.0 - _f(fee)))
    return np.where(b < y, a, np.inf)


@dataclass(frozen=True)
class ConstantProductPool:
    """Reserves of the two tokens and the LP share supply, by run."""

    reserve_x: np.ndarray
    reserve_y: np.ndarray
    shares: np.ndarray

    @classmethod
    def empty(cls, shape: int | tuple[int, ...]) -> ConstantProductPool:
        return cls(np.zeros(shape), np.zeros(shape), np.zeros(shape))

    @property
    def price(self) -> np.ndarray:
        """Spot price of X in units of Y: y/x."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return self.reserve_y / self.reserve_x

    @property
    def invariant(self) -> np.ndarray:
        """k = x·y."""
        return self.reserve_x * self.reserve_y


class Swap(NamedTuple):
    pool: ConstantProductPool
    amount_out: np.ndarray
    average_price: np.ndarray  # output per unit input
    price_impact: np.ndarray  # 1 − average_price / pre-trade spot (≥ 0; includes the fee)


def swap(pool: ConstantProductPool, amount_in: ArrayLike, fee: ArrayLike, x_to_y: ArrayLike = True) -> Swap:
    """Swap ``amount_in`` of X for Y where ``x_to_y`` (else Y for X), by run.

    The whole input, fee included, joins the input reserve, which is how v2 grows k. The output is
    the closed form dy = y·a(1 − f)/(x + a(1 − f)) itself, never a difference of reserves, so it
    keeps its digits however small the trade. The price impact
        1 − (dy/a)/(y/x) = (f·x + a(1 − f))/(x + a(1 − f))
    is evaluated in that form, a ratio of sums of nonnegative terms, free of the cancellation in
    1 − average/spot.
    """
    a = np.broadcast_to(_f(amount_in), pool.reserve_x.shape)
    x_to_y = np.broadcast_to(np.asarray(x_to_y, dtype=bool), a.shape)
    reserve_in = np.where(x_to_y, pool.reserve_x, pool.reserve_y)
    reserve_out = np.where(x_to_y, pool.reserve_y, pool.reserve_x)
    f = _f(fee)
    a_net = a * (1.0 - f)
    new_in = reserve_in + a
    out = swap_output(reserve_in, reserve_out, a, fee)
    # The remaining reserve by difference when the trade takes less than half of y (exact enough:
    # y − dy ≥ y/2), else directly as y·x/(x + a_net), which a difference would cancel.
    with np.errstate(divide="ignore", invalid="ignore"):
        direct_new_out = reserve_out * reserve_in / (reserve_in + a_net)
    new_out = np.where(a_net < reserve_in, reserve_out - out, direct_new_out)
    # Round the reserve in the pool's favour, as v2's integer floor does, so the float x·y never
    # decreases: the few ulps of y this may add stay in the pool; the trader's output is untouched.
    k = reserve_in * reserve_out
    for _ in range(8):
        short = new_in * new_out < k
        if not short.any():
            break
        new_out = np.where(short, np.nextafter(new_out, np.inf), new_out)
    new = ConstantProductPool(
        np.where(x_to_y, new_in, new_out), np.where(x_to_y, new_out, new_in), pool.shares
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        spot = reserve_out / reserve_in
        average = np.where(a > 0, out / a, spot)
        impact = np.where(a > 0, (f * reserve_in + a_net) / (reserve_in + a_net), 0.0)
    return Swap(new, out, average, impact)


class LiquidityChange(NamedTuple):
    pool: ConstantProductPool
    shares: np.ndarray  # minted (add) or burned (remove)
    amount_x: np.ndarray  # deposited (add) or withdrawn (remove)
    amount_y: np.ndarray


def add_liquidity(pool: ConstantProductPool, amount_x: ArrayLike, amount_y: ArrayLike) -> LiquidityChange:
    """Deposit at most (amount_x, amount_y) at the pool's ratio; the excess of one side stays with the LP.

    First deposit: shares = √(x·y). Later: shares = T·min(Δx/x, Δy/y), taking Δx = x·s, Δy = y·s.
    (v2 also locks 1000 wei of the first shares; with real-valued amounts that guard is omitted.)
    """
    ax = np.broadcast_to(_f(amount_x), pool.reserve_x.shape)
    ay = np.broadcast_to(_f(amount_y), pool.reserve_x.shape)
    first = pool.shares <= 0
    with np.errstate(divide="ignore", invalid="ignore"):
        fraction = np.minimum(ax / pool.reserve_x, ay / pool.reserve_y)
    fraction = np.where(first, 0.0, fraction)
    used_x = np.where(first, ax, pool.reserve_x * fraction)
    used_y = np.where(first, ay, pool.reserve_y * fraction)
    minted = np.where(first, np.sqrt(ax * ay), pool.shares * fraction)
    new = ConstantProductPool(pool.reserve_x + used_x, pool.reserve_y + used_y, pool.shares + minted)
    return LiquidityChange(new, minted, used_x, used_y)


def remove_liquidity(pool: ConstantProductPool, shares: ArrayLike) -> LiquidityChange:
    """Burn ``shares`` (capped at the supply) for the pro-rata slice of both reserves."""
    burned = np.minimum(np.broadcast_to(_f(shares), pool.shares.shape), pool.shares)
    with np.errstate(divide="ignore", invalid="ignore"):
        fraction = np.where(pool.shares > 0, burned / pool.shares, 0.0)
    out_x, out_y = pool.reserve_x * fraction, pool.reserve_y * fraction
    # Burning the last share empties the pool exactly instead of leaving rounding dust.
    everything = burned == pool.shares
    new = ConstantProductPool(
        np.where(everything, 0.0, pool.reserve_x - out_x),
        np.where(everything, 0.0, pool.reserve_y - out_y),
        pool.shares - burned,
    )
    out_x = np.where(everything, pool.reserve_x, out_x)
    out_y = np.where(everything, pool.reserve_y, out_y)
    return LiquidityChange(new, burned, out_x, out_y)


# --------------------------------------------------------------------------------------------------
# Concentrated liquidity (Uniswap v3)

MIN_TICK = -887272
MAX_TICK = 887272
_LOG_TICK_BASE = np.log1p(1e-4)  # log(1.0001) would inherit 1.0001's rounding error, ~1e-12 relative


def tick_to_price(tick: ArrayLike) -> np.ndarray:
    """P = 1.0001^tick."""
    return np.exp(np.asarray(tick, dtype=float) * _LOG_TICK_BASE)


def tick_to_sqrt_price(tick: ArrayLike) -> np.ndarray:
    """√P = 1.0001^(tick/2)."""
    return np.exp(0.5 * np.asarray(tick, dtype=float) * _LOG_TICK_BASE)


def price_to_tick(price: ArrayLike) -> np.ndarray:
    """Largest tick with 1.0001^tick ≤ P."""
    p = _f(price)
    tick = np.floor(np.log(p) / _LOG_TICK_BASE).astype(np.int64)
    # log/exp round-trips can land one tick off at exact tick prices; settle against tick_to_price.
    tick = np.where(tick_to_price(tick + 1) <= p, tick + 1, tick)
    return np.where(tick_to_price(tick) > p, tick - 1, tick)


def amounts_for_liquidity(
    sqrt_price: ArrayLike, sqrt_lower: ArrayLike, sqrt_upper: ArrayLike, liquidity: ArrayLike
) -> tuple[np.ndarray, np.ndarray]:
    """Token amounts (x, y) held by liquidity L on [√Pa, √Pb) at the price √P.

    below the range: x = L·(1/√Pa − 1/√Pb), y = 0
    inside:          x = L·(1/√P − 1/√Pb),  y = L·(√P − √Pa)
    above:           x = 0,                 y = L·(√Pb − √Pa)
    """
    sp = np.clip(_f(sqrt_price), _f(sqrt_lower), _f(sqrt_upper))
    lq = _f(liquidity)
    return lq * (1.0 / sp - 1.0 / _f(sqrt_upper)), lq * (sp - _f(sqrt_lower))


# Why numba: a swap walks tick by tick and each step depends on where the previous one stopped,
# so the loop cannot be vectorized; compiled, a swap crossing many ticks costs microseconds.
@njit()
def _swap_across_ticks(sqrt_price, tick_sqrt, active_liquidity, amount_in, x_to_y, fee, sqrt_limit):
    """Exact-input swap. ``active_liquidity[i]`` is the liquidity on [tick_sqrt[i], tick_sqrt[i+1]).

    Returns (new √P, input used incl. fee, output, fee paid).
    """
    n = tick_sqrt.shape[0]
    remaining = amount_in
    used = 0.0
    out = 0.0
    fees = 0.0
    sp = sqrt_price
    while remaining > 0.0:
        if x_to_y:
            i = np.searchsorted(tick_sqrt, sp, side="left") - 1  # interval just below √P
            if i < 0 or sp <= sqrt_limit:
                break
            target = max(tick_sqrt[i], sqrt_limit)
        else:
            i = np.searchsorted(tick_sqrt, sp, side="right") - 1  # interval just above √P
            if i >= n - 1 or sp >= sqrt_limit:
                break
            target = min(tick_sqrt[i + 1], sqrt_limit)
        liquidity = active_liquidity[i] if i >= 0 else 0.0
        if liquidity <= 0.0:
            sp = target  # an empty gap is crossed for free
            continue
        net = remaining * (1.0 - fee)
        if x_to_y:
            net_to_target = liquidity * (1.0 / target - 1.0 / sp)
            # Rounding must not push √P backwards or past the target.
            partial_sp = min(max(liquidity * sp / (liquidity + net * sp), target), sp)
        else:
            net_to_target = liquidity * (target - sp)
            partial_sp = max(min(sp + net / liquidity, target), sp)
        if net >= net_to_target:  # reach the next tick (or the limit) and cross it
            gross = min(net_to_target / (1.0 - fee), remaining)
            net_used = net_to_target
            new_sp = target
            out += liquidity * (sp - new_sp) if x_to_y else liquidity * (1.0 / sp - 1.0 / new_sp)
        else:  # stop inside the range; output in closed form, free of the cancellation in √P − √P'
            gross = remaining
            net_used = net
            new_sp = partial_sp
            out += liquidity * net * sp * sp / (liquidity + net * sp) if x_to_y else net / (sp * new_sp)
        fees += gross - net_used
        used += gross
        remaining -= gross
        sp = new_sp
    return sp, used, out, fees


class ConcentratedLiquidityPool:
    """One Uniswap-v3-style pool: positions of liquidity L on tick ranges, swaps that cross ticks.

    State: √P, the sorted initialised ticks with their net liquidity (+L at a range's lower tick,
    −L at its upper), the liquidity held on each range, the token balances the pool holds for its
    positions, and the fees collected (kept apart from the positions, as in v3; fees are not split
    per position here).

    Liquidity is booked exactly: v3 keeps it in integers, here every deposit is a float and the
    per-tick net and per-range totals are kept as exact rationals (``Fraction``; a sum of floats is
    a dyadic rational), so the active liquidity on an interval is the correctly rounded sum of the
    positions covering it. A float running sum would read 1e8 + 3.3 − 1e8 as 3.2999999523 and leave
    ±1e-7 residues in gaps that should be empty, where a swap would then stall.
    """

    def __init__(self, price: float, fee: float = 0.003):
        self.sqrt_price = float(np.sqrt(price))
        self.fee = float(fee)
        self._net: dict[int, Fraction] = {}  # tick -> exact net liquidity
        self._gross: dict[int, int] = {}  # tick -> number of ranges ending there (initialised while > 0)
        self._positions: dict[tuple[int, int], Fraction] = {}  # (lower, upper) -> liquidity held
        self._refresh()
        self.balance_x = 0.0
        self.balance_y = 0.0
        self.fees_x = 0.0
        self.fees_y = 0.0

    def _refresh(self) -> None:
        """Rebuild the arrays the swap kernel reads from the exact books."""
        ticks = sorted(self._gross)
        self.ticks = np.array(ticks, dtype=np.int64)
        self.liquidity_net = np.array([float(self._net[t]) for t in ticks])
        running, active = Fraction(0), []
        for t in ticks:
            running += self._net[t]
            active.append(float(running))  # ≥ 0 exactly: every position adds L > 0 on its range
        self.active_liquidity = np.array(active)  # on [tick_i, tick_{i+1})
        self._tick_sqrt = tick_to_sqrt_price(self.ticks)

    @property
    def price(self) -> float:
        return self.sqrt_price**2

    @property
    def liquidity(self) -> float:
        """Active liquidity at the current price."""
        i = int(np.searchsorted(self._tick_sqrt, self.sqrt_price, side="right"))
        return float(self.active_liquidity[i - 1]) if i > 0 else 0.0

    def position(self, lower: int, upper: int) -> float:
        """Liquidity held on [lower, upper) (0 if there is no such position)."""
        return float(self._positions.get((lower, upper), 0))

    def _change(self, lower: int, upper: int, liquidity: float) -> tuple[float, float]:
        if not (MIN_TICK <= lower < upper <= MAX_TICK):
            raise ValueError(f"need MIN_TICK ≤ lower < upper ≤ MAX_TICK, got [{lower}, {upper})")
        delta = Fraction(liquidity)
        key = (int(lower), int(upper))
        held = self._positions.get(key, Fraction(0)) + delta
        if held < 0:
            raise ValueError(
                f"cannot remove liquidity {-liquidity!r} from [{lower}, {upper}): "
                f"the position holds {float(held - delta)!r}"
            )
        x, y = amounts_for_liquidity(
            self.sqrt_price, tick_to_sqrt_price(lower), tick_to_sqrt_price(upper), liquidity
        )
        opened, closed = key not in self._positions, held == 0
        if closed:
            del self._positions[key]
        else:
            self._positions[key] = held
        for tick, d in ((key[0], delta), (key[1], -delta)):
            self._net[tick] = self._net.get(tick, Fraction(0)) + d
            self._gross[tick] = self._gross.get(tick, 0) + int(opened) - int(closed)
            if self._gross[tick] == 0:  # no range ends here any more: the tick is uninitialised
                del self._gross[tick], self._net[tick]
        self._refresh()
        self.balance_x += float(x)
        self.balance_y += float(y)
        return float(x), float(y)

    def add_position(self, lower: int, upper: int, liquidity: float) -> tuple[float, float]:
        """Provide ``liquidity`` on [lower, upper); returns the (x, y) the provider deposits."""
        if not liquidity > 0 or not np.isfinite(liquidity):
            raise ValueError(f"liquidity must be positive and finite, got {liquidity!r}")
        return self._change(lower, upper, liquidity)

    def remove_position(self, lower: int, upper: int, liquidity: float) -> tuple[float, float]:
        """Withdraw ``liquidity`` from [lower, upper); returns the (x, y) paid out.

        Refused (ValueError) for a range without a position or for more than the range holds.
        """
        if not liquidity > 0 or not np.isfinite(liquidity):
            raise ValueError(f"liquidity must be positive and finite, got {liquidity!r}")
        x, y = self._change(lower, upper, -liquidity)
        return -x, -y

    def swap(self, amount_in: float, x_to_y: bool, price_limit: float | None = None) -> tuple[float, float]:
        """Exact-input swap; returns (input used incl. fee, output).

        The swap stops early, using less input, when it reaches ``price_limit`` or runs out of
        liquidity.
        """
        no_limit = 0.0 if x_to_y else np.inf
        sqrt_limit = no_limit if price_limit is None else float(np.sqrt(price_limit))
        sp, used, out, fees = _swap_across_ticks(
            self.sqrt_price,
            self._tick_sqrt,
            self.active_liquidity,
            float(amount_in),
            bool(x_to_y),
            self.fee,
            sqrt_limit,
        )
        self.sqrt_price = float(sp)
        if x_to_y:
            self.balance_x += used - fees
            self.balance_y -= out
            self.fees_x += fees
        else:
            self.balance_y += used - fees
            self.balance_x -= out
            self.fees_y += fees
        return float(used), float(out)
