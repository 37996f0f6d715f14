"""``econsim cadcad FILE.py``: find the cadCAD model a Python file defines, run it, summarize it.

The file is imported as a module (not run as ``__main__``, so its own ``if __name__ == "__main__":``
cadCAD execution does not start), with its folder on ``sys.path`` as ``python FILE.py`` would have it.
It may define, in this order of preference:

- a configured ``cadCAD.configuration.Experiment`` or a radCAD ``Experiment``/``Simulation``;
- the notebook-style pieces: ``initial_state`` (or ``genesis_states``), ``partial_state_update_blocks``,
  and ``sim_config`` (or ``sim_config_dict``/``sim_configs``: ``{'T': range(..), 'N': .., 'M': params}``)
  or ``params`` with ``runs``/``timesteps`` given on the command line.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from econsim.cadcad import spec as specs
from econsim.engine.errors import ConfigError

STATE_NAMES = ("initial_state", "genesis_states")
BLOCK_NAMES = ("partial_state_update_blocks", "psubs", "state_update_blocks")
SIM_CONFIG_NAMES = ("sim_config", "sim_config_dict", "sim_configs")
EXPERIMENT_NAMES = ("exp", "experiment")


def import_file(path: str | Path):
    """The module a Python file defines, or a ConfigError for a missing, non-Python or unreadable file."""
    given = path
    path = Path(path).resolve()
    if not path.exists():
        raise ConfigError(f"no such file: '{given}'")
    if path.is_dir():
        raise ConfigError(f"'{given}' is a folder; give the Python file (.py) that defines the cadCAD model")
    if not path.is_file():
        raise ConfigError(
            f"'{given}' is not a regular file; give the Python file (.py) that defines the model"
        )
    if path.suffix != ".py":
        raise ConfigError(
            f"'{given}' is not a Python file (.py); give the file that defines the cadCAD model "
            "(for an econsim YAML configuration, use `econsim run`)"
        )
    name = f"econsim_cadcad_model_{path.stem}"
    module_spec = importlib.util.spec_from_file_location(name, path)
    if module_spec is None or module_spec.loader is None:
        raise ConfigError(f"'{given}' cannot be imported as a Python module")
    try:
        source = path.read_text()
        compile(source, str(path), "exec")
    except (UnicodeDecodeError, SyntaxError, ValueError) as exc:
        where = f" at line {exc.lineno}" if isinstance(exc, SyntaxError) and exc.lineno else ""
        detail = exc.msg if isinstance(exc, SyntaxError) else str(exc)
        raise ConfigError(f"'{given}' is not valid Python{where}: {detail}") from None
    folder = str(path.parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[name] = module  # workers re-import it by this name from the same file
    module_spec.loader.exec_module(module)
    return module


def _sim_config_args(sim_config: Any) -> dict[str, Any]:
    if isinstance(sim_config, list):  # config_sim() output: one dict per subset, already expanded
        first = sim_config[0]
        points = [c.get("M", {}) for c in sim_config]
        params = {k: [p[k] for p in points] for k in points[0]} if len(points) > 1 else points[0]
        return {"runs": first["N"], "timesteps": first["T"], "params": params}
    if not isinstance(sim_config, dict) or "T" not in sim_config or "N" not in sim_config:
        raise ConfigError("the sim config must be a dict with 'T' (a range of timesteps) and 'N' (runs)")
    return {"runs": sim_config["N"], "timesteps": sim_config["T"], "params": sim_config.get("M")}


def model_arguments(module) -> dict[str, Any]:
    """Keyword arguments for ``econsim.cadcad.run`` from what the module defines."""
    found = vars(module)
    experiments = [found[n] for n in EXPERIMENT_NAMES if n in found]
    experiments += [
        v
        for k, v in found.items()
        if not k.startswith("_")
        and v is not None
        and not isinstance(v, type)
        and (specs.is_radcad_experiment(v) or specs.is_cadcad_experiment(v))
    ]
    if experiments:
        return {"experiment": experiments[0]}
    state = next((found[n] for n in STATE_NAMES if n in found), None)
    blocks = next((found[n] for n in BLOCK_NAMES if n in found), None)
    if state is None or blocks is None:
        raise ConfigError(
            f"'{module.__file__}' defines no cadCAD model: expected an Experiment, or "
            f"{' / '.join(STATE_NAMES)} and {' / '.join(BLOCK_NAMES)}"
        )
    args: dict[str, Any] = {"initial_state": state, "partial_state_update_blocks": blocks}
    sim_config = next((found[n] for n in SIM_CONFIG_NAMES if n in found), None)
    if sim_config is not None:
        args.update(_sim_config_args(sim_config))
    elif "params" in found:
        args["params"] = found["params"]
    if "policy_ops" in found:
        args["policy_ops"] = found["policy_ops"]
    return args


def summarize(df: pd.DataFrame, state_names: list[str]) -> dict[str, Any]:
    """Counts, and the last timestep's mean/std/min/max of every numeric state variable per subset."""
    last = df[df["timestep"] == df.groupby(["simulation", "subset", "run"])["timestep"].transform("max")]
    last = last.drop_duplicates(["simulation", "subset", "run"], keep="last")
    numeric = [n for n in state_names if n in df.columns and pd.api.types.is_numeric_dtype(df[n])]
    final = {}
    for (sim, subset), part in last.groupby(["simulation", "subset"]):
        final[f"simulation {sim}, subset {subset}"] = {
            n: {
                "mean": float(np.mean(part[n])),
                "std": float(np.std(part[n])),
                "min": float(np.min(part[n])),
                "max": float(np.max(part[n])),
            }
            for n in numeric
        }
    return {
        "rows": len(df),
        "simulations": int(df["simulation"].nunique()),
        "subsets": int(df[["simulation", "subset"]].drop_duplicates().shape[0]),
        "runs": int(df[["simulation", "subset", "run"]].drop_duplicates().shape[0]),
        "timesteps": int(df["timestep"].max()),
        "seed": df.attrs.get("seed"),
        "final": final,
    }


def run_file(
    path: str | Path, out: str | Path, runs: int | None = None, timesteps: int | None = None, **options: Any
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Run the model a file defines into the results folder ``out``; write ``summary.json`` there."""
    from econsim.cadcad.runner import run

    module = import_file(path)
    args = model_arguments(module)
    if "experiment" in args and (runs is not None or timesteps is not None):
        raise ConfigError("--runs/--timesteps apply to a model given as pieces, not to an Experiment object")
    if runs is not None:
        args["runs"] = runs
    if timesteps is not None:
        args["timesteps"] = timesteps
    df = run(**args, out=out, name=Path(path).stem, **options)
    state_names = [c for c in df.columns if c not in specs.INDEX_COLUMNS]
    summary = summarize(df, state_names)
    (Path(out) / "summary.json").write_text(json.dumps(summary, indent=2, default=str))
    return df, summary
