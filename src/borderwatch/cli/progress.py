"""A rich progress bar for long jobs, shown only on a terminal."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Callable, Iterator


@contextmanager
def progress_bar(enabled: bool, label: str) -> Iterator[Callable[[int, float, float | None], None]]:
    """Yield ``update(frames, time_s, total_s)``; a no-op when not ``enabled``."""
    if not enabled:
        yield lambda frames, t, total: None
        return
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[frames]} frames, {task.fields[where]}"),
        TimeRemainingColumn(),
        transient=False,
    ) as prog:
        task = prog.add_task(label, total=None, frames=0, where="")

        def update(frames: int, t: float, total: float | None) -> None:
            where = f"{t:.0f}/{total:.0f} s of source" if total else f"{t:.0f} s of source"
            prog.update(task, completed=t, total=total, frames=frames, where=where)

        yield update
