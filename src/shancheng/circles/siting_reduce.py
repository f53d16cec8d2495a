"""Shrink a covering instance before solving it, without changing its optimum."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

if TYPE_CHECKING:
    from shancheng.types import FloatArray, IntArray


def reduce_instance(a: sp.csr_array, w: FloatArray) -> tuple[sp.csr_array, FloatArray, IntArray]:
    """Shrink a covering instance without changing its optimum.

    * demand points no site reaches, or of weight 0, are dropped;
    * demand points covered by exactly the same sites are merged (weights added) — on a
      street network, neighbouring homes usually are;
    * a site whose set is contained in another's (or equal, keeping the first) is dropped:
      swapping it for the larger one never covers less.

    Returns
    -------
    tuple
        The reduced matrix and weights, and the original row of each kept site.
    """
    csc = sp.csc_array(a)
    csc.sort_indices()
    groups: dict[bytes, int] = {}
    column_of = np.full(a.shape[1], -1, dtype=np.int64)
    for i in np.flatnonzero((np.diff(csc.indptr) > 0) & (w > 0)).tolist():
        key = csc.indices[csc.indptr[i] : csc.indptr[i + 1]].tobytes()
        column_of[i] = groups.setdefault(key, len(groups))
    kept = column_of >= 0
    merged_w: FloatArray = np.bincount(
        column_of[kept], weights=w[kept], minlength=len(groups)
    ).astype(np.float64)
    rows, cols = a.nonzero()
    on = kept[cols]
    merged = sp.csr_array(
        (np.ones(int(on.sum())), (rows[on], column_of[cols[on]])), shape=(a.shape[0], len(groups))
    )
    merged.sum_duplicates()
    merged.data = np.ones_like(merged.data)
    size = np.diff(merged.indptr)
    overlap = sp.coo_array(merged @ merged.T)
    j, other, shared = overlap.row, overlap.col, overlap.data
    inside = (
        (j != other)
        & (shared >= size[j])
        & ((size[other] > size[j]) | ((size[other] == size[j]) & (other < j)))
    )
    dominated = np.zeros(a.shape[0], dtype=bool)
    dominated[j[inside]] = True
    dominated |= size == 0
    sites = np.flatnonzero(~dominated).astype(np.int64)
    return sp.csr_array(merged[sites]), merged_w, sites
