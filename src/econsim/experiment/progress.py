"""A progress bar over run-steps (runs × steps), on stderr, that stays silent when asked to."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


@contextmanager
def progress_bar(
    total: int, description: str, enabled: bool | Callable[[int], object] | None = None
) -> Iterator[Callable[[int], None]]:
    """Yields ``advance(n)``; ``advance.fields({label: value})`` shows a model's summary numbers beside
    the bar. ``enabled=None`` shows the bar only when stderr is a terminal. A callable ``enabled`` is
    a hook instead of a bar: it is told each advance in run-steps (the server's jobs count progress and
    stop a cancelled job by raising from it)."""
    if callable(enabled):
        hook = enabled

        def forward(n: int) -> None:
            hook(n)

        forward.fields = getattr(hook, "fields", lambda values: None)  # type: ignore[attr-defined]
        forward.live = True  # type: ignore[attr-defined]
        yield forward
        return
    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled:

        def silent(n: int) -> None:
            return None

        silent.fields = lambda values: None  # type: ignore[attr-defined]
        silent.live = False  # type: ignore[attr-defined]  (executors need not report step by step)
        yield silent
        return
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("run-steps"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        TextColumn("{task.fields[info]}"),
        console=Console(stderr=True),
        transient=False,
    ) as bar:
        task = bar.add_task(description, total=total, info="")

        def advance(n: int) -> None:
            bar.advance(task, n)

        def fields(values: dict[str, float]) -> None:
            bar.update(task, info="  ".join(f"{k} {v:.4g}" for k, v in values.items()))

        advance.fields = fields  # type: ignore[attr-defined]
        advance.live = True  # type: ignore[attr-defined]
        yield advance
