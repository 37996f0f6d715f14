"""Shared test helpers: the seed notebook's model (unchanged) and its cadCAD runner."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
from hypothesis import settings

# Property tests draw the same examples on every run, so a run's verdict does not depend on luck
settings.register_profile("repeatable", derandomize=True, deadline=None)
settings.load_profile("repeatable")

ROOT = Path(__file__).resolve().parents[1]


def _load(name: str, path: Path):
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def notebook():
    """The seed notebook's model module (examples/honey_notebook/model.py)."""
    return _load("honey_notebook_model", ROOT / "examples" / "honey_notebook" / "model.py")


@pytest.fixture(scope="session")
def peers():
    """benchmarks/peers.py: the notebook model run under cadCAD and radCAD."""
    pytest.importorskip("cadCAD", reason="cadCAD (the 'dev' extra) is needed to compare with the peer")
    return _load("econsim_bench_peers", ROOT / "benchmarks" / "peers.py")
