"""The command line: every kind of bad input stops before any work with a message and no traceback."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def econsim(*args, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "econsim.cli", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
    )


def write(tmp_path, text, name="c.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def assert_clean_error(proc, *fragments):
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr + proc.stdout
    for fragment in fragments:
        assert fragment in proc.stderr + proc.stdout, (fragment, proc.stderr)


BAD = [
    ("model: honey\nstepz: 10\n", ["unknown key 'stepz'", "did you mean 'steps'"]),
    ("model: honey\nparams:\n  throtle: 0.1\n", ["throtle", "did you mean 'throttle'"]),
    ("model: honey\nparams:\n  throttle: fast\n", ["params.throttle", "must be a number"]),
    ("model: honey\nparams:\n  throttle: 3\n", ["params.throttle = 3.0 is out of range", "[0.0, 1.0]"]),
    ("model: honey\nsteps: -5\n", ["steps", "greater than or equal to 1"]),
    ("model: honey\nruns: many\n", ["runs", "valid integer"]),
    ("model: honie\n", ["unknown model 'honie'", "did you mean 'honey'"]),
    ("model: honey\nparams: [1, 2\n", ["broken YAML", "line"]),
    (
        "model: honey\nsweep:\n  grid:\n    throttle: [0.1, 1.5]\n",
        ["sweep.grid.throttle = 1.5 is out of range"],
    ),
    (
        "model: honey\nsweep:\n  zip:\n    throttle: [0.1, 0.2]\n    p_pull: [0.5, 0.6, 0.7]\n",
        ["equal lengths"],
    ),
    ("model: honey\nparams:\n  price_walk: wild\n", ["price_walk", "notebook, positive"]),
    ("model: honey\nexecutor: gpu\n", ["executor", "inprocess"]),
]


def econsim_here(capsys, monkeypatch, *args) -> subprocess.CompletedProcess:
    """The command run in this process (``econsim.cli.main``, as the installed script runs it), answered
    like ``econsim``'s subprocess: exit code, stdout, stderr."""
    from econsim.cli import main

    monkeypatch.setattr(sys, "argv", ["econsim", *map(str, args)])
    try:
        main()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    captured = capsys.readouterr()
    return subprocess.CompletedProcess(args, code, captured.out, captured.err)


@pytest.mark.parametrize(("text", "fragments"), BAD)
def test_bad_configuration_file(tmp_path, capsys, monkeypatch, text, fragments):
    proc = econsim_here(capsys, monkeypatch, "run", write(tmp_path, text), "--out", tmp_path / "out")
    assert_clean_error(proc, *fragments)
    assert not (tmp_path / "out").exists()  # stopped before any work


def test_bad_configuration_file_in_a_fresh_process(tmp_path):
    """The same through a real ``python -m econsim.cli`` (the exit code and streams of a process)."""
    text, fragments = BAD[1]
    proc = econsim("run", write(tmp_path, text), "--out", tmp_path / "out")
    assert_clean_error(proc, *fragments)
    assert not (tmp_path / "out").exists()


@pytest.mark.slow  # tens of seconds of subprocesses or training; runs in CI with -m slow
def test_bad_command_line_values(tmp_path):
    cfg = write(tmp_path, "model: honey\nsteps: 3\n")
    assert_clean_error(econsim("run", cfg, "--steps", "-2"), "--steps", "greater than or equal to 1")
    assert_clean_error(econsim("run", cfg, "--steps", "ten"), "--steps", "valid integer")
    assert_clean_error(econsim("run", cfg, "--set", "throtle=0.1"), "did you mean 'throttle'")
    assert_clean_error(econsim("run", cfg, "--set", "throttle=9"), "out of range")
    assert_clean_error(econsim("run", tmp_path / "nope.yaml"), "does not exist")
    assert_clean_error(econsim("params", "honee"), "did you mean 'honey'")
    assert_clean_error(econsim("run", write(tmp_path, "steps: 3\n", "nomodel.yaml")), "--model")


