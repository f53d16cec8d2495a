"""Write a folder of results whole or not at all (City, circles results, plans).

Every writer of a result folder shares one rule: write into a private sibling folder, then
swap it into place with renames, so an interrupted or failed write leaves the previous
folder exactly as it was, and a folder that is not ours is never replaced.
"""

from __future__ import annotations

import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from shancheng.errors import InputError

if TYPE_CHECKING:
    from collections.abc import Iterator


@contextmanager
def staged_directory(
    directory: str | Path,
    *,
    marker: str,
    what: str,
    error: type[Exception] = InputError,
) -> Iterator[Path]:
    """Yield an empty staging folder that replaces ``directory`` when the block succeeds.

    Parameters
    ----------
    directory
        The folder to (re)write.
    marker
        A file every folder of this kind holds (``manifest.json``, ``summary.json``...): a
        non-empty ``directory`` without it is someone else's and is refused.
    what
        What the folder holds, for the refusal message (``"City"``, ``"plan"``...).
    error
        The error class raised on refusal.

    Raises
    ------
    error
        ``directory`` exists, is not empty and holds no ``marker``.
    """
    target = Path(directory)
    if target.exists() and any(target.iterdir()) and not (target / marker).exists():
        msg = (
            f"{target}: exists, is not empty and holds no {what} ({marker}); refusing to replace it"
        )
        raise error(msg)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    staging.chmod(0o755)  # mkdtemp makes it private; results are meant to be shared
    try:
        yield staging
        _swap_into_place(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _swap_into_place(staging: Path, target: Path) -> None:
    """Replace ``target`` by ``staging`` with renames; the old copy goes last, or comes back."""
    if not target.exists():
        staging.rename(target)
        return
    old = staging.with_suffix(".old")
    target.rename(old)
    try:
        staging.rename(target)
    except BaseException:
        old.rename(target)
        raise
    shutil.rmtree(old, ignore_errors=True)
