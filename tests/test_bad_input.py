"""Bad input, fuzz style: a table of bad configurations and command lines, each run through
``econsim.run`` and through the ``econsim`` command (in this process, through its real entry point).

Each must stop before any work with a ``ConfigError`` (exit code 2 on the command line), no traceback,
and a message naming the bad key, flag or value. Property tests put every kind of bad number into every
numeric field and parameter.
"""

from __future__ import annotations

import math
import sys
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import econsim
from econsim.cli import main
from econsim.engine.errors import ConfigError
from econsim.experiment.config import load_config, load_yaml_text
from econsim.experiment.plan import make_plan
from econsim.models.registry import get_model

ROOT = Path(__file__).resolve().parents[1]
HONEY = "model: honey\nruns: 1\nsteps: 2\nseed: 1\n"

#: (id, YAML text, fragments the message must contain)
BAD_FILES = [
    ("unknown key", HONEY + "stepz: 10\n", ["unknown key 'stepz'", "did you mean 'steps'"]),
    ("unknown param", HONEY + "params: {throtle: 0.1}\n", ["throtle", "did you mean 'throttle'"]),
    ("wrong type", HONEY + "params: {throttle: fast}\n", ["params.throttle", "must be a number"]),
    ("quoted number", HONEY + "params: {throttle: '0.1'}\n", ["params.throttle", "must be a number"]),
    (
        "out of range",
        HONEY + "params: {throttle: 3}\n",
        ["params.throttle = 3.0 is out of range", "[0.0, 1.0]"],
    ),
    ("negative steps", "model: honey\nsteps: -5\n", ["steps", "greater than or equal to 1"]),
    ("zero steps", "model: honey\nsteps: 0\n", ["steps", "greater than or equal to 1"]),
    ("zero runs", "model: honey\nruns: 0\n", ["runs", "greater than or equal to 1"]),
    ("runs true", "model: honey\nruns: true\n", ["runs", "not true"]),
    ("steps true", "model: honey\nsteps: true\n", ["steps", "not true"]),
    ("seed true", "model: honey\nseed: true\n", ["seed", "not true"]),
    ("workers true", "model: honey\nworkers: true\n", ["workers", "not true"]),
    ("record_every true", "model: honey\nrecord_every: true\n", ["record_every", "not true"]),
    ("budget true", "model: honey\nmemory_budget_mb: true\n", ["memory_budget_mb", "not true"]),
    ("budget inf", "model: honey\nmemory_budget_mb: .inf\n", ["memory_budget_mb", "finite"]),
    ("budget nan", "model: honey\nmemory_budget_mb: .nan\n", ["memory_budget_mb", "nan"]),
    ("runs nan", "model: honey\nruns: .nan\n", ["runs", "finite"]),
    ("runs fraction", "model: honey\nruns: 2.5\n", ["runs", "fractional"]),
    ("huge runs", "model: honey\nruns: 99999999999999999999999\n", ["runs", "less than or equal to"]),
    ("huge seed", "model: honey\nseed: 99999999999999999999999\n", ["seed", "less than or equal to"]),
    ("int param nan", "model: tokens\nparams: {N: .nan}\n", ["params.N", "not a finite number"]),
    ("int param inf", "model: atp\nparams: {R: .inf}\n", ["params.R", "not a finite number"]),
    ("int param bool", "model: tokens\nparams: {N: true}\n", ["params.N", "must be a number"]),
    ("int param fraction", "model: tokens\nparams: {N: 20.5}\n", ["params.N", "whole number"]),
    (
        "int param beyond C long",
        "model: atp\nparams: {N: 99999999999999999999999}\n",
        ["params.N", "too large for a 64-bit integer"],
    ),
    ("float param inf", HONEY + "params: {valuation_ratio: .inf}\n", ["params.valuation_ratio", "finite"]),
    ("float overflow", HONEY + "params: {valuation_ratio: 1e400}\n", ["params.valuation_ratio", "finite"]),
    ("float param nan", HONEY + "params: {growth: .nan}\n", ["params.growth", "finite"]),
    ("choice", HONEY + "params: {price_walk: wild}\n", ["price_walk", "notebook, positive"]),
    (
        "state negative",
        HONEY + "initial_state: {reserve: -5}\n",
        ["initial_state.reserve = -5.0", "[0.0, inf]"],
    ),
    ("state bool", HONEY + "initial_state: {reserve: true}\n", ["initial_state.reserve", "must be a number"]),
    ("state nan", HONEY + "initial_state: {saturation: .nan}\n", ["initial_state.saturation", "finite"]),
    ("state as param", HONEY + "params: {reserve: 5}\n", ["params.reserve", "initial_state"]),
    ("unknown model", "model: honie\n", ["unknown model 'honie'", "did you mean 'honey'"]),
    ("model not a name", "model: 5\n", ["model", "5"]),
    ("broken YAML", "model: honey\nparams: [1, 2\n", ["broken YAML", "line"]),
    ("not a mapping", "- model: honey\n", ["must hold a mapping"]),
    (
        "duplicate key",
        "model: honey\nruns: 2\nsteps: 3\nruns: 7\n",
        ["duplicate key 'runs'", "lines 2 and 4"],
    ),
    ("nested duplicate", HONEY + "params:\n  throttle: 0.1\n  throttle: 0.2\n", ["duplicate key 'throttle'"]),
    (
        "fixed and swept",
        HONEY + "params: {throttle: 0.5}\nsweep:\n  grid:\n    throttle: [0.1, 0.2]\n",
        ["'throttle' is both fixed (params.throttle) and swept (sweep.grid.throttle)"],
    ),
    (
        "state fixed and swept",
        HONEY + "initial_state: {reserve: 10}\nsweep:\n  zip:\n    reserve: [1, 2]\n",
        ["'reserve' is both fixed (initial_state.reserve) and swept (sweep.zip.reserve)"],
    ),
    (
        "sweep out of range",
        HONEY + "sweep:\n  grid:\n    throttle: [0.1, 1.5]\n",
        ["sweep.grid.throttle = 1.5 is out of range"],
    ),
    ("sweep nan value", HONEY + "sweep:\n  grid:\n    throttle: [.nan]\n", ["sweep.grid.throttle", "finite"]),
    (
        "range nan",
        HONEY + "sweep:\n  grid:\n    throttle: {start: 0, stop: .nan, num: 3}\n",
        ["sweep.grid.throttle.stop", "finite"],
    ),
    (
        "range inf",
        HONEY + "sweep:\n  grid:\n    throttle: {start: 0, stop: .inf, step: 0.1}\n",
        ["sweep.grid.throttle.stop", "finite"],
    ),
    (
        "range num 1e9",
        HONEY + "sweep:\n  grid:\n    throttle: {start: 0, stop: 1, num: 1e9}\n",
        ["1000000000 points", "max_sweep_points = 100000"],
    ),
    (
        "range step 1e-12",
        HONEY + "sweep:\n  grid:\n    throttle: {start: 0, stop: 1, step: 1e-12}\n",
        ["throttle: 1000000000001 values", "max_sweep_points"],
    ),
    (
        "grid of 10^6 points",
        HONEY
        + "sweep:\n  grid:\n"
        + "".join(
            f"    {k}: {{start: 0.1, stop: 0.9, num: 100}}\n" for k in ("throttle", "p_pull", "productivity")
        ),
        ["1000000 points", "throttle: 100 values"],
    ),
    (
        "range without step",
        HONEY + "sweep:\n  grid:\n    throttle: {start: 0, stop: 1}\n",
        ["'step' or 'num'"],
    ),
    (
        "range wrong way",
        HONEY + "sweep:\n  grid:\n    throttle: {start: 1, stop: 0, step: 0.1}\n",
        ["does not lead"],
    ),
    ("sweep scalar", HONEY + "sweep:\n  grid:\n    throttle: 5\n", ["sweep.grid.throttle", "list of values"]),
    (
        "zip lengths",
        HONEY + "sweep:\n  zip:\n    throttle: [0.1, 0.2]\n    p_pull: [0.5, 0.6, 0.7]\n",
        ["equal lengths"],
    ),
    ("executor", "model: honey\nexecutor: gpu\n", ["executor", "inprocess"]),
    ("ray address", "model: honey\nexecutor: ray\naddress: 'nonsense'\n", ["address", "host:port"]),
    (
        "figure unknown variable",
        HONEY + "figures:\n  - {kind: timeseries, vars: [saturaton]}\n",
        ["unknown variable 'saturaton'", "figures.0.vars", "did you mean 'saturation'"],
    ),
    (
        "figure facet not swept",
        HONEY + "figures:\n  - {kind: timeseries, vars: [price], facet: throttle}\n",
        ["figures.0.facet = 'throttle' is not swept"],
    ),
    (
        "heatmap axis not swept",
        HONEY
        + "sweep:\n  grid:\n    throttle: [0.1, 0.2]\n"
        + "figures:\n  - {kind: heatmap, x: throttle, y: p_pull, value: price}\n",
        ["figures.0.y = 'p_pull' is not swept", "throttle"],
    ),
    (
        "heatmap unknown value",
        HONEY
        + "sweep:\n  grid:\n    throttle: [0.1, 0.2]\n    p_pull: [0.5, 0.7]\n"
        + "figures:\n  - {kind: heatmap, x: throttle, y: p_pull, value: prize}\n",
        ["unknown variable 'prize'", "figures.0.value"],
    ),
    ("figure kind", HONEY + "figures:\n  - {kind: pie, vars: [price]}\n", ["figures.0.kind", "heatmap"]),
    (
        "figure dpi",
        HONEY + "figures:\n  - {kind: timeseries, vars: [price], options: {dpi: x}}\n",
        ["figures.0", "options.dpi = 'x'"],
    ),
    ("scenario dpi", "model: atp\nruntime: {dpi: -3}\n", ["options.dpi = -3"]),
    (
        "heatmap x is y",
        HONEY
        + "sweep:\n  grid:\n    throttle: [0.1, 0.2]\n"
        + "figures:\n  - {kind: heatmap, x: throttle, y: throttle, value: price}\n",
        ["two different swept names", "'throttle' twice"],
    ),
    ("workers too many", "model: honey\nexecutor: process\nworkers: 1000000\n", ["workers = 1000000"]),
    ("model figure", "model: tokens\nfigures:\n  - {kind: model, name: economie}\n", ["economie", "economy"]),
    (
        "report precondition",
        HONEY + "params: {productivity: 0.88}\nreports: [productivity_range]\n",
        ["report 'productivity_range' needs productivity to be swept"],
    ),
    ("unknown report", HONEY + "reports: [productivity]\n", ["unknown report 'productivity'"]),
]


