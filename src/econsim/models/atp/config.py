"""The original's sectioned YAML (``runtime``, ``sizes``, ``trade``, ``markets``, …) as an econsim configuration.

Each section's keys become parameters (a key in the wrong section is accepted, as the original flattened the
sections; an unknown key is an error naming it); ``runtime`` gives ``steps``, ``seed``, ``save_fig``,
``save_metrics`` and the figure's ``style`` and ``dpi``. Numeric strings such as ``1.0e10`` (which PyYAML reads
as text) are numbers. ``k_latent`` is read as ``K_latent``. ``ATP_STRICT_FINITE=0`` in the environment turns
the strict finite check off unless the file sets ``strict``.
"""

from __future__ import annotations

import os
from typing import Any

from econsim.engine.errors import ConfigError, unknown
from econsim.models.atp.params import PARAMS, SECTIONS

RUNTIME_KEYS = ("steps", "seed", "save_fig", "save_metrics", "style", "dpi", "plot")
ALIASES = {"k_latent": "K_latent"}
_BY_NAME = {p.name: p for p in PARAMS}


def _number(value: Any, kind: str) -> Any:
    if isinstance(value, str) and kind in ("int", "float"):
        try:
            number = float(value)
        except ValueError:
            return value
        return int(number) if kind == "int" and number.is_integer() else number
    return value


def adapt_config(raw: dict[str, Any]) -> dict[str, Any]:
    raw = dict(raw)
    params = dict(raw.pop("params", None) or {})
    figure_options: dict[str, Any] = {}
    for section in [*SECTIONS, "runtime"]:
        values = raw.pop(section, None)
        if values is None:
            continue
        if not isinstance(values, dict):
            raise ConfigError(f"section '{section}' must be a mapping of keys to values")
        for key, value in values.items():
            where = f"{section}.{key}"
            if section == "runtime" and key in RUNTIME_KEYS:
                if key in ("style", "dpi"):
                    figure_options[key] = value
                elif key == "plot":
                    continue  # the original ignores it too
                else:
                    raw.setdefault(key, _number(value, "int") if key in ("steps", "seed") else value)
                continue
            name = ALIASES.get(key, key)
            if name not in _BY_NAME:
                valid = [*_BY_NAME, *ALIASES, *(RUNTIME_KEYS if section == "runtime" else ())]
                raise unknown(f"key '{where}' of the atp model: unknown name", key, valid)
            params[name] = _number(value, _BY_NAME[name].kind)
    for name, value in list(params.items()):
        if name in _BY_NAME:
            params[name] = _number(value, _BY_NAME[name].kind)
    if params:
        raw["params"] = params
    if figure_options and raw.get("figures") is None:
        raw["figures"] = [
            {"kind": "model", "name": "atp_panels", "file": "atp_panels.png", "options": figure_options}
        ]
    if "strict" not in raw and os.environ.get("ATP_STRICT_FINITE", "1").strip() in ("0", "false", "False"):
        raw["strict"] = False
    return raw
