"""Run the seed notebook's Honey model under econsim's peers: cadCAD 0.5.3 and radCAD.

Every runner takes the same inputs and returns the same thing::

    seconds, df = run_cadcad_single(params, runs=10, steps=120, seed=1)

``params`` follows the cadCAD sweep convention: a dict of lists where lists of equal
length are zipped point by point and length-1 lists are broadcast (a bare scalar is
treated as a length-1 list). ``runs`` is the number of Monte Carlo runs per sweep point
and ``steps`` the number of timesteps (cadCAD's ``T=range(steps)``).

``seconds`` is wall time of building the engine's configuration objects plus executing
the simulation (what a user pays per ``execute()``/``run()``), measured with
``time.perf_counter``; pass ``cpu=[]`` to have this process's CPU seconds appended as well (the
steadier measure on a shared machine, for single-process modes). Imports, loading the model module and the conversion of the
engine's raw records into the returned DataFrame are *not* timed.

``df`` has one row per (subset, run, timestep, substep) in the notebook's own layout:
columns ``subset, run, timestep, substep`` followed by the model's state variables
(``genesis_states`` order), sorted by ``subset, run, timestep``. Each run has
``steps + 1`` rows: the genesis row (timestep 0, substep 0) and one row per timestep
(substep 1; the model has a single partial state update block). The engines' own
``simulation`` column (always 0 here) is dropped.

Numbering, checked against the installed sources (cadCAD 0.5.3, radcad 0.14.0):

* ``subset`` is 0-based in both: the index of the sweep point in the zipped parameter
  lists (cadCAD: ``enumerate(config_sim(...))`` in ``Experiment.append_model``;
  radCAD: ``enumerate(generate_parameter_sweep(params))`` in ``Engine._run_stream``).
* ``run`` is 1-based in both: cadCAD stores ``run_id`` 0..N-1 in the configuration and
  ``Executor.simulation`` does ``run += 1`` before writing records; radCAD sets
  ``context.run = run_index + 1`` "to remain compatible with cadCAD".
* Record order differs (cadCAD: subset-major; radCAD: run-major), which is why the
  frames are sorted before being returned.

Randomness: the notebook draws from numpy's *global* RNG (``np.random.random`` /
``np.random.normal``). Each runner calls ``np.random.seed(seed)`` in the parent process
right before executing. In single-process mode that makes the whole sweep reproducible.
In the multi-process engines the workers are forked from the parent and inherit that
same RNG state, so runs that start in a fresh worker repeat the same random stream
(cadCAD local mode runs every configuration in a pool of ``len(configs)`` forked
processes, so most of its "Monte Carlo" runs are identical; see ``distinct_runs``).
radCAD's default engine on a 2-core machine uses ``cpu_count() - 1 == 1`` worker
process, which runs every job in turn, so its runs differ.

cadCAD 0.5.3 notes: the notebook's In [7] passes ``cadCAD.configs`` to the Executor, but
on 0.5.3 ``Experiment().append_configs`` appends to the experiment's own list, not to
that global, so the runners here pass ``exp.configs``. ``ExecutionMode().local_mode``
with more than one configuration dispatches to ``parallelize_simulations`` (pathos
``ProcessPool(processes=len(configs))``; 720 processes for the full sweep); with exactly
one configuration it falls back to single-process execution. The pathos pool is kept
alive by pathos after ``execute()`` returns; ``run_cadcad_local`` closes it.
"""

from __future__ import annotations

import importlib.util
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

MODEL_PATH = Path(__file__).resolve().parents[1] / "examples" / "honey_notebook" / "model.py"
MODEL_MODULE = "honey_notebook_model"
INDEX_COLUMNS = ["subset", "run", "timestep", "substep"]


