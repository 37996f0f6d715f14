"""Experiments: configurations, sweeps, batches, executors, and the results store."""

from econsim.experiment.config import ExperimentConfig, load_config
from econsim.experiment.results import Results, load
from econsim.experiment.runner import run

__all__ = ["ExperimentConfig", "Results", "load", "load_config", "run"]