def write(folder: Path, text: str, name: str = "c.yaml") -> Path:
    path = folder / name
    path.write_text(text)
    return path


def cli(capsys, monkeypatch, *args) -> tuple[int, str]:
    """``econsim ARGS`` through the real entry point: exit code and everything it printed."""
    monkeypatch.setattr(sys, "argv", ["econsim", *map(str, args)])
    try:
        main()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def assert_refused(code: int, output: str, fragments: list[str]) -> None:
    assert code == 2, output
    assert "Traceback" not in output
    flat = " ".join(output.split())  # rich wraps long lines
    for fragment in fragments:
        assert " ".join(fragment.split()) in flat, (fragment, output)


@pytest.mark.parametrize(("text", "fragments"), [c[1:] for c in BAD_FILES], ids=[c[0] for c in BAD_FILES])
def test_bad_file_refused_from_python_and_command_line(tmp_path, capsys, monkeypatch, text, fragments):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        econsim.run(path, out=str(tmp_path / "api"), progress=False)
    message = " ".join(str(caught.value).split())
    for fragment in fragments:
        assert " ".join(fragment.split()) in message, (fragment, message)
    code, output = cli(capsys, monkeypatch, "run", path, "--out", tmp_path / "out", "--quiet")
    assert_refused(code, output, fragments)
    assert not (tmp_path / "out").exists() and not (tmp_path / "api").exists()  # before any work


