"""Elevation profiles as walkers feel them: DEM noise smoothed along ways, grades capped.

A DEM sampled every few tens of metres along a hillside road climbs and falls with the
DEM's noise (SRTM: a few metres per cell, trees and roofs): a road with a net climb of
115 m accumulates five times that in ups and downs, and its walking time with it. Routing
engines smooth the profile before taking grades (GraphHopper's moving average over 150 m);
so does this module:

- :func:`smooth_profile`: each sample takes the mean of the profile (linear between
  samples) over a window centred on it, ``window_m`` long, shrunk symmetrically near the
  ends of its run so that the ends keep their heights. A straight ramp is left exactly as
  it is (its mean over any symmetric window is its value at the centre); bumps shorter than
  the window are averaged away.
- :func:`smooth_along_ways`: the same along every way of a walk network (each clipped run
  of a way is one profile), with the runs' ends, junctions among them, set first from a
  line fitted to the run near each end.
- :func:`cap_grades`: a grade steeper than ``max_grade`` on a walking piece is taken as
  DEM error and capped (the rise kept in its sign), and the pieces so capped are counted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from shancheng.types import BoolArray, FloatArray, IntArray

SMOOTHING_WINDOW_M = 150.0
"""Length of the moving-average window along a way, metres (GraphHopper's default for its
moving-average elevation smoothing). An ASSUMPTION to state in reports: longer windows
remove more noise and flatten short real humps more."""
MAX_WALK_GRADE = 0.35
"""Steepest grade a walking piece (not stairs, lifts or ferries) may have, as a fraction.
An ASSUMPTION: the steepest public streets measured are 35-37 % (Baldwin Street 35 %,
Ffordd Pen Llech 37 %); a steeper piece on a DEM is taken as noise."""


def smooth_profile(
    along_m: npt.ArrayLike,
    z_m: npt.ArrayLike,
    run: npt.ArrayLike,
    *,
    window_m: float = SMOOTHING_WINDOW_M,
) -> FloatArray:
    """Return the moving average of profiles, each run on its own, ends kept.

    Parameters
    ----------
    along_m
        Position of each sample along its run, metres; strictly increasing within a run
        and sorted by run then position (runs may restart anywhere).
    z_m
        Height of each sample, metres.
    run
        Run of each sample (samples of one run are contiguous).
    window_m
        Window length; at a distance ``e < window_m / 2`` from either end of its run a
        sample's window is ``2 e`` long.

    Returns
    -------
    numpy.ndarray
        The smoothed heights, metres; a run with an unknown (NaN) height is returned as is.

    Examples
    --------
    >>> smooth_profile([0, 10, 20, 30, 40], [0, 0, 6, 0, 0], [0] * 5, window_m=20).tolist()
    [0.0, 1.5, 3.0, 1.5, 0.0]
    >>> smooth_profile([0, 10, 20], [0, 5, 10], [0, 0, 0], window_m=100).tolist()
    [0.0, 5.0, 10.0]
    """
    s = np.asarray(along_m, dtype=np.float64)
    given = np.asarray(z_m, dtype=np.float64)
    r = np.asarray(run, dtype=np.int64)
    n = s.shape[0]
    if n < 3:  # noqa: PLR2004 - a run of two samples has no interior to smooth
        return given.copy()
    _, run_number = np.unique(r, return_inverse=True)
    unknown = np.bincount(run_number, weights=~np.isfinite(given))[run_number] > 0
    z = np.where(unknown, 0.0, given)  # a run with a NaN height stays NaN, alone
    first = np.ones(n, dtype=bool)
    first[1:] = r[1:] != r[:-1]
    start_idx = np.maximum.accumulate(np.where(first, np.arange(n), 0))
    last = np.ones(n, dtype=bool)
    last[:-1] = first[1:]
    end_idx = np.minimum.accumulate(np.where(last, np.arange(n), n - 1)[::-1])[::-1]
    half = np.minimum.reduce([np.full(n, window_m / 2.0), s - s[start_idx], s[end_idx] - s])
    # one increasing axis for all runs, each run 1 m after the previous one's end
    span = np.where(first, s[end_idx] - s[start_idx] + 1.0, 0.0)
    s = s - s[start_idx] + (np.cumsum(span) - span[start_idx])
    step = np.diff(s)
    gap = np.where(first[1:], 0.0, step)  # nothing is integrated between two runs
    cumulative = np.concatenate([[0.0], np.cumsum(gap * (z[:-1] + z[1:]) / 2.0)])

    def integral(x: FloatArray) -> FloatArray:
        k = np.clip(np.searchsorted(s, x, side="right") - 1, 0, n - 2)
        # between two runs (where rounding may put a window's edge) nothing accumulates
        dx = np.where(first[k + 1], 0.0, x - s[k])
        width = np.where(step[k] > 0, step[k], 1.0)
        slope = np.where(first[k + 1], 0.0, (z[k + 1] - z[k]) / width)
        return np.asarray(cumulative[k] + z[k] * dx + slope * dx * dx / 2.0)

    inner = half > 0
    out = z.copy()
    lo, hi = s[inner] - half[inner], s[inner] + half[inner]
    out[inner] = (integral(hi) - integral(lo)) / (2.0 * half[inner])
    return np.where(unknown, given, out)


def smooth_along_ways(
    z_m: FloatArray,
    ends: tuple[IntArray, IntArray],
    along_m: tuple[FloatArray, FloatArray],
    run: IntArray,
    include: BoolArray,
    *,
    window_m: float = SMOOTHING_WINDOW_M,
    node_xy_m: tuple[FloatArray, FloatArray] | None = None,
) -> FloatArray:
    """Smooth node heights along every way run of a network, junctions included.

    A run keeps its end heights (:func:`smooth_profile`), so a junction's own DEM noise
    would stay and tilt the pieces next to it. Each run end (junction or dead end) therefore
    first takes the height, at that node, of a plane fitted by least squares to the samples
    of every run that ends there, within ``window_m / 2`` of it (with ``node_xy_m``); where
    those samples lie on a line (a straight street, a dead end) the plane is undefined and
    each run's straight-line fit along its own profile is used, averaged over the runs. On
    a plane or a straight ramp both give the DEM's own height; then every run is smoothed
    between its new ends.

    Parameters
    ----------
    z_m
        Height of every node (DEM), metres.
    ends
        ``(tail, head)`` node of every piece.
    along_m
        Position of the tail and of the head along the piece's way run, metres.
    run
        Way run of every piece.
    include
        Pieces whose heights follow the ground (not bridges, tunnels, lifts or ferries).
    window_m
        Window length, metres.
    node_xy_m
        Node coordinates in metres (any local projection) for the junction planes;
        ``None`` uses the straight-line fits only.

    Returns
    -------
    numpy.ndarray
        Node heights; nodes on no included piece keep theirs.
    """
    tail, head = ends
    pick = np.flatnonzero(include)
    node = np.concatenate([tail[pick], head[pick]])
    along = np.concatenate([along_m[0][pick], along_m[1][pick]])
    runs = np.concatenate([run[pick], run[pick]])
    order = np.lexsort((np.round(along, 6), runs))
    node, along, runs = node[order], along[order], runs[order]
    keep = np.ones(node.shape[0], dtype=bool)
    keep[1:] = (runs[1:] != runs[:-1]) | (np.round(along[1:], 6) != np.round(along[:-1], 6))
    node, along, runs = node[keep], along[keep], runs[keep]
    n_nodes = z_m.shape[0]
    if node.shape[0] == 0:
        return z_m.copy()
    heights = z_m[node]
    fit, is_end = _end_fits(along, heights, runs, reach_m=window_m / 2.0)
    total = np.bincount(node[is_end], weights=fit[is_end], minlength=n_nodes)
    count = np.bincount(node[is_end], minlength=n_nodes)
    end_height = total / np.maximum(count, 1)
    if node_xy_m is not None:
        plane, ok = _junction_planes(node, along, heights, runs, node_xy_m, window_m / 2.0)
        end_height = np.where(ok, plane, end_height)
    heights = np.where(is_end, end_height[node], heights)
    smoothed = smooth_profile(along, heights, runs, window_m=window_m)
    total = np.bincount(node, weights=smoothed, minlength=n_nodes)
    count = np.bincount(node, minlength=n_nodes)
    return np.where(count > 0, total / np.maximum(count, 1), z_m)


def _run_bounds(runs: IntArray) -> tuple[BoolArray, BoolArray, IntArray]:
    """First and last sample of each run (masks) and each sample's run number from 0."""
    first = np.ones(runs.shape[0], dtype=bool)
    first[1:] = runs[1:] != runs[:-1]
    last = np.ones(runs.shape[0], dtype=bool)
    last[:-1] = first[1:]
    return first, last, np.cumsum(first) - 1


