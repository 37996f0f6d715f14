"""cadCAD compatibility tests: they compare against the real cadCAD 0.5.3 (the dev extra)."""

from __future__ import annotations

import pytest

pytest.importorskip("cadCAD", reason="the cadCAD compatibility tests need cadCAD==0.5.3 (pip install -e '.[dev]')")


@pytest.fixture(scope="session")
def honey():
    """The seed notebook's model module (examples/honey_notebook/model.py), unchanged."""
    import importlib.util
    import sys
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "examples" / "honey_notebook" / "model.py"
    name = "honey_notebook_model"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]
