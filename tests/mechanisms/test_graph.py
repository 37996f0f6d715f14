"""Graphs: segment sums, scatters and gathers against naive loops on random graphs (per run and shared,
with padding and trailing axes), scatter_sum bit-equal to np.add.at, and the generators' statistics —
Erdős–Rényi mean degree and isolated nodes, Watts–Strogatz clustering against the ring lattice's closed
form, the Barabási–Albert degree tail — with a run alone equal to the same run in a batch."""

from __future__ import annotations

import numpy as np
import pytest

from econsim.engine.errors import ConfigError
from econsim.engine.model import Model, Param, Var
from econsim.engine.simulation import Simulation
from econsim.engine.streams import RandomStreams, run_generator
from econsim.mechanisms.graph import (
    Graph,
    barabasi_albert,
    erdos_renyi,
    from_edges,
    from_neighbours,
    ring_lattice,
    watts_strogatz,
)


def random_graph(B=3, n=40, E=150, seed=0, shared=False, drop=True):
    rng = np.random.default_rng(seed)
    rows = 1 if shared else B
    src, dst = rng.integers(0, n, (rows, E)), rng.integers(0, n, (rows, E))
    weights = rng.normal(size=(rows, E))
    valid = rng.random((rows, E)) > 0.2 if drop else None
    return src, dst, weights, valid, from_edges(src, dst, n, weights, directed=True, valid=valid)


def naive(src, dst, weights, valid, n, x, B):
    """Python loops over runs and edges: out-sums, in-sums, weighted neighbour sums, degrees."""
    seg, sca = np.zeros((B, n, *x.shape[2:])), np.zeros((B, n, *x.shape[2:]))
    nbr, deg = np.zeros((B, n, *x.shape[2:])), np.zeros((B, n), int)
    for b in range(B):
        r = 0 if src.shape[0] == 1 else b
        for e in range(src.shape[1]):
            if valid is None or valid[r, e]:
                i, j = src[r, e], dst[r, e]
                seg[b, i] += x[b, j]
                sca[b, j] += x[b, i]
                nbr[b, i] += weights[r, e] * x[b, j]
                deg[b, i] += 1
    return seg, sca, nbr, deg