MIN_SPREAD_M = 5.0
"""Junction samples must spread at least this far (standard deviation) across their main
direction for a plane fit; otherwise they lie on a line and the line fits are used."""


def _junction_planes(
    node: IntArray,
    along: FloatArray,
    z: FloatArray,
    runs: IntArray,
    node_xy_m: tuple[FloatArray, FloatArray],
    reach_m: float,
) -> tuple[FloatArray, BoolArray]:
    """Height at each run-end node of a plane fitted to its runs' samples within reach."""
    n_nodes = node_xy_m[0].shape[0]
    first, last, group = _run_bounds(runs)
    start, stop = along[first][group], along[last][group]
    targets, members = [], []
    for end_node, near in ((node[first][group], along - start <= reach_m),
                           (node[last][group], stop - along <= reach_m)):  # fmt: skip
        targets.append(end_node[near])
        members.append(np.flatnonzero(near))
    target = np.concatenate(targets)
    member = np.concatenate(members)
    x, y = node_xy_m
    dx = x[node[member]] - x[target]
    dy = y[node[member]] - y[target]
    zz = z[member]

    def total(values: FloatArray) -> FloatArray:
        return np.bincount(target, weights=values, minlength=n_nodes).astype(np.float64)

    count = np.bincount(target, minlength=n_nodes).astype(np.float64)
    sx, sy, sz = total(dx), total(dy), total(zz)
    sxx, sxy, syy = total(dx * dx), total(dx * dy), total(dy * dy)
    sxz, syz = total(dx * zz), total(dy * zz)
    safe = np.maximum(count, 1.0)
    cxx, cxy, cyy = (
        sxx / safe - (sx / safe) ** 2,
        sxy / safe - sx * sy / safe**2,
        syy / safe - (sy / safe) ** 2,
    )
    smallest = (cxx + cyy) / 2.0 - np.sqrt(((cxx - cyy) / 2.0) ** 2 + cxy**2)
    ok = (count >= 3) & (smallest >= MIN_SPREAD_M**2)  # noqa: PLR2004 - a plane needs 3 points
    matrix = np.stack([np.stack([count, sx, sy], -1), np.stack([sx, sxx, sxy], -1),
                       np.stack([sy, sxy, syy], -1)], -2)[ok]  # fmt: skip
    rhs = np.stack([sz, sxz, syz], -1)[ok]
    plane = np.full(n_nodes, np.nan)
    if ok.any():
        plane[ok] = np.linalg.solve(matrix, rhs[..., None])[:, 0, 0]
    return plane, ok


