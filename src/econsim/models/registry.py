"""Models by name, and the extras registered beside each.

A ``Model`` is the economics: parameters, state, step, observables, initial state, invariants.
What surrounds it — the figures it can draw, its analyses ("reports"), the numbers shown beside the
progress bar, how its own configuration layout maps to the engine's keys — is a ``ModelExtras``,
registered under the same name, so the engine never sees plotting, results or configuration code::

    register("mine", "mypackage.mine:model", extras="mypackage.mine:extras")   # import paths
    register("mine", model, extras=ModelExtras(reports={"summary": summary}))  # or the objects

Built-in entries are import paths, so listing the models imports none of them. A name that is not
registered but looks like an import path ('package.module:attribute') is the model found there (with
no extras).

Batches computed in other processes (a spawned pool, Ray workers) meet a fresh registry there:
``model_source(name)`` is what a task carries so that the worker can register the same model under the
same name (``ModelSource.install``) — import paths as they are, objects registered at run time pickled
together with the files of the user modules their functions live in.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import io
import os
import pickle
import sys
import sysconfig
import types
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from econsim.analysis.divergence import Divergence
from econsim.engine.errors import ConfigError, EconsimError, unknown
from econsim.engine.model import Model
from econsim.engine.state import Arrays


@dataclass(frozen=True)
class ModelExtras:
    """Everything a model offers beside its economics; every part is optional."""

    #: figures a configuration may ask for with ``kind: model, name: <key>``: fn(results, df, options) -> Figure
    figures: Mapping[str, Callable[..., Any]] = field(default_factory=dict)
    #: figure specifications drawn after a run when the configuration names none
    default_figures: Sequence[Mapping[str, Any]] = ()
    #: analyses a configuration may ask for by name: fn(results) -> JSON-ready dict
    reports: Mapping[str, Callable[[Any], dict[str, Any]]] = field(default_factory=dict)
    #: a few numbers summarising the batch beside the progress bar: fn(s, p) -> {label: value}
    progress_fields: Callable[[Arrays, Arrays], dict[str, float]] | None = None
    #: turns a model-specific configuration layout (e.g. sectioned YAML) into the engine's keys
    adapt_config: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    #: when a run has diverged (left out of figures, counted in the reports: ``analysis.divergence``)
    divergence: Divergence | None = None
    #: import path ("module:factory") of the model's ``engine.partition.runtime.Partitioner``, which lets
    #: one run be split over workers (``--partitions``)
    partitioner: str | None = None


NO_EXTRAS = ModelExtras()


@dataclass(frozen=True)
class _Entry:
    model: str | Model
    extras: str | ModelExtras | None = None


_REGISTRY: dict[str, _Entry] = {
    "honey": _Entry("econsim.models.honey:model", "econsim.models.honey:extras"),
    "atp": _Entry("econsim.models.atp:model", "econsim.models.atp:extras"),
    "tokens": _Entry("econsim.models.tokens:model", "econsim.models.tokens:extras"),
    "banking": _Entry("econsim.models.banking:model", "econsim.models.banking:extras"),
    "network": _Entry("econsim.models.network:model", "econsim.models.network:extras"),
}


def model_names() -> list[str]:
    return sorted(_REGISTRY)


def builtin_model_names() -> list[str]:
    """The models that come with econsim (registered by import path into ``econsim.models``)."""
    return sorted(
        n for n, e in _REGISTRY.items() if isinstance(e.model, str) and e.model.startswith("econsim.models.")
    )


def register(name: str, model: str | Model, extras: str | ModelExtras | None = None) -> None:
    """Make ``name`` refer to ``model`` (a Model, or its import path 'package.module:attribute') and
    its ``extras`` (a ModelExtras, its import path, or None for none)."""
    if not isinstance(model, str | Model):
        raise ConfigError(f"register('{name}', ...): the model must be a Model or an import path")
    if extras is not None and not isinstance(extras, str | ModelExtras):
        raise ConfigError(f"register('{name}', ...): extras must be a ModelExtras or an import path")
    _REGISTRY[name] = _Entry(model, extras)


def _entry(name: str) -> _Entry:
    entry = _REGISTRY.get(name)
    if entry is not None:
        return entry
    if ":" not in name:
        raise unknown("model", name, _REGISTRY)
    return _Entry(name)


def _resolve(name: str, path: str, kind: type, what: str) -> Any:
    module_name, _, attr = path.partition(":")
    try:
        obj = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"cannot load {what} of model '{name}' from '{path}': {exc}") from None
    if not isinstance(obj, kind):
        raise ConfigError(f"'{path}' is a {type(obj).__name__}, not an econsim {kind.__name__}")
    return obj


def get_model(name: str) -> Model:
    """The model called ``name``: a registered name, or an import path 'package.module:attribute'."""
    entry = _entry(name)
    if isinstance(entry.model, Model):
        return entry.model
    return _resolve(name, entry.model, Model, "the model")


def get_extras(name: str) -> ModelExtras:
    """The extras registered beside the model called ``name`` (empty ones if it has none)."""
    entry = _entry(name)
    if entry.extras is None:
        return NO_EXTRAS
    if isinstance(entry.extras, ModelExtras):
        return entry.extras
    return _resolve(name, entry.extras, ModelExtras, "the extras")


def divergence_of(name: str) -> Divergence | None:
    """The divergence rule registered for the model called ``name``; None if it has none, or if no
    model is registered under that name here (results of a cadCAD model, say)."""
    try:
        return get_extras(name).divergence
    except EconsimError:
        return None


# --------------------------------------------------------------------------- models in other processes


@dataclass(frozen=True)
class ModelSource:
    """How a worker process obtains the model registered as ``name``: its import paths (``model``,
    ``extras``), or, for objects registered at run time, the pickled pair (``blob``); and the files of
    the user modules they come from (``preload``: (module name, file)), for workers that cannot import
    those by name (a Ray worker does not share the driver's ``sys.path``)."""

    name: str
    model: str | None = None
    extras: str | None = None
    blob: bytes = b""
    preload: tuple[tuple[str, str], ...] = ()

    @property
    def key(self) -> str:
        """Tells one registration of ``name`` from another (a long-lived worker may have seen both)."""
        text = f"{self.model}|{self.extras}|".encode() + self.blob
        return hashlib.sha256(text).hexdigest()[:16]

    def install(self) -> None:
        """Register the model in this process, unless this very registration is there already."""
        if _INSTALLED.get(self.name) == self.key:
            return
        _preload(self.preload)
        if self.blob:
            model, extras = pickle.loads(self.blob)
        else:
            model, extras = self.model, self.extras
        register(self.name, model, extras)
        _INSTALLED[self.name] = self.key


# registrations installed from a ModelSource, by name: the key of each (a worker-side cache)
_INSTALLED: dict[str, str] = {}


def model_source(name: str) -> ModelSource:
    """What a task carries so that a worker process can ``install`` the model called ``name``."""
    entry = _entry(name)
    model, extras = entry.model, entry.extras
    if isinstance(model, str) and (extras is None or isinstance(extras, str)):
        get_model(name), get_extras(name)  # imports their modules here, to name their files
        modules = [path.partition(":")[0] for path in (model, extras) if path]
        preload = tuple((m, file) for m in modules if (file := _user_module_file(m)) is not None)
        return ModelSource(name, model=model, extras=extras, preload=preload)
    objects = (get_model(name), get_extras(name) if extras is not None else None)
    blob, preload = _dump(name, objects)
    return ModelSource(name, blob=blob, preload=preload)


def _system_dirs() -> list[str]:
    paths = sysconfig.get_paths()
    return [
        str(Path(paths[k]).resolve()) for k in ("stdlib", "platstdlib", "purelib", "platlib") if k in paths
    ]


def _user_module_file(name: str) -> str | None:
    """The file of a module a fresh worker might not import by name (not econsim's, not installed)."""
    if name in ("", "__main__", "builtins") or name.split(".")[0] in ("econsim", "numpy", "scipy"):
        return None
    file = getattr(sys.modules.get(name), "__file__", None)
    if not file:
        return None
    resolved = str(Path(file).resolve())
    if any(resolved.startswith(d + os.sep) for d in _system_dirs()):
        return None
    return resolved


def _dump(name: str, objects: Any) -> tuple[bytes, tuple[tuple[str, str], ...]]:
    """The pickled objects, and (module, file) of each user module their functions and classes are in.

    cloudpickle (standalone, or Ray's copy once Ray is imported) is used when available, so that
    functions defined in a script or notebook (``__main__``) travel by value."""
    try:
        import cloudpickle as cp
    except ImportError:
        cp = sys.modules.get("ray.cloudpickle")
    base: type[pickle.Pickler] = cp.Pickler if cp is not None else pickle.Pickler
    modules: dict[str, None] = {}

    class Recording(base):  # type: ignore[valid-type, misc]
        def reducer_override(self, obj: Any) -> Any:
            if isinstance(obj, types.FunctionType | type):
                modules[getattr(obj, "__module__", None) or ""] = None
            parent = getattr(super(), "reducer_override", None)
            return parent(obj) if parent is not None else NotImplemented

    buffer = io.BytesIO()
    try:
        Recording(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(objects)
    except (pickle.PicklingError, AttributeError, TypeError) as exc:
        raise ConfigError(
            f"model '{name}' cannot be sent to worker processes ({exc}): define its stages and "
            "observables at module level (no lambdas or local functions), register it by import path "
            "('package.module:attribute'), or use executor 'inprocess'"
        ) from None
    preload = tuple((m, file) for m in modules if (file := _user_module_file(m)) is not None)
    return buffer.getvalue(), preload


def _preload(preload: tuple[tuple[str, str], ...]) -> None:
    """Import each module by name, or from its file where the name is not importable here."""
    for name, file in preload:
        if name in sys.modules:
            continue
        try:
            importlib.import_module(name)
            continue
        except ImportError:
            pass
        spec = importlib.util.spec_from_file_location(name, file)
        if spec is None or spec.loader is None:
            raise ConfigError(f"cannot load module '{name}' from '{file}' in this worker")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
