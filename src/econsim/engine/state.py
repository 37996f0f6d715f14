"""Named arrays with attribute access: the state and the parameters of a batch of runs.

Every state array has the batch of runs as its leading axis: ``reserve`` has shape (B,), a per-agent
wealth array (B, N). Stages read ``s.reserve`` and return new arrays; they never mutate.

Names may carry a group prefix, ``"households.wealth"``: ``s.households`` is then a read view of the
group (``s.households.wealth is s["households.wealth"]``). Populations store their arrays this way.

``Params`` are the parameters of a batch as stages see them: per-run parameters are (B,) arrays,
per-batch parameters plain Python scalars, and the model's static data (no run axis) sit beside them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np


class Arrays(dict):
    """A dict of named arrays whose entries are also attributes: ``s.price`` is ``s['price']``."""

    __slots__ = ()

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            pass
        prefix = name + "."
        if any(k.startswith(prefix) for k in self):
            return Group(self, prefix)
        raise AttributeError(f"no array named '{name}'; have: {', '.join(self)}")

    def take(self, index: np.ndarray) -> Arrays:
        """The runs at ``index`` along the leading axis."""
        return Arrays({k: v[index] for k, v in self.items()})

    @property
    def n_runs(self) -> int:
        return len(next(iter(self.values())))


class Group:
    """Read view of the arrays named ``<prefix><name>``: ``s.households.wealth``, ``s.households['alive']``."""

    __slots__ = ("_arrays", "_prefix")

    def __init__(self, arrays: Arrays, prefix: str) -> None:
        self._arrays, self._prefix = arrays, prefix

    def __getattr__(self, name: str) -> Any:
        try:
            return self._arrays[self._prefix + name]
        except KeyError:
            raise AttributeError(
                f"no array named '{self._prefix}{name}'; {self._prefix[:-1]} has: {', '.join(self)}"
            ) from None

    def __getitem__(self, name: str) -> Any:
        return self._arrays[self._prefix + name]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self._prefix + name in self._arrays

    def __iter__(self) -> Iterator[str]:
        n = len(self._prefix)
        return (k[n:] for k in self._arrays if k.startswith(self._prefix))

    def keys(self) -> list[str]:
        return list(self)

    def __repr__(self) -> str:
        return f"Group({self._prefix[:-1]!r}: {', '.join(self)})"


class Params(Arrays):
    """The parameters of a batch: (B,) arrays (per run), Python scalars (per batch), static data."""

    __slots__ = ("_n_runs",)

    def __init__(self, values: Any = (), n_runs: int = 0) -> None:
        super().__init__(values)
        self._n_runs = int(n_runs)

    @property
    def n_runs(self) -> int:
        return self._n_runs

    def __reduce__(self):  # dict subclasses with slots need help to pickle their run count
        return (Params, (dict(self), self._n_runs))
