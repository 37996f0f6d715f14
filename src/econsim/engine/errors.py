"""Errors a user can act on: each names the bad key or value and what would be valid."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any


class EconsimError(Exception):
    """Base class of the errors econsim reports to users without a traceback.

    Every subclass pickles with its fields, whatever its ``__init__`` takes, so an error raised in a
    worker process or a Ray task reaches the caller as the same error (``Exception`` would pickle only
    the message and call ``__init__(message)`` again on the other side).
    """

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_error, (type(self), self.args, self.__dict__))


class EconsimWarning(UserWarning):
    """Base class of the warnings econsim shows users as one line (something was noticed and repaired)."""


class ConfigError(EconsimError, ValueError):
    """A configuration, parameter, model name or command-line value is not valid."""


class NonFiniteStateError(EconsimError, FloatingPointError):
    """A state array took a NaN or infinite value, or a recorded observable (``kind``) an infinite one
    (strict mode)."""

    def __init__(
        self, variable: str, step: int, subset: int, run: int, value: float, kind: str = "state variable"
    ) -> None:
        self.variable, self.step, self.subset, self.run, self.value = variable, step, subset, run, value
        self.kind = kind
        super().__init__(
            f"{kind} '{variable}' became {value} at step {step} (subset {subset}, run {run}); "
            "the run was stopped. Turn strict mode off (strict: false, or --no-strict) to let "
            "non-finite values through."
        )


def _rebuild_error(cls: type[EconsimError], args: tuple[Any, ...], fields: dict[str, Any]) -> EconsimError:
    error = cls.__new__(cls)
    error.args = args
    error.__dict__.update(fields)
    return error


def suggest(name: str, valid: Iterable[str]) -> str:
    """' (did you mean 'x'?)' for the nearest valid name, or ''."""
    close = difflib.get_close_matches(name, list(valid), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def unknown(kind: str, name: str, valid: Iterable[str], where: str = "") -> ConfigError:
    """The error for an unknown name: names it, suggests the nearest valid one, lists the valid ones.

    ``unknown("parameter", "throtle", names, where=" of model 'honey'")`` →
    unknown parameter 'throtle' of model 'honey' (did you mean 'throttle'?); valid: ...
    """
    valid = sorted(valid)
    return ConfigError(f"unknown {kind} '{name}'{where}{suggest(name, valid)}; valid: {', '.join(valid)}")


class UndeclaredStateError(EconsimError, KeyError):
    """A stage returned an update for a name that is not a declared state variable."""

    def __init__(self, stage: str, key: str, declared: Iterable[str]) -> None:
        self.stage, self.key = stage, key
        self.message = (
            f"stage '{stage}' returned '{key}', which is not a declared state variable{suggest(key, declared)}; "
            "declare it (Var, or a Population's vars) or fix the name"
        )
        super().__init__(self.message)

    def __str__(self) -> str:  # KeyError would quote the message
        return self.message


class InvariantError(EconsimError, ArithmeticError):
    """A declared accounting identity or conservation law failed (strict mode)."""

    def __init__(
        self, name: str, step: int, subset: int, run: int, residual: float, bound: float, where: str = ""
    ) -> None:
        self.name, self.step, self.subset, self.run = name, step, subset, run
        self.residual, self.bound = residual, bound
        super().__init__(
            f"invariant '{name}' failed at step {step} (subset {subset}, run {run}{where}): residual "
            f"{residual:.6g} exceeds its tolerance {bound:.6g}; the run was stopped. Turn strict mode off "
            "(strict: false, or --no-strict) to skip the checks."
        )
