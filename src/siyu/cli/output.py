"""Printing for the CLI: JSON for scripts, Rich tables and progress bars for people."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import orjson
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.progress import Progress as RichProgress

from siyu.progress import Progress

console = Console()
errors = Console(stderr=True)


def print_json(data: Any) -> None:
    sys.stdout.write(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode() + "\n")


def fail(message: str, code: int = 1) -> None:
    """Print an error that says what to do, and exit."""
    import typer

    errors.print(f"[bold red]error:[/] {message}", soft_wrap=True, highlight=False)
    raise typer.Exit(code)


@contextmanager
def progress_bar(enabled: bool = True) -> Iterator[Progress]:
    """A `Progress` callback drawing a Rich bar (silent when ``enabled`` is false)."""
    if not enabled:
        yield lambda label, done, total=None: None
        return
    bar = RichProgress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=errors,
        transient=False,
    )
    task: TaskID = bar.add_task("starting", total=None)

    def report(label: str, done: int, total: int | None = None) -> None:
        bar.update(task, description=label, completed=done, total=total)

    with bar:
        yield report
