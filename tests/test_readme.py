"""Every snippet of the README runs: its shell commands in order in one working folder (so examples that
would collide on an output folder fail here), its configuration block as a file, its Python blocks.

Commands that would take minutes get small sizes appended (a repeated flag's last value wins); every
command of the README must be listed in ``SMALL`` or ``SETUP``, so a new one cannot go untested. Drawing
the examples' figures takes most of a minute, so the full run in order is a slow test; the default suite
parses every command, runs the configuration block and the optimize example.
"""

from __future__ import annotations

import json
import re
import shlex
import sys
from pathlib import Path

import pytest

import econsim
from econsim.cli import app, main

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()

#: what each command gets appended to stay small, by its first words
SMALL = {
    "econsim run configs/honey/reserve_throttle.yaml": ["--runs", "3"],
    "econsim run configs/honey/notebook.yaml": ["--runs", "3"],
    "econsim run configs/honey/productivity_scan.yaml": ["--runs", "3"],
    "econsim run configs/honey/narrowed.yaml": ["--runs", "2", "--steps", "24"],
    "econsim run my.yaml": ["--runs", "2", "--steps", "24"],
    "econsim plot results/mine": [],
    "econsim run configs/atp/H10_decouple_and_grow.yaml": ["--steps", "3", "--set", "N=2000"],
    "econsim run original_H1.yaml": ["--steps", "3", "--set", "N=2000"],
    "econsim profile configs/atp/H1_baseline_stability.yaml": [
        "--steps",
        "2",
        "--warmup",
        "0",
        "--set",
        "N=2000",
    ],
    "econsim run configs/tokens/intelligence.yaml": ["--runs", "1", "--steps", "20", "--set", "N=40"],
    "econsim optimize configs/tokens/7_3_curve_optimization.yaml": [
        *("--trials", "3", "--runs", "2", "--steps", "20", "--set", "N=20"),
    ],
    "econsim cadcad examples/honey_notebook/model.py": ["--runs", "2", "--timesteps", "12"],
    "econsim run configs/banking/sim.yaml": ["--steps", "12"],
    "econsim run configs/banking/baseline.yaml": [
        *("--runs", "1", "--steps", "4", "--set", "n_households=200", "--set", "n_firms=20"),
    ],
    "econsim run configs/banking/stylized_facts.yaml": [
        *("--runs", "2", "--steps", "60", "--set", "n_households=200", "--set", "n_firms=20"),
    ],
    "econsim run configs/banking/interbank_contagion.yaml": [
        *("--runs", "1", "--steps", "6", "--set", "n_households=100", "--set", "n_firms=10"),
    ],
    "econsim run configs/banking/bank_run.yaml": [
        *("--runs", "1", "--steps", "6", "--set", "n_households=100", "--set", "n_firms=10"),
    ],
    "econsim run configs/banking/qe.yaml": [
        *("--runs", "1", "--steps", "6", "--set", "n_households=100", "--set", "n_firms=10"),
    ],
    "econsim banking train": ["--folds", "2"],
    "econsim banking validate": [],
}
#: setting up the environment and running this very suite: not commands of the package to test here
SETUP = ("python3 -m venv", ".venv/bin/pip", "bash scripts/test")
#: needs a Ray instance (its own test below)
RAY = "econsim run configs/honey/reserve_throttle.yaml --executor ray"


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, flags=re.DOTALL)


def commands() -> list[list[str]]:
    """The README's shell commands in order, continuation lines joined, comments dropped."""
    out = []
    for block in blocks("bash"):
        for line in block.replace("\\\n", " ").splitlines():
            for part in line.split("&&"):
                words = shlex.split(part, comments=True)
                if words:
                    out.append(words)
    return out


def key_of(words: list[str]) -> str | None:
    text = " ".join(words).replace(".venv/bin/econsim", "econsim")
    if text.startswith(SETUP):
        return None
    if text.startswith(RAY):
        return RAY
    matches = [k for k in SMALL if text == k or text.startswith(k + " ")]
    assert matches, f"README command not covered by tests/test_readme.py (add it to SMALL): {text}"
    return max(matches, key=len)


def cli(capsys, monkeypatch, args: list[str]) -> tuple[int, str]:
    monkeypatch.setattr(sys, "argv", ["econsim", *args])
    try:
        main()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    captured = capsys.readouterr()
    return code, captured.out + captured.err


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """A fresh working folder that sees the repository's configs and examples, as the README assumes."""
    for name in ("configs", "examples"):
        (tmp_path / name).symlink_to(ROOT / name)
    config_block = blocks("yaml")[0]
    (tmp_path / "my.yaml").write_text(config_block)
    h1 = (ROOT / "configs" / "atp" / "H1_baseline_stability.yaml").read_text()
    (tmp_path / "original_H1.yaml").write_text(re.sub(r"(?m)^model: atp\n", "", h1))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_every_readme_command_is_covered_and_parses():
    """Each command names a subcommand and options the CLI has (parsed without running it)."""
    from typer.main import get_command

    group = get_command(app)
    seen = 0
    for words in commands():
        key = key_of(words)
        if key is None:
            continue
        command = group.get_command(None, words[1])  # type: ignore[attr-defined]
        assert command is not None, words
        command.make_context(words[1], [*words[2:], *SMALL.get(key, [])], resilient_parsing=False)
        seen += 1
    assert seen == len(SMALL) + 2  # reserve_throttle appears three times: flagship, --runs 50, ray


