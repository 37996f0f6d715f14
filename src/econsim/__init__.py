"""econsim: batched, vectorized simulation of economies.

import econsim
results = econsim.run("configs/honey/reserve_throttle.yaml", runs=20, out="results/rt")
df = results.to_pandas()

``run``, ``load``, ``Results`` and ``ExperimentConfig`` are imported on first use: ``import econsim``
(and ``import econsim.engine``) stays fast and loads neither pandas, pyarrow, pydantic nor rich.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = ["ExperimentConfig", "Results", "__version__", "load", "run"]

# public name -> module that defines it
_LAZY = {
    "ExperimentConfig": "econsim.experiment.config",
    "Results": "econsim.experiment.results",
    "load": "econsim.experiment.results",
    "run": "econsim.experiment.runner",
}

if TYPE_CHECKING:
    from econsim.experiment.config import ExperimentConfig
    from econsim.experiment.results import Results, load
    from econsim.experiment.runner import run


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'econsim' has no attribute '{name}'")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])
