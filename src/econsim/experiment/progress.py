"""Progress over run-steps (runs × steps), on stderr: a live bar on a terminal, plain lines elsewhere.

Executors pass on their batches' ``ProgressReport``s (run-steps done, the model's progress fields);
``progress_bar`` shows them. On a terminal it is a live bar; when stderr is a log or a pipe it prints
a plain line every ``interval`` seconds or every tenth of the work, whichever comes first, so a long
run is never silent. The remaining time counts only the work done in this session: a resumed run's
earlier batches are shown as done but do not make it look fast.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from collections.abc import Mapping


@dataclass(frozen=True)
class ProgressReport:
    """What a running batch tells the display: ``run_steps`` more run-steps done (runs × steps since
    its last report) and, when the model has progress fields, their values now."""

    batch: int
    run_steps: int
    fields: Mapping[str, float] | None = None


def _clock(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "?"
    whole = round(seconds)
    return f"{whole // 3600}:{whole // 60 % 60:02d}:{whole % 60:02d}"


def _fields_text(fields: Mapping[str, float]) -> str:
    return "  ".join(f"{k} {v:.4g}" for k, v in fields.items())


class PlainProgress:
    """Progress as plain text lines, for a stream that is not a terminal (a log, a pipe, CI)."""

    live = False

    def __init__(
        self,
        total: int,
        description: str,
        done: int = 0,
        stream: TextIO | None = None,
        interval: float = 10.0,
        quiet_start: float = 2.0,
    ) -> None:
        self.total, self.description = max(int(total), 0), description
        self.completed = self.done_before = int(done)
        self.stream = stream if stream is not None else sys.stderr
        self.interval, self.quiet_start = interval, quiet_start
        self.fields: Mapping[str, float] = {}
        self.started = self.last_line = time.monotonic()
        self.last_tenth = self._tenth()
        self.lines = 0
        self.printed = -1  # run-steps done at the last line printed

    def _tenth(self) -> int:
        return 10 * self.completed // self.total if self.total else 10

    def __call__(self, report: ProgressReport) -> None:
        self.completed = min(self.total, self.completed + report.run_steps)
        if report.fields:
            self.fields = report.fields
        now = time.monotonic()
        tenth = self._tenth()
        # a short run prints nothing: lines start once it has run for a moment
        if now - self.started < self.quiet_start:
            return
        if now - self.last_line >= self.interval or tenth > self.last_tenth:
            self.line(now)
            self.last_tenth = tenth

    def eta(self, now: float) -> float:
        """Seconds left at this session's pace (work done before a resume does not count)."""
        done_now = self.completed - self.done_before
        elapsed = now - self.started
        if done_now <= 0 or elapsed <= 0:
            return math.inf
        return (self.total - self.completed) * elapsed / done_now

    def line(self, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        pct = 100.0 * self.completed / self.total if self.total else 100.0
        text = (
            f"{self.description}: {pct:5.1f} % ({self.completed:,}/{self.total:,} run-steps), "
            f"{_clock(now - self.started)} elapsed, ETA {_clock(self.eta(now))}"
        )
        if self.fields:
            text += "  " + _fields_text(self.fields)
        print(text, file=self.stream, flush=True)
        self.last_line = now
        self.lines += 1
        self.printed = self.completed

    def close(self) -> None:
        """The last line, for a run that printed some and has progressed since."""
        if self.lines and self.printed != self.completed:
            self.line()


class LiveProgress:
    """A live bar (rich) on a terminal."""

    live = True

    def __init__(self, bar: Any, task: Any) -> None:
        self._bar, self._task = bar, task

    def __call__(self, report: ProgressReport) -> None:
        if report.run_steps:
            self._bar.advance(self._task, report.run_steps)
        if report.fields:
            self._bar.update(self._task, info=_fields_text(report.fields))


class HookProgress:
    """Progress handed to a function instead of shown: it is told each advance in run-steps (the
    server's jobs count progress, and stop a cancelled job by raising from it); a ``fields``
    attribute of the function, if it has one, receives the model's progress fields."""

    live = True

    def __init__(self, hook: Callable[[int], object]) -> None:
        self._hook = hook
        self._fields = getattr(hook, "fields", None)

    def __call__(self, report: ProgressReport) -> None:
        if report.run_steps:
            self._hook(report.run_steps)
        if report.fields and self._fields is not None:
            self._fields(dict(report.fields))


def wants_progress(enabled: bool | Callable[[int], object] | None) -> bool:
    """Whether progress is shown on stderr: ``enabled`` unless None (then always: a bar or plain
    lines); never for a hook (a callable ``enabled``)."""
    return enabled is None or enabled is True


@contextmanager
def progress_bar(
    total: int,
    description: str,
    enabled: bool | Callable[[int], object] | None = None,
    done: int = 0,
) -> Iterator[PlainProgress | LiveProgress | HookProgress | None]:
    """Yields the sink for ``ProgressReport``s, or None when ``enabled`` is False (executors then send
    no step reports at all). ``done``: run-steps finished before this session (a resumed run).
    A callable ``enabled`` is a hook instead of a display (see ``HookProgress``).

    A live bar when stderr is a terminal, plain lines (see ``PlainProgress``) otherwise."""
    if callable(enabled):
        hook = HookProgress(enabled)
        if done:
            enabled(done)
        yield hook
        return
    if not wants_progress(enabled):
        yield None
        return
    if not sys.stderr.isatty():
        plain = PlainProgress(total, description, done)
        try:
            yield plain
        finally:
            plain.close()
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TaskProgressColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        MofNCompleteColumn(),
        TextColumn("run-steps"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        TextColumn("{task.fields[info]}"),
        console=Console(stderr=True),
        transient=False,
    ) as bar:
        # ``completed`` at creation is not a speed sample: the remaining time counts this session only
        task = bar.add_task(description, total=total, completed=done, info="")
        yield LiveProgress(bar, task)


def progress_message(text: str, enabled: bool | Callable[[int], object] | None = None) -> None:
    """A line saying what a run is doing between or after its batches (e.g. drawing figures)."""
    if wants_progress(enabled):
        print(text, file=sys.stderr, flush=True)
