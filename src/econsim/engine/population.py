"""Populations: named groups of per-agent state (households, firms, banks, regions).

    Population("households", size="n_households", vars=[Var("wealth", 0.0, "net wealth"), ...])

declares, for a model with a parameter ``n_households``, the state arrays

    "households.wealth"   shape (B, n_households, *var.shape)     run axis first, then the agent axis
    "households.alive"    bool (B, n_households)                   added automatically

The size is the population's capacity: it sizes arrays, so it takes one value per batch (the planner
cuts batches where it changes). Entry and exit only flip ``alive``: a firm that exits keeps its slot
(its arrays hold whatever the model leaves there) and an entrant takes a free slot (``admit``).
``active`` gives how many slots are alive at t = 0 (a parameter name or a number; default: all).

Stages read ``s.households.wealth`` (a view by prefix) or ``s["households.wealth"]`` and return
``{"households.wealth": new}``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from econsim.engine.model import Var


@dataclass(frozen=True)
class Population:
    """A named group of agents: its size parameter, its per-agent variables and its alive mask."""

    name: str
    size: str | int
    vars: Sequence[Var]
    doc: str = ""
    #: slots alive at t = 0: a parameter name or a number (default: all ``size`` of them)
    active: str | int | None = None

    def __post_init__(self) -> None:
        if not self.name.isidentifier():
            raise ValueError(
                f"Population name {self.name!r} must be an identifier (it is an attribute: s.<name>)"
            )
        names = [v.name for v in self.vars]
        if "alive" in names:
            raise ValueError(f"Population {self.name}: 'alive' is added automatically; do not declare it")
        if len(set(names)) != len(names):
            raise ValueError(f"Population {self.name}: a variable name is used twice in {names}")
        object.__setattr__(self, "vars", tuple(self.vars))

    @property
    def alive(self) -> str:
        """State name of the alive mask: ``"<name>.alive"``."""
        return f"{self.name}.alive"

    def state_vars(self) -> list[Var]:
        """The population's variables as state variables: prefixed names, the agent axis first."""
        out = [
            Var(f"{self.name}.{v.name}", v.initial, v.doc, (self.size, *v.shape), v.dtype, bounds=v.bounds)
            for v in self.vars
        ]
        out.append(Var(self.alive, 1.0, f"{self.name}: slot holds a live agent", (self.size,), np.bool_))
        return out


def admit(alive_bn: np.ndarray, wanted_b: np.ndarray | int) -> tuple[np.ndarray, np.ndarray]:
    """Entry: the first ``wanted_b`` free slots of each run become alive (fewer if fewer are free).

    Returns the new alive mask and the mask of the slots that entered, both (B, n).
    """
    free_bn = ~alive_bn
    rank_bn = np.cumsum(free_bn, axis=1)
    entered_bn = free_bn & (rank_bn <= np.asarray(wanted_b).reshape(-1, 1))
    return alive_bn | entered_bn, entered_bn


def count(alive_bn: np.ndarray) -> np.ndarray:
    """Live agents per run: (B,)."""
    return alive_bn.sum(axis=1)
