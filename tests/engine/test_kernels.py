"""Per-run kernels: the compiled map over runs equals a Python loop over runs (serially and in parallel),
shared arguments pass through, bad batches are refused by name, there is no Python call per run, and
numba is imported only when a kernel first runs."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from econsim.engine.errors import ConfigError
from econsim.engine.kernels import jit, per_run

SRC = Path(__file__).resolve().parents[2] / "src"


def _walk(x_n, weight_n, scale, start, out_n, total):
    """A sequential recursion per run: y_i = scale·y_{i−1} + w_i·x_i from y = start, a prefix per agent."""
    y = start
    for i in range(x_n.shape[0]):
        y = scale * y + weight_n[i] * x_n[i]
        out_n[i] = y
    total[0] = y


walk = per_run(_walk, shared=("weight_n", "start"), cache=True)
walk_parallel = per_run(_walk, shared=("weight_n", "start"), parallel=True, cache=True)


def _batch(n_runs=5, n=300, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n_runs, n)), rng.random(n), rng.uniform(0.5, 1.0, n_runs), 0.25


def test_map_equals_a_python_loop_over_runs_serial_and_parallel():
    x_bn, weight_n, scale_b, start = _batch()
    weight_n.flags.writeable = False  # shared arrays may be read-only, as the engine's static data is
    outs = []
    for fn in (walk, walk_parallel, walk.python_loop):
        out_bn, total_b = np.zeros_like(x_bn), np.zeros((x_bn.shape[0], 1))
        fn(x_bn, weight_n, scale_b, start, out_bn, total_b)
        outs.append((out_bn, total_b))
    # the plain Python function, run by run: the reference semantics
    ref_bn, ref_total = np.zeros_like(x_bn), np.zeros((x_bn.shape[0], 1))
    for b in range(x_bn.shape[0]):
        _walk(x_bn[b], weight_n, scale_b[b], start, ref_bn[b], ref_total[b])
    for out_bn, total_b in outs:
        np.testing.assert_array_equal(out_bn, outs[0][0])
        np.testing.assert_array_equal(total_b, outs[0][1])
        np.testing.assert_allclose(out_bn, ref_bn, rtol=1e-13)
    # closed form of the recursion for one run: y_n = s^n·y0 + Σ_i s^(n−i) w_i x_i
    n = x_bn.shape[1]
    powers = scale_b[2] ** np.arange(n - 1, -1, -1)
    np.testing.assert_allclose(
        outs[0][1][2, 0], scale_b[2] ** n * start + (powers * weight_n * x_bn[2]).sum()
    )


def test_a_run_alone_equals_the_run_in_its_batch():
    x_bn, weight_n, scale_b, start = _batch(n_runs=7)
    out_bn, total_b = np.zeros_like(x_bn), np.zeros((7, 1))
    walk(x_bn, weight_n, scale_b, start, out_bn, total_b)
    for b in (0, 3, 6):
        alone, alone_total = np.zeros((1, x_bn.shape[1])), np.zeros((1, 1))
        walk(x_bn[b : b + 1], weight_n, scale_b[b : b + 1], start, alone, alone_total)
        np.testing.assert_array_equal(alone[0], out_bn[b])


def test_batched_arguments_are_named_and_checked():
    x_bn, weight_n, scale_b, start = _batch()
    out_bn, total_b = np.zeros_like(x_bn), np.zeros((5, 1))
    with pytest.raises(ConfigError, match=r"batched argument 'scale' has 4 runs .* 'x_n' has 5"):
        walk(x_bn, weight_n, scale_b[:4], start, out_bn, total_b)
    with pytest.raises(ConfigError, match=r"argument 'scale' is batched, so it must be an array"):
        walk(x_bn, weight_n, 0.5, start, out_bn, total_b)
    with pytest.raises(ConfigError, match=r"no argument named \['weights'\]"):
        per_run(_walk, shared=("weights",))
    with pytest.raises(ConfigError, match="not both"):
        per_run(_walk, shared=("start",), batched=("x_n",))
    only = per_run(_walk, batched=("x_n", "scale", "out_n", "total"))
    assert only.batched == (True, False, True, False, True, True)
    assert "_kernel(x_n[_b], weight_n, scale[_b], start, out_n[_b], total[_b])" in walk.source()


def _touch(x_n, out):
    out[0] = x_n[0] + 1.0


def test_the_loop_over_runs_is_compiled_not_a_python_call_per_run():
    touch = per_run(_touch, cache=True)
    x, out = np.zeros((200_000, 1)), np.zeros((200_000, 1))
    touch(x[:2], out[:2])  # compile
    started = time.perf_counter()
    touch(x, out)
    compiled = time.perf_counter() - started
    started = time.perf_counter()
    touch.python_loop(x[:20_000], out[:20_000])
    python = (time.perf_counter() - started) * 10
    np.testing.assert_array_equal(out, 1.0)
    assert compiled < python / 20, (compiled, python)


def test_jit_compiles_on_first_call_and_numba_is_not_imported_before():
    code = (
        "import sys, numpy as np\n"
        "import econsim.engine\n"
        "from econsim.engine.kernels import jit, per_run\n"
        "double = jit(lambda x: 2.0 * x)\n"
        "mapped = per_run(lambda x_n, out: None)\n"
        "assert 'numba' not in sys.modules, 'numba imported too early'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    square = jit(lambda x: x * x, cache=False)
    assert square(3.0) == 9.0 and square.py_func(4.0) == 16.0


PARALLEL_KERNEL = """
import numpy as np
from numba import prange
from econsim.engine.jit import njit
from econsim.engine.kernels import per_run

@njit(parallel=True)
def double(x_n, out_n):
    for i in prange(x_n.shape[0]):
        out_n[i] = 2.0 * x_n[i]

double_all = per_run(double)
"""


@pytest.mark.slow  # subprocesses, kills or heavy drawing: runs in CI with -m slow
def test_a_parallel_kernel_runs_from_the_disk_cache_in_a_new_process(tmp_path):
    """Process 1 caches the parallel kernel alone; process 2 compiles the loop around the cached kernel
    and caches it; process 3 loads that loop, which does not start numba's threads for the kernel inside
    it — per_run must start them (without, process 3 died of a segmentation fault)."""
    (tmp_path / "parallel_kernel.py").write_text(PARALLEL_KERNEL)
    setup = (
        "import numpy as np, parallel_kernel as k\nx, out = np.arange(12.0).reshape(3, 4), np.zeros((3, 4))\n"
    )
    alone = setup + "k.double(x[0], out[0])\nassert (out[0] == 2 * x[0]).all()\n"
    mapped = setup + "k.double_all(x, out)\nassert (out == 2 * x).all()\n"
    env = {
        **os.environ,
        "NUMBA_CACHE_DIR": str(tmp_path / "cache"),
        "PYTHONPATH": os.pathsep.join([str(tmp_path), str(SRC)]),
    }
    for code in (alone, mapped, mapped):
        subprocess.run([sys.executable, "-c", code], env=env, check=True, cwd=tmp_path)
    assert list((tmp_path / "cache" / "per_run").glob("parallel_kernel.double_*.py"))
