"""The engine: what a model is, its random streams, and stepping a batch of runs.

Modules: ``model`` (Param, Var, Block, Model), ``population`` (Population: groups of agents),
``invariants`` (Invariant), ``state`` (Arrays, Params), ``streams`` (RandomStreams), ``simulation``
(Simulation: building a batch and the one step loop), ``kernels`` (per_run: a compiled one-run kernel
mapped over the batch; numba is imported only when a kernel first runs).

Axes and names — one convention for every model:

- The run axis b comes first in every state array: a value per run is (B,), a per-run matrix (B, R, G).
  Parameters are (B,) arrays, or Python scalars when declared per batch (``Param(per_batch=True)``, or
  named in a state shape or a schedule). Static data (``Model.static``) has no run axis.
- Array names in code carry their axes as a suffix after the run axis: ``price_rg`` is (B, region,
  good), ``wealth_bn`` (B, agent). One letter per axis: r region, g good, j process, k neighbour/route,
  a age, n agent of the model's only agent set; with several populations the letter of the population
  (h households, f firms, k banks …), declared in that model's state module docstring.
- A population's arrays are named ``"<population>.<var>"`` and shaped (B, size, *var.shape); its
  ``"<population>.alive"`` mask is (B, size). ``s.households.wealth`` is ``s["households.wealth"]``,
  and a stage returns ``{"households.wealth": new_bh}``.
- State variable names are unique across the model; a stage may only return declared names.
"""

from econsim.engine.errors import (
    ConfigError,
    EconsimError,
    InvariantError,
    NonFiniteStateError,
    UndeclaredStateError,
)
from econsim.engine.invariants import Invariant
from econsim.engine.kernels import jit, per_run
from econsim.engine.model import Block, Model, Param, Var
from econsim.engine.population import Population, admit
from econsim.engine.simulation import Records, Simulation
from econsim.engine.state import Arrays, Params
from econsim.engine.stepping import record_steps
from econsim.engine.streams import RandomStreams, run_generator

__all__ = [
    "Arrays",
    "Block",
    "ConfigError",
    "EconsimError",
    "Invariant",
    "InvariantError",
    "Model",
    "NonFiniteStateError",
    "Param",
    "Params",
    "Population",
    "RandomStreams",
    "Records",
    "Simulation",
    "UndeclaredStateError",
    "Var",
    "admit",
    "jit",
    "per_run",
    "record_steps",
    "run_generator",
]
