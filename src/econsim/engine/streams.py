"""Per-run random streams, derived from one experiment seed.

Every run of an experiment owns one random stream per named model component. The stream of run
``r`` under the name ``name`` is the numpy Generator

    Generator(Philox(key=SeedSequence(seed, spawn_key=(*identity_r, crc32(name))).generate_state(2, uint64)))

where ``identity_r`` is the run's identity: ``(run,)`` by default, so every sweep point sees the same
draws in its Monte Carlo run ``run`` ("common random numbers"), or ``(subset, run)`` when
``common_random_numbers`` is off. A run's draws therefore depend only on the seed, its identity and the
stream's name — never on the batch it was computed in, the executor, or the worker count — and two
scenarios that differ in one mechanism share the draws of every other component.

Batched models ask for a whole batch at once (``streams("price").random()`` → shape ``(B,)``). Drawing
run by run every step would put a Python loop over runs in the hot path, so each stream fetches blocks
of raw words per run and hands them out step by step (see ``Stream``). ``run_generator`` gives the
plain per-run Generator: the reference for the streams and a tool for code that wants one run at a time.
"""

from __future__ import annotations

import sys
import zlib
from collections.abc import Sequence

import numpy as np

from econsim.engine.kernels import jit

__all__ = ["RandomStreams", "derive_keys", "run_generator", "stream_id"]

# Constants of numpy's SeedSequence (O'Neill's seed_seq_fe, numpy/random/bit_generator.pyx).
_POOL_SIZE = 4
_INIT_A = 0x43B0D7E5
_MULT_A = 0x931E8875
_INIT_B = 0x8B51F9DD
_MULT_B = 0x58F38DED
_MIX_MULT_L = 0xCA01F9DD
_MIX_MULT_R = 0x4973F715
_MASK32 = 0xFFFFFFFF


def stream_id(name: str) -> int:
    """A stable 31-bit number for a stream name (crc32), used as the last spawn-key word."""
    return zlib.crc32(name.encode()) & 0x7FFFFFFF


def _words(value: int) -> list[int]:
    """An int as numpy's SeedSequence sees it: little-endian 32-bit words, at least one."""
    if value < 0:
        raise ValueError(f"seed and run identities must be non-negative, got {value}")
    words = []
    while True:
        words.append(value & _MASK32)
        value >>= 32
        if value == 0:
            return words


def derive_keys(seed: int, identity_rk: np.ndarray) -> np.ndarray:
    """Philox keys of many runs at once: row r equals
    ``SeedSequence(seed, spawn_key=tuple(identity_rk[r])).generate_state(2, np.uint64)``.

    This is numpy's SeedSequence algorithm, vectorized over runs (its hash constants evolve the same
    way for every run, only the entropy words differ). Each identity word must be below 2**32.
    """
    identity_rk = np.atleast_2d(np.asarray(identity_rk, dtype=np.int64))
    if identity_rk.size and (identity_rk.min() < 0 or identity_rk.max() > _MASK32):
        raise ValueError("run identity words must lie in [0, 2**32)")
    seed_words = _words(int(seed))
    seed_words += [0] * max(0, _POOL_SIZE - len(seed_words))
    n_runs = identity_rk.shape[0]
    entropy_rw = np.concatenate(
        [
            np.broadcast_to(np.array(seed_words, dtype=np.uint32), (n_runs, len(seed_words))),
            identity_rk.astype(np.uint32),
        ],
        axis=1,
    )
    with np.errstate(over="ignore"):
        hash_const = np.uint32(_INIT_A)

        def hashmix(value_r: np.ndarray) -> np.ndarray:
            nonlocal hash_const
            value_r = value_r ^ hash_const
            hash_const = np.uint32(hash_const * np.uint32(_MULT_A))
            value_r = value_r * hash_const
            return value_r ^ (value_r >> np.uint32(16))

        def mix(x_r: np.ndarray, y_r: np.ndarray) -> np.ndarray:
            result_r: np.ndarray = np.uint32(_MIX_MULT_L) * x_r - np.uint32(_MIX_MULT_R) * y_r
            return result_r ^ (result_r >> np.uint32(16))

        zeros_r = np.zeros(n_runs, dtype=np.uint32)
        pool = [hashmix(entropy_rw[:, i] if i < entropy_rw.shape[1] else zeros_r) for i in range(_POOL_SIZE)]
        for i_src in range(_POOL_SIZE):
            for i_dst in range(_POOL_SIZE):
                if i_src != i_dst:
                    pool[i_dst] = mix(pool[i_dst], hashmix(pool[i_src]))
        for i_src in range(_POOL_SIZE, entropy_rw.shape[1]):
            for i_dst in range(_POOL_SIZE):
                pool[i_dst] = mix(pool[i_dst], hashmix(entropy_rw[:, i_src]))

        hash_b = np.uint32(_INIT_B)
        state_rw = np.empty((n_runs, 4), dtype=np.uint32)
        for i_dst in range(4):
            data_r = pool[i_dst % _POOL_SIZE] ^ hash_b
            hash_b = np.uint32(hash_b * np.uint32(_MULT_B))
            data_r = data_r * hash_b
            state_rw[:, i_dst] = data_r ^ (data_r >> np.uint32(16))
    return np.ascontiguousarray(state_rw.astype("<u4")).view("<u8").astype(np.uint64)


