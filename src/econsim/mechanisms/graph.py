"""Sparse networks for a batch of runs: CSR adjacency per run, or one graph shared by every run.

Layout (compressed sparse rows, one block per run b; Bg = B runs, or 1 for a shared graph):

    indptr  (Bg, n + 1) int64    node i's edge slots in run b are e ∈ [indptr[b, i], indptr[b, i + 1])
    indices (Bg, E) int32        the node an edge slot points to (its target j)
    sources (Bg, E) int32        the node it leaves (i); slots past indptr[b, n] are padding (i = j = n)
    weights (Bg, E) float64      w_e, or None for an unweighted graph (w = 1)

An undirected graph stores both directions of each edge. With int32 indices a graph of 10⁶ nodes and
mean degree 10 takes 10⁷ slots: 80 MB of indices and sources per run, 80 MB more with weights.

Operations, vectorized over runs and edges (no Python loop over nodes or edges); x is per node (B, n, …),
v per edge slot (B, E, …), trailing axes carried along:

    gather(x)[b, e]        = x[b, j_e]                       (``end="source"``: x[b, i_e])
    segment_sum(v)[b, i]   = Σ_{e: i_e = i} v[b, e]           sum over a node's out-edges
    scatter_sum(v)[b, j]   = x₀[b, j] + Σ_{e: j_e = j} v[b, e] sum over a node's in-edges, into x₀ (default 0)
    neighbour_sum(x)[b, i] = Σ_{e: i_e = i} w_e x[b, j_e]     (the adjacency matrix times x)
    degree[b, i] = indptr[b, i + 1] − indptr[b, i];  in_degree[b, j] = #{e: j_e = j}

Sums add in edge-slot order starting from zero (from x₀ for ``scatter_sum``), exactly as
``np.add.at(x₀, j, v)`` does, and each run's sums touch only its own slots: a run computed alone equals
the same run inside any batch, bit for bit.

Generators draw from the engine's streams — a ``Stream`` (``rng("network")``: one graph per run, run b's
graph from run b's draws only) or a numpy ``Generator`` (``run_generator(...)``: one graph, shared) — and
every draw count is fixed by the arguments, so a graph never shifts the draws that follow it:

    erdos_renyi(n, mean_degree)      G(n, M): M = round(n·k̄/2) distinct pairs, uniform (Erdős–Rényi 1959);
                                     degrees ≈ Poisson(k̄), mean exactly 2M/n
    watts_strogatz(n, k, p)          ring lattice, each node linked to its k/2 nearest on either side; each
                                     edge's far end rewired with probability p to a uniform node (no loop,
                                     lattice pair or repeat; up to 3 tries, else the lattice edge stays). Clustering
                                     at p = 0: C = 3(k − 2) / (4(k − 1)); for small p, C ≈ C(0)(1 − p)³
    barabasi_albert(n, m)            a clique of m + 1 nodes, then each new node links to m distinct nodes
                                     chosen ∝ degree; P(K ≥ k) → m(m + 1) / (k(k + 1)) (tail exponent 3)
    from_edges(src, dst, n)          any edge list, (E,) shared or (B, E) per run
    from_neighbours(nbr_bnk)         each node's k out-neighbours, as atp's κ nearest regions
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from econsim.engine.errors import ConfigError
from econsim.engine.kernels import per_run
from econsim.engine.streams import Stream

__all__ = [
    "Graph",
    "barabasi_albert",
    "erdos_renyi",
    "from_edges",
    "from_neighbours",
    "ring_lattice",
    "watts_strogatz",
]

Rng = Stream | np.random.Generator


@dataclass(frozen=True, eq=False)
class Graph:
    """A directed or undirected graph per run (or shared by all runs) in CSR form; see the module docstring."""

    n_nodes: int
    indptr: np.ndarray
    indices: np.ndarray
    sources: np.ndarray
    weights: np.ndarray | None = None
    directed: bool = False

    # --- shape ------------------------------------------------------------------------------------
    @property
    def n_runs(self) -> int:
        """Runs the graph holds: B, or 1 when one graph is shared by every run."""
        return self.indptr.shape[0]

    @property
    def shared(self) -> bool:
        return self.n_runs == 1

    @property
    def n_slots(self) -> int:
        """Edge slots per run (E), padding included."""
        return self.indices.shape[1]

    @property
    def n_edges(self) -> np.ndarray:
        """(Bg,) edge slots in use per run (an undirected edge counts twice, once per direction)."""
        return self.indptr[:, -1].copy()

    @property
    def padded(self) -> bool:
        return bool((self.indptr[:, -1] < self.n_slots).any())

    # --- queries ----------------------------------------------------------------------------------
    def degree(self) -> np.ndarray:
        """(Bg, n) out-degree (the degree of an undirected graph)."""
        return np.diff(self.indptr, axis=1)

    def in_degree(self) -> np.ndarray:
        """(Bg, n) in-degree."""
        return self.scatter_sum(np.ones((self.n_runs, self.n_slots))).astype(np.int64)

    def neighbours(self, node: int, run: int = 0) -> np.ndarray:
        """The targets of ``node``'s edges in ``run`` (in slot order)."""
        return self.indices[run, self.indptr[run, node] : self.indptr[run, node + 1]]

    def edges(self, run: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """(sources, targets) of the used slots of ``run``."""
        used = self.indptr[run, -1]
        return self.sources[run, :used], self.indices[run, :used]

    def adjacency(self, run: int = 0) -> Any:
        """Run ``run`` as a ``scipy.sparse.csr_array`` (weights, or ones)."""
        from scipy import sparse

        used = self.indptr[run, -1]
        data = np.ones(used) if self.weights is None else self.weights[run, :used]
        return sparse.csr_array(
            (data, self.indices[run, :used], self.indptr[run]), shape=(self.n_nodes, self.n_nodes)
        )

    # --- operations -------------------------------------------------------------------------------
    def _runs(self, n_runs: int) -> int:
        if not self.shared and n_runs != self.n_runs:
            raise ConfigError(f"values for {n_runs} runs given to a graph of {self.n_runs} runs")
        return n_runs

    def gather(self, x: np.ndarray, end: str = "target") -> np.ndarray:
        """Per-node values at each edge slot's target (or ``end="source"``): (B, n, …) → (B, E, …).
        Padding slots get 0."""
        if end not in ("target", "source"):
            raise ConfigError(f"end = {end!r}: choose 'target' or 'source'")
        x = np.asarray(x)
        B = self._runs(x.shape[0])
        if x.shape[1] != self.n_nodes:
            raise ConfigError(f"values of shape {x.shape} for a graph of {self.n_nodes} nodes")
        node = self.indices if end == "target" else self.sources
        node = np.minimum(node, self.n_nodes - 1) if self.padded else node  # padding: any node, zeroed below
        out = x[:, node[0]] if self.shared else x[np.arange(B)[:, None], node]
        if self.padded:
            out = np.where(self._valid(B).reshape(B, -1, *(1,) * (x.ndim - 2)), out, 0)
        return out

    def _valid(self, B: int) -> np.ndarray:
        valid = np.arange(self.n_slots)[None, :] < self.indptr[:, -1:]
        return np.broadcast_to(valid, (B, self.n_slots))

    def _edge_values(self, v: np.ndarray) -> tuple[np.ndarray, int, tuple[int, ...]]:
        v = np.asarray(v, dtype=np.float64)
        B = self._runs(v.shape[0])
        if v.ndim < 2 or v.shape[1] != self.n_slots:
            raise ConfigError(f"edge values of shape {v.shape} for a graph of {self.n_slots} edge slots")
        tail = v.shape[2:]
        return np.ascontiguousarray(v.reshape(B, self.n_slots, -1)), B, tail

    def segment_sum(self, v: np.ndarray) -> np.ndarray:
        """Σ of edge values over each node's out-edges: (B, E, …) → (B, n, …)."""
        v, B, tail = self._edge_values(v)
        out = np.zeros((B, self.n_nodes, v.shape[2]))
        if self.shared:
            _segment_shared(self.indptr[0], v, out)
        else:
            _segment(self.indptr, v, out)
        return out.reshape(B, self.n_nodes, *tail)

    def scatter_sum(self, v: np.ndarray, initial: np.ndarray | None = None) -> np.ndarray:
        """``initial`` (default 0) plus the edge values summed into each edge's target: (B, E, …) → (B, n, …);
        the same additions in the same order as ``np.add.at(initial, targets, v)``."""
        v, B, tail = self._edge_values(v)
        if initial is None:
            out = np.zeros((B, self.n_nodes, v.shape[2]))
        else:
            out = np.array(np.broadcast_to(initial, (B, self.n_nodes, *tail)), dtype=np.float64)
            out = out.reshape(B, self.n_nodes, v.shape[2])
        if self.shared:
            _scatter_shared(self.indices[0], self.indptr[0], v, out)
        else:
            _scatter(self.indices, self.indptr, v, out)
        return out.reshape(B, self.n_nodes, *tail)

    def neighbour_sum(self, x: np.ndarray) -> np.ndarray:
        """Σ_j w_ij x_j over each node's out-neighbours j (A·x): (B, n, …) → (B, n, …)."""
        v = self.gather(x)
        if self.weights is not None:
            v = v * self.weights.reshape(*self.weights.shape, *(1,) * (v.ndim - 2))
        return self.segment_sum(v)

    def neighbour_mean(self, x: np.ndarray) -> np.ndarray:
        """The (weighted) mean over out-neighbours; 0 for a node without any."""
        total = self.neighbour_sum(x)
        w = self.segment_sum(
            np.broadcast_to(self.weights if self.weights is not None else 1.0, (self.n_runs, self.n_slots))
        )
        w = w.reshape(*w.shape, *(1,) * (total.ndim - 2))
        return np.where(w > 0, total / np.where(w > 0, w, 1.0), 0.0)


# --- construction -----------------------------------------------------------------------------------


def _check_nodes(n: int) -> int:
    if int(n) != n or n < 1:
        raise ConfigError(f"n = {n} nodes: must be a whole number ≥ 1")
    if n >= 2**31 - 1:
        raise ConfigError(f"n = {n} nodes: at most 2³¹ − 2 (node indices are int32)")
    return int(n)


def from_edges(
    src: np.ndarray,
    dst: np.ndarray,
    n: int,
    weights: np.ndarray | None = None,
    directed: bool = False,
    valid: np.ndarray | None = None,
) -> Graph:
    """A graph from an edge list: (E,) arrays for one graph shared by every run, (B, E) for one per run.

    Undirected edges are stored in both directions. ``valid`` (broadcast like the edges) drops edges per
    run (their slots become padding). A node's slots keep the list's order: first the edges it leaves,
    then (undirected) those it receives."""
    n = _check_nodes(n)
    src, dst = np.atleast_2d(np.asarray(src)), np.atleast_2d(np.asarray(dst))
    for name, a in (("src", src), ("dst", dst)):
        if a.dtype.kind not in "iu":
            raise ConfigError(f"{name} must hold integer node indices, got {a.dtype}")
        if a.size and (a.min() < 0 or a.max() >= n):
            raise ConfigError(f"{name} holds nodes outside 0 … {n - 1}")
    parts = [src, dst] + [np.atleast_2d(np.asarray(v)) for v in (weights, valid) if v is not None]
    try:
        shape = np.broadcast_shapes(*(v.shape for v in parts))
    except ValueError:
        raise ConfigError(f"edge arrays of shapes {[v.shape for v in parts]} do not broadcast") from None
    keep = np.ones(shape, bool) if valid is None else np.atleast_2d(np.asarray(valid, bool))
    graph, origin = _build(src, dst, n, keep, directed, sort_rows=False, shape=shape)
    if weights is None:
        return graph
    w = np.broadcast_to(np.atleast_2d(np.asarray(weights, np.float64)), shape)
    w_slots = np.where(origin >= 0, np.take_along_axis(w, np.maximum(origin, 0), axis=1), 0.0)
    return Graph(n, graph.indptr, graph.indices, graph.sources, w_slots, directed)


def _build(
    src: np.ndarray,
    dst: np.ndarray,
    n: int,
    keep: np.ndarray,
    directed: bool,
    sort_rows: bool,
    shape: tuple[int, ...] | None = None,
) -> tuple[Graph, np.ndarray]:
    """CSR of an edge list by a counting sort per run (compiled), and each slot's edge in the list."""
    shape = shape or np.broadcast_shapes(src.shape, dst.shape, keep.shape)
    src, dst, keep = (np.broadcast_to(a, shape) for a in (src, dst, keep))
    B, E = shape
    slots = E if directed else 2 * E
    indptr = np.zeros((B, n + 1), dtype=np.int64)
    indices = np.empty((B, slots), dtype=np.int32)
    sources = np.empty((B, slots), dtype=np.int32)
    origin = np.empty((B, slots), dtype=np.int64)
    _fill_csr(src, dst, keep, n, not directed, sort_rows, indptr, indices, sources, origin)
    return Graph(n, indptr, indices, sources, None, directed), origin


def from_neighbours(nbr_bnk: np.ndarray, weights_bnk: np.ndarray | None = None) -> Graph:
    """The directed graph i → nbr[b, i, k] for k < κ: κ slots per node, in order (e.g. atp's κ nearest
    regions); (n, κ) for one graph shared by every run."""
    nbr = np.asarray(nbr_bnk)
    if nbr.ndim == 2:
        nbr = nbr[None]
    B, n, kappa = nbr.shape
    n = _check_nodes(n)
    if nbr.size and (nbr.min() < 0 or nbr.max() >= n):
        raise ConfigError(f"neighbours outside 0 … {n - 1}")
    indptr = np.broadcast_to(np.arange(0, n * kappa + 1, kappa, dtype=np.int64), (B, n + 1)).copy()
    sources = np.broadcast_to(np.repeat(np.arange(n, dtype=np.int32), kappa), (B, n * kappa)).copy()
    w = None if weights_bnk is None else np.asarray(weights_bnk, np.float64).reshape(-1, n * kappa)
    return Graph(n, indptr, nbr.reshape(B, n * kappa).astype(np.int32), sources, w, directed=True)


def ring_lattice(n: int, k: int) -> Graph:
    """Each node linked to its k/2 nearest neighbours on either side (k even): one shared graph."""
    n, half = _check_nodes(n), _half_degree(n, k)
    i = np.repeat(np.arange(n), half)
    j = (i + np.tile(np.arange(1, half + 1), n)) % n
    return _undirected_sorted(i[None], j[None], n)


def _half_degree(n: int, k: int) -> int:
    if int(k) != k or k < 2 or k % 2 or k >= n:
        raise ConfigError(f"k = {k}: the lattice degree must be even, at least 2 and below n = {n}")
    return int(k) // 2


def _undirected_sorted(i: np.ndarray, j: np.ndarray, n: int) -> Graph:
    """Undirected graph of distinct pairs (i, j) per run, each node's neighbours in increasing order."""
    return _build(i, j, n, np.ones((1, 1), bool), directed=False, sort_rows=True)[0]


def _uniform(rng: Rng, shape: tuple[int, ...]) -> np.ndarray:
    """Uniform draws on [0, 1) of shape (B, *shape) (B = 1 for a Generator)."""
    if isinstance(rng, np.random.Generator):
        return rng.random(shape)[None]
    if isinstance(rng, Stream):
        return rng.random(shape)
    raise ConfigError(
        f"rng must be an engine Stream (rng('network')) or a numpy Generator, got {type(rng).__name__}"
    )


def _node(u: np.ndarray, n: int) -> np.ndarray:
    return np.minimum((u * n).astype(np.int64), n - 1)


def erdos_renyi(n: int, mean_degree: float, rng: Rng) -> Graph:
    """G(n, M) with M = round(n·k̄/2): M distinct unordered pairs drawn uniformly (no loops)."""
    n = _check_nodes(n)
    pairs = n * (n - 1) // 2
    M = round(mean_degree * n / 2)
    if not 0 <= M <= pairs:
        raise ConfigError(f"mean_degree = {mean_degree}: must lie in [0, n − 1 = {n - 1}]")
    if pairs <= 2**21 or pairs < 4 * M:
        if pairs > 2**26:
            raise ConfigError(
                f"mean_degree = {mean_degree} is too dense for n = {n}: at most a quarter of all pairs"
            )
        # dense: the M pairs with the smallest of one uniform key each (pair p = (i, j), i < j, row-major)
        u = _uniform(rng, (pairs,))
        if M == 0:
            chosen = np.zeros((u.shape[0], 0), dtype=np.int64)
        elif pairs == M:
            chosen = np.broadcast_to(np.arange(pairs), u.shape)
        else:
            chosen = np.argpartition(u, M - 1, axis=1)[:, :M]
        row_len = np.arange(n - 1, 0, -1)
        i = np.repeat(np.arange(n - 1), row_len)[chosen]
        start = np.concatenate([[0], np.cumsum(row_len)])
        return _undirected_sorted(i, chosen - start[i] + i + 1, n)
    # sparse: candidate pairs in draw order, the first M distinct ones kept; the candidate count covers
    # self-pairs (1/n) and repeats (≈ M/pairs) with a wide margin, so it is fixed by (n, M) alone
    loss = 1.0 / n + M / pairs
    c = int(np.ceil(M * (1 + 2 * loss) + 12 * np.sqrt(M * loss) + 64))
    a, b = _node(_uniform(rng, (c,)), n), _node(_uniform(rng, (c,)), n)
    B = a.shape[0]
    i, j = np.empty((B, M), np.int64), np.empty((B, M), np.int64)
    found = np.empty((B, 1), np.int64)
    _distinct_pairs(a, b, n, 1 << int(np.ceil(np.log2(2 * M + 2))), i, j, found)
    if (found[:, 0] < M).any():
        raise ConfigError(f"erdos_renyi: fewer than M = {M} distinct pairs among {c} draws (n = {n})")
    return _undirected_sorted(i, j, n)


def watts_strogatz(n: int, k: int, p: float, rng: Rng, tries: int = 3) -> Graph:
    """Watts–Strogatz small world: ring lattice of degree k, each edge (i, i + d) rewired to (i, w) with
    probability p, w uniform; a w that would make a loop, land on a lattice pair or repeat an edge
    rewired before it (in edge order) is redrawn up to ``tries`` times, after which the lattice edge
    stays. Edge count n·k/2 exactly."""
    n, half = _check_nodes(n), _half_degree(n, k)
    if not 0.0 <= p <= 1.0:
        raise ConfigError(f"p = {p}: the rewiring probability must lie in [0, 1]")
    E = n * half
    i = np.repeat(np.arange(n, dtype=np.int64), half)
    j = (i + np.tile(np.arange(1, half + 1), n)) % n
    rewire = _uniform(rng, (E,)) < p
    B = rewire.shape[0]
    j = np.broadcast_to(j, (B, E)).copy()
    # only the edges drawn for rewiring take part: (run, edge) pairs in run-major edge order
    run, edge = np.nonzero(rewire)
    src = i[edge]
    offset = run * (n * n)
    placed = np.empty(0, dtype=np.int64)  # keys of the rewired edges placed so far, all runs
    for _ in range(tries):
        w = _node(_uniform(rng, (E,)), n)[run, edge]
        gap = (w - src) % n
        key = np.minimum(src, w) * n + np.maximum(src, w) + offset
        ok = ~((gap <= half) | (gap >= n - half)) & ~np.isin(key, placed)  # the lattice band holds w = i
        # among this round's candidates, the first of any repeated pair wins
        _, first = np.unique(np.where(ok, key, -1), return_index=True)
        winner = np.zeros(len(key), bool)
        winner[first] = True
        ok &= winner
        j[run[ok], edge[ok]] = w[ok]
        placed = np.concatenate([placed, key[ok]])
        run, edge, src, offset = run[~ok], edge[~ok], src[~ok], offset[~ok]
    return _undirected_sorted(i[None], j, n)


def barabasi_albert(n: int, m: int, rng: Rng) -> Graph:
    """Barabási–Albert preferential attachment: a clique on nodes 0 … m, then node v = m+1 … n−1 links to m
    distinct earlier nodes, each drawn ∝ degree (uniformly from the list of edge ends, redrawn if
    already chosen). Uses a fixed block of 2·m·(n − m − 1) + 256 uniforms per run."""
    n = _check_nodes(n)
    if int(m) != m or m < 1 or m >= n:
        raise ConfigError(f"m = {m}: the links per new node must be a whole number in [1, n − 1 = {n - 1}]")
    m = int(m)
    u = _uniform(rng, (2 * m * (n - m - 1) + 256,))
    B = u.shape[0]
    n_edges = m * (m + 1) // 2 + m * (n - m - 1)
    i = np.empty((B, n_edges), dtype=np.int64)
    j = np.empty((B, n_edges), dtype=np.int64)
    used = np.empty((B, 1), dtype=np.int64)
    _attach(u, n, m, i, j, used)
    if (used < 0).any():
        raise ConfigError(f"barabasi_albert: the block of uniforms ran out (n = {n}, m = {m})")
    return _undirected_sorted(i, j, n)


# --- compiled kernels, one run each, mapped over the batch -----------------------------------------


def _attach_one(u, n, m, src, dst, used):
    """Sequential preferential attachment (each draw depends on the degrees so far)."""
    ends = np.empty(2 * src.shape[0], np.int64)
    chosen = np.empty(m, np.int64)
    e = 0
    for a in range(m + 1):
        for c in range(a + 1, m + 1):
            src[e], dst[e] = a, c
            ends[2 * e], ends[2 * e + 1] = a, c
            e += 1
    pos = 0
    for v in range(m + 1, n):
        found = 0
        while found < m:
            if pos >= u.shape[0]:
                used[0] = -1
                return
            target = ends[min(int(u[pos] * (2 * e)), 2 * e - 1)]
            pos += 1
            fresh = True
            for q in range(found):
                if chosen[q] == target:
                    fresh = False
            if fresh:
                chosen[found] = target
                found += 1
        for q in range(m):
            src[e], dst[e] = v, chosen[q]
            ends[2 * e], ends[2 * e + 1] = v, chosen[q]
            e += 1
    used[0] = pos


_attach = per_run(_attach_one, shared=("n", "m"), cache=True)


_GOLDEN = 0x9E3779B97F4A7C15 - 2**64  # 2⁶⁴/φ as a signed 64-bit integer


def _distinct_pairs_one(a, b, n, table_size, i, j, found):
    """The first len(i) distinct unordered pairs {a_t, b_t}, a_t ≠ b_t, in draw order (open addressing)."""
    table = np.full(table_size, -1, np.int64)
    mask = table_size - 1
    k = 0
    for t in range(a.shape[0]):
        if k == i.shape[0]:
            break
        low, high = min(a[t], b[t]), max(a[t], b[t])
        if low == high:
            continue
        key = low * n + high
        slot = (key * _GOLDEN) & mask  # multiplicative hashing (wraps in 64 bits)
        while table[slot] != -1 and table[slot] != key:
            slot = (slot + 1) & mask
        if table[slot] == key:
            continue
        table[slot] = key
        i[k], j[k] = low, high
        k += 1
    found[0] = k


_distinct_pairs = per_run(_distinct_pairs_one, shared=("n", "table_size"), cache=True)


def _fill_csr_one(src, dst, keep, n, symmetric, sort_rows, indptr, indices, sources, origin):
    """Counting sort of the kept edges by source (both directions if symmetric), stable; padding after."""
    counts = np.zeros(n + 1, np.int64)
    for e in range(src.shape[0]):
        if keep[e]:
            counts[src[e]] += 1
            if symmetric:
                counts[dst[e]] += 1
    indptr[0] = 0
    for v in range(n):
        indptr[v + 1] = indptr[v] + counts[v]
    cursor = indptr[:n].copy()
    for direction in range(2 if symmetric else 1):
        for e in range(src.shape[0]):
            if keep[e]:
                a, b = (src[e], dst[e]) if direction == 0 else (dst[e], src[e])
                slot = cursor[a]
                cursor[a] += 1
                indices[slot], sources[slot], origin[slot] = b, a, e
    for slot in range(indptr[n], indices.shape[0]):
        indices[slot], sources[slot], origin[slot] = n, n, -1
    if sort_rows:  # insertion sort of each row (rows are short: the degree)
        for v in range(n):
            for s in range(indptr[v] + 1, indptr[v + 1]):
                x, o = indices[s], origin[s]
                t = s - 1
                while t >= indptr[v] and indices[t] > x:
                    indices[t + 1], origin[t + 1] = indices[t], origin[t]
                    t -= 1
                indices[t + 1], origin[t + 1] = x, o


_fill_csr = per_run(_fill_csr_one, shared=("n", "symmetric", "sort_rows"), cache=True)


def _segment_one(indptr, v, out):
    """out[i] = Σ over node i's slots of v, in slot order from 0."""
    for i in range(indptr.shape[0] - 1):
        for e in range(indptr[i], indptr[i + 1]):
            for c in range(v.shape[1]):
                out[i, c] += v[e, c]


def _scatter_one(indices, indptr, v, out):
    """out[j] += v[e] for every used slot e with target j, in slot order (as np.add.at)."""
    for e in range(indptr[indptr.shape[0] - 1]):
        j = indices[e]
        for c in range(v.shape[1]):
            out[j, c] += v[e, c]


_segment = per_run(_segment_one, cache=True)
_segment_shared = per_run(_segment_one, shared=("indptr",), cache=True)
_scatter = per_run(_scatter_one, cache=True)
_scatter_shared = per_run(_scatter_one, shared=("indices", "indptr"), cache=True)
