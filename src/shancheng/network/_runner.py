"""Running search kernels on both cores: work units, their order, and reusable work arrays."""

from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from itertools import pairwise
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from shancheng.types import Progress


class Workspace:
    """Work arrays of one search thread, kept with the graph and reused across searches.

    Fresh arrays the size of the graph cost more in page faults than a search itself, so a
    graph keeps one workspace per thread that searched it at once; arrays are made on first
    request and handed out again while their shape and dtype still fit.
    """

    def __init__(self) -> None:
        """Start with no arrays."""
        self._arrays: dict[str, npt.NDArray[Any]] = {}
        self._dirty: set[str] = set()

    def get(self, name: str, shape: tuple[int, ...], dtype: type[np.generic]) -> npt.NDArray[Any]:
        """Return the array ``name`` with this shape and dtype; its contents are left over."""
        array = self._arrays.get(name)
        if array is None or array.shape != shape or array.dtype != dtype:
            array = np.empty(shape, dtype)
            self._arrays[name] = array
        return array

    def borrow_filled(
        self, name: str, shape: tuple[int, ...], dtype: type[np.generic], value: float = 0
    ) -> npt.NDArray[Any]:
        """Return the array ``name`` all ``value``, for a user who hands it back so.

        Filling a graph-sized array costs as much as a small search, so it is skipped when
        the last user called :meth:`returned_filled`; an array whose user stopped half-way
        (an exception) is filled again. One name is always borrowed with the same value.
        """
        array = self._arrays.get(name)
        if array is None or array.shape != shape or array.dtype != dtype:
            array = np.full(shape, value, dtype)
            self._arrays[name] = array
        elif name in self._dirty:
            array.fill(value)
        self._dirty.add(name)
        return array

    def returned_filled(self, name: str) -> None:
        """Record that the array ``name`` lent by :meth:`borrow_filled` is as it was lent."""
        self._dirty.discard(name)


@contextmanager
def borrow_workspace(pool: list[Workspace]) -> Iterator[Workspace]:
    """Lend a workspace from ``pool`` (a new one if all are lent) and give it back afterwards."""
    try:
        work = pool.pop()
    except IndexError:
        work = Workspace()
    try:
        yield work
    finally:
        pool.append(work)


def split_units(group_ptr: npt.NDArray[np.int64], workers: int) -> list[tuple[int, int, int]]:
    """Cut groups into ``(group, lo, hi)`` units of sources, largest first, for ``workers``.

    A group holding more than half of one worker's fair share is cut into up to
    ``workers`` parts, so that one dense category cannot keep a core busy while the others
    idle; units are then listed from the largest down (longest processing time first), which
    keeps the last units small.
    """
    sizes = np.diff(group_ptr)
    share = max(1, math.ceil(int(sizes.sum()) / (2 * workers)))
    units: list[tuple[int, int, int]] = []
    for g, size in enumerate(sizes.tolist()):
        lo = int(group_ptr[g])
        parts = max(1, min(workers, math.ceil(size / share)))
        bounds = np.linspace(lo, lo + size, parts + 1).astype(int).tolist()
        units.extend((g, a, b) for a, b in pairwise(bounds))
    units.sort(key=lambda unit: unit[1] - unit[2])  # stable: ties keep group order
    return units


def run_parallel(
    run: Callable[[int], int], n_units: int, threads: int | None, progress: Progress | None
) -> list[int]:
    """Run ``run(0..n_units-1)`` on a thread pool (kernels release the GIL), in that order."""
    workers = max(1, min(threads or os.cpu_count() or 1, n_units))
    results = [0] * n_units
    if workers == 1:
        for u in range(n_units):
            results[u] = run(u)
            if progress:
                progress(1)
        return results
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {pool.submit(run, u): u for u in range(n_units)}
        for future, u in futures.items():
            results[u] = future.result()
            if progress:
                progress(1)
    return results
