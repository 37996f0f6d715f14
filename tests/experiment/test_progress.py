"""Progress when stderr is not a terminal: plain lines every tenth of the work or every interval, a
percentage, an ETA at this session's pace after a resume, and what happens after 100 %."""

from __future__ import annotations

import io

import pytest

import econsim
import econsim.experiment.progress as progress_module
from econsim.experiment.progress import PlainProgress, ProgressReport, progress_bar


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch):
    c = Clock()
    monkeypatch.setattr(progress_module.time, "monotonic", c)
    return c


def test_lines_every_tenth_with_a_percentage(clock):
    out = io.StringIO()
    bar = PlainProgress(1000, "honey", stream=out, interval=10.0, quiet_start=2.0)
    for _ in range(20):  # 50 run-steps every 0.5 s: a tenth of the work every second
        clock.now += 0.5
        bar(ProgressReport(0, 50))
    bar.close()
    lines = out.getvalue().splitlines()
    # quiet for the first 2 s (the first tenths pass unprinted), then one line per new tenth
    assert [line.split(":")[1].split("%")[0].strip() for line in lines] == [
        f"{p:.1f}" for p in (20, 30, 40, 50, 60, 70, 80, 90, 100)
    ]
    assert lines[-1].startswith("honey: 100.0 % (1,000/1,000 run-steps), 0:00:10 elapsed, ETA 0:00:00")


def test_a_slow_run_prints_every_interval(clock):
    out = io.StringIO()
    bar = PlainProgress(100_000, "atp", stream=out, interval=10.0)
    for _ in range(60):  # 1 % a minute: no tenth in sight, a line every 10 s
        clock.now += 1.0
        bar(ProgressReport(0, 16, {"AEC": 0.93}))
    lines = out.getvalue().splitlines()
    assert len(lines) == 6
    assert lines[0] == "atp:   0.2 % (160/100,000 run-steps), 0:00:10 elapsed, ETA 1:44:00  AEC 0.93"


def test_the_eta_after_a_resume_counts_only_this_sessions_work(clock):
    out = io.StringIO()
    # half the work was done before; this session does 100 run-steps in 10 s
    bar = PlainProgress(1000, "resumed", done=500, stream=out)
    clock.now += 10.0
    bar(ProgressReport(0, 100))
    assert bar.eta(clock.now) == pytest.approx(400 * 10.0 / 100)  # 40 s, not 400·10/600
    assert "60.0 %" in out.getvalue() and "ETA 0:00:40" in out.getvalue()


def test_a_short_run_prints_nothing(clock):
    out = io.StringIO()
    bar = PlainProgress(100, "quick", stream=out)
    for _ in range(10):
        clock.now += 0.01
        bar(ProgressReport(0, 10))
    bar.close()
    assert out.getvalue() == ""


def test_progress_off_gives_no_sink():
    with progress_bar(10, "off", enabled=False) as sink:
        assert sink is None


def test_not_a_terminal_gives_plain_lines_and_says_it_is_drawing_figures(tmp_path, capsys):
    with progress_bar(10, "auto", enabled=None) as sink:
        assert isinstance(sink, PlainProgress)
    econsim.run(
        {"model": "honey", "runs": 2, "steps": 5, "seed": 1},
        out=str(tmp_path / "r"),
        save_fig=str(tmp_path / "fig"),
    )
    err = capsys.readouterr().err
    assert "drawing 6 figures…" in err
    assert len(list((tmp_path / "fig").glob("*.png"))) == 6