def run_generator(seed: int, identity: Sequence[int], stream: str) -> np.random.Generator:
    """The Generator of one run's named stream (the reference definition of the streams)."""
    key = np.random.SeedSequence(int(seed), spawn_key=(*map(int, identity), stream_id(stream)))
    return np.random.Generator(np.random.Philox(key=key.generate_state(2, np.uint64)))


#: batches of at least this many runs draw their words through the compiled Philox even when numba is
#: not loaded yet (``Stream._fetch``)
_COMPILED_RUNS = 256


@jit(cache=True)
def philox_words(keys_r2, first_block, out_rw):
    """Philox4x64-10 (Salmon et al. 2011, as numpy's ``Philox``): out_rw[r, 4m + i] is word i of the
    block of counter (first_block + m, 0, 0, 0) under run r's key, the words numpy's generator of that
    key hands out after 4·(first_block + m − 1) of them. Ten rounds of

        (x₀, x₁, x₂, x₃) ← (hi(M₁x₂) ⊕ x₁ ⊕ k₀, lo(M₁x₂), hi(M₀x₀) ⊕ x₃ ⊕ k₁, lo(M₀x₀)),

    the key bumped by the Weyl constants (W₀, W₁) between rounds; the 128-bit products are taken from
    32-bit halves (numba has no 128-bit integers)."""
    m0 = np.uint64(0xD2E7470EE14C6C93)
    m1 = np.uint64(0xCA5A826395121157)
    w0 = np.uint64(0x9E3779B97F4A7C15)
    w1 = np.uint64(0xBB67AE8584CAA73B)
    mask = np.uint64(0xFFFFFFFF)
    s32 = np.uint64(32)
    zero = np.uint64(0)
    for r in range(keys_r2.shape[0]):
        for m in range(out_rw.shape[1] // 4):
            k0 = keys_r2[r, 0]
            k1 = keys_r2[r, 1]
            x0, x1, x2, x3 = np.uint64(first_block) + np.uint64(m), zero, zero, zero
            for i in range(10):
                if i:
                    k0 += w0
                    k1 += w1
                a_lo, a_hi = x0 & mask, x0 >> s32
                p0, p1, p2, p3 = (
                    a_lo * (m0 & mask),
                    a_lo * (m0 >> s32),
                    a_hi * (m0 & mask),
                    a_hi * (m0 >> s32),
                )
                mid = (p0 >> s32) + (p1 & mask) + (p2 & mask)
                hi0 = p3 + (p1 >> s32) + (p2 >> s32) + (mid >> s32)
                lo0 = x0 * m0
                a_lo, a_hi = x2 & mask, x2 >> s32
                p0, p1, p2, p3 = (
                    a_lo * (m1 & mask),
                    a_lo * (m1 >> s32),
                    a_hi * (m1 & mask),
                    a_hi * (m1 >> s32),
                )
                mid = (p0 >> s32) + (p1 & mask) + (p2 & mask)
                hi1 = p3 + (p1 >> s32) + (p2 >> s32) + (mid >> s32)
                lo1 = x2 * m1
                x0, x1, x2, x3 = hi1 ^ x1 ^ k0, lo1, hi0 ^ x3 ^ k1, lo0
            j = 4 * m
            out_rw[r, j] = x0
            out_rw[r, j + 1] = x1
            out_rw[r, j + 2] = x2
            out_rw[r, j + 3] = x3


class Stream:
    """One named stream across a batch of runs; each draw returns an array of shape (B, *shape).

    Run r's stream is the sequence of raw 64-bit outputs of its Philox generator, consumed in order:

        random()             u = (bits >> 11) · 2⁻⁵³                 (exactly Generator.random())
        standard_normal()    z = Φ⁻¹(((bits >> 12) + ½) · 2⁻⁵²)       (inverse CDF, finite: |z| < 8.3)
        standard_exponential e = −log(1 − u)

    Because every draw consumes whole 64-bit words, the values depend only on the order of requests,
    not on how many words are fetched per refill, so the block size is a pure performance knob.
    """

    _BLOCK_WORDS = 256  # words fetched per run per refill, at least

    def __init__(self, keys_r2: np.ndarray) -> None:
        self._keys_r2 = keys_r2
        self._bitgen = np.random.Philox(key=keys_r2[0]) if len(keys_r2) else None
        self._words_used = 0  # words fetched so far from every run's generator (a multiple of 4)
        self._buffer_rw = np.empty((len(keys_r2), 0), dtype=np.uint64)
        self._pos = 0

    @property
    def n_runs(self) -> int:
        return len(self._keys_r2)

    def position(self) -> tuple[int, np.ndarray]:
        """Where the stream stands: the words fetched from every run's generator so far, and those of
        them not yet handed out, (B, n). ``Stream.at(keys, *position)`` continues it identically."""
        return self._words_used, self._buffer_rw[:, self._pos :].copy()

    @classmethod
    def at(cls, keys_r2: np.ndarray, words_used: int, buffer_rw: np.ndarray) -> Stream:
        """The stream of ``keys_r2`` at a ``position()``: its next draws are those the stream that
        reported the position would have made."""
        stream = cls(keys_r2)
        buffer_rw = np.asarray(buffer_rw, dtype=np.uint64)
        buffer_rw = buffer_rw.reshape(len(keys_r2), buffer_rw.size // max(1, len(keys_r2)))
        if int(words_used) % 4 or buffer_rw.shape[1] > int(words_used):
            raise ValueError(f"not a stream position: {words_used} words fetched, {buffer_rw.shape[1]} left")
        stream._words_used = int(words_used)
        stream._buffer_rw = buffer_rw.copy()
        return stream

    def _fetch(self, n_words: int) -> np.ndarray:
        """The next ``n_words`` (a multiple of 4) raw words of every run: shape (B, n_words).

        Computed by ``philox_words`` (compiled) for a batch of many runs, or whenever numba is loaded
        already; else by numpy's Philox run by run (``_fetch_numpy``, the reference: the two give the same
        words). numpy's costs ≈ 8 µs a run and fetch; loading numba and its compiled code once costs a
        second or more, which only a batch of many runs pays back."""
        if self.n_runs == 0:
            return np.empty((0, n_words), dtype=np.uint64)
        if self.n_runs < _COMPILED_RUNS and "numba" not in sys.modules:
            return self._fetch_numpy(n_words)
        try:
            kernel = philox_words.dispatcher
        except ImportError:
            return self._fetch_numpy(n_words)
        out_rw = np.empty((self.n_runs, n_words), dtype=np.uint64)
        # after 4m words from a fresh Philox its counter is m: the next block is counter m + 1
        kernel(self._keys_r2, self._words_used // 4 + 1, out_rw)
        self._words_used += n_words
        return out_rw

    def _fetch_numpy(self, n_words: int) -> np.ndarray:
        """``_fetch`` by numpy's own Philox, one run after another."""
        out_rw = np.empty((self.n_runs, n_words), dtype=np.uint64)
        if self.n_runs == 0:
            return out_rw
        bitgen = self._bitgen
        assert bitgen is not None  # there is one whenever there are runs
        state = bitgen.state
        # After 4m words from a fresh Philox the counter is m and its 4-word buffer is spent.
        state["state"]["counter"] = np.array([self._words_used // 4, 0, 0, 0], dtype=np.uint64)
        state["buffer_pos"] = 4
        for r, key in enumerate(self._keys_r2):  # once per block of words, not per step
            state["state"]["key"] = key
            bitgen.state = state
            out_rw[r] = bitgen.random_raw(n_words)
        self._words_used += n_words
        return out_rw

    def words(self, n: int) -> np.ndarray:
        """The next ``n`` raw 64-bit words of every run: shape (B, n)."""
        available = self._buffer_rw.shape[1] - self._pos
        if available < n:
            n_new = max(n - available, self._BLOCK_WORDS)
            n_new += -n_new % 4
            self._buffer_rw = np.concatenate([self._buffer_rw[:, self._pos :], self._fetch(n_new)], axis=1)
            self._pos = 0
        out = self._buffer_rw[:, self._pos : self._pos + n]
        self._pos += n
        return out

    @property
    def keys(self) -> np.ndarray:
        """(B, 2) uint64: each run's Philox key (``philox_words``)."""
        return self._keys_r2

    def deferred_words(self, n: int) -> tuple[np.ndarray, int]:
        """``words(n)`` without computing the words it fetches, for a compiled kernel that uses only some
        of them: (head_rw, block). Word i < a = head_rw.shape[1] of the n is head_rw[:, i] (already in the
        buffer); word a + 4j + c is word c of the Philox block of counter ``block + j`` under the run's
        key (as ``philox_words`` computes it). The stream's position afterwards is the one ``words(n)``
        leaves (the words after the n that its fetch buffers are computed)."""
        available = self._buffer_rw.shape[1] - self._pos
        if available >= n:
            return self.words(n), 0
        head = self._buffer_rw[:, self._pos :]
        rest = n - available
        n_new = max(rest, self._BLOCK_WORDS)
        n_new += -n_new % 4
        block = self._words_used // 4 + 1
        handed = rest - rest % 4  # whole blocks of the fetch handed out, never computed here
        self._words_used += handed
        self._buffer_rw = self._fetch(n_new - handed)
        self._pos = rest - handed
        return head, block

    def words_as_drawn(self, n: int) -> np.ndarray:
        """The next ``n`` words of every run, (B, n), fetched in the blocks that ``n`` draws of one word
        each would fetch: the stream's ``position()`` afterwards is the one those draws leave."""
        pieces = []
        while n > 0:
            available = self._buffer_rw.shape[1] - self._pos
            k = min(n, available or self._BLOCK_WORDS)
            pieces.append(self.words(k))
            n -= k
        if len(pieces) == 1:
            return pieces[0]
        return np.concatenate(pieces, axis=1) if pieces else np.empty((self.n_runs, 0), dtype=np.uint64)

    def seek(self, position: tuple[int, np.ndarray]) -> None:
        """Put the stream back at a ``position()`` it reported: the next draws are those that followed."""
        words_used, buffer_rw = position
        self._words_used = int(words_used)
        self._buffer_rw = np.asarray(buffer_rw, dtype=np.uint64).reshape(self.n_runs, -1).copy()
        self._pos = 0

    def _take(self, shape: Sequence[int]) -> np.ndarray:
        shape = tuple(int(s) for s in shape)
        n = int(np.prod(shape)) if shape else 1
        return self.words(n).reshape((self.n_runs, *shape))

    def random(self, shape: Sequence[int] = ()) -> np.ndarray:
        """Uniform draws on [0, 1): shape (B, *shape)."""
        return (self._take(shape) >> np.uint64(11)) * _TWO_M53

    def standard_normal(self, shape: Sequence[int] = ()) -> np.ndarray:
        """Standard normal draws by the inverse CDF: shape (B, *shape)."""
        # scipy.special is imported on first use: it takes longer to import than the rest of the engine
        from scipy.special import ndtri

        u = ((self._take(shape) >> np.uint64(12)) + 0.5) * _TWO_M52
        return ndtri(u)

    def standard_exponential(self, shape: Sequence[int] = ()) -> np.ndarray:
        """Exponential draws with unit mean, e = −log(1 − u): shape (B, *shape)."""
        return -np.log1p(-self.random(shape))

    def normal(self, loc, scale, shape: Sequence[int] = ()) -> np.ndarray:
        """Normal draws ``loc + scale·z``; per-run (B,) ``loc`` and ``scale`` broadcast over ``shape``."""
        z = self.standard_normal(shape)
        return _per_run(loc, z.ndim) + _per_run(scale, z.ndim) * z

    def uniform(self, low, high, shape: Sequence[int] = ()) -> np.ndarray:
        """Uniform draws on [low, high); per-run bounds broadcast over ``shape``."""
        u = self.random(shape)
        low = _per_run(low, u.ndim)
        return low + (_per_run(high, u.ndim) - low) * u

    def integers(self, low: int, high: int, shape: Sequence[int] = ()) -> np.ndarray:
        """Integers uniform on [low, high): ⌊low + (high − low)·u⌋ (bias below 2⁻⁵³·(high − low))."""
        u = self.random(shape)
        return np.minimum(np.floor(low + (high - low) * u), high - 1).astype(np.int64)

    def from_distribution(self, dist, shape: Sequence[int] = ()) -> np.ndarray:
        """Draws from any scipy.stats distribution (frozen, per-run parameters broadcast) by ``dist.ppf(u)``."""
        return dist.ppf(((self._take(shape) >> np.uint64(12)) + 0.5) * _TWO_M52)


_TWO_M53 = 2.0**-53
_TWO_M52 = 2.0**-52


def _per_run(value, ndim: int):
    """Give a per-run (B,) parameter trailing axes so it broadcasts against (B, *shape) draws."""
    value = np.asarray(value)
    if value.ndim == 1 and ndim > 1:
        return value.reshape(value.shape + (1,) * (ndim - 1))
    return value


class RandomStreams:
    """The named random streams of a batch of runs: ``streams("price").random()``."""

    def __init__(self, seed: int, identity_rk: np.ndarray) -> None:
        self.seed = int(seed)
        self.identity_rk = np.atleast_2d(np.asarray(identity_rk, dtype=np.int64))
        self._streams: dict[str, Stream] = {}

    def __call__(self, name: str) -> Stream:
        stream = self._streams.get(name)
        if stream is None:
            ids = np.column_stack([self.identity_rk, np.full(len(self.identity_rk), stream_id(name))])
            stream = self._streams[name] = Stream(derive_keys(self.seed, ids))
        return stream

    @property
    def n_runs(self) -> int:
        return len(self.identity_rk)

    def positions(self) -> dict[str, tuple[int, np.ndarray]]:
        """Every stream drawn from so far, by name, at its ``Stream.position()``."""
        return {name: stream.position() for name, stream in self._streams.items()}

    def restore(self, positions: dict[str, tuple[int, np.ndarray]]) -> None:
        """Put the named streams at the given positions (from ``positions()`` of the same seed and
        runs): the draws that follow are the ones that followed there. Streams not named start afresh."""
        self._streams = {}
        for name, (words_used, buffer_rw) in positions.items():
            ids = np.column_stack([self.identity_rk, np.full(len(self.identity_rk), stream_id(name))])
            self._streams[name] = Stream.at(derive_keys(self.seed, ids), words_used, buffer_rw)
