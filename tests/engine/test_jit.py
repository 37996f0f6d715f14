"""Compiled kernels cache outside the source tree: in econsim's cache folder, or where NUMBA_CACHE_DIR says."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numba
import pytest

from econsim.engine.jit import cache_dir
from econsim.mechanisms import amm, order_book
from econsim.models.atp import wallets
from econsim.models.tokens import policies

SRC = Path(__file__).resolve().parents[2] / "src"
KERNELS = {
    "atp.demand_kernel": wallets.demand_kernel,
    "atp.closing_kernel": wallets.closing_kernel,
    # the loops engine.per_run compiles around one-run kernels cache there too
    "atp.demand_pass": wallets.demand_pass.loop,
    "tokens.rule_orders": policies.rule_orders.loop,
    "order_book._process_events": order_book._process_events,
    "order_book._depth_levels": order_book._depth_levels,
    "amm._swap_across_ticks": amm._swap_across_ticks,
    "tokens.rule_kernel": policies.rule_kernel,
}


@pytest.mark.parametrize("name", KERNELS)
def test_every_kernel_caches_in_the_cache_folder_not_in_the_sources(name):
    path = Path(KERNELS[name].stats.cache_path)
    assert path.is_relative_to(Path(cache_dir()))
    assert not path.is_relative_to(SRC)


def test_decorating_leaves_numbas_configuration_alone():
    assert os.environ.get("NUMBA_CACHE_DIR", "") == numba.config.CACHE_DIR


@pytest.mark.slow  # tens of seconds of subprocesses or training; runs in CI with -m slow
def test_numba_cache_dir_and_xdg_cache_home_are_honoured(tmp_path):
    code = "from econsim.mechanisms import amm; print(amm._swap_across_ticks.stats.cache_path)"
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(SRC), "HOME": str(tmp_path / "home")}
    mine = subprocess.run(
        [sys.executable, "-c", code],
        env={**env, "NUMBA_CACHE_DIR": str(tmp_path / "mine")},
        capture_output=True,
        text=True,
        check=True,
    )
    assert Path(mine.stdout.strip()).is_relative_to(tmp_path / "mine")
    xdg = subprocess.run(
        [sys.executable, "-c", code],
        env={**env, "XDG_CACHE_HOME": str(tmp_path / "xdg")},
        capture_output=True,
        text=True,
        check=True,
    )
    assert Path(xdg.stdout.strip()).is_relative_to(tmp_path / "xdg" / "econsim" / "numba")
    default = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert Path(default.stdout.strip()).is_relative_to(tmp_path / "home" / ".cache" / "econsim" / "numba")
