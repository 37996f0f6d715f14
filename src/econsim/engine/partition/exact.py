"""Exact, order-independent float sums: a superaccumulator whose partial sums merge by integer addition.

A partitioned run adds the same per-agent contributions in a different order on every partitioning, and a
float sum's rounding depends on its order. So every reduction over agents goes through an accumulator
that holds the sum EXACTLY: every finite double is m·2^e with an integer |m| < 2⁵³, and

    acc = Σ_x m_x · 2^(e_x + BIAS)      held in LIMBS signed 64-bit limbs of 32 bits each (limb i ↔ 2^(32 i))

Adding x splits m·2^(e+BIAS) over the (at most three) limbs it touches; each limb receives less than 2³²
per addition, so 2³¹ additions fit before any limb can overflow (far above any agent count). Two
accumulators merge by adding their limbs — exact, commutative and associative — so the sum over
partitions equals the sum over the whole population bit for bit, in any order. ``value`` rounds the
exact sum once, to nearest, ties to even (results in the subnormal range are rounded twice; no
reduction here comes near 2⁻¹⁰²²).
"""

from __future__ import annotations

import math

import numpy as np

from econsim.engine.jit import njit

BIAS = 1200  # 2⁻¹²⁰⁰ is below the least subnormal's last mantissa bit (2⁻¹⁰⁷⁴ · 2⁻⁵³)
LIMBS = 72  # 72·32 = 2304 bits: 2^(1024 + BIAS) plus carry room
_MASK = (1 << 32) - 1


def zeros(*shape: int) -> np.ndarray:
    """Empty accumulators: shape (*shape, LIMBS) int64."""
    return np.zeros((*shape, LIMBS), np.int64)


@njit()
def add(acc, x):
    """acc += x exactly (acc: (LIMBS,) int64; x a finite float)."""
    if x == 0.0:
        return
    f, e = math.frexp(x)  # x = f·2^e, ½ ≤ |f| < 1
    m = np.int64(f * 9007199254740992.0)  # f·2⁵³: an integer, exactly
    pos = e - 53 + BIAS
    limb = pos >> 5
    shift = pos & 31
    neg = m < 0
    if neg:
        m = -m
    lo = (m << shift) & _MASK if shift < 32 else 0
    # the 53-bit mantissa shifted by < 32 spans < 85 bits: split it into three 32-bit pieces
    rest = m >> (32 - shift)
    mid = rest & _MASK
    hi = rest >> 32
    if neg:
        acc[limb] -= lo
        acc[limb + 1] -= mid
        acc[limb + 2] -= hi
    else:
        acc[limb] += lo
        acc[limb + 1] += mid
        acc[limb + 2] += hi


@njit()
def add_array(acc, x):
    """acc += Σ x exactly."""
    for i in range(x.shape[0]):
        add(acc, x[i])


@njit()
def value(acc):
    """The exact sum held by ``acc``, rounded once to the nearest double (ties to even)."""
    n = acc.shape[0]
    limbs = acc.copy()
    for i in range(n - 1):  # carries: limbs 0 … n−2 into [0, 2³²), the top limb keeps the sign
        c = limbs[i] >> 32
        limbs[i] -= c << 32
        limbs[i + 1] += c
    sign = 1.0
    if limbs[n - 1] < 0:  # negate the whole number, then normalize again
        sign = -1.0
        for i in range(n):
            limbs[i] = -limbs[i]
        for i in range(n - 1):
            c = limbs[i] >> 32
            limbs[i] -= c << 32
            limbs[i + 1] += c
    top = n - 1
    while top >= 0 and limbs[top] == 0:
        top -= 1
    if top < 0:
        return 0.0
    # the leading 62 bits of the magnitude (from its first 1 bit) in an int64, and whether any bit below
    # them is set: 53 kept bits, a round bit and a sticky bit decide the rounding
    nb = 0
    v = limbs[top]
    while v > 0:
        nb += 1
        v >>= 1
    word = np.int64(0)
    got = 0
    sticky = False
    i = top
    width = nb
    while i >= 0:
        piece = limbs[i]
        if got + width <= 62:
            word = (word << width) | piece
            got += width
            i -= 1
            width = 32
            continue
        take = 62 - got
        word = (word << take) | (piece >> (width - take))
        if piece & ((np.int64(1) << (width - take)) - 1):
            sticky = True
        got = 62
        # the bits of `word` end at bit (i·32 + width − take) of the number
        low = i * 32 + width - take
        i -= 1
        while i >= 0:
            if limbs[i] != 0:
                sticky = True
            i -= 1
        return sign * _rounded(word, got, low, sticky)
    return sign * _rounded(word, got, 0, sticky)


@njit()
def _rounded(word, got, low, sticky):
    """word·2^(low − BIAS) with `got` significant bits (sticky: more bits below), rounded to 53 bits."""
    if got <= 53:
        return math.ldexp(float(word), low - BIAS)
    drop = got - 53
    keep = word >> drop
    rem = word & ((np.int64(1) << drop) - 1)
    half = np.int64(1) << (drop - 1)
    if rem > half or (rem == half and (sticky or (keep & 1) == 1)):
        keep += 1
    return math.ldexp(float(keep), low + drop - BIAS)


@njit()
def exact_sum(x):
    """Σ x, exact then rounded once: independent of the order of x."""
    acc = np.zeros(LIMBS, np.int64)
    add_array(acc, x)
    return value(acc)


def value_of(acc: np.ndarray) -> float:
    """``value`` of one accumulator (Python entry point)."""
    return float(value(np.ascontiguousarray(acc, dtype=np.int64)))


def values_of(acc_k: np.ndarray) -> np.ndarray:
    """``value`` of each accumulator of an array (*shape, LIMBS) → (*shape,)."""
    flat = np.ascontiguousarray(acc_k, dtype=np.int64).reshape(-1, LIMBS)
    return np.array([value(a) for a in flat]).reshape(acc_k.shape[:-1])


def reference_value(acc: np.ndarray) -> float:
    """The exact sum of ``acc`` rounded by Python's correctly rounded int/int division (for tests)."""
    total = sum(int(v) << (32 * i) for i, v in enumerate(np.asarray(acc, dtype=np.int64)))
    return total / (1 << BIAS)