#: (id, arguments after `econsim run CONFIG`, fragments); CONFIG sweeps nothing, OUT is a fresh folder
BAD_FLAGS = [
    ("--runs 0", ["--runs", "0"], ["--runs"]),
    ("--runs huge", ["--runs", "99999999999999999999999"], ["--runs 99999999999999999999999", "less than"]),
    ("--runs text", ["--runs", "many"], ["--runs", "valid integer"]),
    ("--runs bool", ["--runs", "true"], ["--runs", "valid integer"]),
    ("--steps 0", ["--steps", "0"], ["--steps"]),
    ("--steps negative", ["--steps", "-2"], ["--steps"]),
    ("--seed negative", ["--seed", "-1"], ["--seed"]),
    ("--workers 0", ["--workers", "0"], ["--workers"]),
    ("--workers huge", ["--executor", "process", "--workers", "100000"], ["workers = 100000", "processes"]),
    ("--executor", ["--executor", "gpu"], ["--executor 'gpu'", "inprocess"]),
    ("--address", ["--executor", "ray", "--address", "not an address"], ["--address", "host:port"]),
    (
        "--address unreachable",
        ["--executor", "ray", "--address", "nonsense.invalid:1"],
        ["nonsense.invalid:1"],
    ),
    ("--set no value", ["--set", "throttle"], ["--set", "NAME=VALUE"]),
    ("--set typo", ["--set", "throtle=0.1"], ["--set", "did you mean 'throttle'"]),
    ("--set range", ["--set", "throttle=9"], ["--set throttle = 9.0 is out of range"]),
    ("--set state bound", ["--set", "reserve=-5"], ["--set reserve = -5.0 is out of range", "[0.0, inf]"]),
    ("--set nan", ["--set", "throttle=.nan"], ["--set throttle", "finite"]),
    ("--set bool", ["--set", "growth=true"], ["--set growth", "must be a number"]),
    ("--set broken", ["--set", "throttle=[1"], ["--set throttle", "cannot read"]),
    ("--set swept", ["--set", "p_pull=0.5"], ["--set p_pull", "sweeps 'p_pull'"]),
    ("--model", ["--model", "honie"], ["unknown model 'honie'"]),
]


