"""Per-run random streams: derived exactly as numpy's SeedSequence, independent of batching."""

import io

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from econsim.engine.streams import RandomStreams, derive_keys, run_generator


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**130),
    ids=st.lists(st.tuples(st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1)), min_size=1, max_size=5),
)
def test_keys_equal_numpy_seedsequence(seed, ids):
    keys = derive_keys(seed, np.array(ids))
    for row, identity in zip(keys, ids, strict=True):
        expected = np.random.SeedSequence(seed, spawn_key=identity).generate_state(2, np.uint64)
        np.testing.assert_array_equal(row, expected)


def test_stream_is_the_run_generators_output():
    streams = RandomStreams(11, np.array([[3], [0], [7]]))
    s = streams("price")
    u = np.stack([s.random() for _ in range(300)], axis=1)  # crosses several refills
    z = s.standard_normal((5,))
    for b, run in enumerate([3, 0, 7]):
        raw = run_generator(11, (run,), "price").bit_generator.random_raw(305)
        np.testing.assert_array_equal(u[b], (raw[:300] >> np.uint64(11)) * 2.0**-53)
        gen_u = run_generator(11, (run,), "price").random(300)
        np.testing.assert_array_equal(u[b], gen_u)  # exactly Generator.random()
        assert z.shape == (3, 5)


def test_draws_do_not_depend_on_batch_composition():
    alone = RandomStreams(5, np.array([[4]]))("a")
    together = RandomStreams(5, np.array([[1], [4], [9]]))("a")
    for _ in range(200):
        np.testing.assert_array_equal(alone.standard_normal((2,))[0], together.standard_normal((2,))[1])


def test_streams_differ_by_name_seed_and_identity():
    a = RandomStreams(1, np.array([[0], [1]]))
    draws = {name: a(name).random((64,)) for name in ("x", "y")}
    assert not np.array_equal(draws["x"], draws["y"])
    assert not np.array_equal(draws["x"][0], draws["x"][1])
    b = RandomStreams(2, np.array([[0], [1]]))
    assert not np.array_equal(b("x").random((64,)), draws["x"])


def test_distributions_have_their_moments():
    s = RandomStreams(3, np.arange(4)[:, None])("d")
    z = s.standard_normal((50_000,))
    u = s.random((50_000,))
    e = s.standard_exponential((50_000,))
    n = z.size
    assert abs(z.mean()) < 5 / np.sqrt(n) and abs(z.var() - 1) < 5 * np.sqrt(2 / n)
    assert u.min() >= 0 and u.max() < 1 and stats.kstest(u.ravel(), "uniform").pvalue > 1e-4
    assert stats.kstest(z.ravel()[:20_000], "norm").pvalue > 1e-4
    assert abs(e.mean() - 1) < 5 / np.sqrt(n)
    ints = s.integers(2, 5, (1000,))
    assert set(np.unique(ints)) == {2, 3, 4}


def test_per_run_location_and_scale_broadcast():
    s = RandomStreams(3, np.arange(2)[:, None])("d")
    x = s.normal(np.array([0.0, 100.0]), np.array([1.0, 0.0]), (1000,))
    assert np.all(x[1] == 100.0) and abs(x[0].mean()) < 0.2


def test_identity_words_must_fit_32_bits():
    with pytest.raises(ValueError, match="2\\*\\*32"):
        derive_keys(1, np.array([[2**32]]))


def test_streams_restored_at_a_position_continue_identically():
    """A checkpoint keeps each stream's position (words fetched + the unconsumed buffer); streams
    rebuilt there, even through a file, draw exactly what the originals draw next."""
    identity = np.array([[0], [3], [7]])
    original = RandomStreams(11, identity)
    original("price").random((5,))
    original("shock").standard_normal((300,))  # past one refill of 256 words: buffer partly consumed
    original("price").integers(0, 9, (2, 2))
    positions = original.positions()
    assert positions["shock"][0] == 300 + -300 % 4 and positions["shock"][1].shape == (3, 0)
    assert positions["price"][0] == 256 and positions["price"][1].shape == (3, 256 - 9)
    stored = {f"{n}/{k}": v for n, (w, b) in positions.items() for k, v in (("words", w), ("buffer", b))}
    buffer = io.BytesIO()
    np.savez(buffer, **stored)
    loaded = np.load(io.BytesIO(buffer.getvalue()))
    restored = RandomStreams(11, identity)
    restored.restore({n: (int(loaded[f"{n}/words"]), loaded[f"{n}/buffer"]) for n in positions})
    for name, draw in [("price", lambda s: s.random((400,))), ("shock", lambda s: s.standard_normal((7,)))]:
        np.testing.assert_array_equal(draw(restored(name)), draw(original(name)))
    np.testing.assert_array_equal(restored("new").random(), original("new").random())
    with pytest.raises(ValueError, match="not a stream position"):
        restored.restore({"price": (6, np.zeros((3, 1), dtype=np.uint64))})


@pytest.mark.parametrize("words_used", [0, 4, 256, 4 * 2**40])
def test_compiled_philox_gives_numpys_words(words_used):
    """Stream._fetch (the compiled Philox4x64-10) hands out the words of numpy's Philox of each key."""
    import numba  # noqa: F401 - loaded, a batch of any size draws through the compiled Philox

    from econsim.engine.streams import Stream, derive_keys

    keys = derive_keys(11, np.column_stack([np.arange(9), np.full(9, 5)]))
    keys[0] = [2**64 - 1, 2**63]  # carries in the key's Weyl bumps
    compiled, reference = Stream(keys), Stream(keys)
    compiled._words_used = reference._words_used = words_used
    np.testing.assert_array_equal(compiled._fetch(260), reference._fetch_numpy(260))
    assert compiled._words_used == reference._words_used == words_used + 260


def test_words_as_drawn_and_seek_leave_the_position_of_single_draws():
    from econsim.engine.streams import RandomStreams

    one, bulk = RandomStreams(3, np.arange(4)[:, None]), RandomStreams(3, np.arange(4)[:, None])
    single = np.column_stack([one("s").words(1) for _ in range(600)])
    start = bulk("s").position()
    got = bulk("s").words_as_drawn(600)
    np.testing.assert_array_equal(got, single)
    for (used_a, buffer_a), (used_b, buffer_b) in zip(
        [one("s").position()], [bulk("s").position()], strict=True
    ):
        assert used_a == used_b
        np.testing.assert_array_equal(buffer_a, buffer_b)
    bulk("s").seek(start)
    np.testing.assert_array_equal(bulk("s").words_as_drawn(10), single[:, :10])
