"""Stair climbs from OSM tags where the DEM is too coarse to see them.

A 3-arc-second SRTM cell is about 90 m wide, so a flight of 100 steps between two streets
often looks almost flat to the DEM, and walking times then miss the climb. When a
``highway=steps`` way carries ``step_count`` (or a numeric ``incline``), its climb is known
from the tags, and this module uses it as a lower bound.

The rule, per ``highway=steps`` way (escalators excluded), over the part of the way inside
the study area:

1. Tagged rise ``R``: ``step_count x riser_m`` (scaled by the share of the way's length that
   is inside the area), ``|grade| x length`` for a numeric ``incline`` ("30%", "-10°"), and
   ``storeys x storey_m`` for a ``level`` tag spanning storeys ("-2;-3": one,
   :mod:`shancheng.data.levels`); the largest of them.
2. DEM rise ``D``: the height difference the DEM gives between the way's first and last node
   (sum over its pieces, in the way's direction).
3. If ``|D| >= R`` the DEM is kept unchanged (it already sees at least the tagged climb).
4. Otherwise the way climbs ``R`` in the direction given by ``incline=up/down`` or the sign of
   a numeric incline (both relative to the way's direction, as OSM defines them), or failing
   that by the sign of ``D``. With no direction at all (flat DEM, no incline) the way is left
   as the DEM has it and counted as undirected.
5. The climb is spread over the way's pieces in proportion to their length (a uniform grade),
   stored as a per-segment ``rise_m`` that overrides the node heights when timing them; the
   nodes themselves keep the DEM's heights, so the streets at either end are not tilted.

``riser_m`` defaults to :data:`RISER_M`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from shancheng.data.levels import STOREY_M, level_span
from shancheng.geo.crs import haversine_m
from shancheng.network.speed import EdgeKind

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from shancheng.data.osm_network import WalkPieces
    from shancheng.types import FloatArray


RISER_M = 0.16
"""Height of one step, metres. An ASSUMPTION, not a measurement: outdoor public stairs are
typically 0.15-0.17 m (Blondel's rule 2 x riser + tread ≈ 0.63 m with a 0.30-0.32 m tread gives
0.155-0.165 m; building codes cap risers near 0.18-0.19 m). Override per city via
``ImportOptions.riser_m`` / ``--riser-m``."""

MAX_STEP_COUNT = 10_000
"""Larger ``step_count`` values are taken as typing errors and ignored."""
_NUMBER = re.compile(r"^\s*([+-]?\d+(?:[.,]\d+)?)\s*(%|°|deg)\s*$")


def parse_incline(text: str | None) -> tuple[int, float]:
    """Direction and grade of an OSM ``incline`` value, relative to the way's direction.

    ``up``/``down`` give a direction and no grade; ``"30%"`` and ``"-10°"`` give both.
    Numbers without a unit are ambiguous (percent or degrees) and, like anything else, give
    ``(0, nan)``.

    Examples
    --------
    >>> parse_incline("up"), parse_incline("down"), parse_incline("yes")
    ((1, nan), (-1, nan), (0, nan))
    >>> parse_incline("30%"), parse_incline("-45°")[0], round(parse_incline("-45°")[1], 6)
    ((1, 0.3), -1, -1.0)
    >>> parse_incline("12")
    (0, nan)
    """
    if not text:
        return 0, math.nan
    word = text.strip().lower()
    if word in ("up", "down"):
        return (1 if word == "up" else -1), math.nan
    match = _NUMBER.match(word)
    if match is None:
        return 0, math.nan
    value = float(match.group(1).replace(",", "."))
    grade = value / 100.0 if match.group(2) == "%" else math.tan(math.radians(value))
    if not math.isfinite(grade) or abs(value) >= (1000 if match.group(2) == "%" else 90):
        return 0, math.nan
    return int(np.sign(grade)), grade


def parse_step_count(text: str | None) -> int:
    """``step_count`` as a positive integer; 0 when absent or unreadable ("12;14" → 0)."""
    try:
        count = int(str(text).strip())
    except ValueError:
        return 0
    return count if 0 < count < MAX_STEP_COUNT else 0


@dataclass(frozen=True, eq=False)
class StairRises:
    """Per-piece rise overrides and what the rule did."""

    rise_m: FloatArray
    """Rise tail → head of each piece in metres; NaN where the node heights stand."""
    raised_ways: int
    """Steps ways whose climb was raised to the tagged one."""
    kept_dem_ways: int
    """Tagged steps ways where the DEM already climbs at least as much."""
    undirected_ways: int
    """Tagged steps ways left alone because neither tags nor DEM give a direction."""


def stair_rises(
    pieces: WalkPieces,
    z_m: FloatArray,
    way_tags: Sequence[Mapping[str, str]],
    way_lonlat: Sequence[FloatArray],
    *,
    riser_m: float = RISER_M,
    storey_m: float = STOREY_M,
) -> StairRises:
    """Apply the module's rule to every tagged steps way; see the module docstring.

    Parameters
    ----------
    pieces
        The network pieces (steps pieces run tail → head along their way).
    z_m
        Node heights (DEM, or zeros without one).
    way_tags, way_lonlat
        Tags and full lon/lat of each way of the extract (for the inside share).
    riser_m
        Height of one step in metres.
    storey_m
        Height of one level in metres (a ``level=-2;-3`` flight climbs one).
    """
    rise = np.full(pieces.tail.shape[0], np.nan)
    steps = np.flatnonzero((pieces.kind == EdgeKind.STEPS) & (pieces.way_index >= 0))
    raised = kept = undirected = 0
    if steps.shape[0] == 0:
        return StairRises(rise, 0, 0, 0)
    ways, group = np.unique(pieces.way_index[steps], return_inverse=True)
    length = np.bincount(group, weights=pieces.length_m[steps])
    dem = np.bincount(group, weights=z_m[pieces.head[steps]] - z_m[pieces.tail[steps]])
    for k, w in enumerate(ways.tolist()):
        tags = way_tags[w]
        count = parse_step_count(tags.get("step_count"))
        sign, grade = parse_incline(tags.get("incline"))
        storeys = level_span(tags.get("level"))
        if count == 0 and not math.isfinite(grade) and storeys == 0:
            continue
        need = storeys * storey_m
        if count:
            lonlat = way_lonlat[w]
            full = float(np.sum(haversine_m(lonlat[:-1, 0], lonlat[:-1, 1], lonlat[1:, 0],
                                            lonlat[1:, 1])))  # fmt: skip
            inside = min(1.0, length[k] / full) if full > 0 else 1.0
            need = max(need, count * riser_m * inside)
        if math.isfinite(grade):
            need = max(need, abs(grade) * length[k])
        if abs(dem[k]) >= need:
            kept += 1
            continue
        direction = sign or int(np.sign(dem[k]))
        if direction == 0:
            undirected += 1
            continue
        mine = steps[group == k]
        share = (
            pieces.length_m[mine] / length[k]
            if length[k] > 0
            else np.full(mine.shape[0], 1.0 / mine.shape[0])
        )
        rise[mine] = direction * need * share
        raised += 1
    return StairRises(rise, raised, kept, undirected)