@pytest.mark.parametrize(("args", "fragments"), [c[1:] for c in BAD_FLAGS], ids=[c[0] for c in BAD_FLAGS])
def test_bad_flag_named_not_the_file(tmp_path, capsys, monkeypatch, args, fragments):
    config = write(tmp_path, HONEY + "sweep:\n  zip:\n    p_pull: [0.6, 0.7]\n")
    code, output = cli(capsys, monkeypatch, "run", config, "--out", tmp_path / "out", "--quiet", *args)
    assert_refused(code, output, fragments)
    if "--set" in args or args == ["--runs", "0"]:
        assert "c.yaml" not in output  # blamed on the flag, not on the file
    assert not (tmp_path / "out").exists()


def test_unreachable_ray_address_fails_fast(tmp_path, capsys, monkeypatch):
    config = write(tmp_path, HONEY)
    started = time.perf_counter()
    code, output = cli(
        capsys, monkeypatch, "run", config, "--executor", "ray", "--address", "127.0.0.1:1", "--quiet"
    )
    assert_refused(code, output, ["address '127.0.0.1:1'", "no Ray cluster answers"])
    assert time.perf_counter() - started < 30


def test_unwritable_outputs_refused_before_the_run(tmp_path, capsys, monkeypatch):
    config = write(tmp_path, HONEY + "figures: []\n")
    blocker = write(tmp_path, "a file", "blocker")
    for args, fragment in [
        (["--save-fig", blocker / "figs"], "blocker' is a file"),
        (["--save-metrics", blocker / "m.npz"], "metrics file"),
        (["--out", blocker / "out"], "results folder"),
        (["--save-metrics", "/proc/m.npz"], "cannot be created in '/proc'"),
    ]:
        code, output = cli(capsys, monkeypatch, "run", config, "--quiet", "--out", tmp_path / "o", *args)
        assert_refused(code, output, [fragment])
        assert not (tmp_path / "o").exists()
    code, output = cli(capsys, monkeypatch, "run", config, "--quiet", "--out", tmp_path / "o")
    assert code == 0, output
    code, output = cli(capsys, monkeypatch, "plot", tmp_path / "o", "--save-fig", blocker / "f.png")
    assert_refused(code, output, ["figure destination (--save-fig)", "blocker' is a file"])


