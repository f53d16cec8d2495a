"""Progress bars for long work, off when output is not a terminal or SHANCHENG_QUIET=1."""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from typing import TYPE_CHECKING

from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from shancheng.types import Progress as ProgressCallback


def progress_enabled() -> bool:
    """Tell whether a person is watching a terminal and has not asked for quiet."""
    return sys.stderr.isatty() and os.environ.get("SHANCHENG_QUIET", "") not in ("1", "true")


@contextmanager
def progress_bar(description: str, total: int | None) -> Iterator[ProgressCallback]:
    """Yield an ``advance(n)`` callback drawing a rich bar (a no-op when disabled).

    The callback is a :data:`shancheng.types.Progress`, what the kernels take.
    """
    if not progress_enabled():
        yield lambda _n: None
        return
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, transient=True) as bar:
        task = bar.add_task(description, total=total)
        yield lambda n: bar.advance(task, n)


@contextmanager
def step_reporter(description: str, total: int) -> Iterator[Callable[[str], None]]:
    """Yield a ``step(name)`` callback that advances a bar by one named step."""
    if not progress_enabled():
        yield lambda _name: None
        return
    with Progress(
        TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(), transient=True
    ) as bar:
        task = bar.add_task(description, total=total)

        def step(name: str) -> None:
            bar.update(task, advance=1, description=f"{description}: {name}")

        yield step
