"""School zones: catchments, pupils' crossings of carriageways, and the cars at each gate.

For every primary and middle school the pupils of its age group living in its catchment (the
homes whose nearest school of that level, by slope-aware walking time, it is) walk their
quickest route to it (:mod:`shancheng.mobility.routes`). Where a route passes a junction the
carriageways on the walked side are crossed (:mod:`shancheng.mobility.crossings`); each such
crossing is recorded with the road's class, the control mapped there and whether the approach
is steep. Pupils living beyond the walking limit are likely driven; with the shares of
``assumptions.toml`` this gives the cars arriving at the gate in the peak quarter hour and
the kerb they need, against the kerb near the gate.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from shancheng.errors import InputError, MissingColumnError
from shancheng.mobility.crossings import (
    PROTECTED,
    build_legs,
    crossed_legs,
    junction_controls,
)
from shancheng.mobility.drive import CARRIAGEWAY_CLASSES, MAIN_ROAD_CLASSES, carriageway_mask
from shancheng.mobility.routes import routes_to_schools

if TYPE_CHECKING:
    from collections.abc import Mapping

    from shancheng.data.city import City
    from shancheng.mobility.crossings import Legs
    from shancheng.mobility.routes import RouteTree
    from shancheng.types import FloatArray, IntArray

CROSSING_COLUMNS = ("facility_id", "walk_node_id", "segment_id", "road_class", "control",
                    "steep", "pupils")  # fmt: skip
"""Columns of :attr:`SchoolZones.crossings`: one row per crossing of a carriageway leg."""


@dataclass(frozen=True, eq=False)
class SchoolZones:
    """Per-school measures and the crossings of their pupils.

    Attributes
    ----------
    schools
        One row per school: ``facility_id, category, name, walk_node_id, x_utm, y_utm,
        pupils, pupils_unreached, pupils_beyond, share_beyond, cars_peak_15min, kerb_m,
        kerb_needed_m, kerb_pressure, unprotected_main, steep_unprotected_main,
        unprotected_minor, protected_main``.
    crossings
        :data:`CROSSING_COLUMNS`, pupils summed per school, junction and crossed segment.
    """

    schools: pd.DataFrame
    crossings: pd.DataFrame


def school_zones(
    city: City,
    assumptions: Mapping[str, Any],
    *,
    enrolment: Mapping[str, float] | None = None,
    extra_controls: Mapping[int, str] | None = None,
    pickup_kerb_m: Mapping[str, float] | None = None,
) -> SchoolZones:
    """Compute every school's zone measures on ``city``.

    Parameters
    ----------
    city
        A format-2 City (walk segments with ``road_class``).
    assumptions
        The parsed ``assumptions.toml`` (``schools``, ``gate``, ``crossings``).
    enrolment
        Agency enrolment by ``facility_id``; a school listed there has its catchment's
        pupils scaled to it, the others keep the catchment count.
    extra_controls
        What-if: walk node → ``'marked'`` or ``'signals'`` added there.
    pickup_kerb_m
        What-if: ``facility_id`` → kerb metres of a pick-up zone added at the gate.
    """
    nodes, segments = city.walk_nodes, city.walk_segments
    cross = assumptions["crossings"]
    controls = junction_controls(_with_controls(nodes, extra_controls), search_m=cross["search_m"])
    legs = build_legs(nodes, segments)
    grade = _segment_grade(nodes, segments)
    tree_xy = nodes[["x_utm", "y_utm"]].to_numpy(np.float64)
    on_network = np.zeros(len(nodes), dtype=bool)
    on_network[city.network.edge_tail] = True
    snap_ids = np.flatnonzero(on_network)
    kd = cKDTree(tree_xy[snap_ids])
    rows, events = [], []
    for category, spec in assumptions["schools"].items():
        schools = city.facilities[city.facilities["category"] == category].reset_index(drop=True)
        if not len(schools):
            continue
        group = spec["age_group"]
        if group not in city.buildings.columns:
            msg = (
                f"buildings: column `{group}` (assumptions schools.{category}.age_group) is missing"
            )
            raise MissingColumnError(msg)
        school_xy = schools[["x_utm", "y_utm"]].to_numpy(np.float64)
        _, s_near = kd.query(school_xy)
        school_nodes = snap_ids[s_near]
        tree = routes_to_schools(city.network, school_nodes)
        home_d, h_near = kd.query(city.buildings[["x_utm", "y_utm"]].to_numpy(np.float64))
        pupils = city.buildings[group].to_numpy(np.float64) * (home_d <= cross["snap_max_m"])
        at_node = np.bincount(snap_ids[h_near], weights=pupils, minlength=len(nodes)).astype(
            np.float64
        )
        factor = _enrolment_factor(schools, tree, at_node, enrolment)
        flow = tree.flows(at_node)
        events += _crossing_events(tree, flow, legs, controls, grade, factor, schools, cross)
        rows.append(_school_rows(schools, school_nodes, tree, at_node, factor, spec))
    if not rows:
        msg = (
            f"{city.name}: facilities: no school of the categories "
            f"{', '.join(assumptions['schools'])} (assumptions `schools`): there are no school "
            "zones to analyse"
        )
        raise InputError(msg)
    table = pd.concat(rows, ignore_index=True)
    events_frame = pd.DataFrame(events, columns=list(CROSSING_COLUMNS))
    crossings = pd.DataFrame(
        events_frame.groupby(list(CROSSING_COLUMNS[:-1]), as_index=False)["pupils"].sum()
    )
    table = _gate_cars(table, city, assumptions["gate"], pickup_kerb_m or {})
    return SchoolZones(_crossing_totals(table, crossings), crossings)


def _with_controls(nodes: pd.DataFrame, extra: Mapping[int, str] | None) -> pd.DataFrame:
    if not extra:
        return nodes
    out = nodes[["x_utm", "y_utm"]].copy()
    current = nodes["crossing"] if "crossing" in nodes.columns else pd.Series("", index=nodes.index)
    crossing = current.fillna("").astype(str).to_numpy().copy()
    for node, control in extra.items():
        if not 0 <= int(node) < len(nodes):
            msg = f"what-if: walk node {node} does not exist (0..{len(nodes) - 1})"
            raise InputError(msg)
        crossing[int(node)] = control
    out["crossing"] = crossing
    if "traffic_signals" in nodes.columns:
        out["traffic_signals"] = nodes["traffic_signals"].to_numpy(bool)
    return out


def _segment_grade(nodes: pd.DataFrame, segments: pd.DataFrame) -> FloatArray:
    z = nodes["z_m"].to_numpy(np.float64)
    tail, head = segments["tail"].to_numpy(np.int64), segments["head"].to_numpy(np.int64)
    length = np.maximum(segments["length_m"].to_numpy(np.float64), 1.0)
    return np.asarray(np.abs(z[head] - z[tail]) / length, dtype=np.float64)


def _enrolment_factor(
    schools: pd.DataFrame,
    tree: RouteTree,
    at_node: FloatArray,
    enrolment: Mapping[str, float] | None,
) -> FloatArray:
    """Scale of each school's pupils: agency enrolment over catchment pupils (1 if unlisted)."""
    factor = np.ones(len(schools))
    if not enrolment:
        return factor
    reached = tree.school >= 0
    catchment = np.bincount(tree.school[reached], weights=at_node[reached], minlength=len(schools))
    for k, fid in enumerate(schools["facility_id"]):
        if fid in enrolment and catchment[k] > 0:
            factor[k] = float(enrolment[fid]) / catchment[k]
    return factor


