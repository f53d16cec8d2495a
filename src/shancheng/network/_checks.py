"""Checks shared by the network's public functions: each refusal names the row, field and value."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from shancheng.errors import InputError

if TYPE_CHECKING:
    from collections.abc import Callable

    from shancheng.types import FloatArray, IntArray


def refuse_bad_rows(
    ok: npt.NDArray[np.bool_],
    values: npt.NDArray[np.generic],
    describe: Callable[[int, object, int], str],
    error: type[InputError] = InputError,
) -> None:
    """Raise ``error(describe(first_bad_row, its_value, n_bad_rows))`` if any row is not ok."""
    bad = np.flatnonzero(~ok)
    if bad.shape[0]:
        first = int(bad[0])
        raise error(describe(first, values[first], int(bad.shape[0])))


def is_whole(column: FloatArray) -> npt.NDArray[np.bool_]:
    """Mark the values that are finite whole numbers."""
    whole = np.isfinite(column)
    whole[whole] = column[whole] == np.round(column[whole])
    return whole


def node_ids(
    values: npt.ArrayLike, n_nodes: int, *, field: str = "source_nodes", expected: int | None = None
) -> IntArray:
    """Whole numbers in ``[0, n_nodes)`` as int64, ``expected`` of them if given."""
    array = np.atleast_1d(np.asarray(values))
    _one_dimensional(array, field, expected)
    if array.shape[0] and not np.issubdtype(array.dtype, np.integer):
        refuse_bad_rows(
            is_whole(array.astype(np.float64)),
            array,
            lambda row, value, _: f"`{field}` row {row}: must be a whole number, got {value!r}",
        )
    ids = array.astype(np.int64)
    refuse_bad_rows(
        (ids >= 0) & (ids < n_nodes),
        ids,
        lambda row, value, _: f"`{field}` row {row}: {value} is not in [0, {n_nodes})",
    )
    return ids


def finite_nonnegative(
    values: npt.ArrayLike, field: str, expected: int | None = None
) -> FloatArray:
    """Finite numbers >= 0 as float64, ``expected`` of them if given."""
    array = np.atleast_1d(np.asarray(values, dtype=np.float64))
    _one_dimensional(array, field, expected)
    refuse_bad_rows(
        np.isfinite(array) & (array >= 0),
        array,
        lambda row, value, _: f"`{field}` row {row}: must be a finite number >= 0, got {value!r}",
    )
    return array


def per_group(values: float | npt.ArrayLike, n_groups: int, field: str) -> FloatArray:
    """One finite value >= 0 per group, from one value or one per group."""
    array = finite_nonnegative(values, field)
    if array.shape[0] == 1:
        return np.full(n_groups, array[0])
    if array.shape[0] != n_groups:
        msg = f"`{field}` must be one value or one per group ({n_groups}), got {array.shape[0]}"
        raise InputError(msg)
    return array


def labels_or_positions(labels: npt.ArrayLike | None, n_sources: int) -> IntArray:
    """Return the labels given (whole numbers >= 0), or each source's position."""
    if labels is None:
        return np.arange(n_sources, dtype=np.int64)
    return node_ids(labels, np.iinfo(np.int64).max, field="labels", expected=n_sources)


def _one_dimensional(array: npt.NDArray[np.generic], field: str, expected: int | None) -> None:
    if array.ndim != 1 or (expected is not None and array.shape[0] != expected):
        msg = f"`{field}` must be a 1-D array of length {expected}, got shape {array.shape}"
        raise InputError(msg)
