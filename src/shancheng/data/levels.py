"""Heights from OSM ``level`` tags where the DEM cannot see them: lifts and stairs.

A public lift from a street at ``level=-1`` to a footbridge at ``level=5`` stands on one spot
of the map, so a DEM gives all its landings one height (0.4 m apart, in a case seen on a
real extract). The walkways that reach a lift carry their ``level``; with at least two
different levels among a lift's landings, each ride landing → lift gets the rise
``(its level - the lowest level) x storey_m`` the other way round, so a ride between two
landings climbs ``Δlevel x storey_m`` — unless the DEM already gives the landings at least
half that height difference, in which case the DEM stands. Stairs use the span of their own
``level`` tag (``level=-2;-3``: one storey) as one more tagged climb
(:mod:`shancheng.data.stairs`).

``storey_m`` defaults to :data:`STOREY_M`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from shancheng.data.osm_network import WalkPieces
    from shancheng.types import FloatArray


STOREY_M = 3.0
"""Height of one level (storey), metres. An ASSUMPTION: floor-to-floor heights are about
3 m in housing and 3.5-4.5 m in stations and malls; override per city via
``ImportOptions.storey_m`` / ``--storey-m``."""
MAX_LEVEL = 200
"""Larger ``level`` values are taken as typing errors and ignored."""
_LEVEL = re.compile(r"^\s*-?\d+(?:\.\d+)?\s*$")


def parse_levels(text: str | None) -> tuple[float, ...]:
    """Return the levels of an OSM ``level`` value (``"0-2"`` a range); () if unreadable.

    Examples
    --------
    >>> parse_levels("5"), parse_levels("-2;-3"), parse_levels("0-2"), parse_levels("roof")
    ((5.0,), (-3.0, -2.0), (0.0, 1.0, 2.0), ())
    """
    if not text:
        return ()
    values: list[float] = []
    for part in str(text).split(";"):
        item = part.strip()
        span = re.fullmatch(r"(-?\d+)\s*-\s*(-?\d+)", item)
        if span is not None:
            low, high = sorted((int(span.group(1)), int(span.group(2))))
            values.extend(float(v) for v in range(low, high + 1))
        elif _LEVEL.match(item):
            values.append(float(item))
        else:
            return ()
    if not values or max(abs(v) for v in values) > MAX_LEVEL:
        return ()
    return tuple(sorted(set(values)))


def level_span(text: str | None) -> float:
    """Return the storeys a ``level`` value spans (``"-2;-3"`` → 1); 0 for one level or none."""
    levels = parse_levels(text)
    return levels[-1] - levels[0] if levels else 0.0


@dataclass(frozen=True, eq=False)
class LiftRises:
    """Per-piece rise overrides for lift rides, and what the rule did."""

    rise_m: FloatArray
    """Rise tail → head (landing → lift) of each ride; NaN elsewhere."""
    lifts_from_levels: int
    """Lifts whose climb comes from the landings' levels."""
    lifts_dem_kept: int
    """Lifts with levels where the DEM already gives at least half that climb."""


def lift_rises(
    pieces: WalkPieces,
    z_m: FloatArray,
    way_tags: Sequence[Mapping[str, str]],
    *,
    storey_m: float = STOREY_M,
) -> LiftRises:
    """Apply the module's rule to every lift; see the module docstring.

    Parameters
    ----------
    pieces
        The network pieces; a lift ride runs from a landing (tail) to the lift (head).
    z_m
        Node heights (DEM or flat).
    way_tags
        Tags of each way of the extract (``level`` of the walkways at the landings).
    storey_m
        Height of one level, metres.
    """
    rise = np.full(pieces.tail.shape[0], np.nan)
    rides = np.flatnonzero(pieces.way_index < 0)
    if rides.shape[0] == 0:
        return LiftRises(rise, 0, 0)
    walking = pieces.way_index >= 0
    way_at = np.full(pieces.n_nodes, -1, dtype=np.int64)
    way_at[pieces.tail[walking]] = pieces.way_index[walking]
    way_at[pieces.head[walking]] = pieces.way_index[walking]
    from_levels = kept = 0
    for hub in np.unique(pieces.head[rides]).tolist():
        mine = rides[pieces.head[rides] == hub]
        landing = pieces.tail[mine]
        levels = np.array([_one_level(way_tags, int(way_at[n])) for n in landing.tolist()])
        known = np.isfinite(levels)
        if known.sum() < 2 or np.ptp(levels[known]) == 0:  # noqa: PLR2004 - two landings
            continue
        need = float(np.ptp(levels[known])) * storey_m
        if float(np.ptp(z_m[landing[known]])) >= need / 2.0:
            kept += 1
            continue
        lowest = float(levels[known].min())
        rise[mine[known]] = (lowest - levels[known]) * storey_m
        from_levels += 1
    return LiftRises(rise, from_levels, kept)


def _one_level(way_tags: Sequence[Mapping[str, str]], way: int) -> float:
    """Return the single level of a way, NaN for none, several or no way."""
    if way < 0:
        return math.nan
    levels = parse_levels(way_tags[way].get("level"))
    return levels[0] if len(levels) == 1 else math.nan
