"""The seed notebook's Honey model, its code unchanged (``model.py``), run through ``econsim.cadcad``.

    python examples/honey_notebook/run_with_econsim.py                   # the notebook's 9 x 10 x 120
    python examples/honey_notebook/run_with_econsim.py --executor process --out results/honey_notebook
    econsim cadcad examples/honey_notebook/model.py                      # the same, from the CLI

The notebook's In [7]/In [8] build a cadCAD ``Experiment`` and run it with cadCAD's ``Executor``; here
the same Experiment (when cadCAD is installed) or the same pieces go to ``econsim.cadcad.run``, which
returns the table ``pd.DataFrame(raw_system_events)`` would have been. In [63]'s analysis follows
unchanged: total supply, market cap, reserve ratio, and the swept parameters per subset.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
import model  # the notebook's cells In [1]-In [6], unchanged

from econsim import cadcad


def notebook_experiment():
    """In [7], as the notebook writes it (with ``exp.configs``: cadCAD 0.5.3 keeps them there)."""
    from cadCAD.configuration import Experiment
    from cadCAD.configuration.utils import config_sim

    exp = Experiment()
    c = config_sim(model.sim_config_dict)
    exp.append_configs(
        initial_state=model.genesis_states,
        partial_state_update_blocks=model.partial_state_update_blocks,
        sim_configs=c,
    )
    return exp


def simulate(seed: int = 1, executor: str = "inprocess", out: str | None = None) -> pd.DataFrame:
    try:
        experiment = {"experiment": notebook_experiment()}
    except ImportError:  # no cadCAD installed: the same model, as pieces
        experiment = {
            "initial_state": model.genesis_states,
            "partial_state_update_blocks": model.partial_state_update_blocks,
            "params": model.sim_config_dict["M"],
            "runs": model.sim_config_dict["N"],
            "timesteps": model.sim_config_dict["T"],
        }
    return cadcad.run(
        **experiment, seed=seed, executor=executor, out=out, overwrite=out is not None, name="honey_notebook"
    )


def analyse(simulation_result: pd.DataFrame) -> pd.DataFrame:
    """In [63]: derived columns, and the swept parameters attached to each row by its subset."""
    simulation_result["total_supply"] = simulation_result["reserve"] + simulation_result["circulation"]
    simulation_result["market_cap"] = simulation_result["total_supply"] * simulation_result["price"]
    simulation_result["ratio"] = simulation_result["reserve"] / simulation_result["total_supply"]
    points = pd.DataFrame(cadcad.sweep_points(model.params))
    points.index.name = "subset"
    return simulation_result.join(points, on="subset")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--executor", default="inprocess", choices=["inprocess", "process", "ray"])
    ap.add_argument("--out", default=None, help="also write an econsim results folder here")
    args = ap.parse_args()
    result = simulate(args.seed, args.executor, args.out)
    df = analyse(result)
    last = df[df["timestep"] == df["timestep"].max()]
    table = last.groupby(["throttle", "target_reserve_ratio"])[
        ["price", "saturation", "ratio", "market_cap"]
    ].mean()
    print(
        f"{len(df)} rows: {df['subset'].nunique()} subsets x {df['run'].nunique()} runs x "
        f"{df['timestep'].max()} timesteps (+ initial rows), seed {result.attrs['seed']}"
    )
    print("mean at the last timestep, per sweep point:")
    print(table.round(3).to_string())


if __name__ == "__main__":
    main()
