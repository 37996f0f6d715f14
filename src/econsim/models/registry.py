"""Built-in models by name. Entries are import paths so that listing models imports none of them."""

from __future__ import annotations

import importlib

from econsim.engine.errors import ConfigError, unknown
from econsim.engine.model import Model

_BUILTIN: dict[str, str] = {
    "honey": "econsim.models.honey:model",
    "atp": "econsim.models.atp:model",
    "tokens": "econsim.models.tokens:model",
    "banking": "econsim.models.banking:model",
    "network": "econsim.models.network:model",
}


def model_names() -> list[str]:
    return sorted(_BUILTIN)


def register(name: str, import_path: str) -> None:
    """Make ``name`` refer to the Model at ``import_path`` ('package.module:attribute')."""
    _BUILTIN[name] = import_path


def get_model(name: str) -> Model:
    """The model called ``name``: a built-in name, or an import path 'package.module:attribute'."""
    path = _BUILTIN.get(name)
    if path is None:
        if ":" not in name:
            raise unknown("model", name, _BUILTIN)
        path = name
    module_name, _, attr = path.partition(":")
    try:
        obj = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"cannot load model '{name}' from '{path}': {exc}") from None
    if not isinstance(obj, Model):
        raise ConfigError(f"'{path}' is a {type(obj).__name__}, not an econsim Model")
    return obj