def _crossing_events(
    tree: RouteTree,
    flow: FloatArray,
    legs: Legs,
    controls: list[str],
    grade: FloatArray,
    factor: FloatArray,
    schools: pd.DataFrame,
    cross: Mapping[str, Any],
) -> list[tuple[object, ...]]:
    """One tuple per (school, junction, crossed leg) for every route step through a junction."""
    nxt = tree.next_node
    events: list[tuple[object, ...]] = []
    for u in np.flatnonzero((flow > 0) & (nxt >= 0)):
        p = int(nxt[u])
        if nxt[p] < 0:
            continue  # arriving at the school
        s_in, s_out = int(tree.next_segment[u]), int(tree.next_segment[p])
        crossed = crossed_legs(legs, p, legs.leg_of(p, s_in), legs.leg_of(p, s_out))
        if not crossed:
            continue
        school = int(tree.school[p])
        for a in crossed:
            seg = int(legs.segment[a])
            steep = max(grade[s_in], grade[s_out], grade[seg]) >= cross["steep_grade"]
            events.append((schools["facility_id"].iloc[school], p, seg,
                           CARRIAGEWAY_CLASSES[int(legs.rank[a])], controls[p], bool(steep),
                           float(flow[u] * factor[school])))  # fmt: skip
    return events