def test_other_commands_name_their_bad_input(tmp_path, capsys, monkeypatch):
    readme = ROOT / "README.md"
    assert_refused(*cli(capsys, monkeypatch, "cadcad", readme), ["README.md' is not a Python file"])
    assert_refused(*cli(capsys, monkeypatch, "cadcad", tmp_path / "none.py"), ["no such file"])
    assert_refused(*cli(capsys, monkeypatch, "cadcad", tmp_path), ["is a folder"])
    broken = write(tmp_path, "x = (\n", "broken.py")
    assert_refused(*cli(capsys, monkeypatch, "cadcad", broken), ["not valid Python at line 1"])
    model = ROOT / "examples" / "honey_notebook" / "model.py"
    assert_refused(*cli(capsys, monkeypatch, "cadcad", model, "--timesteps", "0"), ["--timesteps"])
    assert_refused(*cli(capsys, monkeypatch, "run", tmp_path / "nope.yaml"), ["does not exist"])
    assert_refused(*cli(capsys, monkeypatch, "run", tmp_path), ["is a folder"])
    assert_refused(*cli(capsys, monkeypatch, "run", "/dev/null"), ["not a regular file"])
    assert_refused(*cli(capsys, monkeypatch, "cadcad", "/dev/null"), ["not a regular file"])
    assert_refused(*cli(capsys, monkeypatch, "params", "honee"), ["did you mean 'honey'"])
    tokens = write(tmp_path, "model: tokens\nruns: 1\nsteps: 2\nparams: {N: 20}\n", "t.yaml")
    for args, fragment in [
        (["--param", "curve_slope=a:b"], "must be numbers"),
        (["--param", "curve_slope=0:inf"], "finite"),
        (["--param", "curve_slope=-inf:1"], "finite"),
        (["--param", "N=1:x"], "must be numbers"),
        (["--param", "curve_slope=0.1:0.2", "--trials", "0"], "--trials"),
        (["--param", "curve_slope=0.1:0.2", "--set", "N=.nan"], "--set N"),
        (["--param", "curve_slope=0.1:0.2", "--out", tokens / "x"], "evidence folder"),
    ]:
        code, output = cli(capsys, monkeypatch, "optimize", tokens, "--objective", "volatility", *args)
        assert_refused(code, output, [fragment])
    profile = write(tmp_path, "model: honey\n", "p.yaml")
    assert_refused(*cli(capsys, monkeypatch, "profile", profile, "--steps", "0"), ["--steps"])
    assert_refused(*cli(capsys, monkeypatch, "profile", profile, "--set", "reserve=-1"), ["--set reserve"])


def test_help_and_version_on_every_command(capsys, monkeypatch):
    code, output = cli(capsys, monkeypatch, "--version")
    assert code == 0 and output.strip() == f"econsim {econsim.__version__}"
    for command in ("run", "profile", "cadcad", "optimize", "models", "params", "plot"):
        code, output = cli(capsys, monkeypatch, command, "-h")
        assert code == 0 and "Usage" in output, (command, output)
    code, output = cli(capsys, monkeypatch, "cadcad", "--help")
    assert "figures" not in output.split("Arguments")[0].replace("draw figures from it", "")


