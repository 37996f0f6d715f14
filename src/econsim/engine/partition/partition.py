"""Assigning a population to P partitions, and each partition's block of the renumbered population.

Three ways to assign agents (``assign``):

    metis     k-way graph partitioning of the interaction graph (METIS through ``pymetis``): few cut edges
              where the graph has community structure; optional vertex weights (measured step costs)
    hilbert   agents with coordinates in [0, 1]² sorted along a Hilbert curve of 2¹⁶ × 2¹⁶ cells and cut
              into P runs of equal weight: nearby agents share a partition
    random    a seeded uniform permutation cut into P equal parts (the baseline: a cut of (P − 1)/P)

The assignment is renumbered into contiguous blocks (``Layout``): ``order`` lists the agents partition
by partition, each partition's agents in increasing id, so partition k owns positions
``bounds[k] … bounds[k + 1]``. The agents keep their ids for everything that must not depend on the
partitioning — random draws are keyed by (seed, agent id, step, purpose), reductions run in id order or
exactly — so the renumbering changes only where an agent's numbers live.

``cached_assignment`` computes an assignment once per network (keyed by a hash of the graph and the
options) and keeps it in memory, and on disk when given a folder.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from econsim.engine.errors import ConfigError

METHODS = ("metis", "hilbert", "random")
_CACHE: OrderedDict[str, np.ndarray] = OrderedDict()
_CACHE_SIZE = 8


def hilbert_index(xy_n2: np.ndarray, order: int = 16) -> np.ndarray:
    """Position of each point of [0, 1]² along the Hilbert curve over 2^order × 2^order cells: (N,) int64."""
    side = 1 << order
    cells = np.clip((np.asarray(xy_n2, float) * side).astype(np.int64), 0, side - 1)
    x, y = cells[:, 0].copy(), cells[:, 1].copy()
    d = np.zeros(len(x), np.int64)
    s = side >> 1
    while s > 0:  # the classic rotate-and-reflect walk, one level of the curve per pass, all points at once
        rx = (x & s) > 0
        ry = (y & s) > 0
        d += s * s * ((3 * rx) ^ ry)
        flip = ~ry
        swap_x = np.where(flip & rx, side - 1 - x, x)
        swap_y = np.where(flip & rx, side - 1 - y, y)
        x, y = np.where(flip, swap_y, swap_x), np.where(flip, swap_x, swap_y)
        s >>= 1
    return d


def _cut_weighted(order_n: np.ndarray, weights_n: np.ndarray, parts: int) -> np.ndarray:
    """Partition of each agent when ``order_n`` is cut into ``parts`` runs of (nearly) equal weight."""
    w = np.asarray(weights_n, float)[order_n]
    cum = np.cumsum(w)
    edges = cum[-1] * np.arange(1, parts) / parts
    part_sorted = np.searchsorted(edges, cum - 0.5 * w, side="right").astype(np.int32)
    part = np.empty(len(order_n), np.int32)
    part[order_n] = part_sorted
    return part


def _metis(indptr: np.ndarray, indices: np.ndarray, parts: int, weights_n: np.ndarray | None) -> np.ndarray:
    import pymetis  # the ray extra

    n = len(indptr) - 1
    src = np.repeat(np.arange(n), np.diff(indptr))
    dst = np.asarray(indices[: indptr[-1]], np.int64)
    keep = src != dst  # METIS takes a symmetric graph without loops: symmetrize, drop loops and repeats
    a, b = np.concatenate([src[keep], dst[keep]]), np.concatenate([dst[keep], src[keep]])
    key = np.unique(a * n + b)
    a, b = key // n, key % n
    xadj = np.zeros(n + 1, np.int64)
    np.add.at(xadj, a + 1, 1)
    xadj = np.cumsum(xadj)
    vw = None
    if weights_n is not None:
        w = np.asarray(weights_n, float)
        vw = np.maximum(1, np.round(1000.0 * w / max(w.mean(), 1e-300))).astype(np.int64)
    opts = pymetis.Options(seed=1)
    adjacency = pymetis.CSRAdjacency(xadj, b)
    _, membership = pymetis.part_graph(parts, adjacency=adjacency, vweights=vw, options=opts)
    return np.asarray(membership, np.int32)


def assign(
    parts: int,
    method: str,
    *,
    n: int,
    indptr: np.ndarray | None = None,
    indices: np.ndarray | None = None,
    coords: np.ndarray | None = None,
    weights: np.ndarray | None = None,
    seed: int = 0,
) -> np.ndarray:
    """The partition (0 … parts−1) of each of ``n`` agents, (n,) int32; see the module docstring."""
    if method not in METHODS:
        raise ConfigError(f"partition method '{method}' is not one of {', '.join(METHODS)}")
    if not 1 <= parts <= max(1, n):
        raise ConfigError(f"partitions = {parts} must lie in 1 … {n} (the agents)")
    if parts == 1:
        return np.zeros(n, np.int32)
    w = np.ones(n) if weights is None else np.asarray(weights, float)
    if method == "random":
        perm = np.random.default_rng(seed).permutation(n)
        return _cut_weighted(perm, w, parts)
    if method == "hilbert":
        if coords is None or np.shape(coords) != (n, 2):
            raise ConfigError(
                f"partition method 'hilbert' needs coordinates (n, 2) in [0, 1]² for {n} agents"
            )
        return _cut_weighted(np.argsort(hilbert_index(coords), kind="stable"), w, parts)
    if indptr is None or indices is None:
        raise ConfigError("partition method 'metis' needs the interaction graph (indptr, indices)")
    return _metis(np.asarray(indptr), np.asarray(indices), parts, weights)


def _digest(*arrays: np.ndarray | None, text: str) -> str:
    h = hashlib.sha1(text.encode())
    for a in arrays:
        if a is not None:
            a = np.ascontiguousarray(a)
            h.update(str((a.dtype.str, a.shape)).encode())
            h.update(a.data)
    return h.hexdigest()


def cached_assignment(
    parts: int,
    method: str,
    *,
    n: int,
    indptr: np.ndarray | None = None,
    indices: np.ndarray | None = None,
    coords: np.ndarray | None = None,
    weights: np.ndarray | None = None,
    seed: int = 0,
    folder: str | Path | None = None,
) -> np.ndarray:
    """``assign``, computed once per network and options: kept in memory (the last few) and, when
    ``folder`` is given, in ``folder/partition-<hash>.npy``."""
    key = _digest(indptr, indices, coords, weights, text=f"{parts}|{method}|{n}|{seed}")
    if key in _CACHE:
        _CACHE.move_to_end(key)
        return _CACHE[key]
    path = Path(folder) / f"partition-{key[:20]}.npy" if folder is not None else None
    if path is not None and path.exists():
        part = np.load(path)
    else:
        part = assign(
            parts, method, n=n, indptr=indptr, indices=indices, coords=coords, weights=weights, seed=seed
        )
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp.npy")
            np.save(tmp, part)
            tmp.replace(path)
    _CACHE[key] = part
    while len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)
    return part


@dataclass(frozen=True)
class Layout:
    """Partitions as contiguous blocks: ``order`` (n,) the agent ids partition by partition (ascending
    within each), partition k at positions ``bounds[k] … bounds[k + 1]``; ``part`` (n,) each agent's
    partition and ``position`` (n,) its place in ``order``."""

    part: np.ndarray
    order: np.ndarray
    bounds: np.ndarray
    position: np.ndarray

    @classmethod
    def of(cls, part_n: np.ndarray, parts: int) -> Layout:
        part_n = np.asarray(part_n, np.int32)
        order = np.argsort(part_n, kind="stable").astype(np.int64)
        counts = np.bincount(part_n, minlength=parts)
        bounds = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        position = np.empty_like(order)
        position[order] = np.arange(len(order))
        return cls(part_n, order, bounds, position)

    @property
    def parts(self) -> int:
        return len(self.bounds) - 1

    def agents(self, k: int) -> np.ndarray:
        """Ids of partition k's agents, ascending."""
        return self.order[self.bounds[k] : self.bounds[k + 1]]

    def cut_share(self, indptr: np.ndarray, indices: np.ndarray) -> float:
        """Share of the graph's edge slots whose two ends lie on different partitions."""
        src = np.repeat(np.arange(len(indptr) - 1), np.diff(indptr))
        dst = np.asarray(indices[: indptr[-1]])
        return float(np.mean(self.part[src] != self.part[dst])) if len(src) else 0.0