def _school_rows(
    schools: pd.DataFrame,
    school_nodes: IntArray,
    tree: RouteTree,
    at_node: FloatArray,
    factor: FloatArray,
    spec: Mapping[str, Any],
) -> pd.DataFrame:
    reached = tree.school >= 0
    n = len(schools)
    pupils = np.bincount(tree.school[reached], weights=at_node[reached], minlength=n)
    far = reached & (tree.time_s > float(spec["walk_limit_s"]))
    beyond = np.bincount(tree.school[far], weights=at_node[far], minlength=n)
    frame = schools[["facility_id", "category", "name", "x_utm", "y_utm"]].copy()
    frame["walk_node_id"] = school_nodes
    frame["pupils"] = np.round(pupils * factor, 1)
    frame["pupils_unreached"] = float(at_node[~reached].sum()) if n else 0.0
    frame["pupils_beyond"] = np.round(beyond * factor, 1)
    frame["share_beyond"] = np.round(np.divide(beyond, pupils, out=np.zeros(n),
                                               where=pupils > 0), 4)  # fmt: skip
    frame["walk_limit_s"] = float(spec["walk_limit_s"])
    return frame


def _gate_cars(
    table: pd.DataFrame, city: City, gate: Mapping[str, Any], pickup: Mapping[str, float]
) -> pd.DataFrame:
    """Cars at the gate in the peak quarter hour, the kerb they need and the kerb there is."""
    if not len(table):
        return table
    within = table["pupils"] - table["pupils_beyond"]
    driven = (
        within * gate["driven_share_within"] + table["pupils_beyond"] * gate["driven_share_beyond"]
    )
    cars = driven / gate["pupils_per_car"] * gate["peak_quarter_share"]
    segs = city.walk_segments
    road = carriageway_mask(segs) & ~segs["road_class"].isin(gate["no_stopping_classes"]).to_numpy()
    nodes = city.walk_nodes
    x, y = nodes["x_utm"].to_numpy(np.float64), nodes["y_utm"].to_numpy(np.float64)
    tail, head = segs["tail"].to_numpy(np.int64)[road], segs["head"].to_numpy(np.int64)[road]
    mid = np.column_stack([(x[tail] + x[head]) / 2, (y[tail] + y[head]) / 2])
    length = segs["length_m"].to_numpy(np.float64)[road]
    near = cKDTree(mid).query_ball_point(table[["x_utm", "y_utm"]].to_numpy(np.float64),
                                         r=float(gate["gate_radius_m"]))  # fmt: skip
    kerb = np.array([length[k].sum() for k in near]) * 2 * gate["kerb_usable_share"]
    kerb = kerb + table["facility_id"].map(lambda f: float(pickup.get(f, 0.0))).to_numpy()
    needed = cars / 900.0 * gate["dwell_s"] * gate["kerb_m_per_car"]
    out = table.copy()
    out["cars_peak_15min"] = np.round(cars, 1)
    out["kerb_m"] = np.round(kerb, 1)
    out["kerb_needed_m"] = np.round(needed, 1)
    out["kerb_pressure"] = np.round(needed / np.maximum(kerb, 1.0), 3)
    return out


def _crossing_totals(table: pd.DataFrame, crossings: pd.DataFrame) -> pd.DataFrame:
    """Add each school's pupil-crossings by kind (main/minor, protected or not, steep)."""
    if not len(table):
        return table
    main = crossings["road_class"].isin(MAIN_ROAD_CLASSES)
    protected = crossings["control"].isin(PROTECTED)
    kinds = {
        "unprotected_main": main & ~protected,
        "steep_unprotected_main": main & ~protected & crossings["steep"],
        "unprotected_minor": ~main & ~protected,
        "protected_main": main & protected,
    }
    out = table.copy()
    for name, mask in kinds.items():
        per = crossings[mask].groupby("facility_id")["pupils"].sum()
        out[name] = np.round(out["facility_id"].map(per).fillna(0.0).to_numpy(), 1)
    return out
