"""Market clearing: a price from orders or from aggregate demand and supply (seed §3.2).

Three ways to find a price that balances buyers and sellers:

- call auction: collect limit orders, then trade them all at one uniform price p* chosen to
  maximise executed volume  V(p) = min(D(p), O(p)),  D(p) = Σ buy qty with limit ≥ p,
  O(p) = Σ sell qty with limit ≤ p;
- Walrasian clearing: solve D(P) = O(P) for aggregate demand and supply functions;
- price adjustment (tâtonnement): move the price with the imbalance, ΔP = g·(D − O).

The continuous alternative, a limit order book, is in ``order_book``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike
from scipy.optimize import brentq

__all__ = [
    "AuctionResult",
    "BatchAuctionResult",
    "ExcessDemandError",
    "call_auction",
    "call_auction_batch",
    "price_adjustment",
    "walrasian_price",
    "walrasian_price_brentq",
]


class AuctionResult(NamedTuple):
    price: float  # nan when nothing crosses
    volume: float
    buy_fill: np.ndarray  # per buy order
    sell_fill: np.ndarray  # per sell order
    imbalance: float  # D(p*) − O(p*)


def _ration(eligible: np.ndarray, priority_key: np.ndarray, qty: np.ndarray, volume: float) -> np.ndarray:
    """Fill ``volume`` across eligible orders in priority order (key ascending, then arrival)."""
    order = np.lexsort((np.arange(qty.size), priority_key))
    order = order[eligible[order]]
    before = np.concatenate([[0.0], np.cumsum(qty[order])[:-1]])  # quantity ahead in the queue
    fill = np.zeros(qty.size)
    fill[order] = np.clip(volume - before, 0.0, qty[order])
    return fill


def _live_quantity(quantity: ArrayLike) -> np.ndarray:
    """Order quantities with every q ≤ 0 (or nan) read as no order at all."""
    q = np.asarray(quantity, float)
    return np.where(q > 0, q, 0.0)


def call_auction(
    buy_price: ArrayLike,
    buy_quantity: ArrayLike,
    sell_price: ArrayLike,
    sell_quantity: ArrayLike,
    reference_price: float | None = None,
) -> AuctionResult:
    """Uniform-price call auction.

    p* maximises V(p) = min(D(p), O(p)); ties go to the smallest |D − O|, then to the price nearest
    ``reference_price`` (or, without one, the middle of the tied prices). Only order prices need to
    be checked: D and O are step functions that change only there. At p* the short side fills
    completely; the long side is rationed by price priority, then arrival order (array index).
    An order of quantity ≤ 0 is no order: it neither trades nor offers its price as a candidate
    (so it cannot move p* through the tie-breaks), exactly as in ``call_auction_batch``.
    """
    bp, sp = np.asarray(buy_price, float), np.asarray(sell_price, float)
    bq, sq = _live_quantity(buy_quantity), _live_quantity(sell_quantity)
    candidates = np.unique(np.concatenate([bp[bq > 0], sp[sq > 0]]))
    if candidates.size == 0:
        return AuctionResult(np.nan, 0.0, np.zeros(bp.size), np.zeros(sp.size), 0.0)

    # D(p) = buy qty with limit ≥ p; O(p) = sell qty with limit ≤ p; both via sorted cumulative sums.
    b_order, s_order = np.argsort(bp), np.argsort(sp)
    b_sorted, s_sorted = bp[b_order], sp[s_order]
    b_cum = np.concatenate([[0.0], np.cumsum(bq[b_order])])
    s_cum = np.concatenate([[0.0], np.cumsum(sq[s_order])])
    demand = b_cum[-1] - b_cum[np.searchsorted(b_sorted, candidates, side="left")]
    supply = s_cum[np.searchsorted(s_sorted, candidates, side="right")]
    volume = np.minimum(demand, supply)
    best = volume.max()
    if best <= 0:
        return AuctionResult(np.nan, 0.0, np.zeros(bp.size), np.zeros(sp.size), 0.0)

    tied = volume == best
    surplus = np.abs(demand - supply)
    tied &= surplus == surplus[tied].min()
    idx = np.flatnonzero(tied)
    if reference_price is not None:
        pick = idx[np.argmin(np.abs(candidates[idx] - reference_price))]
    else:
        pick = idx[(idx.size - 1) // 2]
    price = candidates[pick]
    buy_fill = _ration(bp >= price, -bp, bq, best)
    sell_fill = _ration(sp <= price, sp, sq, best)
    return AuctionResult(float(price), float(best), buy_fill, sell_fill, float(demand[pick] - supply[pick]))


class BatchAuctionResult(NamedTuple):
    price: np.ndarray  # by run; nan where nothing crosses
    volume: np.ndarray  # by run
    buy_fill: np.ndarray  # by run and buy order
    sell_fill: np.ndarray  # by run and sell order
    imbalance: np.ndarray  # by run: D(p*) − O(p*)


def _order_by(primary, secondary) -> np.ndarray:
    """Per-row argsort by ``primary`` then ``secondary``: two stable argsorts, faster than lexsort."""
    first = np.argsort(secondary, axis=-1, kind="stable")
    then = np.argsort(np.take_along_axis(primary, first, axis=-1), axis=-1, kind="stable")
    return np.take_along_axis(first, then, axis=-1)


def _quantity_below(candidate_bc, price_bo, qty_bo, inclusive: bool) -> np.ndarray:
    """Σ qty of orders priced < c (≤ c if ``inclusive``) for every candidate c, per run.

    One merged stable sort per row: candidates carry no quantity, so a running sum over the merged
    row, read off at each candidate, counts exactly the orders sorted before it. Equal prices keep
    their concatenation order, so orders go first when they count (≤) and after when not (<).
    """
    n_c, n_o = candidate_bc.shape[-1], price_bo.shape[-1]
    no_qty = np.zeros(candidate_bc.shape)
    if inclusive:
        price, weight, at = (
            np.concatenate([price_bo, candidate_bc], -1),
            np.concatenate([qty_bo, no_qty], -1),
            n_o,
        )
    else:
        price, weight, at = (
            np.concatenate([candidate_bc, price_bo], -1),
            np.concatenate([no_qty, qty_bo], -1),
            0,
        )
    order = np.argsort(price, axis=-1, kind="stable")
    running = np.cumsum(np.take_along_axis(weight, order, axis=-1), axis=-1)
    out = np.empty_like(running)
    np.put_along_axis(out, order, running, axis=-1)
    return out[..., at : at + n_c]


def _ration_batch(price_bo, qty_bo, eligible_bo, volume_b, best_first_key_bo) -> np.ndarray:
    """Fill ``volume`` per run across eligible orders, by key ascending then arrival."""
    q = np.where(eligible_bo, qty_bo, 0.0)
    order = np.argsort(best_first_key_bo, axis=-1, kind="stable")  # stable: ties keep arrival order
    q_sorted = np.take_along_axis(q, order, axis=-1)
    ahead = np.zeros_like(q_sorted)
    np.cumsum(q_sorted[..., :-1], axis=-1, out=ahead[..., 1:])
    fill = np.clip(volume_b[..., None] - ahead, 0.0, q_sorted)
    out = np.empty_like(fill)
    np.put_along_axis(out, order, fill, axis=-1)
    return out


def call_auction_batch(
    buy_price_bo: ArrayLike,
    buy_quantity_bo: ArrayLike,
    sell_price_bo: ArrayLike,
    sell_quantity_bo: ArrayLike,
    reference_price_b: ArrayLike | None = None,
) -> BatchAuctionResult:
    """``call_auction`` for many runs at once, with no loop over runs.

    Orders are (run, order) arrays; runs with fewer orders pad with quantity-0 orders (any finite
    price), which never trade and never set the price (any quantity ≤ 0 is no order). Same rules
    and tie-breaks as ``call_auction``.
    """
    bp, bq = np.atleast_2d(np.asarray(buy_price_bo, float)), np.atleast_2d(_live_quantity(buy_quantity_bo))
    sp, sq = np.atleast_2d(np.asarray(sell_price_bo, float)), np.atleast_2d(_live_quantity(sell_quantity_bo))
    candidate = np.concatenate([bp, sp], axis=-1)
    real = np.concatenate([bq > 0, sq > 0], axis=-1)
    demand = bq.sum(axis=-1, keepdims=True) - _quantity_below(candidate, bp, bq, inclusive=False)
    supply = _quantity_below(candidate, sp, sq, inclusive=True)

    # Sort candidates by price, real orders first within a price, and keep one per distinct price.
    order = _order_by(candidate, ~real)
    price_s = np.take_along_axis(candidate, order, axis=-1)
    demand_s = np.take_along_axis(demand, order, axis=-1)
    supply_s = np.take_along_axis(supply, order, axis=-1)
    keep = np.take_along_axis(real, order, axis=-1)
    keep[..., 1:] &= price_s[..., 1:] != price_s[..., :-1]

    volume_s = np.where(keep, np.minimum(demand_s, supply_s), -1.0)
    best = volume_s.max(axis=-1)
    tied = volume_s == best[..., None]
    surplus = np.where(tied, np.abs(demand_s - supply_s), np.inf)
    tied &= surplus == surplus.min(axis=-1, keepdims=True)
    if reference_price_b is not None:
        reference = np.broadcast_to(np.asarray(reference_price_b, float), best.shape)[..., None]
        pick = np.argmin(np.where(tied, np.abs(price_s - reference), np.inf), axis=-1)
    else:
        middle = (tied.sum(axis=-1, keepdims=True) - 1) // 2
        pick = np.argmax(tied & (np.cumsum(tied, axis=-1) - 1 == middle), axis=-1)
    pick = pick[..., None]
    trades = best > 0
    price = np.where(trades, np.take_along_axis(price_s, pick, axis=-1)[..., 0], np.nan)
    volume = np.where(trades, best, 0.0)
    imbalance = np.where(
        trades,
        (np.take_along_axis(demand_s, pick, axis=-1) - np.take_along_axis(supply_s, pick, axis=-1))[..., 0],
        0.0,
    )
    buy_fill = _ration_batch(bp, bq, bp >= price[..., None], volume, -bp)
    sell_fill = _ration_batch(sp, sq, sp <= price[..., None], volume, sp)
    return BatchAuctionResult(price, volume, buy_fill, sell_fill, imbalance)


class ExcessDemandError(ValueError):
    """Z(P) = D(P) − O(P) has no decreasing sign change on the bracket of some runs."""


def walrasian_price(
    excess_demand: Callable[[np.ndarray], np.ndarray],
    low: ArrayLike,
    high: ArrayLike,
    *,
    rtol: float = 1e-13,
    max_iter: int = 200,
    on_failure: str = "raise",
) -> np.ndarray:
    """Solve Z(P) = D(P) − O(P) = 0 for every run at once by vectorized bisection.

    ``excess_demand`` maps a price array (by run) to Z by run and must be decreasing (weakly: steps
    and flat stretches are fine) with Z(low) ≥ 0 ≥ Z(high). The bisection keeps Z(lo) > 0 ≥ Z(hi)
    and so converges on P* = inf{P : Z(P) ≤ 0}, the left edge of the zero set:

    - where Z has zeros, the price returned is one of them: Z(P*) = 0 exactly when the zero set is
      wider than the tolerance (a flat stretch of a step function), else |P − P*| ≤ rtol·P*;
    - where a step jumps over zero (no price clears exactly), it is the jump's edge, to rtol.

    A run fails when Z(low) < 0 or Z(high) > 0 (no bracket: the root lies outside it, or Z is
    increasing), when Z is nan, or when an evaluation shows Z rising (a midpoint above Z(lo) or
    below Z(hi) by more than 1e-9 of |Z(low)| + |Z(high)|, beyond rounding noise).
    ``on_failure="raise"`` (default) raises ``ExcessDemandError`` naming those runs;
    ``on_failure="nan"`` returns nan for them instead (a documented flag for batch use).
    Bisection is chosen over Newton because it needs no derivative and cannot leave the bracket,
    and the whole batch advances together in ~log2(range/tolerance) evaluations.
    """
    if on_failure not in ("raise", "nan"):
        raise ValueError(f"on_failure must be 'raise' or 'nan', got {on_failure!r}")
    lo, hi = np.broadcast_arrays(np.asarray(low, float), np.asarray(high, float))
    z_lo, z_hi = np.asarray(excess_demand(lo), float), np.asarray(excess_demand(hi), float)
    # the runs are the broadcast of the bracket and of what Z returns (a scalar bracket may serve many)
    shape = np.broadcast_shapes(lo.shape, z_lo.shape, z_hi.shape)
    lo, hi, z_lo, z_hi = (np.broadcast_to(a, shape).copy() for a in (lo, hi, z_lo, z_hi))
    unbracketed = ~((z_lo >= 0) & (z_hi <= 0))
    # rounding in Z may wobble near the root; only a rise beyond that noise counts
    noise = 1e-9 * (np.abs(z_lo) + np.abs(z_hi))
    rising = np.zeros(shape, dtype=bool)
    for _ in range(max_iter):
        mid = 0.5 * (lo + hi)
        z = np.broadcast_to(np.asarray(excess_demand(mid), float), shape)
        rising |= (z > z_lo + noise) | (z < z_hi - noise) | np.isnan(z)
        up = z > 0
        lo, z_lo = np.where(up, mid, lo), np.where(up, z, z_lo)
        hi, z_hi = np.where(up, hi, mid), np.where(up, z_hi, z)
        if np.all(hi - lo <= rtol * np.maximum(np.abs(hi), np.abs(lo))):
            break
    price = np.where(z_hi == 0, hi, 0.5 * (lo + hi))
    failed = unbracketed | rising
    if failed.any() and on_failure == "raise":
        runs = np.flatnonzero(failed.reshape(-1))
        shown = ", ".join(str(i) for i in runs[:10]) + (", …" if runs.size > 10 else "")
        kinds = []
        if unbracketed.any():
            kinds.append("no bracket: Z(low) < 0 or Z(high) > 0 (root outside [low, high], or Z increasing)")
        if (rising & ~unbracketed).any():
            kinds.append("Z seen increasing (or nan) inside the bracket")
        raise ExcessDemandError(
            f"excess demand is not decreasing through zero for run(s) {shown}: {'; '.join(kinds)}. "
            "Widen [low, high], check the sign convention Z = D − O, or pass on_failure='nan'."
        )
    return np.where(failed, np.nan, price)


def walrasian_price_brentq(
    demand: Callable[[float], float],
    supply: Callable[[float], float],
    low: float,
    high: float,
    *,
    xtol: float = 1e-14,
    rtol: float = 4 * np.finfo(float).eps,
) -> float:
    """Solve D(P) = O(P) on [low, high] for one market with scipy's Brent method."""
    return float(brentq(lambda p: demand(p) - supply(p), low, high, xtol=xtol, rtol=rtol))


def price_adjustment(
    price: ArrayLike,
    demand: ArrayLike,
    supply: ArrayLike,
    speed: ArrayLike,
    *,
    scale: ArrayLike = 1.0,
    floor: ArrayLike = 0.0,
) -> np.ndarray:
    """One tâtonnement step: P' = max(P + g·(D − O)/scale, floor).

    g = ``speed``; ``scale`` normalises the imbalance (pass the supply S for the seed's g(D − O, S),
    or the price for a relative rule). The floor keeps an excess supply from driving prices negative.
    """
    p = np.asarray(price, float)
    step = (
        np.asarray(speed, float)
        * (np.asarray(demand, float) - np.asarray(supply, float))
        / np.asarray(scale, float)
    )
    return np.maximum(p + step, np.asarray(floor, float))
