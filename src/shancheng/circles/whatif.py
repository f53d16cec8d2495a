"""What-if: add, remove or resize a facility and see the change in coverage per unit, at once.

A facility changes only what lies within its reach. :class:`WhatIf` keeps, for one
requirement, every residence's number of facilities within the threshold and its 2SFCA
capacity access (``A_i = Σ_j R_j f(t_ij)``, :mod:`shancheng.circles.capacity`), and for every
active facility the ball of residences around it. A change searches one ball — the bounded
search around the changed facility — and updates only the residences inside it:

* add ``j``: counts +1 inside the threshold; ``D_j = Σ_k P_k f(t_kj)``, ``R_j = S_j / D_j``,
  ``A_i += R_j f(t_ij)`` (other facilities' ``R`` do not change: their demand is the same);
* remove ``j``: the reverse, from the kept ball;
* resize ``j`` to ``S'``: ``A_i += (S' - S_j) / D_j · f(t_ij)``.

The result equals a full re-evaluation (tests check it) and costs one ball instead of the city.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.spatial import cKDTree

from shancheng.circles.balls import node_index
from shancheng.circles.capacity import decay_weight
from shancheng.circles.coverage import unit_codes
from shancheng.circles.plan_tables import PLAN_LEVELS
from shancheng.errors import InputError

if TYPE_CHECKING:
    from shancheng.circles.planning import SitingInstance
    from shancheng.circles.standard import Catalogue
    from shancheng.types import BoolArray, FloatArray, IntArray


@dataclass(eq=False)
class _Active:
    node: int
    capacity: float
    residences: IntArray
    time_s: FloatArray
    ratio: float = 0.0
    catchment_demand: float = 0.0


@dataclass(frozen=True, eq=False)
class Change:
    """What one edit changed.

    Attributes
    ----------
    facility
        Key of the facility added, removed or resized.
    newly_covered, no_longer_covered
        Residence rows that crossed the threshold either way.
    units
        Per unit touched: ``unit_level, unit_code, covered_change, adequate_change``
        (residents of the planned age group; adequate = covered and meeting the capacity norm).
    searched_nodes
        Nodes the bounded search visited (0 when the kept ball was reused).
    elapsed_s
        Wall time of the edit.
    """

    facility: str
    newly_covered: IntArray
    no_longer_covered: IntArray
    units: pd.DataFrame
    searched_nodes: int
    elapsed_s: float


@dataclass(eq=False)
class WhatIf:
    """Incremental coverage of one requirement under facility edits.

    Build with :meth:`from_instance`; then :meth:`add`, :meth:`remove`, :meth:`resize`.
    """

    instance: SitingInstance
    catalogue: Catalogue
    count: npt.NDArray[np.int32]
    access: FloatArray
    demand_people: FloatArray
    catchment_s: float
    norm_per_1000: float | None
    active: dict[str, _Active] = field(default_factory=dict)
    _index: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))
    _codes: dict[str, tuple[npt.NDArray[np.str_], IntArray]] = field(default_factory=dict)

    @classmethod
    def from_instance(
        cls,
        instance: SitingInstance,
        catalogue: Catalogue,
        facilities: pd.DataFrame,
        *,
        city_code: str = "city",
    ) -> WhatIf:
        """Start from the instance's existing facilities (one ball each).

        ``facilities`` are the facilities the instance was built with (their ``facility_id``
        and optional ``capacity``).
        """
        req = instance.requirement
        spec = catalogue.categories[req.category]
        group = catalogue.age_groups[spec.capacity_demand]
        people = instance.residences[list(group.columns)].to_numpy(np.float64).sum(axis=1)
        n_res = len(instance.residences)
        state = cls(
            instance=instance,
            catalogue=catalogue,
            count=np.zeros(n_res, np.int32),
            access=np.zeros(n_res),
            demand_people=people,
            catchment_s=catalogue.catchment_s(req.category),
            norm_per_1000=spec.capacity_per_1000,
        )
        state._index = node_index(instance.residence_node, instance.graph.network.n_nodes)
        for level in PLAN_LEVELS:
            codes = unit_codes(instance.residences, level, city_code)
            unique, inverse = np.unique(codes, return_inverse=True)
            state._codes[level] = (unique, inverse.astype(np.int64))
        existing = facilities[facilities["category"] == req.category].reset_index(drop=True)
        capacity = (
            existing["capacity"].to_numpy(np.float64)
            if "capacity" in existing.columns
            else np.ones(len(existing))
        )
        for f, node in enumerate(instance.facility_node.tolist()):
            if node >= 0:
                state.add_node(str(existing["facility_id"].iloc[f]), node, float(capacity[f]))
        return state

    @property
    def covered(self) -> BoolArray:
        """Residences within the threshold of an active facility."""
        return self.count > 0

    @property
    def per_1000(self) -> FloatArray:
        """2SFCA capacity within reach per 1,000 people of the demand group."""
        return 1000.0 * self.access

    @property
    def adequate(self) -> BoolArray:
        """Covered and meeting the capacity norm (just covered when there is no norm)."""
        if self.norm_per_1000 is None:
            return self.covered
        return self.covered & (self.per_1000 >= self.norm_per_1000 * (1.0 - 1e-9))

    def add_candidate(self, candidate_id: str, capacity: float = 1.0) -> Change:
        """Build a facility at one of the instance's candidate sites."""
        ids = self.instance.candidates["candidate_id"].astype(str).to_numpy()
        where = np.flatnonzero(ids == str(candidate_id))
        if where.shape[0] == 0:
            msg = f"what-if: no candidate site {candidate_id!r}"
            raise InputError(msg)
        node = int(self.instance.candidate_node[where[0]])
        if node < 0:
            msg = f"what-if: candidate {candidate_id!r} is not on the walk network"
            raise InputError(msg)
        return self.add_node(f"planned-{candidate_id}", node, capacity)

    def add_at(
        self,
        key: str,
        x_utm: float,
        y_utm: float,
        capacity: float = 1.0,
        *,
        max_distance_m: float = 200.0,
    ) -> Change:
        """Add a facility at a point: placed on the nearest street node (a slider's drop).

        Unlike a candidate, whose access leg is spliced in exactly, a dropped point moves to
        the nearest node of the base network (the error is at most its distance, reported in
        the log); within ``max_distance_m`` only.
        """
        tree = self.__dict__.get("_tree")
        net = self.instance.graph.network
        n_base = self.instance.graph.n_base_nodes
        if tree is None:
            tree = cKDTree(np.column_stack([net.node_x_utm[:n_base], net.node_y_utm[:n_base]]))
            self.__dict__["_tree"] = tree
        distance, node = tree.query([x_utm, y_utm])
        if not distance <= max_distance_m:
            msg = (
                f"what-if: facility {key!r} at ({x_utm:.1f}, {y_utm:.1f}) is {distance:.0f} m "
                f"from the nearest street node (limit {max_distance_m:g} m)"
            )
            raise InputError(msg)
        return self.add_node(key, int(node), capacity)

    def add_node(self, key: str, node: int, capacity: float = 1.0) -> Change:
        """Add a facility ``key`` at a node of the instance's network."""
        started = time.perf_counter()
        if key in self.active:
            msg = f"what-if: facility {key!r} is already there; remove it or resize it"
            raise InputError(msg)
        _check_capacity(key, capacity)
        radius = max(self.instance.threshold_s, self.catchment_s)
        ball = self.instance.searcher.ball(node, radius)
        rows = self._index[ball.nodes]
        inside = rows >= 0
        item = _Active(node, capacity, rows[inside], ball.time_s[inside])
        before = self._snapshot(item.residences)
        self.count[item.residences[item.time_s <= self.instance.threshold_s]] += 1
        weight = decay_weight(item.time_s, self.catchment_s, self.catalogue.decay)
        item.catchment_demand = float((weight * self.demand_people[item.residences]).sum())
        item.ratio = capacity / item.catchment_demand if item.catchment_demand > 0 else 0.0
        self.access[item.residences] += item.ratio * weight
        self.active[key] = item
        return self._change(key, item.residences, before, ball.nodes.shape[0], started)

    def remove(self, key: str) -> Change:
        """Remove facility ``key`` (existing or added); reuses its kept ball."""
        started = time.perf_counter()
        item = self._get(key)
        before = self._snapshot(item.residences)
        self.count[item.residences[item.time_s <= self.instance.threshold_s]] -= 1
        weight = decay_weight(item.time_s, self.catchment_s, self.catalogue.decay)
        self.access[item.residences] -= item.ratio * weight
        self.access[item.residences] = np.maximum(self.access[item.residences], 0.0)
        del self.active[key]
        return self._change(key, item.residences, before, 0, started)

    def resize(self, key: str, capacity: float) -> Change:
        """Give facility ``key`` a new capacity; coverage stays, capacity access changes."""
        started = time.perf_counter()
        item = self._get(key)
        _check_capacity(key, capacity)
        before = self._snapshot(item.residences)
        if item.catchment_demand > 0:
            weight = decay_weight(item.time_s, self.catchment_s, self.catalogue.decay)
            new_ratio = capacity / item.catchment_demand
            self.access[item.residences] += (new_ratio - item.ratio) * weight
            item.ratio = new_ratio
        item.capacity = capacity
        return self._change(key, item.residences, before, 0, started)

    def _get(self, key: str) -> _Active:
        item = self.active.get(key)
        if item is None:
            msg = f"what-if: no facility {key!r} (active: {len(self.active)})"
            raise InputError(msg)
        return item

    def _snapshot(self, rows: IntArray) -> tuple[BoolArray, BoolArray]:
        return self.covered[rows].copy(), self.adequate[rows].copy()

    def _change(
        self,
        key: str,
        rows: IntArray,
        before: tuple[BoolArray, BoolArray],
        searched: int,
        started: float,
    ) -> Change:
        covered, adequate = self.covered[rows], self.adequate[rows]
        d_cov = covered.astype(np.int8) - before[0].astype(np.int8)
        d_ade = adequate.astype(np.int8) - before[1].astype(np.int8)
        moved = d_cov != 0
        touched = moved | (d_ade != 0)
        weight = self.instance.weight[rows[touched]]
        frames = []
        for level, (unique, inverse) in self._codes.items():
            unit = inverse[rows[touched]]
            cov = np.bincount(unit, weights=weight * d_cov[touched], minlength=unique.shape[0])
            ade = np.bincount(unit, weights=weight * d_ade[touched], minlength=unique.shape[0])
            hit = np.flatnonzero((cov != 0) | (ade != 0))
            frames.append(pd.DataFrame({"unit_level": level, "unit_code": unique[hit],
                                        "covered_change": cov[hit],
                                        "adequate_change": ade[hit]}))  # fmt: skip
        return Change(
            facility=key,
            newly_covered=rows[d_cov > 0],
            no_longer_covered=rows[d_cov < 0],
            units=pd.concat(frames, ignore_index=True),
            searched_nodes=searched,
            elapsed_s=time.perf_counter() - started,
        )


def _check_capacity(key: str, capacity: float) -> None:
    if not (np.isfinite(capacity) and capacity >= 0):
        msg = f"what-if: facility {key!r}: capacity must be a finite number >= 0, got {capacity!r}"
        raise InputError(msg)
