"""The engine: what a model is (``model``), its random streams (``streams``), and stepping a batch."""

from econsim.engine.errors import ConfigError, EconsimError, NonFiniteStateError
from econsim.engine.model import Block, Model, Param, Var
from econsim.engine.state import Arrays
from econsim.engine.stepping import record_steps, simulate
from econsim.engine.streams import RandomStreams, run_generator

__all__ = [
    "Arrays",
    "Block",
    "ConfigError",
    "EconsimError",
    "Model",
    "NonFiniteStateError",
    "Param",
    "RandomStreams",
    "Var",
    "record_steps",
    "run_generator",
    "simulate",
]
