"""A model's named analysis of an experiment's results, with what it needs of the experiment.

A report is ``fn(results) -> JSON-ready dict``. Wrapped in ``Report``, it also says which names must be
swept for it to mean anything (``productivity_range`` compares productivity values, so productivity must
be swept); a configuration asking for it without them is refused before any run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from econsim.engine.errors import ConfigError


@dataclass(frozen=True)
class Report:
    """A report function and the names it needs swept."""

    fn: Callable[[Any], dict[str, Any]]
    needs_swept: tuple[str, ...] = ()

    def __call__(self, results: Any) -> dict[str, Any]:
        return self.fn(results)

    def check(self, name: str, swept: Iterable[str]) -> None:
        """A ConfigError if the experiment does not sweep every name this report needs."""
        swept = list(swept)
        missing = [n for n in self.needs_swept if n not in swept]
        if missing:
            raise ConfigError(
                f"report '{name}' needs {', '.join(missing)} to be swept (under sweep.grid or sweep.zip); "
                f"swept: {', '.join(swept) or 'nothing'}"
            )
