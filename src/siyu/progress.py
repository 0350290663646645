"""Progress reporting for long work, shared by the CLI (Rich bars) and server jobs."""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    """Called as work advances: a label, units done, and the total when known."""

    def __call__(self, label: str, done: int, total: int | None = None) -> None: ...


def no_progress(label: str, done: int, total: int | None = None) -> None:
    """A `Progress` that reports nothing."""
