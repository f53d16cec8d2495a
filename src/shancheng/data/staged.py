"""Write a folder of results whole or not at all (City, circles results, plans).

Every writer of a result folder shares one rule: write into a private sibling folder, then
swap it into place with renames, so an interrupted or failed write leaves the previous
folder exactly as it was, and a folder that is not ours is never replaced. What a killed
writer leaves behind is cleaned by the next write (:func:`clean_stale`).
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from shancheng.errors import InputError

if TYPE_CHECKING:
    from collections.abc import Iterator

logger = logging.getLogger(__name__)
OWNER_FILE = ".owner"
"""File in a staging folder naming the writing process (for :func:`clean_stale`)."""


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
    clean_stale(target)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    staging.chmod(0o755)  # mkdtemp makes it private; results are meant to be shared
    (staging / OWNER_FILE).write_text(f"{os.getpid()}\n", encoding="utf-8")
    try:
        yield staging
        (staging / OWNER_FILE).unlink(missing_ok=True)
        _swap_into_place(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def clean_stale(target: Path) -> list[Path]:
    """Remove what a killed writer of ``target`` left behind; return what was removed.

    A writer killed outright (``kill -9``, power loss) cannot clean up: its hidden staging
    folder ``.<name>.<random>.tmp`` stays, and if it died between the two renames of the swap
    the previous folder waits as ``.<name>.<random>.old``. A staging folder whose owner
    process (``.owner``) is no longer running is removed (one whose owner still runs is a
    concurrent writer and is left alone); a ``.old`` folder is put back as ``target`` when
    ``target`` is missing, and removed otherwise.
    """
    removed: list[Path] = []
    for old in sorted(target.parent.glob(f".{target.name}.*.old")):
        if target.exists():
            shutil.rmtree(old, ignore_errors=True)
            removed.append(old)
        else:
            old.rename(target)
            logger.warning("%s: restored from %s, left by an interrupted write", target, old.name)
    for staging in sorted(target.parent.glob(f".{target.name}.*.tmp")):
        if _owner_running(staging / OWNER_FILE):
            continue
        shutil.rmtree(staging, ignore_errors=True)
        removed.append(staging)
    if removed:
        logger.warning("%s: removed %d folder(s) left by an interrupted write: %s", target,
                       len(removed), ", ".join(p.name for p in removed))  # fmt: skip
    return removed


def _owner_running(owner: Path) -> bool:
    """Whether the process named in a staging folder's owner file still runs (this host)."""
    try:
        pid = int(owner.read_text(encoding="utf-8").strip())
    except (OSError, ValueError):
        return False
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: running
        return True
    return True


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
