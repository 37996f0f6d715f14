"""econsim: batched, vectorized simulation of economies.

import econsim
results = econsim.run("configs/honey/reserve_throttle.yaml", runs=20, out="results/rt")
df = results.to_pandas()
"""

__version__ = "0.1.0"

from econsim.experiment import ExperimentConfig, Results, load, run

__all__ = ["ExperimentConfig", "Results", "__version__", "load", "run"]
