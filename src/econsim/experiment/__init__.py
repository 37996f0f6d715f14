"""Experiments: configurations, sweeps, batches, executors, and the results store.

The names below are imported on first use, so that importing one module of this package (an
executor, the plan) does not load the configuration schema (pydantic) or the results (pandas, pyarrow).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["ExperimentConfig", "Results", "load", "load_config", "run"]

_LAZY = {
    "ExperimentConfig": "econsim.experiment.config",
    "load_config": "econsim.experiment.config",
    "Results": "econsim.experiment.results",
    "load": "econsim.experiment.results",
    "run": "econsim.experiment.runner",
}

if TYPE_CHECKING:
    from econsim.experiment.config import ExperimentConfig, load_config
    from econsim.experiment.results import Results, load
    from econsim.experiment.runner import run


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'econsim.experiment' has no attribute '{name}'")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])
