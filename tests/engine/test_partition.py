"""Partitioning (METIS, Hilbert, random), the renumbered blocks, and the exact order-independent sums."""

from __future__ import annotations

import math

import numpy as np
import pytest

from econsim.engine import ConfigError, run_generator
from econsim.engine.partition import exact
from econsim.engine.partition.partition import Layout, assign, cached_assignment, hilbert_index
from econsim.mechanisms import graph as graphs


def test_exact_sum_is_the_correctly_rounded_sum_in_any_order():
    rng = np.random.default_rng(3)
    for trial in range(120):
        x = rng.standard_normal(int(rng.integers(1, 60))) * 10.0 ** int(rng.integers(-40, 40))
        if trial % 3 == 0:
            x = np.concatenate([x, [1e20, -1e20, 1e-10, 2.0**-1060]])
        acc = exact.zeros()
        exact.add_array(acc, x)
        assert exact.value_of(acc) == exact.reference_value(acc) == math.fsum(x)
        assert exact.exact_sum(x[rng.permutation(len(x))]) == math.fsum(x)
    # a sum that plain left-to-right addition gets wrong
    assert exact.exact_sum(np.array([1.0, 1e100, 1.0, -1e100])) == 2.0
    assert exact.exact_sum(np.array([0.1] * 10)) == 1.0 != sum([0.1] * 10)


def test_exact_accumulators_of_blocks_merge_into_the_whole_sum():
    x = np.random.default_rng(0).lognormal(0.0, 3.0, 10_000) * np.where(np.arange(10_000) % 7, 1, -1)
    whole = exact.exact_sum(x)
    for cuts in ([5000], [1, 2, 9999], [1234, 5678, 7000]):
        parts = np.split(np.random.default_rng(1).permutation(x), cuts)
        accs = [exact.zeros() for _ in parts]
        for acc, part in zip(accs, parts, strict=True):
            exact.add_array(acc, part)
        assert exact.value_of(np.sum(accs, axis=0)) == whole


def test_hilbert_index_visits_the_quadrants_in_curve_order_and_is_a_bijection():
    corners = np.array([[0.1, 0.1], [0.1, 0.9], [0.9, 0.9], [0.9, 0.1]])
    assert list(hilbert_index(corners, order=1)) == [0, 1, 2, 3]
    side = 8
    xy = (np.stack(np.meshgrid(np.arange(side), np.arange(side)), -1).reshape(-1, 2) + 0.5) / side
    d = hilbert_index(xy, order=3)
    assert sorted(d) == list(range(side * side))
    walk = xy[np.argsort(d)] * side
    assert np.all(np.abs(np.diff(walk, axis=0)).sum(axis=1) == 1)  # each step moves to a neighbouring cell


def test_partitions_are_balanced_and_metis_cuts_far_fewer_edges_than_random():
    g = graphs.watts_strogatz(4000, 10, 0.02, run_generator(1, (0,), "graph"))
    ip, ix = g.indptr[0], g.indices[0]
    cut = {}
    for method in ("metis", "random"):
        part = assign(4, method, n=4000, indptr=ip, indices=ix)
        counts = np.bincount(part, minlength=4)
        assert counts.sum() == 4000 and counts.max() <= 1.05 * counts.min()
        cut[method] = Layout.of(part, 4).cut_share(ip, ix)
    assert cut["random"] == pytest.approx(0.75, abs=0.03) and cut["metis"] < 0.15
    xy = np.random.default_rng(0).random((4000, 2))
    part = assign(4, "hilbert", n=4000, coords=xy)
    assert np.bincount(part).tolist() == [1000] * 4
    spread = [xy[part == k].std(axis=0).max() for k in range(4)]
    assert max(spread) < 0.2  # each quarter of the curve is a compact patch (uniform: std 0.29)


def test_weights_shift_agents_off_the_expensive_partition():
    w = np.ones(1000)
    w[:500] = 3.0  # the first half costs three times as much per agent
    part = assign(2, "random", n=1000, weights=w, seed=2)
    cost = [w[part == k].sum() for k in range(2)]
    assert abs(cost[0] - cost[1]) <= 3.0


def test_layout_renumbers_each_partition_into_one_ascending_block():
    part = np.array([2, 0, 1, 0, 2, 2, 1])
    lay = Layout.of(part, 3)
    assert lay.order.tolist() == [1, 3, 2, 6, 0, 4, 5] and lay.bounds.tolist() == [0, 2, 4, 7]
    assert lay.agents(2).tolist() == [0, 4, 5] and (lay.order[lay.position] == np.arange(7)).all()


def test_assignment_is_cached_per_network_on_disk(tmp_path):
    g = graphs.erdos_renyi(500, 6, run_generator(2, (0,), "graph"))
    args = {"n": 500, "indptr": g.indptr[0], "indices": g.indices[0], "folder": tmp_path}
    first = cached_assignment(2, "metis", **args)
    assert len(list(tmp_path.glob("partition-*.npy"))) == 1
    assert cached_assignment(2, "metis", **args) is first
    with pytest.raises(ConfigError, match="partition method 'spectral' is not one of metis, hilbert, random"):
        assign(2, "spectral", n=10)
    with pytest.raises(ConfigError, match="partitions = 11 must lie in 1 … 10"):
        assign(11, "random", n=10)
