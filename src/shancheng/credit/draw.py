"""The "double random, one public" draw (双随机、一公开): entities and inspectors at random.

Every entity of the plan's population is drawn independently with the probability its credit
tier gives (Poisson sampling: risk-weighted, the rates are data in ``rules.toml``); each drawn
entity gets ``team_size`` inspectors drawn without replacement from the pool, leaving out those
who inspected it last time. Everything comes from one seeded generator (numpy's PCG64), taken
in a fixed order (entities by code, inspectors by name), so the seed, the population with its
tiers, the rates and the pool, all published with the draw, let anyone redo it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from shancheng.errors import QueryError

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence


@dataclass(frozen=True, slots=True)
class Pick:
    """An entity drawn for inspection, with its probability and its inspectors."""

    code: str
    tier: str
    probability: float
    inspectors: tuple[str, ...]


def draw_inspections(
    population: Sequence[tuple[str, str]],
    inspectors: Sequence[str],
    *,
    rate_of: Callable[[str], float],
    seed: int,
    team_size: int = 2,
    previous: Mapping[str, frozenset[str]] | None = None,
) -> list[Pick]:
    """Draw entities by their tier's rate and a team of inspectors for each.

    Parameters
    ----------
    population
        ``(code, tier)`` of every entity the plan covers (taken in code order).
    inspectors
        The pool of inspectors' user names (taken in name order).
    rate_of
        Selection probability of a tier.
    seed
        The draw's seed (recorded and published).
    team_size
        Inspectors per entity (two: an inspection is made by at least two officers).
    previous
        For an entity, the inspectors of its last inspection, who are not drawn for it again.

    Returns
    -------
    list of Pick
        The drawn entities in code order.

    Raises
    ------
    QueryError
        Fewer inspectors than a team, once those of the last inspection are left out.

    Examples
    --------
    >>> picks = draw_inspections([("A1", "D"), ("B2", "A")], ["li", "wang", "zhao"],
    ...                          rate_of={"A": 0.0, "D": 1.0}.get, seed=7)
    >>> [p.code for p in picks], len(picks[0].inspectors)
    (['A1'], 2)
    """
    if team_size < 1:
        msg = f"`team_size` must be >= 1, got {team_size}"
        raise QueryError(msg, field="team_size")
    previous = previous or {}
    entities = sorted(population)
    pool = sorted(set(inspectors))
    rng = np.random.default_rng(seed)
    uniform = rng.random(len(entities))
    picks: list[Pick] = []
    for (code, tier), u in zip(entities, uniform, strict=True):
        probability = float(rate_of(tier))
        if not u < probability:
            continue
        excluded = previous.get(code, frozenset())
        eligible = [name for name in pool if name not in excluded]
        if len(eligible) < team_size:
            msg = (
                f"`inspectors`: entity {code} needs {team_size} inspectors other than "
                f"{', '.join(sorted(excluded)) or 'none'} (its last inspection), but the pool "
                f"has {len(eligible)}; add inspectors to the pool"
            )
            raise QueryError(msg, field="inspectors")
        chosen = rng.choice(len(eligible), size=team_size, replace=False)
        team = tuple(sorted(eligible[int(i)] for i in chosen))
        picks.append(Pick(code, tier, probability, team))
    return picks
