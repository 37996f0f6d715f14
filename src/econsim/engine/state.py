"""Named arrays with attribute access: the state and the parameters of a batch of runs.

Every array has the batch of runs as its leading axis: ``reserve_b`` has shape (B,), a per-agent
wealth array shape (B, N). Stages read ``s.reserve`` and return new arrays; they never mutate.
"""

from __future__ import annotations

from typing import Any

import numpy as np


class Arrays(dict):
    """A dict of named arrays whose entries are also attributes: ``s.price`` is ``s['price']``."""

    __slots__ = ()

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(f"no array named '{name}'; have: {', '.join(self)}") from None

    def take(self, index: np.ndarray) -> Arrays:
        """The runs at ``index`` along the leading axis."""
        return Arrays({k: v[index] for k, v in self.items()})

    @property
    def n_runs(self) -> int:
        return len(next(iter(self.values())))
