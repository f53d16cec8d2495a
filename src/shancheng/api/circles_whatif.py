"""The what-if of the dashboard: add a facility at a clicked point, read the coverage change.

One :class:`~shancheng.circles.whatif.WhatIf` per requirement is built on first use (attach the
residences, one ball per existing facility) and kept; each request adds the facility, reads the
shares of the districts (and of the streets of the clicked point's district), and removes it
again, under a lock, so the kept state always equals the City as it is.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd

from shancheng.circles.coverage import unit_codes
from shancheng.circles.planning import prepare_siting
from shancheng.circles.whatif import WhatIf

if TYPE_CHECKING:
    from shancheng.circles.standard import Requirement
    from shancheng.indicators.citystate import CityState


@dataclass(eq=False)
class KeptWhatIf:
    """A what-if state and the lock that serialises edits on it."""

    state: WhatIf
    lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass(frozen=True, eq=False)
class WhatIfAnswer:
    """Shares before and after, per unit (``code, level, share_before, share_after``)."""

    newly_covered: float
    units: pd.DataFrame


def kept_whatif(city: CityState, requirement: Requirement) -> KeptWhatIf:
    """Return the requirement's what-if state, built once."""

    def build() -> KeptWhatIf:
        acc = city.evaluation.accessibility
        candidates = gpd.GeoDataFrame(
            {"candidate_id": pd.Series(dtype=str), "x_utm": pd.Series(dtype=float),
             "y_utm": pd.Series(dtype=float)},
            geometry=gpd.GeoSeries([], crs=acc.residences.crs),
        )  # fmt: skip
        instance = prepare_siting(
            city.city.network, acc.residences, city.city.facilities, city.catalogue,
            requirement.key, candidates,
        )  # fmt: skip
        return KeptWhatIf(
            WhatIf.from_instance(
                instance, city.catalogue, city.city.facilities, city_code=city.city_code
            )
        )

    kept: KeptWhatIf = city.cached(f"whatif:{requirement.key}", build)
    return kept


def add_facility(
    city: CityState,
    requirement: Requirement,
    x_utm: float,
    y_utm: float,
    *,
    capacity: float,
    district: str | None,
) -> WhatIfAnswer:
    """Coverage of districts (and of ``district``'s streets) before and after the facility."""
    kept = kept_whatif(city, requirement)
    with kept.lock:
        state = kept.state
        weight = state.instance.weight
        before = state.covered.copy()
        change = state.add_at("what-if", x_utm, y_utm, capacity)
        try:
            after = state.covered.copy()
        finally:
            state.remove("what-if")
    residences = state.instance.residences
    frames = []
    for level in ("district", "street"):
        codes = unit_codes(residences, level, city.city_code)
        keep = np.ones(codes.shape[0], dtype=bool)
        if level == "street":
            parents = unit_codes(residences, "district", city.city_code)
            keep = parents == (district or "")
        unique, inverse = np.unique(codes[keep], return_inverse=True)
        people = np.bincount(inverse, weights=weight[keep], minlength=unique.shape[0])
        was = np.bincount(inverse, weights=weight[keep] * before[keep], minlength=unique.shape[0])
        now = np.bincount(inverse, weights=weight[keep] * after[keep], minlength=unique.shape[0])
        with np.errstate(divide="ignore", invalid="ignore"):
            frames.append(
                pd.DataFrame(
                    {
                        "code": unique,
                        "level": level,
                        "share_before": np.where(people > 0, was / people, np.nan),
                        "share_after": np.where(people > 0, now / people, np.nan),
                    }
                )
            )
    units = pd.concat(frames, ignore_index=True)
    units = units[units["code"] != "unassigned"].reset_index(drop=True)
    return WhatIfAnswer(float(weight[change.newly_covered].sum()), units)
