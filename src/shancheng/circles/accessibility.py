"""For every residence and category: the walk to the nearest facility, and what lies within reach.

Residences and facilities are spliced into the slope-aware, directed walk network
(:mod:`shancheng.circles.attach`), so each access leg is walked as it is. Then, per category,
on the *reversed* graph (the time to walk *to* a facility, uphill staying uphill):

* one bounded search per facility counts facilities, and sums their capacity, within each of
  the 5/10/15-minute thresholds; the same searches give every node its nearest facility
  within 15 minutes;
* one multi-source search carries the nearest facility on from there to ``cutoff_s``.

Both are :func:`shancheng.network.search.reach`; nothing here searches per residence.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd

from shancheng.circles.attach import NOT_ATTACHED, AttachedNetwork, attach_points
from shancheng.circles.residences import check_residences, plain_value
from shancheng.errors import InputError, MissingColumnError
from shancheng.network.search import reach

if TYPE_CHECKING:
    from collections.abc import Callable

    from shancheng.circles.standard import Catalogue
    from shancheng.network.walk import WalkNetwork
    from shancheng.types import FloatArray, IntArray

logger = logging.getLogger(__name__)

THRESHOLDS_MIN = (5, 10, 15)
"""The living-circle thresholds at which facilities are counted, minutes."""
DEFAULT_NEAREST_CUTOFF_S = 3600.0
"""How far the nearest-facility search looks (an hour's walk); beyond it the time is inf."""


@dataclass(frozen=True, eq=False)
class Accessibility:
    """What every residence reaches on foot, per category.

    Attributes
    ----------
    residences
        The residences, as given (row ``i`` is residence ``i`` of every array).
    facilities
        The facilities of catalogue categories that were used (row ``j`` is facility ``j``).
    categories
        Category ids, in catalogue order (column ``c`` of every array).
    time_s
        ``(n_residences, n_categories)`` walking time to the nearest facility, seconds;
        ``inf`` beyond ``cutoff_s`` or when the residence could not be attached.
    nearest
        Same shape: row of the nearest facility in ``facilities``, or -1.
    thresholds_s
        The counting thresholds, seconds (300, 600, 900 by default).
    count, capacity
        ``(n_residences, n_categories, n_thresholds)``: facilities within each threshold
        and the sum of their capacity.
    attached
        Residences that lie within reach of the network.
    cutoff_s
        Cutoff of the nearest-facility search.
    graph
        The attached network (residences first, then facilities); ``None`` for a city
        evaluated district by district and stitched back (:mod:`shancheng.circles.split`),
        which has one network per district and none for the whole.
    residence_node, facility_node
        Node of each residence and facility in ``graph.network`` (-1 when not attached);
        without a ``graph``, only whether they are -1 tells anything.
    facility_group
        Category index of each facility.
    """

    residences: gpd.GeoDataFrame
    facilities: gpd.GeoDataFrame
    categories: tuple[str, ...]
    time_s: FloatArray
    nearest: IntArray
    thresholds_s: FloatArray
    count: npt.NDArray[np.int32]
    capacity: FloatArray
    attached: npt.NDArray[np.bool_]
    cutoff_s: float
    graph: AttachedNetwork | None
    residence_node: IntArray
    facility_node: IntArray
    facility_group: IntArray

    def attached_network(self) -> AttachedNetwork:
        """Return the attached network; refused for a stitched accessibility, which has none."""
        if self.graph is None:
            msg = (
                "this accessibility was stitched from districts evaluated apart and has no "
                "network for the whole city; evaluate the city whole (no `split`) for this"
            )
            raise InputError(msg)
        return self.graph

    def to_geodataframe(self) -> gpd.GeoDataFrame:
        """Return one row per residence: ids, units, and per category the results.

        Columns ``<category>_walk_min`` (nearest, minutes), ``<category>_nearest_id`` (facility id),
        ``<category>_count_<t>min`` and ``<category>_capacity_<t>min`` for each threshold.
        """
        columns: dict[str, object] = {}
        ids = self.facilities["facility_id"].astype(str).to_numpy()
        for c, category in enumerate(self.categories):
            columns[f"{category}_walk_min"] = self.time_s[:, c] / 60.0
            near = self.nearest[:, c]
            columns[f"{category}_nearest_id"] = np.where(near >= 0, ids[np.maximum(near, 0)], "")
            for k, threshold in enumerate(self.thresholds_s):
                minutes = f"{threshold / 60:g}min"
                columns[f"{category}_count_{minutes}"] = self.count[:, c, k]
                columns[f"{category}_capacity_{minutes}"] = self.capacity[:, c, k]
        table = pd.DataFrame(columns, index=self.residences.index)
        frame = pd.concat([self.residences, table], axis=1)
        frame["attached"] = self.attached
        return gpd.GeoDataFrame(frame, geometry="geometry", crs=self.residences.crs)


def compute_accessibility(
    network: WalkNetwork,
    residences: gpd.GeoDataFrame,
    facilities: gpd.GeoDataFrame,
    catalogue: Catalogue,
    *,
    thresholds_min: tuple[float, ...] = THRESHOLDS_MIN,
    cutoff_s: float = DEFAULT_NEAREST_CUTOFF_S,
    max_snap_m: float = 200.0,
    time_step_s: float | None = None,
    threads: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> Accessibility:
    """Nearest times and counts within 5/10/15 minutes for every residence and category.

    Parameters
    ----------
    network
        The slope-aware walk network (not reversed).
    residences
        Columns ``residence_id, x_utm, y_utm`` and the population columns the catalogue's age
        groups read; unit columns are carried along.
    facilities
        Columns ``facility_id, category, x_utm, y_utm`` and optionally ``capacity``
        (default 1 each). Facilities of categories the catalogue does not use are ignored.
    catalogue
        The living-circle catalogue.
    thresholds_min
        Thresholds at which facilities are counted, minutes.
    cutoff_s
        The nearest-facility search stops here; farther facilities give ``inf``.
    max_snap_m
        Residences and facilities farther than this from every edge are not attached.
    time_step_s
        Round arc times to this step and use the bucket-queue kernels (faster, exact for the
        rounded times); ``None`` keeps float times.
    threads
        Worker threads of the kernels.
    progress
        Called with the number of work units (a category, or part of a large one) finished.

    Returns
    -------
    Accessibility

    Raises
    ------
    InputError
        A facility without a category, or with a negative, infinite or unparseable capacity;
        a residence with a bad coordinate or head count. The message names the row and id.
        A facility whose capacity is simply not known (empty, as OpenStreetMap facilities
        usually are) counts as a facility but adds no capacity, with a warning.
    """
    check_residences(residences, catalogue.population_columns)
    categories = catalogue.category_ids
    used, group, capacity = _check_facilities(facilities, categories)
    n_res = len(residences)
    graph = attach_points(
        network,
        np.concatenate([residences["x_utm"].to_numpy(float), used["x_utm"].to_numpy(float)]),
        np.concatenate([residences["y_utm"].to_numpy(float), used["y_utm"].to_numpy(float)]),
        max_distance_m=max_snap_m,
        source="residences and facilities",
    )
    res_node, fac_node = graph.point_node[:n_res], graph.point_node[n_res:]
    _report_unattached(residences, res_node, "residences", "residence_id")
    _report_unattached(used, fac_node, "facilities", "facility_id")
    on_net = fac_node != NOT_ATTACHED
    rows = np.flatnonzero(on_net)
    n_cat = len(categories)
    thresholds_s = np.asarray(sorted(t * 60.0 for t in thresholds_min), dtype=np.float64)
    both = reach(
        graph.network,
        fac_node[rows],
        thresholds_s=thresholds_s,
        cutoff_s=cutoff_s,
        group=group[rows],
        n_groups=n_cat,
        capacity=capacity[rows],
        labels=rows,
        time_step_s=time_step_s,
        threads=threads,
        progress=progress,
    )
    attached = res_node != NOT_ATTACHED
    safe = np.maximum(res_node, 0)
    time_s = np.where(attached[:, None], both.nearest.time_s[:, safe].T, np.inf)
    nearest = np.where(attached[:, None], both.nearest.source[:, safe].T, -1)
    on = attached[:, None, None]
    count = np.where(on, both.within.count[:, safe].transpose(1, 0, 2), 0).astype(np.int32)
    amount = np.where(on, both.within.capacity[:, safe].transpose(1, 0, 2), 0.0)
    logger.info(
        "accessibility: %d residences (%d attached) x %d categories, %d facilities",
        n_res,
        int(attached.sum()),
        n_cat,
        len(used),
    )
    return Accessibility(
        residences=residences,
        facilities=used,
        categories=categories,
        time_s=time_s,
        nearest=nearest,
        thresholds_s=thresholds_s,
        count=count,
        capacity=amount,
        attached=attached,
        cutoff_s=float(cutoff_s),
        graph=graph,
        residence_node=res_node,
        facility_node=fac_node,
        facility_group=group,
    )


def _check_facilities(
    facilities: gpd.GeoDataFrame, categories: tuple[str, ...]
) -> tuple[gpd.GeoDataFrame, IntArray, FloatArray]:
    """Keep the facilities of catalogue categories; refuse ones without a category."""
    for column in ("facility_id", "category", "x_utm", "y_utm"):
        if column not in facilities.columns:
            msg = (
                f"facilities: required column `{column}` is missing "
                f"(found: {', '.join(map(str, facilities.columns))})"
            )
            raise MissingColumnError(msg)
    raw = facilities["category"]
    empty = raw.isna().to_numpy() | (raw.astype(str).str.strip() == "").to_numpy()
    if empty.any():
        row = int(np.flatnonzero(empty)[0])
        fid = plain_value(facilities["facility_id"].iloc[row])
        msg = (
            f"facilities row {row} (facility_id {fid!r}): "
            f"field `category` is empty ({int(empty.sum())} such rows); every facility needs "
            f"a category of the catalogue: {', '.join(categories)}"
        )
        raise InputError(msg)
    known = raw.isin(categories).to_numpy()
    if not known.all():
        ignored = sorted(set(raw[~known].astype(str)))
        logger.warning(
            "facilities: %d rows of categories not in the catalogue are ignored: %s",
            int((~known).sum()),
            ", ".join(ignored),
        )
    used = facilities[known].reset_index(drop=True)
    for column in ("x_utm", "y_utm"):
        _require_finite(used, column, allow_negative=True)
    if "capacity" in used.columns:
        used = _unknown_capacity_as_zero(used)
        capacity = _require_finite(used, "capacity", allow_negative=False)
    else:
        capacity = np.ones(len(used))
    order = {c: i for i, c in enumerate(categories)}
    group = np.array([order[c] for c in used["category"]], dtype=np.int64)
    return used, group, capacity


def _unknown_capacity_as_zero(used: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Count facilities of unknown capacity, but let them add none (said in a warning)."""
    unknown = used["capacity"].isna().to_numpy()
    if not unknown.any():
        return used
    per_category = used.loc[unknown, "category"].astype(str).value_counts().sort_index()
    logger.warning(
        "facilities: %d without a known capacity (%s) count as facilities but add no "
        "capacity, so capacity sums and 2SFCA undercount where they stand",
        int(unknown.sum()),
        ", ".join(f"{category} {n}" for category, n in per_category.items()),
    )
    fixed = used.copy()
    fixed["capacity"] = pd.to_numeric(fixed["capacity"], errors="coerce").where(~unknown, 0.0)
    return fixed


def _require_finite(frame: pd.DataFrame, column: str, *, allow_negative: bool) -> FloatArray:
    values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=np.float64)
    ok = np.isfinite(values) & (True if allow_negative else values >= 0)
    bad = np.flatnonzero(~ok)
    if bad.shape[0]:
        row = int(bad[0])
        rule = "a finite number" if allow_negative else "a finite number >= 0"
        msg = (
            f"facilities row {row} (facility_id {plain_value(frame['facility_id'].iloc[row])!r}): "
            f"field `{column}` must be {rule}, got {plain_value(frame[column].iloc[row])!r}"
        )
        raise InputError(msg)
    return values


def _report_unattached(frame: pd.DataFrame, nodes: IntArray, what: str, id_column: str) -> None:
    far = np.flatnonzero(nodes == NOT_ATTACHED)
    if far.shape[0]:
        ids = ", ".join(map(str, frame[id_column].iloc[far[:5]]))
        logger.warning(
            "%s: %d of %d are too far from the walk network and reach nothing (e.g. %s)",
            what,
            far.shape[0],
            nodes.shape[0],
            ids,
        )