def test_numbers_read_the_same_everywhere(tmp_path, capsys, monkeypatch):
    """YAML 1.2 floats (1e-3, 5e6) are numbers in files and in --set, for every model."""
    assert load_yaml_text("a: 1e-3\nb: 5e6\nc: 1.0e10\nd: -2E+2\ne: 1.5\nf: e5\n") == {
        "a": 0.001,
        "b": 5e6,
        "c": 1e10,
        "d": -200.0,
        "e": 1.5,
        "f": "e5",
    }
    config = write(tmp_path, HONEY + "params: {throttle: 1e-3}\nfigures: []\n")
    assert econsim.run(config, progress=False).manifest["config"]["params"]["throttle"] == 0.001
    tokens = write(
        tmp_path, "model: tokens\nruns: 1\nsteps: 2\nparams: {N: 20, curve_slope: 5e-2}\n", "t.yaml"
    )
    assert load_config(tokens).params["curve_slope"] == 0.05
    code, output = cli(
        capsys, monkeypatch, "run", config, "--set", "growth=1e-3", "--out", tmp_path / "o", "--quiet"
    )
    assert code == 0, output
    assert econsim.load(tmp_path / "o").manifest["config"]["params"]["growth"] == 0.001


def test_max_sweep_points_can_be_raised():
    sweep = {"grid": {"throttle": {"start": 0.0, "stop": 1.0, "num": 200}, "p_pull": [0.5, 0.6]}}
    with pytest.raises(ConfigError, match="400 points"):
        load_config({"model": "honey", "sweep": sweep, "max_sweep_points": 399})
    assert load_config({"model": "honey", "sweep": sweep, "max_sweep_points": 400}).sweep.n_points() == 400


# --- properties: every bad number in every numeric field and parameter -----------------------------

#: 10**400 overflows a float; 2**64 overflows an int64 (for a float parameter it is a fine number)
BAD_NUMBERS = st.sampled_from(
    [True, False, math.nan, math.inf, -math.inf, 10**400, -(10**400), 2**64, "ten", [1]]
)
COUNT_FIELDS = ["runs", "steps", "record_every", "seed", "workers", "memory_budget_mb", "max_sweep_points"]


@settings(max_examples=60)
@given(field=st.sampled_from(COUNT_FIELDS), value=BAD_NUMBERS)
def test_bad_numbers_in_top_level_fields(field, value):
    if field == "memory_budget_mb" and value == 2**64:
        value = -(2**64)  # a huge budget is fine; a negative one is not
    with pytest.raises(ConfigError, match=field):
        load_config({"model": "honey", field: value})


def _numeric_params(model_name: str) -> list[str]:
    return [p.name for p in get_model(model_name).params if p.kind in ("int", "float")]


@settings(max_examples=80)
@given(
    data=st.data(),
    model_name=st.sampled_from(["honey", "tokens", "atp"]),
    value=BAD_NUMBERS,
    where=st.sampled_from(["params", "sweep"]),
)
def test_bad_numbers_in_parameters(data, model_name, value, where):
    name = data.draw(st.sampled_from(_numeric_params(model_name)))
    if value == 2**64 and get_model(model_name).param(name).kind == "float":
        value = 10**400
    if where == "params":
        raw = {"model": model_name, "params": {name: value}}
        key = f"params.{name}"
    else:
        raw = {"model": model_name, "sweep": {"grid": {name: [value]}}}
        key = f"sweep.grid.{name}"
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        make_plan(load_config(raw))


@settings(max_examples=40)
@given(name=st.sampled_from(["reserve", "circulation", "size", "saturation", "production", "utility"]))
def test_honey_state_bounds(name):
    low, high = get_model("honey").var_by_name[name].bounds
    for bad in [low - 1.0, *([high + 1.0] if high is not None else []), math.nan, True]:
        with pytest.raises(ConfigError, match=f"initial_state.{name}"):
            make_plan(load_config({"model": "honey", "initial_state": {name: bad}}))
    assert make_plan(load_config({"model": "honey", "initial_state": {name: low}})).initial_state[name] == low