def load_model() -> Any:
    """Import ``examples/honey_notebook/model.py`` (the unchanged notebook code).

    It is registered in ``sys.modules`` so that dill/pickle can ship its functions to
    forked worker processes by reference.
    """
    if MODEL_MODULE in sys.modules:
        return sys.modules[MODEL_MODULE]
    spec = importlib.util.spec_from_file_location(MODEL_MODULE, MODEL_PATH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[MODEL_MODULE] = module
    spec.loader.exec_module(module)
    return module


# --------------------------------------------------------------------------- sweeps


def normalize_params(params: dict[str, Any]) -> dict[str, list[Any]]:
    """Lists of equal length (or length 1); scalars become length-1 lists."""
    out = {k: (list(v) if isinstance(v, (list, tuple, np.ndarray)) else [v]) for k, v in params.items()}
    lengths = {len(v) for v in out.values()} - {1}
    if len(lengths) > 1:
        raise ValueError(f"sweep lists must have equal length or length 1, got lengths {sorted(lengths)}")
    return out


def n_points(params: dict[str, Any]) -> int:
    return max(len(v) for v in normalize_params(params).values())


def expand_params(params: dict[str, Any]) -> list[dict[str, Any]]:
    """The cadCAD sweep convention: one scalar dict per sweep point (subset)."""
    p = normalize_params(params)
    n = n_points(p)
    return [{k: (v[0] if len(v) == 1 else v[i]) for k, v in p.items()} for i in range(n)]


def notebook_params(**overrides: Any) -> dict[str, list[Any]]:
    """The notebook's ``params`` with some entries replaced (values wrapped into lists)."""
    model = load_model()
    p = {k: list(v) for k, v in model.params.items()}
    for k, v in overrides.items():
        p[k] = list(v) if isinstance(v, (list, tuple, np.ndarray)) else [v]
    return p


def _grid(start: float, stop: float, step: float) -> list[float]:
    """Inclusive arithmetic grid, rounded to kill float drift (0.1 + 3*0.025 etc.)."""
    n = round((stop - start) / step) + 1
    return [round(start + i * step, 10) for i in range(n)]


TARGET_RESERVE_RATIOS = _grid(0.1, 0.3, 0.025)  # 9 values
THROTTLES = _grid(0.002, 0.030, 0.004)  # 8 values


def benchmark_sweep(quick: bool = False) -> dict[str, list[Any]]:
    """The benchmark's sweep as cadCAD zipped lists (product expanded, reserve-ratio major).

    Full: ``target_reserve_ratio`` 0.1..0.3 step 0.025 (9) x ``throttle`` 0.002..0.030
    step 0.004 (8) = 72 points, ``productivity`` 0.88, every other parameter the
    notebook's (outflow_rate 0.05, valuation_ratio 2, growth 0, p_variance 0.25,
    p_pull 0.75). The seed notebook's plan says throttle "between 0.002 and 0.032";
    with step 0.004 that is the same 8 values if 0.032 is an exclusive stop.
    Quick: the 2 x 2 corners (0.1, 0.3) x (0.002, 0.030).
    """
    trr = [TARGET_RESERVE_RATIOS[0], TARGET_RESERVE_RATIOS[-1]] if quick else TARGET_RESERVE_RATIOS
    thr = [THROTTLES[0], THROTTLES[-1]] if quick else THROTTLES
    pairs = [(r, t) for r in trr for t in thr]
    return notebook_params(
        target_reserve_ratio=[r for r, _ in pairs],
        throttle=[t for _, t in pairs],
        productivity=0.88,
    )


# --------------------------------------------------------------------------- results


def _frame(records: list[dict[str, Any]], state_vars: list[str]) -> pd.DataFrame:
    df = pd.DataFrame.from_records(records, columns=["simulation", *INDEX_COLUMNS, *state_vars])
    df = df[INDEX_COLUMNS + state_vars]
    df = df.sort_values(["subset", "run", "timestep", "substep"], kind="stable").reset_index(drop=True)
    for c in INDEX_COLUMNS:
        df[c] = df[c].astype("int64")
    return df


def attach_params(df: pd.DataFrame, params: dict[str, Any]) -> pd.DataFrame:
    """Add one column per parameter, looked up from ``subset`` (like the notebook's In [63])."""
    table = pd.DataFrame(expand_params(params))
    table.index.name = "subset"
    return df.join(table, on="subset")


def distinct_runs(df: pd.DataFrame, column: str = "price") -> tuple[int, int]:
    """(number of distinct ``column`` trajectories, number of runs) - detects repeated RNG streams."""
    final = df[df["timestep"] == df["timestep"].max()]
    traj = df.groupby(["subset", "run"])[column].apply(lambda s: tuple(np.round(s.to_numpy(), 12)))
    return traj.nunique(), len(final)


# --------------------------------------------------------------------------- cadCAD


def _run_cadcad(
    params: dict[str, Any],
    runs: int,
    steps: int,
    mode: str,
    seed: int | None,
    deepcopy: bool = True,
    cpu: list[float] | None = None,
):
    from cadCAD.configuration import Experiment
    from cadCAD.configuration.utils import config_sim
    from cadCAD.engine import ExecutionContext, ExecutionMode, Executor

    model = load_model()
    p = normalize_params(params)
    state_vars = list(model.genesis_states)
    exec_mode = ExecutionMode()
    context_name = {"single": exec_mode.single_mode, "local": exec_mode.local_mode}[mode]

    if seed is not None:
        np.random.seed(seed)  # noqa: NPY002 - the notebook model draws from the global RNG
    t0, c0 = time.perf_counter(), time.process_time()
    exp = Experiment()
    exp.append_configs(
        initial_state=model.genesis_states,
        partial_state_update_blocks=model.partial_state_update_blocks,
        sim_configs=config_sim({"T": range(steps), "N": runs, "M": p}),
    )
    # cadCAD 0.5.3 deep-copies the state before every substep unless additional_objs says deepcopy_off
    # (engine/simulation.py, partial_state_update): then it takes a shallow copy instead
    extra = None if deepcopy else {"deepcopy_off": True}
    executor = Executor(
        exec_context=ExecutionContext(context_name, additional_objs=extra),
        configs=exp.configs,
        supress_print=True,
    )
    raw_system_events, _tensor_field, _sessions = executor.execute()
    seconds = time.perf_counter() - t0
    if cpu is not None:  # this process's CPU seconds (worker processes not counted)
        cpu.append(time.process_time() - c0)

    if mode == "local" and len(exp.configs) > 1:
        # pathos caches the len(configs)-process pool after execute(); shut it down.
        from pathos.multiprocessing import ProcessPool

        ProcessPool(nodes=len(exp.configs)).clear()
    return seconds, _frame(raw_system_events, state_vars)


def run_cadcad_single(
    params, runs: int = 10, steps: int = 120, seed: int | None = 1, cpu: list[float] | None = None
):
    """cadCAD 0.5.3, ``ExecutionContext(ExecutionMode().single_mode)`` (one process)."""
    return _run_cadcad(params, runs, steps, "single", seed, cpu=cpu)


def run_cadcad_single_nodeepcopy(
    params, runs: int = 10, steps: int = 120, seed: int | None = 1, cpu: list[float] | None = None
):
    """cadCAD 0.5.3 single_proc with ``additional_objs={"deepcopy_off": True}``: a shallow copy of the
    state per substep instead of a deep one (cadCAD's fastest configuration for this model, whose state
    is floats and whose functions return new values)."""
    return _run_cadcad(params, runs, steps, "single", seed, deepcopy=False, cpu=cpu)


def run_cadcad_local(
    params, runs: int = 10, steps: int = 120, seed: int | None = 1, cpu: list[float] | None = None
):
    """cadCAD 0.5.3, ``ExecutionContext(ExecutionMode().local_mode)`` (the default context).

    With more than one configuration (sweep points x runs) this is pathos multi-process.
    """
    return _run_cadcad(params, runs, steps, "local", seed, cpu=cpu)


# --------------------------------------------------------------------------- radCAD


def _run_radcad(
    params: dict[str, Any],
    runs: int,
    steps: int,
    seed: int | None,
    cpu: list[float] | None = None,
    **engine_kwargs,
):
    from radcad import Engine, Model, Simulation

    model = load_model()
    p = normalize_params(params)
    state_vars = list(model.genesis_states)

    if seed is not None:
        np.random.seed(seed)  # noqa: NPY002 - the notebook model draws from the global RNG
    t0, c0 = time.perf_counter(), time.process_time()
    rmodel = Model(
        initial_state=dict(model.genesis_states),
        state_update_blocks=model.partial_state_update_blocks,
        params=p,
    )
    simulation = Simulation(model=rmodel, timesteps=steps, runs=runs)
    # radcad 0.14: Simulation(engine=...) is rejected ("Invalid Simulation option"), set it after.
    simulation.engine = Engine(**engine_kwargs)
    records = simulation.run()
    seconds = time.perf_counter() - t0
    if cpu is not None:
        cpu.append(time.process_time() - c0)
    return seconds, _frame(records, state_vars)


def run_radcad(
    params, runs: int = 10, steps: int = 120, seed: int | None = 1, cpu: list[float] | None = None
):
    """radCAD 0.14 default ``Engine()`` (pathos backend, cpu_count()-1 processes, deepcopy on)."""
    return _run_radcad(params, runs, steps, seed, cpu=cpu)


def run_radcad_nodeepcopy(
    params, runs: int = 10, steps: int = 120, seed: int | None = 1, cpu: list[float] | None = None
):
    """radCAD 0.14 ``Engine(deepcopy=False)``: no deep copy of state between substeps.

    Safe for this model: its state variables are floats and its update functions
    return new values instead of mutating the state dict.
    """
    return _run_radcad(params, runs, steps, seed, cpu=cpu, deepcopy=False)


def run_radcad_single(
    params, runs: int = 10, steps: int = 120, seed: int | None = 1, cpu: list[float] | None = None
):
    """radCAD 0.14 ``Engine(backend=Backend.SINGLE_PROCESS, deepcopy=False)``: radCAD's fastest
    configuration on a 2-core machine (no process pool to feed, no deep copies)."""
    from radcad import Backend

    return _run_radcad(params, runs, steps, seed, cpu=cpu, backend=Backend.SINGLE_PROCESS, deepcopy=False)


PEERS = {
    "cadcad-single": run_cadcad_single,
    "cadcad-single-nodeepcopy": run_cadcad_single_nodeepcopy,
    "radcad-single": run_radcad_single,
    "cadcad-local": run_cadcad_local,
    "radcad": run_radcad,
    "radcad-nodeepcopy": run_radcad_nodeepcopy,
}
