"""Time to the nearest facility of every category from any clicked point, answered at once.

One search per category on the walk network, run once, from every facility outward against the
arcs (``direction="to_sources"``: the reversed-network search of :mod:`shancheng.network.search`)
gives, for every node, the walking time *to* its nearest facility — uphill and downhill kept
apart. A clicked point is then snapped to its nearest street and leaves by either end of it:
the answer is the smaller of (walk to that end + that end's time), a lookup, not a search.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from shancheng.circles.accessibility import DEFAULT_NEAREST_CUTOFF_S
from shancheng.errors import InputError, SnapDistanceError
from shancheng.network.search import nearest_times
from shancheng.network.snap import SnapIndex, SnappedPoints, entry_seeds, snap_points

if TYPE_CHECKING:
    from shancheng.circles.standard import Catalogue
    from shancheng.network.walk import WalkNetwork
    from shancheng.types import FloatArray, IntArray


@dataclass(frozen=True, eq=False)
class PointAccess:
    """Nearest-facility times of every node, per category; build with :meth:`build`.

    Attributes
    ----------
    network
        The walk network searched (not reversed).
    categories
        Category ids (row ``c`` of the arrays).
    facilities
        ``facility_id, category, name`` of the facilities used (row = label).
    time_s
        ``(n_categories, n_nodes)`` walking time from each node to the nearest facility.
    source
        Same shape: row in ``facilities`` of that facility, or -1.
    cutoff_s
        The search stopped here; farther facilities give ``inf``.
    edge, fraction, access_s, group
        Where each facility meets the network (arc, position on it, access leg), and its
        category: a point on the same street reaches it directly, not via the street's ends.
    index
        The network's snapping index, built once.
    """

    network: WalkNetwork
    categories: tuple[str, ...]
    facilities: pd.DataFrame
    time_s: FloatArray
    source: IntArray
    cutoff_s: float
    edge: IntArray
    fraction: FloatArray
    access_s: FloatArray
    group: IntArray
    index: SnapIndex

    @classmethod
    def build(
        cls,
        network: WalkNetwork,
        facilities: pd.DataFrame,
        catalogue: Catalogue,
        *,
        cutoff_s: float = DEFAULT_NEAREST_CUTOFF_S,
        max_snap_m: float = 200.0,
    ) -> PointAccess:
        """Search once from every facility of the catalogue's categories.

        Parameters
        ----------
        network
            The walk network.
        facilities
            ``facility_id, category, x_utm, y_utm`` (``name`` optional).
        catalogue
            Whose categories are searched.
        cutoff_s
            How far each search looks, seconds.
        max_snap_m
            Facilities farther than this from every street are left out.
        """
        categories = catalogue.category_ids
        used = facilities[facilities["category"].isin(categories)].reset_index(drop=True)
        names = used["name"] if "name" in used.columns else pd.Series("", index=used.index)
        table = pd.DataFrame(
            {
                "facility_id": used["facility_id"].astype(str),
                "category": used["category"].astype(str),
                "name": names.fillna("").astype(str),
            }
        )
        index = SnapIndex.build(network)
        snap = snap_points(
            network, used["x_utm"].to_numpy(np.float64), used["y_utm"].to_numpy(np.float64),
            max_distance_m=max_snap_m, source="facilities", index=index,
        )  # fmt: skip
        node, offset, point = entry_seeds(network, snap, direction="to_points")
        group = pd.Index(categories).get_indexer(pd.Index(table["category"]))
        found = nearest_times(
            network, node, cutoff_s=cutoff_s, group=group[point], n_groups=len(categories),
            offsets_s=offset, labels=point,
        )  # fmt: skip
        edge = np.where(snap.snapped, snap.edge, -1).astype(np.int64)
        return cls(
            network, categories, table, found.time_s, found.source, float(cutoff_s), edge,
            snap.fraction, snap.access_time_s, group.astype(np.int64), index,
        )  # fmt: skip

    def at(self, x_utm: float, y_utm: float, *, max_snap_m: float = 200.0) -> pd.DataFrame:
        """Return the walking time from one point to the nearest facility of each category.

        Returns
        -------
        pandas.DataFrame
            ``category, walk_time_s`` (``inf`` beyond :attr:`cutoff_s`), ``facility_id,
            facility_name`` (empty when none is within reach), one row per category.

        Raises
        ------
        SnapDistanceError
            The point lies farther than ``max_snap_m`` from every street.
        """
        if not (np.isfinite(x_utm) and np.isfinite(y_utm)):
            msg = f"the point must have finite coordinates, got ({x_utm}, {y_utm})"
            raise InputError(msg)
        snap = snap_points(
            self.network, [x_utm], [y_utm], max_distance_m=max_snap_m, on_far="raise",
            source="clicked point", index=self.index,
        )  # fmt: skip
        if not bool(snap.snapped[0]):  # pragma: no cover - on_far="raise" raised already
            msg = f"the point ({x_utm:.0f}, {y_utm:.0f}) is not on the walk network"
            raise SnapDistanceError(msg)
        node, offset, _point = entry_seeds(self.network, snap, direction="from_points")
        total = offset[None, :] + self.time_s[:, node]
        best = np.argmin(total, axis=1)
        rows = np.arange(len(self.categories))
        time_s = total[rows, best]
        source = self.source[rows, node[best]]
        direct, facility = self._same_street(snap)
        closer = direct < time_s
        time_s = np.where(closer, direct, time_s)
        source = np.where(closer, facility, source)
        reach = np.isfinite(time_s) & (time_s <= self.cutoff_s) & (source >= 0)
        ids = self.facilities["facility_id"].to_numpy()
        names = self.facilities["name"].to_numpy()
        safe = np.maximum(source, 0)
        return pd.DataFrame(
            {
                "category": list(self.categories),
                "walk_time_s": np.where(reach, time_s, np.inf),
                "facility_id": np.where(reach, ids[safe], ""),
                "facility_name": np.where(reach, names[safe], ""),
            }
        )

    def _same_street(self, snap: SnappedPoints) -> tuple[FloatArray, IntArray]:
        """Time to facilities on the point's own street, walked along it (per category)."""
        net = self.network
        arc = int(snap.edge[0])
        twin = int(net.edge_twin[arc])
        t, access = float(snap.fraction[0]), float(snap.access_time_s[0])
        forward = float(net.edge_time_s[arc])
        back = float(net.edge_time_s[twin]) if twin >= 0 else np.inf
        best = np.full(len(self.categories), np.inf)
        facility = np.full(len(self.categories), -1, dtype=np.int64)
        on_arc = np.flatnonzero(self.edge == arc)
        on_twin = np.flatnonzero((self.edge == twin) & (twin >= 0))
        rows = np.concatenate([on_arc, on_twin])
        where = np.concatenate([self.fraction[on_arc], 1.0 - self.fraction[on_twin]])
        with np.errstate(invalid="ignore"):
            along = np.where(where >= t, (where - t) * forward, (t - where) * back)
        total = access + along + self.access_s[rows]
        for row, value in zip(rows.tolist(), total.tolist(), strict=True):
            group = int(self.group[row])
            if value < best[group]:
                best[group], facility[group] = value, row
        return best, facility