def _end_fits(
    along: FloatArray, z: FloatArray, runs: IntArray, *, reach_m: float
) -> tuple[FloatArray, BoolArray]:
    """Height at each run end of a line fitted to the run's samples within ``reach_m``.

    Returns the fitted height for end samples (NaN elsewhere) and the end-sample mask.
    """
    first, last, group = _run_bounds(runs)
    start = along[first][group]
    stop = along[last][group]
    fit = np.full(along.shape[0], np.nan)
    for x, at_end, near in (
        (along - start, first, along - start <= reach_m),
        (stop - along, last, stop - along <= reach_m),
    ):
        g, xs, zs = group[near], x[near], z[near]
        k = int(group[-1]) + 1
        count = np.bincount(g, minlength=k).astype(np.float64)
        sx = np.bincount(g, weights=xs, minlength=k)
        sz = np.bincount(g, weights=zs, minlength=k)
        sxx = np.bincount(g, weights=xs * xs, minlength=k)
        sxz = np.bincount(g, weights=xs * zs, minlength=k)
        det = count * sxx - sx * sx
        flat = det <= 1e-9 * np.maximum(count * sxx, 1.0)
        intercept = np.where(
            flat, sz / np.maximum(count, 1.0), (sz * sxx - sx * sxz) / np.where(flat, 1.0, det)
        )
        both = at_end & np.isnan(fit)
        fit[both] = intercept[group[both]]
        again = at_end & ~both  # a one-sample run is its own start and end
        fit[again] = (fit[again] + intercept[group[again]]) / 2.0
    return fit, first | last


@dataclass(frozen=True, eq=False)
class CappedGrades:
    """Per-piece rise overrides after capping, and how many pieces were capped."""

    rise_m: FloatArray
    capped: int
    eligible: int
    capped_length_share: float = 0.0
    """Share of the eligible pieces' length that was capped."""

    @property
    def share(self) -> float:
        """Share of the eligible pieces that were capped."""
        return self.capped / self.eligible if self.eligible else 0.0


def cap_grades(
    rise_m: FloatArray,
    length_m: FloatArray,
    eligible: BoolArray,
    *,
    max_grade: float = MAX_WALK_GRADE,
) -> CappedGrades:
    """Cap ``|rise| / length`` at ``max_grade`` on eligible pieces, keeping the rise's sign.

    Examples
    --------
    >>> r = cap_grades(np.array([10.0, 2.0, -8.0]), np.array([20.0, 20.0, 10.0]),
    ...                np.array([True, True, True]), max_grade=0.3)
    >>> r.rise_m.tolist(), r.capped, round(r.share, 3)
    ([6.0, 2.0, -3.0], 2, 0.667)
    """
    limit = max_grade * length_m
    over = eligible & (np.abs(rise_m) > limit + 1e-9)
    out = np.where(over, np.sign(rise_m) * limit, rise_m)
    total_m = float(length_m[eligible].sum())
    length_share = float(length_m[over].sum()) / total_m if total_m > 0 else 0.0
    return CappedGrades(
        np.asarray(out, dtype=np.float64), int(over.sum()), int(eligible.sum()), length_share
    )
