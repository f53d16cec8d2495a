"""Per-district time limits per stage: data overrides of the taxonomy (FixMyStreet cobrands).

A district may give a category (or every category, ``*``) its own time limit for one stage;
the deadline computation asks :func:`stage_limit_s` instead of the taxonomy directly. The
most specific row wins: (district, category) over (district, ``*``) over the taxonomy.
No district is special-cased in code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

    from shancheng.cases.taxonomy import Category, StageName

ANY_CATEGORY = "*"


@dataclass(frozen=True, slots=True)
class StageLimit:
    """A district's own limit, in hours of the category's clock, for one stage."""

    district_code: str
    category: str
    stage: StageName
    limit_h: float


def stage_limit_s(
    category: Category, stage: StageName, district_code: str, limits: Sequence[StageLimit] = ()
) -> float:
    """Return the time limit of ``stage`` for ``category`` in district ``district_code``.

    Parameters
    ----------
    limits
        The overrides table; empty means the taxonomy's limits everywhere.

    Returns
    -------
    float
        Seconds of the category's clock (working or natural).

    Examples
    --------
    >>> from shancheng.cases.taxonomy import load_taxonomy
    >>> lamp = load_taxonomy().category("C0110")
    >>> stage_limit_s(lamp, "dispose", "990101") == lamp.limit_s("dispose")
    True
    >>> stage_limit_s(lamp, "dispose", "990101", [StageLimit("990101", "*", "dispose", 2.0)])
    7200.0
    """
    best: tuple[int, float] | None = None
    for row in limits:
        if row.district_code != district_code or row.stage != stage:
            continue
        if row.category == category.code:
            rank = 2
        elif row.category == ANY_CATEGORY:
            rank = 1
        else:
            continue
        if best is None or rank > best[0]:
            best = (rank, row.limit_h)
    return category.limit_s(stage) if best is None else best[1] * 3600.0