@pytest.mark.slow  # subprocesses, kills or heavy drawing: runs in CI with -m slow
def test_non_finite_state_is_reported(tmp_path):
    # a market of size zero makes the target price 0, and inflow = size·saturation/target_price = 0/0
    cfg = write(tmp_path, "model: honey\nsteps: 5\ninitial_state:\n  size: 0\n  production: 0\n")
    proc = econsim("run", cfg, "--out", tmp_path / "o", "--quiet")
    assert_clean_error(proc, "state variable 'reserve' became nan at step 2 (subset 0, run 0)", "--no-strict")
    assert "RuntimeWarning" not in proc.stderr
    ok = econsim("run", cfg, "--out", tmp_path / "o2", "--quiet", "--no-strict")
    assert ok.returncode == 0, ok.stderr


@pytest.mark.slow  # subprocesses, kills or heavy drawing: runs in CI with -m slow
def test_run_models_params_plot(tmp_path):
    cfg = write(
        tmp_path,
        "model: honey\nsweep:\n  grid:\n    throttle: [0.002, 0.01]\n"
        "    target_reserve_ratio: [0.1, 0.2]\nruns: 3\nsteps: 12\nseed: 1\nfigures:\n"
        "  - {kind: heatmap, x: throttle, y: target_reserve_ratio, value: saturation, file: h.png}\n",
    )
    proc = econsim(
        "run",
        cfg,
        "--out",
        tmp_path / "r",
        "--runs",
        "4",
        "--seed",
        "3",
        "--set",
        "productivity=0.9",
        "--quiet",
    )
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "r" / "figures" / "h.png").stat().st_size > 1000
    import econsim as lib

    res = lib.load(tmp_path / "r")
    assert res.manifest["seed"] == 3 and res.manifest["runs"] == 4
    assert res.manifest["config"]["params"]["productivity"] == 0.9
    listing = econsim("models")
    assert listing.returncode == 0 and "honey" in listing.stdout
    params = econsim("params", "honey")
    assert "target_reserve_ratio" in params.stdout and "0.008" in params.stdout
    plot = econsim("plot", tmp_path / "r", "--save-fig", tmp_path / "figs")
    assert plot.returncode == 0 and (tmp_path / "figs" / "h.png").exists()


def test_a_blow_up_under_the_process_executor_is_the_same_clean_error(tmp_path):
    cfg = write(tmp_path, "model: honey\nsteps: 5\nruns: 4\ninitial_state:\n  size: 0\n  production: 0\n")
    proc = econsim("run", cfg, "--out", tmp_path / "o", "--quiet", "--executor", "process", "--workers", "2")
    # which run's batch fails first depends on the workers' timing; every run fails at step 2
    assert_clean_error(proc, "state variable 'reserve' became nan at step 2 (subset 0, run ", "--no-strict")
    assert "BrokenProcessPool" not in proc.stderr and "TypeError" not in proc.stderr


@pytest.mark.slow  # two subprocess runs, 8 s: runs in CI with -m slow
def test_a_rerun_of_a_finished_experiment_says_it_computed_nothing(tmp_path):
    cfg = write(tmp_path, "model: honey\nruns: 3\nsteps: 4\nseed: 2\nmemory_budget_mb: 0.002\n")
    first = econsim("run", cfg, "--out", tmp_path / "r", "--quiet")
    assert first.returncode == 0 and "done" in first.stdout, first.stderr
    again = econsim("run", cfg, "--out", tmp_path / "r", "--quiet", "--executor", "ray")
    assert again.returncode == 0, again.stderr
    n = len(__import__("econsim").load(tmp_path / "r").manifest["batches"])
    assert n > 1 and f"all {n} batches already in {tmp_path / 'r'}; nothing to compute" in again.stdout
    assert "done" not in again.stdout
