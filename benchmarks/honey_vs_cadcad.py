"""Benchmark: the 1Hive Honey model under econsim vs cadCAD 0.5.3 and radCAD.

    python benchmarks/honey_vs_cadcad.py            # full 72-point sweep x 10 runs x 120 steps
    python benchmarks/honey_vs_cadcad.py --quick    # 4 sweep points, a smoke test
    python benchmarks/honey_vs_cadcad.py --all-modes  # also the peers' slower modes (+5 minutes)
    python benchmarks/honey_vs_cadcad.py --peer-repeat 3 --skip cadcad-single-nodeepcopy

The peers need old pins (radcad 0.14 requires numpy<1.26.4), so the script keeps its own
virtualenv at ``<repo>/.benchenv`` (gitignored): on first use it creates it, installs
``cadCAD==0.5.3``, ``radcad`` and econsim (``pip install -e <repo>``), then re-executes
itself inside it. ``--no-venv`` runs in the current interpreter instead.

The sweep (see ``peers.benchmark_sweep``): target_reserve_ratio 0.1..0.3 step 0.025 (9)
x throttle 0.002..0.030 step 0.004 (8) = 72 points, productivity 0.88, every other
parameter the seed notebook's; 10 runs, 120 timesteps. Peers run the notebook's model
code unchanged (``examples/honey_notebook/model.py``). Timings exclude imports.

Every peer runs in its fastest configuration on this machine — radCAD single process without deep
copies, cadCAD single_proc with ``deepcopy_off`` — next to cadCAD's plain single_proc, which the
targets name. The slower modes (cadCAD local_proc, radCAD's default pathos pool with and without deep
copies) take minutes and run only with ``--all-modes``. The engines the targets compare on this machine —
native econsim, ``econsim.cadcad`` in process and radCAD single process — run in alternation,
``--rounds`` times (native econsim ``--repeat`` times in all), so that a change in the machine's load
hits them alike; cadCAD's configurations run ``--peer-repeat`` times after them. The table shows the best
and the median, and ratios are best against best. For the engines that run in this process it also
shows their CPU seconds (``time.process_time``): on a machine shared with other work the wall time of a
run swings by several times, its CPU time much less, so every ratio is printed on both, each with its
verdict.

For ``econsim.cadcad`` the script also times the notebook's own functions alone (``user_function_timer``:
the states each step is handed, the three policies and the updates called on them in a bare loop), the
floor of any runner of the unchanged model: it prints how much of each engine's CPU time is spent inside
them (cadCAD and radCAD call all ten updates; ``econsim.cadcad`` calls two — the other eight only copy a
policy signal and are applied as that lookup), what each goal allows in CPU seconds, what is left of it
for all the bookkeeping, and the ratio a runner with no bookkeeping at all would reach.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
import venv
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BENCHENV = REPO / ".benchenv"
STAMP = BENCHENV / ".econsim-bench-stamp"
REEXEC_GUARD = "ECONSIM_BENCHENV_REEXEC"

# What the peers need. radcad 0.14 pins numpy>=1.25,<1.26.4 and imports typing_extensions
# without declaring it. pandas is NOT pinned: cadCAD 0.5.3 was checked to run this model
# (single_proc and local_proc) with pandas 3.0.6 + numpy 1.26.3 and with pandas 3.1.1 +
# numpy 2.4.6; cadCAD's execution path does not touch pandas, and the results are turned
# into DataFrames by benchmarks/peers.py.
PEER_REQUIREMENTS = ["cadCAD==0.5.3", "radcad==0.14.0", "numpy>=1.25,<1.26.4", "typing_extensions"]
# Extra pins for installing econsim next to the peers: keep radcad's numpy, and pyarrow<26
# because pyarrow 26 requires numpy>=2 at import time ("pyarrow requires NumPy 2.0 or
# newer") without declaring it to pip (apache/arrow#50769); pyarrow 25 is the last 1.x-compatible.
ECONSIM_PINS = ["numpy>=1.25,<1.26.4", "pyarrow<26"]

PEER_NAMES = [
    "radcad-single",
    "cadcad-single-nodeepcopy",
    "cadcad-single",
    "cadcad-local",
    "radcad",
    "radcad-nodeepcopy",
]
SLOW_MODES = ["cadcad-local", "radcad", "radcad-nodeepcopy"]  # only with --all-modes
PEER_LABELS = {
    "radcad-single": "radCAD 0.14 Engine(SINGLE_PROCESS, deepcopy=False)",
    "cadcad-single-nodeepcopy": "cadCAD 0.5.3 single_proc, deepcopy_off",
    "cadcad-single": "cadCAD 0.5.3 single_proc",
    "cadcad-local": "cadCAD 0.5.3 local_proc (default)",
    "radcad": "radCAD 0.14 Engine()",
    "radcad-nodeepcopy": "radCAD 0.14 Engine(deepcopy=False)",
}


# --------------------------------------------------------------------------- virtualenv


def _env_python() -> Path:
    return BENCHENV / "bin" / "python"


def _pyproject_hash() -> str:
    """Reinstall econsim when its dependencies (or our pins) change."""
    data = (REPO / "pyproject.toml").read_bytes() + " ".join(ECONSIM_PINS).encode()
    return hashlib.sha256(data).hexdigest()[:16]


def _pip(*args: str) -> int:
    cmd = [str(_env_python()), "-m", "pip", "install", "--disable-pip-version-check", *args]
    print("+", " ".join(cmd), flush=True)
    return subprocess.call(cmd)


def ensure_benchenv() -> None:
    """Create/refresh ``.benchenv``; peers are mandatory, econsim is best effort."""
    if not (3, 9) <= sys.version_info[:2] < (3, 13):
        sys.exit(f"need Python 3.9-3.12 for radcad 0.14 (running {sys.version.split()[0]})")
    if not _env_python().exists():
        print(f"creating virtualenv {BENCHENV}", flush=True)
        venv.EnvBuilder(with_pip=True).create(BENCHENV)
    stamp = STAMP.read_text().split() if STAMP.exists() else []
    peers_tag = "peers:" + hashlib.sha256(" ".join(PEER_REQUIREMENTS).encode()).hexdigest()[:16]
    if peers_tag not in stamp:
        if _pip(*PEER_REQUIREMENTS) != 0:
            sys.exit("could not install the peer engines into .benchenv")
        stamp = [peers_tag]  # forces an econsim reinstall too, against the new pins
        STAMP.write_text(" ".join(stamp))
    econsim_tag = "econsim:" + _pyproject_hash()
    if econsim_tag not in stamp:
        ok = _pip("-e", str(REPO), *ECONSIM_PINS) == 0
        if ok:
            stamp = [s for s in stamp if not s.startswith("econsim:")] + [econsim_tag]
            STAMP.write_text(" ".join(stamp))
        else:
            print("warning: `pip install -e` of econsim failed; econsim will be reported as not available")


def reexec_in_benchenv() -> None:
    if Path(sys.prefix).resolve() == BENCHENV.resolve():
        return
    if os.environ.get(REEXEC_GUARD):
        sys.exit(f"re-executed but still not inside {BENCHENV} (sys.prefix={sys.prefix})")
    ensure_benchenv()
    env = dict(os.environ, **{REEXEC_GUARD: "1"})
    os.execve(str(_env_python()), [str(_env_python()), str(Path(__file__).resolve()), *sys.argv[1:]], env)


# --------------------------------------------------------------------------- econsim


def econsim_config(quick: bool, runs: int, steps: int) -> dict:
    if quick:  # the 2 x 2 corners, same points as peers.benchmark_sweep(quick=True)
        grid = {
            "target_reserve_ratio": {"start": 0.1, "stop": 0.3, "step": 0.2},
            "throttle": {"start": 0.002, "stop": 0.030, "step": 0.028},
        }
    else:
        grid = {
            "target_reserve_ratio": {"start": 0.1, "stop": 0.3, "step": 0.025},
            "throttle": {"start": 0.002, "stop": 0.030, "step": 0.004},
        }
    return {
        "model": "honey",
        "params": {"productivity": 0.88},
        "sweep": {"grid": grid},
        "runs": runs,
        "steps": steps,
        "seed": 1,
    }


def time_econsim(
    config_dict: dict | None = None, repeat: int = 5, out: bool = False, cpu: list[float] | None = None
) -> list[float] | None:
    """Wall seconds of ``econsim.run(config_dict, progress=False)``, one per call.

    ``out=False`` keeps the results in memory (as the peers do); ``out=True`` streams them to a
    Parquet results folder as ``econsim run`` does. The first call includes imports done lazily and
    numpy's warm-up; later calls are warm. Returns None (after printing "econsim: not available")
    if econsim cannot be imported.
    """
    if config_dict is None:
        config_dict = econsim_config(quick=False, runs=10, steps=120)
    try:
        import econsim

        run = econsim.run
    except (ImportError, AttributeError) as exc:
        print(f"econsim: not available ({type(exc).__name__}: {exc})")
        return None
    times = []
    for _ in range(repeat):
        with tempfile.TemporaryDirectory(prefix="econsim-bench-") as tmpdir:
            t0, c0 = time.perf_counter(), time.process_time()
            res = run(config_dict, out=f"{tmpdir}/r" if out else None, progress=False)
            res.to_pandas()  # the peers hand back a DataFrame: so does this timing
            times.append(time.perf_counter() - t0)
            if cpu is not None:
                cpu.append(time.process_time() - c0)
    return times


# --------------------------------------------------------------------------- econsim.cadcad (compat)

COMPAT = "econsim-cadcad"
COMPAT_LABEL = "econsim.cadcad, notebook functions unchanged"
COMPAT_EXECUTORS = {"inprocess": COMPAT_LABEL, "process": COMPAT_LABEL + " (process pool)"}


def time_econsim_cadcad(
    peers, params, runs: int, steps: int, executor: str = "inprocess", repeat: int = 3, cpu=None
):
    """Wall seconds of ``econsim.cadcad.run`` on the notebook's own functions, one per call.

    Same inputs as the peers (``examples/honey_notebook/model.py`` unchanged, the cadCAD sweep dict),
    seed 1, on ``executor`` (``inprocess``: one process, like cadCAD single_proc; ``process``: a pool of
    every CPU, forked on Linux). Timed like the peers: building
    and executing, results returned as a DataFrame; imports excluded. Returns (times, last DataFrame)
    or None if unavailable.
    """
    try:
        from econsim import cadcad
    except ImportError as exc:
        print(f"{COMPAT}: not available ({exc})")
        return None
    model = peers.load_model()
    p = peers.normalize_params(params)
    times, df = [], None
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        df = cadcad.run(
            initial_state=model.genesis_states,
            partial_state_update_blocks=model.partial_state_update_blocks,
            params=p,
            runs=runs,
            timesteps=steps,
            seed=1,
            executor=executor,
            workers=os.cpu_count(),
            progress=False,
        )
        times.append(time.perf_counter() - t0)
        if cpu is not None:
            cpu.append(time.process_time() - c0)
    return times, df


def user_function_timer(peers, params, runs: int, steps: int):
    """CPU seconds the notebook's own functions take on this sweep when nothing else runs: the floor of
    any runner of the unchanged model.

    Every state each step of each run is handed (the very objects, numpy scalars included, from
    ``econsim.cadcad``'s own runs) is kept first; then the functions are called on them in a bare loop —
    no state copies, no merging, no rows, no table. Returns a function that times them once more and
    returns the best CPU seconds (``time.process_time``) so far: ``policies`` (the three), ``updates``
    (all ten), ``total`` (all thirteen: what cadCAD and radCAD call every step), ``called`` (the policies
    and the updates ``econsim.cadcad`` calls: the other eight only copy a policy signal and are applied as
    that lookup, see ``econsim.cadcad.simulate.passthrough``), ``calls`` (steps); None if econsim.cadcad
    is not available."""
    try:
        from econsim.cadcad import spec as specs
        from econsim.cadcad.batch import seed_globals
        from econsim.cadcad.simulate import passthrough, simulate_run
    except ImportError:
        return None
    model = peers.load_model()
    spec = specs.from_arguments(
        model.genesis_states,
        model.partial_state_update_blocks,
        peers.normalize_params(params),
        runs,
        steps,
        None,
        None,
    )
    calls = []  # (params, state handed to the step)
    for run in spec.runs:
        point = dict(spec.points[run.point])
        seed_globals(1, run)
        history = simulate_run(spec.models[run.model], point, run)
        for rows in history[:-1]:
            state = dict(rows[-1])
            state["substep"] = 0
            calls.append((point, state))
    block = model.partial_state_update_blocks[0]
    policies, updates = list(block["policies"].values()), list(block["variables"].values())
    called_updates = [f for f in updates if passthrough(f) is None]
    history: list = []
    with_input = []
    for point, state in calls:
        signal: dict = {}
        for f in policies:
            signal.update(f(point, 1, history, state))
        with_input.append((point, state, signal))

    def only_policies() -> None:
        for point, state, _ in with_input:
            for f in policies:
                f(point, 1, history, state)

    def loop_of(functions):
        def call() -> None:
            for point, state, signal in with_input:
                for f in functions:
                    f(point, 1, history, state, signal)

        return call

    def both(functions):
        def call() -> None:
            for point, state, signal in with_input:
                for f in policies:
                    f(point, 1, history, state)
                for f in functions:
                    f(point, 1, history, state, signal)

        return call

    timed = (
        ("policies", only_policies),
        ("updates", loop_of(updates)),
        ("called_updates", loop_of(called_updates)),
        ("total", both(updates)),
        ("called", both(called_updates)),
    )
    out = {name: float("inf") for name, _ in timed}
    out["calls"] = float(len(with_input))
    out["n_called_updates"] = float(len(called_updates))
    out["n_updates"] = float(len(updates))

    def once() -> dict[str, float]:
        for name, fn in timed:
            c0 = time.process_time()
            fn()
            out[name] = min(out[name], time.process_time() - c0)
        # the one loop and the two apart time the same calls: the smaller is the less disturbed
        out["total"] = min(out["total"], out["policies"] + out["updates"])
        out["called"] = min(out["called"], out["policies"] + out["called_updates"])
        return dict(out)

    return once


#: CPU seconds of the notebook's functions alone (``user_function_timer``), best over the rounds
FLOOR: dict[str, float] = {}


def _fastest(seconds: dict[str, float], names: list[str]) -> str | None:
    run = [n for n in names if PEER_LABELS[n] in seconds]
    return min(run, key=lambda n: seconds[PEER_LABELS[n]]) if run else None


#: CPU seconds of this process per engine label, for the engines that run in it (single-process modes):
#: on a shared machine the steadier measure, printed beside wall time; the targets are judged on wall time
CPU: dict[str, list[float]] = {}


def target_ratios(rows: list[tuple[str, list[float], str]]) -> None:
    """The issues' speed targets, as measured in this invocation: every ratio on wall time (best against
    best) and, for the engines that run in this process, on CPU time (best against best), each with its
    verdict; then how much of each engine's CPU time the notebook's own functions take.

    Native econsim: >= 100x the fastest peer configuration (and >= 1000x cadCAD's default local mode,
    when it ran). econsim.cadcad on the notebook's functions: >= 10x cadCAD single_proc and >= 2x radCAD's
    fastest configuration; shown for each executor, with the ratio to cadCAD's fastest configuration too.
    """
    seconds = {label: min(times) for label, times, _ in rows if times}
    print("\ntargets (best against best; wall time, then CPU time where both engines ran in this process):")

    def line(what: str, peer: str | None, engine_s: float, need: float | None) -> None:
        if peer is None:
            return
        peer_s = seconds[PEER_LABELS[peer]]
        r = peer_s / engine_s

        def verdict(x: float) -> str:
            return f"{'met' if x >= need else 'NOT met'}" if need else "no target"

        text = (
            f"  {what} vs {PEER_LABELS[peer]}: wall {peer_s:.3f}s / {engine_s:.3f}s = {r:.1f}x ({verdict(r)})"
        )
        cpu_what, cpu_peer = CPU.get(what), CPU.get(PEER_LABELS[peer])
        if cpu_what and cpu_peer:
            rc = min(cpu_peer) / min(cpu_what)
            text += f"; CPU {min(cpu_peer):.3f}s / {min(cpu_what):.3f}s = {rc:.1f}x ({verdict(rc)})"
        if need:
            text += f"  [target >= {need:g}x]"
        print(text)

    radcad_fastest = _fastest(seconds, [n for n in PEER_NAMES if n.startswith("radcad")])
    cadcad_fastest = _fastest(seconds, [n for n in PEER_NAMES if n.startswith("cadcad")])
    native = seconds.get("econsim")
    if native:
        line("econsim", "cadcad-local" if PEER_LABELS["cadcad-local"] in seconds else None, native, 1000)
        line("econsim", _fastest(seconds, PEER_NAMES), native, 100)
        if PEER_LABELS["cadcad-single"] in seconds:
            line("econsim", "cadcad-single", native, None)
    for label in COMPAT_EXECUTORS.values():
        if label not in seconds:
            continue
        line(label, "cadcad-single" if PEER_LABELS["cadcad-single"] in seconds else None, seconds[label], 10)
        if cadcad_fastest != "cadcad-single":
            line(label, cadcad_fastest, seconds[label], None)
        line(label, radcad_fastest, seconds[label], 2)

    compat_cpu = CPU.get(COMPAT_LABEL)
    if not FLOOR:
        return
    n_up, n_called = int(FLOOR["n_updates"]), int(FLOOR["n_called_updates"])
    print(
        f"\ntime inside the notebook's own functions (CPU, called in a bare loop on the same {FLOOR['calls']:.0f}"
        f" states: policies {FLOOR['policies']:.3f}s, all {n_up} updates {FLOOR['updates']:.3f}s, the {n_called}"
        f" updates econsim.cadcad calls {FLOOR['called_updates']:.3f}s):"
    )
    inside = {PEER_LABELS[n]: FLOOR["total"] for n in PEER_NAMES} | {COMPAT_LABEL: FLOOR["called"]}
    for label, _, _ in rows:
        if label in inside and CPU.get(label):
            own = min(CPU[label])
            print(
                f"  {label}: {inside[label]:.3f}s of {own:.3f}s CPU ({100 * inside[label] / own:.0f}%; "
                f"everything else {own - inside[label]:.3f}s)"
            )
    if not compat_cpu:
        return
    for peer, need in (("cadcad-single", 10.0), (radcad_fastest, 2.0)):
        peer_cpu = CPU.get(PEER_LABELS[peer]) if peer else None
        if not peer_cpu or peer is None:
            continue
        allowed = min(peer_cpu) / need
        floor = FLOOR["called"]
        verdict = (
            "impossible for this runner: the functions it must call alone take more"
            if floor >= allowed
            else f"leaves {allowed - floor:.3f}s CPU for all the bookkeeping (econsim.cadcad's: "
            f"{min(compat_cpu) - floor:.3f}s)"
        )
        print(
            f"  goal >= {need:g}x {PEER_LABELS[peer]} ({min(peer_cpu):.3f}s CPU) allows {allowed:.3f}s CPU: "
            f"{verdict}; with no bookkeeping at all a runner reaches {min(peer_cpu) / floor:.1f}x, and "
            f"{min(peer_cpu) / FLOOR['total']:.1f}x if it calls all {n_up} updates"
        )


# --------------------------------------------------------------------------- main


def peer_stats(df, sat_threshold: float = 0.5) -> tuple[float, float]:
    """(% of runs whose price ever goes negative, % of runs with final saturation > threshold)."""
    by_run = df.groupby(["subset", "run"])
    neg = (by_run["price"].min() < 0).mean() * 100
    last = df[df["timestep"] == df["timestep"].max()]
    sat = (last["saturation"] > sat_threshold).mean() * 100
    return float(neg), float(sat)


def _times(times: list[float]) -> str:
    return ", ".join(f"{t:.3f}s" if t < 1 else f"{t:.2f}s" for t in times)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="4 sweep points instead of 72 (smoke test)")
    ap.add_argument(
        "--skip",
        action="append",
        default=[],
        metavar="NAME",
        choices=[*PEER_NAMES, "econsim", COMPAT],
        help=f"skip an engine (repeatable): {', '.join([*PEER_NAMES, 'econsim', COMPAT])}",
    )
    ap.add_argument("--all-modes", action="store_true", help=f"also the slow modes: {', '.join(SLOW_MODES)}")
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--steps", type=int, default=120)
    ap.add_argument("--repeat", type=int, default=9, help="timings of native econsim (best and median)")
    ap.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="rounds of native econsim, econsim.cadcad in process and radCAD single process, in alternation",
    )
    ap.add_argument("--compat-repeat", type=int, default=3, help="timings of econsim.cadcad's process pool")
    ap.add_argument("--peer-repeat", type=int, default=1, help="timings of each cadCAD configuration")
    ap.add_argument("--no-venv", action="store_true", help="run in the current interpreter, no .benchenv")
    args = ap.parse_args(argv)

    if not args.no_venv:
        reexec_in_benchenv()

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import peers

    params = peers.benchmark_sweep(quick=args.quick)
    npts = peers.n_points(params)
    print(
        f"Honey sweep: {npts} points x {args.runs} runs x {args.steps} steps "
        f"= {npts * args.runs} runs (python {sys.version.split()[0]}, {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.2f})",
        flush=True,
    )

    rows: list[tuple[str, list[float], str]] = []
    config = econsim_config(args.quick, args.runs, args.steps)
    floor_once = None if COMPAT in args.skip else user_function_timer(peers, params, args.runs, args.steps)

    # the engines the targets compare, and the notebook's functions alone, in alternation: a change in the
    # machine's load hits them alike
    native_times: list[float] = []
    native_cpu: list[float] = []
    compat_times: list[float] = []
    compat_df = None
    radcad_times: list[float] = []
    radcad_cpu: list[float] = []
    radcad_df = None
    first_call: list[float] = []
    per_round = max(1, args.repeat // args.rounds)
    for round_ in range(args.rounds):
        if "econsim" not in args.skip:
            cpu: list[float] = []
            times = time_econsim(config, repeat=per_round + (1 if round_ == 0 else 0), cpu=cpu)
            if times:
                if round_ == 0:
                    first_call, times, cpu = times[:1], times[1:], cpu[1:]
                native_times += times
                native_cpu += cpu
        if COMPAT not in args.skip:
            timed = time_econsim_cadcad(
                peers, params, args.runs, args.steps, "inprocess", 1, CPU.setdefault(COMPAT_LABEL, [])
            )
            if timed:
                compat_times += timed[0]
                compat_df = timed[1]
        if "radcad-single" not in args.skip:
            seconds, radcad_df = peers.PEERS["radcad-single"](
                params, runs=args.runs, steps=args.steps, seed=1, cpu=radcad_cpu
            )
            radcad_times.append(seconds)
        if floor_once is not None:
            FLOOR.update(floor_once())
        print(f"round {round_ + 1} of {args.rounds} done (load average {os.getloadavg()[0]:.2f})", flush=True)
    if FLOOR:
        print(
            f"notebook functions alone: {FLOOR['total']:.3f}s CPU (policies {FLOOR['policies']:.3f}s, "
            f"updates {FLOOR['updates']:.3f}s; those econsim.cadcad calls {FLOOR['called']:.3f}s)",
            flush=True,
        )

    if native_times:
        CPU["econsim"] = native_cpu
        rows.append(("econsim (first call)", first_call, "in memory, to a DataFrame; imports done lazily"))
        rows.append(("econsim", native_times, "in memory, to a DataFrame"))
        print(f"econsim: {_times(native_times)}", flush=True)
        stored = time_econsim(config, repeat=max(3, args.repeat // 2), out=True)
        rows.append(("econsim, to a Parquet results folder", stored or [], "manifest + parts, read back"))

    def compat_row(label: str, times: list[float], df) -> None:
        neg, sat = peer_stats(df)
        distinct, nruns = peers.distinct_runs(df)
        note = (
            f"neg price {neg:.2f}% of runs, final sat>0.5 {sat:.1f}%, {distinct}/{nruns} distinct price paths"
        )
        print(f"{label}: {_times(times)} ({note})", flush=True)
        rows.append((label, times, note))

    if compat_times:
        compat_row(COMPAT_LABEL, compat_times, compat_df)
        del compat_df
    else:
        CPU.pop(COMPAT_LABEL, None)
    if COMPAT not in args.skip:
        label = COMPAT_EXECUTORS["process"]
        timed = time_econsim_cadcad(peers, params, args.runs, args.steps, "process", args.compat_repeat)
        if timed:  # the pool's workers do the work: this process's CPU time says nothing
            compat_row(label, *timed)

    def peer_row(name: str, times: list[float], cpu_times: list[float], df) -> None:
        if name not in SLOW_MODES:  # the slow modes work in pools of processes
            CPU[PEER_LABELS[name]] = cpu_times
        neg, sat = peer_stats(df)
        distinct, nruns = peers.distinct_runs(df)
        note = f"neg price {neg:.2f}% of runs, final sat>0.5 {sat:.1f}%"
        if distinct < nruns:
            note += f", only {distinct}/{nruns} distinct price paths"
        print(f"{PEER_LABELS[name]}: {_times(times)} ({note})", flush=True)
        rows.append((PEER_LABELS[name], times, note))

    if radcad_times:
        peer_row("radcad-single", radcad_times, radcad_cpu, radcad_df)
        del radcad_df
    for name in PEER_NAMES:
        if name == "radcad-single" or name in args.skip or (name in SLOW_MODES and not args.all_modes):
            continue
        print(f"{PEER_LABELS[name]} ...", flush=True)
        times = []
        cpu_times: list[float] = []
        for _ in range(args.peer_repeat):
            seconds, df = peers.PEERS[name](params, runs=args.runs, steps=args.steps, seed=1, cpu=cpu_times)
            times.append(seconds)
        peer_row(name, times, cpu_times, df)
        del df

    econsim_seconds = min(next((t for label, t, _ in rows if label == "econsim"), [0.0])) or None
    print()
    w = max(len(r[0]) for r in rows) if rows else 10
    print(f"{'engine':<{w}}  {'best s':>9}  {'median s':>9}  {'CPU s':>9}  {'n':>2}  {'x econsim':>9}  notes")
    for label, times, note in rows:
        if not times:
            continue
        best, median = min(times), statistics.median(times)
        ratio = f"{best / econsim_seconds:9.1f}" if econsim_seconds else f"{'n/a':>9}"
        cpu_best = f"{min(CPU[label]):9.3f}" if CPU.get(label) else f"{'':>9}"
        print(f"{label:<{w}}  {best:9.3f}  {median:9.3f}  {cpu_best}  {len(times):>2}  {ratio}  {note}")
    print(
        f"(load average at the end: {os.getloadavg()[0]:.2f}; timings are only comparable on an idle machine)"
    )
    if econsim_seconds is None and "econsim" not in args.skip:
        print("(econsim: not available - ratios need econsim.run)")
    target_ratios(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