@pytest.mark.parametrize("shared", [False, True])
@pytest.mark.parametrize("tail", [(), (2, 3)])
def test_sums_and_gathers_match_naive_loops(shared, tail):
    B, n = 3, 40
    src, dst, weights, valid, g = random_graph(B=B, n=n, shared=shared)
    x = np.random.default_rng(1).normal(size=(B, n, *tail))
    seg, sca, nbr, deg = naive(src, dst, weights, valid, n, x, B)
    np.testing.assert_allclose(g.segment_sum(g.gather(x)), seg, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(g.scatter_sum(g.gather(x, end="source")), sca, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(g.neighbour_sum(x), nbr, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(np.broadcast_to(g.degree(), (B, n)), deg)
    assert g.padded and g.n_slots == 150
    np.testing.assert_array_equal(g.n_edges, valid.sum(axis=1))
    assert g.indices.dtype == np.int32 and g.sources.dtype == np.int32 and g.indptr.dtype == np.int64
    # padding slots gather zeros
    assert (
        g.gather(x)[:, g.n_edges.min() :][~np.broadcast_to(g._valid(B), (B, g.n_slots))[:, g.n_edges.min() :]]
        == 0
    ).all()


def test_scatter_sum_adds_in_the_order_of_np_add_at():
    rng = np.random.default_rng(2)
    B, n, kappa, A = 4, 30, 3, 5
    nbr = rng.integers(0, n, (B, n, kappa))
    g = from_neighbours(nbr)
    base = rng.normal(size=(B, n, A)) * 1e3
    v = rng.normal(size=(B, n * kappa, A)) * np.logspace(-8, 8, n * kappa)[None, :, None]
    expected = base.copy()
    for b in range(B):
        np.add.at(expected[b], nbr[b].ravel(), v[b])
    np.testing.assert_array_equal(g.scatter_sum(v, initial=base), expected)
    zero_start = np.zeros((B, n, A))
    for b in range(B):
        np.add.at(zero_start[b], nbr[b].ravel(), v[b])
    np.testing.assert_array_equal(g.scatter_sum(v), zero_start)
    np.testing.assert_array_equal(g.gather(base), base[np.arange(B)[:, None, None], nbr].reshape(B, -1, A))
    np.testing.assert_array_equal(g.in_degree(), [np.bincount(nbr[b].ravel(), minlength=n) for b in range(B)])


def test_undirected_edges_are_stored_both_ways_and_neighbours_are_queried():
    g = from_edges(np.array([0, 1, 2]), np.array([1, 2, 0]), 4)
    assert g.shared and not g.directed
    np.testing.assert_array_equal(g.degree(), [[2, 2, 2, 0]])
    assert sorted(g.neighbours(0)) == [1, 2]
    A = g.adjacency().toarray()
    np.testing.assert_array_equal(A, A.T)
    x = np.arange(8.0).reshape(2, 4)  # two runs share the graph
    np.testing.assert_array_equal(g.neighbour_sum(x), x @ A.T)
    np.testing.assert_array_equal(g.neighbour_mean(x)[:, :3], (x @ A.T)[:, :3] / 2)
    assert (g.neighbour_mean(x)[:, 3] == 0).all()


def simple_and_symmetric(g: Graph, run: int) -> None:
    src, dst = g.edges(run)
    assert (src != dst).all()
    key = src.astype(np.int64) * g.n_nodes + dst
    assert len(np.unique(key)) == len(key)
    A = g.adjacency(run)
    assert (A != A.T).nnz == 0


def test_erdos_renyi_degrees():
    n, k = 4000, 6.0
    g = erdos_renyi(n, k, RandomStreams(7, np.arange(3)[:, None])("network"))
    deg = g.degree()
    np.testing.assert_array_equal(deg.mean(axis=1), k)  # G(n, M): exactly 2M/n
    p = k / (n - 1)
    np.testing.assert_allclose(deg.var(axis=1), (n - 1) * p * (1 - p), rtol=0.1)
    np.testing.assert_allclose((deg == 0).mean(axis=1), np.exp(-k), atol=0.0015)  # isolated ≈ e^−k̄
    for b in range(3):
        simple_and_symmetric(g, b)
    dense = erdos_renyi(60, 20.0, run_generator(3, (0,), "network"))  # the dense branch, one shared graph
    assert dense.shared
    np.testing.assert_array_equal(dense.degree().mean(), 20.0)
    simple_and_symmetric(dense, 0)


def clustering(g: Graph, run: int = 0) -> float:
    """Mean local clustering: triangles through i over the k_i(k_i − 1)/2 pairs of its neighbours."""
    A = g.adjacency(run)
    closed = (A @ A).multiply(A).sum(axis=1)
    deg = g.degree()[run]
    return float(np.mean(closed / (deg * (deg - 1))))


def test_watts_strogatz_clustering_against_the_ring_lattice():
    n, k = 3000, 10
    lattice = ring_lattice(n, k)
    assert clustering(lattice) == pytest.approx(3 * (k - 2) / (4 * (k - 1)), abs=1e-12)
    streams = RandomStreams(5, np.arange(2)[:, None])
    unwired = watts_strogatz(n, k, 0.0, streams("network"))
    np.testing.assert_array_equal(unwired.indices, np.broadcast_to(lattice.indices, unwired.indices.shape))
    p = 0.1
    g = watts_strogatz(n, k, p, streams("rewired"))
    np.testing.assert_array_equal(g.degree().sum(axis=1), n * k)  # n·k/2 edges, both ways
    for b in range(2):
        simple_and_symmetric(g, b)
        # Barrat & Weigt (2000): C(p) ≈ C(0)(1 − p)³
        assert clustering(g, b) == pytest.approx(3 * (k - 2) / (4 * (k - 1)) * (1 - p) ** 3, abs=0.02)
    src, dst = g.edges(0)
    gap = (dst.astype(int) - src) % n
    rewired = ((gap > k // 2) & (gap < n - k // 2)).mean()  # share of edges off the lattice band
    assert rewired == pytest.approx(p, abs=0.01)  # binomial sd ≈ 0.0025 over n·k/2 edges
    random = watts_strogatz(n, k, 1.0, streams("random"))
    simple_and_symmetric(random, 0)
    assert clustering(random) < 0.02  # ≈ k/n for a random graph


def test_barabasi_albert_degree_tail():
    n, m = 20_000, 3
    g = barabasi_albert(n, m, RandomStreams(9, np.arange(2)[:, None])("network"))
    deg = g.degree()
    assert deg.min() == m
    np.testing.assert_array_equal(deg.sum(axis=1), 2 * (m * (m + 1) // 2 + m * (n - m - 1)))
    for k in (2 * m, 4 * m, 8 * m):
        # P(K ≥ k) = m(m + 1) / (k(k + 1)) (Dorogovtsev, Mendes & Samukhin 2000): a power law of exponent 3
        np.testing.assert_allclose((deg >= k).mean(axis=1), m * (m + 1) / (k * (k + 1)), rtol=0.12)
    simple_and_symmetric(g, 1)
    # the largest hub grows like √n: far above anything an Erdős–Rényi graph of the same density shows
    assert deg.max() > 100


@pytest.mark.parametrize(
    "make",
    [
        lambda rng: erdos_renyi(500, 4.0, rng),
        lambda rng: watts_strogatz(500, 6, 0.3, rng),
        lambda rng: barabasi_albert(500, 2, rng),
    ],
)
def test_a_run_alone_equals_the_run_in_a_batch(make):
    batch = RandomStreams(11, np.arange(4)[:, None])
    g = make(batch("network"))
    after = batch("network").random()
    for b in (0, 2):
        alone = RandomStreams(11, np.array([[b]]))
        h = make(alone("network"))
        np.testing.assert_array_equal(h.indptr[0], g.indptr[b])
        np.testing.assert_array_equal(h.indices[0], g.indices[b])
        assert alone("network").random()[0] == after[b]  # the stream moved by the same number of draws


def test_bad_arguments_are_named():
    rng = RandomStreams(0, np.zeros((1, 1), int))("network")
    with pytest.raises(ConfigError, match="k = 5: the lattice degree must be even"):
        watts_strogatz(100, 5, 0.1, rng)
    with pytest.raises(ConfigError, match=r"p = 1.5: the rewiring probability"):
        watts_strogatz(100, 4, 1.5, rng)
    with pytest.raises(ConfigError, match=r"mean_degree = 200"):
        erdos_renyi(100, 200, rng)
    with pytest.raises(ConfigError, match="rng must be an engine Stream"):
        erdos_renyi(100, 2, np.random)
    with pytest.raises(ConfigError, match="outside 0 … 9"):
        from_edges(np.array([0, 10]), np.array([1, 2]), 10)
    g = from_edges(np.array([[0, 1]]), np.array([[1, 2]]), 3)
    with pytest.raises(ConfigError, match="edge values of shape"):
        g.segment_sum(np.ones((1, 3)))


def _diffuse(s, p, rng):
    """x ← x + rate·(mean of the neighbours' x − x) over the ring shared by every run (static data)."""
    return {"x": s.x + p.rate[:, None] * (p.ring.neighbour_mean(s.x) - s.x)}


DIFFUSION = Model(
    name="diffusion",
    doc="test model: diffusion on a ring lattice held once as static data",
    params=[Param("n", 30, "nodes", kind="int", bounds=(5, None)), Param("rate", 0.5, "diffusion rate")],
    state=[Var("x", 0.0, "value per node", shape=("n",))],
    step=[_diffuse],
    static=lambda p: {"ring": ring_lattice(p.n, 4)},
    init=lambda s, p, rng: {"x": rng("start").random((p.n,))},
)


def test_a_graph_in_static_data_serves_every_run():
    sim = Simulation(DIFFUSION, {"rate": [0.1, 0.3, 0.6]}, seed=4)
    x0 = sim.state.x.copy()
    sim.run(20)
    A = sim.params.ring.adjacency().toarray() / 4.0  # every node has 4 neighbours
    for b, rate in enumerate([0.1, 0.3, 0.6]):
        M = (1 - rate) * np.eye(30) + rate * A
        np.testing.assert_allclose(sim.state.x[b], np.linalg.matrix_power(M, 20) @ x0[b], rtol=1e-12)
        alone = Simulation(DIFFUSION, {"rate": rate}, seed=4, run=np.array([b]))
        alone.run(20)
        np.testing.assert_array_equal(alone.state.x[0], sim.state.x[b])
    np.testing.assert_allclose(sim.state.x.mean(axis=1), x0.mean(axis=1), rtol=1e-12)  # mass conserved
