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
    "call_auction",
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
    """
    bp, bq = np.asarray(buy_price, float), np.asarray(buy_quantity, float)
    sp, sq = np.asarray(sell_price, float), np.asarray(sell_quantity, float)
    candidates = np.unique(np.concatenate([bp, sp]))
    if candidates.size == 0:
        return AuctionResult(np.nan, 0.0, np.zeros(0), np.zeros(0), 0.0)

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


def walrasian_price(
    excess_demand: Callable[[np.ndarray], np.ndarray],
    low: ArrayLike,
    high: ArrayLike,
    *,
    rtol: float = 1e-13,
    max_iter: int = 200,
) -> np.ndarray:
    """Solve Z(P) = D(P) − O(P) = 0 for every run at once by vectorized bisection.

    ``excess_demand`` maps a price array (by run) to Z by run and must be decreasing through the
    root; [low, high] must bracket it (Z(low) ≥ 0 ≥ Z(high)). Runs without a bracket get nan.
    Bisection is chosen over Newton because it needs no derivative and cannot leave the bracket,
    and the whole batch advances together in ~log2(range/tolerance) evaluations.
    """
    lo, hi = np.broadcast_arrays(np.asarray(low, float), np.asarray(high, float))
    lo, hi = lo.copy(), hi.copy()
    z_lo, z_hi = excess_demand(lo), excess_demand(hi)
    bracketed = (z_lo >= 0) & (z_hi <= 0)
    for _ in range(max_iter):
        mid = 0.5 * (lo + hi)
        z = excess_demand(mid)
        lo = np.where(z > 0, mid, lo)
        hi = np.where(z > 0, hi, mid)
        if np.all(hi - lo <= rtol * np.maximum(np.abs(hi), np.abs(lo))):
            break
    return np.where(bracketed, 0.5 * (lo + hi), np.nan)


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