def test_readme_optimize_example_varies_its_trials(workdir, capsys, monkeypatch):
    """The optimize example searches parameters its configuration also sweeps: each trial must run the
    point it names (before, all trials gave the mean over the sweep grid, 0.17328989081016374)."""
    (words,) = [w for w in commands() if w[:2] == ["econsim", "optimize"]]
    key = key_of(words)
    code, output = cli(capsys, monkeypatch, [*words[1:], *SMALL[key]])
    assert code == 0, output
    assert "no longer swept: curve_slope (was sweep.grid.curve_slope), curve_intercept" in output
    folder = workdir / "results" / "optimize-7_3_curve_optimization"
    trials = (folder / "trials.csv").read_text().splitlines()[1:]
    values = [float(line.split(",")[1]) for line in trials]
    assert len(set(values)) == 3 and 0.17328989081016374 not in values
    assert json.loads((folder / "best.json").read_text())["notes"]


@pytest.mark.slow
def test_every_readme_command_runs_in_order(workdir, capsys, monkeypatch):
    ran = []
    for words in commands():
        key = key_of(words)
        if key is None or key == RAY:
            continue
        args = [*words[1:], *SMALL[key]]
        code, output = cli(capsys, monkeypatch, args)
        assert code == 0, (words, output)
        assert "Traceback" not in output
        ran.append((key, output))
    assert len(ran) == len(SMALL) + 1  # reserve_throttle runs twice: the flagship and --runs 50
    outputs = dict(ran)
    # the flagship's heatmaps where the README says they land
    assert list((workdir / "results" / "reserve_throttle" / "figures").glob("heatmap_*.png"))
    assert json.loads((workdir / "results" / "rt50" / "manifest.json").read_text())["status"] == "complete"
    assert "productivity" in outputs["econsim run configs/honey/productivity_scan.yaml"]
    assert list((workdir / "figs" / "narrowed").glob("*.png")) and list(
        (workdir / "figs" / "mine").glob("*.png")
    )
    mine = econsim.load(workdir / "results" / "mine")
    assert mine.manifest["config"]["params"]["p_variance"] == 0.3
    assert mine.manifest["config"]["initial_state"]["reserve"] == 9000
    assert (workdir / "my_test_run.png").stat().st_size > 0 and (workdir / "m.npz").is_file()
    # a scenario's own save_fig and save_metrics land in its results folder, not in the working folder
    assert (workdir / "results" / "original_H1" / "H1_baseline_stability.png").is_file()
    assert (workdir / "results" / "original_H1" / "H1_baseline_stability.npz").is_file()
    assert "steps/s" in outputs["econsim profile configs/atp/H1_baseline_stability.yaml"]
    trials = (workdir / "results" / "optimize-7_3_curve_optimization" / "trials.csv").read_text().splitlines()
    values = {line.split(",")[1] for line in trials[1:]}
    assert len(values) == 3  # each trial runs its own point (the config's sweep no longer overrides it)
    assert "no longer swept" in outputs["econsim optimize configs/tokens/7_3_curve_optimization.yaml"]
    assert (workdir / "results" / "notebook_cadcad" / "summary.json").is_file()
    written = {p.name for p in workdir.iterdir()}
    assert written <= {
        "configs",
        "examples",
        "my.yaml",
        "original_H1.yaml",
        "results",
        "figs",
        "my_test_run.png",
        "m.npz",
    }, written


@pytest.mark.ray
@pytest.mark.slow
def test_readme_ray_command(workdir, capsys, monkeypatch):
    pytest.importorskip("ray")
    (words,) = [w for w in commands() if key_of(w) == RAY]
    code, output = cli(capsys, monkeypatch, [*words[1:], "--runs", "2", "--steps", "12", "--workers", "1"])
    assert code == 0, output
    assert econsim.load(workdir / "results" / "rt_ray").complete


def test_readme_configuration_block(tmp_path):
    """The configuration block, as a file: it runs, draws its figures and writes its report."""
    path = tmp_path / "block.yaml"
    path.write_text(blocks("yaml")[0])
    res = econsim.run(path, runs=2, steps=12, out=str(tmp_path / "out"), workers=1, progress=False)
    assert res.complete and len(res.manifest["subsets"]) == 9 * 3 * 3
    figures = sorted(p.name for p in (tmp_path / "out" / "figures").iterdir())
    assert figures == ["heatmap-saturation.png", "timeseries-saturation-price.png"]
    report = json.loads((tmp_path / "out" / "report.json").read_text())["productivity_range"]
    assert set(report["saturation_trend"]) == {"0.86", "0.88", "0.9"}


@pytest.mark.slow
def test_readme_python_blocks(tmp_path, monkeypatch, notebook):
    """The README's Python: the econsim.run example, and the cadCAD example with the seed notebook's model."""
    for name in ("configs", "examples"):
        (tmp_path / name).symlink_to(ROOT / name)
    monkeypatch.chdir(tmp_path)
    first, second = blocks("python")
    space: dict = {}
    exec(compile(first, "README.md", "exec"), space)
    assert space["res"].complete and len(space["df"]) == 72 * 20 * 121
    assert set(space["ds"].sizes) == {"subset", "run", "timestep"}
    cadcad_space = {
        "genesis_states": notebook.genesis_states,
        "psubs": notebook.partial_state_update_blocks,
        "params": notebook.params,
    }
    exec(compile(second, "README.md", "exec"), cadcad_space)
    df = cadcad_space["df"]
    assert df["run"].nunique() == 10 and df["timestep"].max() == 120
