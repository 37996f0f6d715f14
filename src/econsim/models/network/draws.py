"""Counter-based draws inside compiled kernels, keyed by words from the engine's streams.

A step may need a draw per edge slot (10⁷ at 10⁶ agents); fetching those from a stream would cost more
than the step itself. Instead each stage takes ONE 64-bit word per run from its named stream
(``rng(name).words(1)``) and a kernel expands it by the SplitMix64 finaliser of (word, counter):

    u(word, i) = mix64(word ⊕ (i + 1)·φ) >> 11 · 2⁻⁵³          φ = 0x9E3779B97F4A7C15

so draw i of a run depends only on that run's stream word and i: a run's draws never depend on its
batch, and a run split over workers by agent range draws the same numbers (the counter is the global
agent or slot index). Normals by Box–Muller on two such uniforms.
"""

from __future__ import annotations

import math

import numpy as np

from econsim.engine.jit import njit

_PHI = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31, _S11 = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(11)
_TWO_M53 = 1.0 / 9007199254740992.0


@njit()
def uniform(word, i):
    """u ∈ [0, 1) for counter ``i`` under the run's stream ``word``."""
    z = word ^ (np.uint64(i + 1) * _PHI)
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    z = z ^ (z >> _S31)
    return float(z >> _S11) * _TWO_M53


@njit()
def normal(word, i):
    """A standard normal for counter ``i`` (Box–Muller on counters 2i and 2i + 1)."""
    u1 = uniform(word, 2 * i)
    u2 = uniform(word, 2 * i + 1)
    return math.sqrt(-2.0 * math.log(1.0 - u1)) * math.cos(2.0 * math.pi * u2)


def stream_word(rng, name: str) -> np.ndarray:
    """One raw word per run from stream ``name``: (B,) uint64."""
    return np.ascontiguousarray(rng(name).words(1)[:, 0])
