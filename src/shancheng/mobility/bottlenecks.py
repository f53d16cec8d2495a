"""Candidate projects: school gates and major junctions scored and ranked, with reasons.

Each candidate gets components (school gates: pupils crossing main roads with no crossing or
signal, on a steep approach or not, unmarked minor crossings, kerb pressure at the peak,
traffic reports, pupils; junctions: through movement, pupils crossing unprotected, reports,
pupils). Each component is divided by its largest value over the candidates of that kind, so
it lies in [0, 1]; the score is the weighted sum with the weights of ``assumptions.toml``
(normalised to sum to 1). Every component is kept in the table, and the reason names the
largest contributions in words. A what-if (a crossing or signal added at a junction, a
pick-up zone at a gate) reruns the analysis and shows each candidate's rank before and after.
"""

from __future__ import annotations

import logging
import time
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from shancheng.errors import ConfigError
from shancheng.mobility.centrality import scale_column, through_movement
from shancheng.mobility.crossings import PROTECTED, build_legs, junction_controls
from shancheng.mobility.drive import CARRIAGEWAY_CLASSES, build_drive_network
from shancheng.mobility.evidence import report_counts
from shancheng.mobility.schools import school_zones

if TYPE_CHECKING:
    from collections.abc import Mapping

    from shancheng.data.city import City
    from shancheng.mobility.centrality import Betweenness
    from shancheng.mobility.crossings import Legs
    from shancheng.mobility.schools import SchoolZones

logger = logging.getLogger(__name__)

CANDIDATE_COLUMNS = ("rank", "candidate_id", "kind", "name", "score", "reason", "pupils",
                     "residents", "x_utm", "y_utm", "lon", "lat")  # fmt: skip
"""Leading columns of the ranked table; the weighted components follow as ``c_<name>``."""


@dataclass(frozen=True, slots=True)
class WhatIf:
    """Changes to try: controls added at walk nodes, pick-up kerb added at gates."""

    crossings: tuple[int, ...] = ()
    signals: tuple[int, ...] = ()
    pickup_zones: dict[str, float] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        """Whether nothing changes."""
        return not (self.crossings or self.signals or self.pickup_zones)


@dataclass(frozen=True, eq=False)
class Bottlenecks:
    """The analysis: ranked candidates, per-junction and per-piece measures, the zones."""

    candidates: pd.DataFrame
    junctions: pd.DataFrame
    pieces: pd.DataFrame
    zones: SchoolZones
    reports: pd.DataFrame
    betweenness: Betweenness
    assumptions: dict[str, Any]


def load_assumptions(path: str | Path | None = None) -> dict[str, Any]:
    """Read the assumptions and weights (the packaged ``assumptions.toml`` by default)."""
    if path is None:
        text = resources.files("shancheng.mobility").joinpath("assumptions.toml").read_text("utf-8")
        source = "shancheng/mobility/assumptions.toml"
    else:
        source = str(path)
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            msg = f"{source}: cannot read the assumptions file ({exc})"
            raise ConfigError(msg) from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        msg = f"{source}: not valid TOML ({exc})"
        raise ConfigError(msg) from exc
    for table in ("schools", "gate", "crossings", "junctions", "evidence", "affected", "weights"):
        if table not in data:
            msg = f"{source}: table [{table}] is missing"
            raise ConfigError(msg)
    for kind in ("gate", "junction"):
        weights = data["weights"].get(kind, {})
        bad = {k: v for k, v in weights.items() if not isinstance(v, int | float) or v < 0}
        if not weights or bad:
            msg = f"{source}: [weights.{kind}] must give non-negative numbers, got {weights!r}"
            raise ConfigError(msg)
    return data


@dataclass(frozen=True, eq=False)
class BottleneckBase:
    """The part of the analysis that reports do not change: school zones and through movement.

    Built once per City (and what-if); :func:`rank_bottlenecks` adds the reports and ranks,
    which takes a fraction of the time, so a server re-ranks on every new report.
    """

    zones: SchoolZones
    junctions: pd.DataFrame
    pieces: pd.DataFrame
    betweenness: Betweenness
    places: pd.DataFrame
    """Every candidate's ``candidate_id, x_utm, y_utm`` (where reports are counted)."""
    assumptions: dict[str, Any]


def prepare_bottlenecks(
    city: City,
    *,
    assumptions: Mapping[str, Any] | None = None,
    enrolment: Mapping[str, float] | None = None,
    what_if: WhatIf | None = None,
) -> BottleneckBase:
    """Compute the school zones, the drive network's through movement and the junctions.

    Parameters are those of :func:`analyse_bottlenecks`.

    Raises
    ------
    InputError
        The City cannot be analysed (no schools, no road classes), with the reason.
    """
    a = dict(assumptions or load_assumptions())
    change = what_if or WhatIf()
    extra = {
        **dict.fromkeys(change.crossings, "marked"),
        **dict.fromkeys(change.signals, "signals"),
    }
    zones = school_zones(city, a, enrolment=enrolment, extra_controls=extra,
                         pickup_kerb_m=change.pickup_zones)  # fmt: skip
    jn = a["junctions"]
    drive = build_drive_network(city.walk_nodes, city.walk_segments,
                                turn_restrictions=city_turn_restrictions(city))  # fmt: skip
    per_node, pieces, between = through_movement(drive, samples=jn["samples"], seed=jn["seed"])
    junctions = _junction_table(city, per_node, zones, a, extra)
    places = pd.concat([
        pd.DataFrame({"candidate_id": "gate:" + zones.schools["facility_id"],
                      "x_utm": zones.schools["x_utm"], "y_utm": zones.schools["y_utm"]}),
        pd.DataFrame({"candidate_id": "junction:" + junctions["walk_node_id"].astype(str),
                      "x_utm": junctions["x_utm"], "y_utm": junctions["y_utm"]}),
    ], ignore_index=True)  # fmt: skip
    return BottleneckBase(zones, junctions, pieces, between, places, a)


def rank_bottlenecks(
    city: City, base: BottleneckBase, *, reports: pd.DataFrame | None = None
) -> Bottlenecks:
    """Count the reports near each candidate and rank the candidates (see the module)."""
    a = base.assumptions
    counts = report_counts(base.places, reports, a["evidence"])
    candidates = _rank(city, base.zones, base.junctions, counts, a, a["junctions"])
    return Bottlenecks(candidates, base.junctions, base.pieces, base.zones, counts,
                       base.betweenness, a)  # fmt: skip


def analyse_bottlenecks(
    city: City,
    *,
    reports: pd.DataFrame | None = None,
    assumptions: Mapping[str, Any] | None = None,
    enrolment: Mapping[str, float] | None = None,
    what_if: WhatIf | None = None,
) -> Bottlenecks:
    """Rank the school gates and major junctions of ``city`` as candidate projects.

    Parameters
    ----------
    city
        A format-2 City.
    reports
        Traffic reports (:data:`~shancheng.mobility.evidence.REPORT_COLUMNS`), or ``None``.
    assumptions
        Parsed assumptions and weights; :func:`load_assumptions` () by default.
    enrolment
        Agency enrolment by school ``facility_id`` (else pupils of the catchment).
    what_if
        Crossings, signals or pick-up zones to add before scoring.

    Returns
    -------
    Bottlenecks
        ``candidates`` ranked (:data:`CANDIDATE_COLUMNS` then ``c_<component>`` columns).
    """
    started = time.perf_counter()
    base = prepare_bottlenecks(city, assumptions=assumptions, enrolment=enrolment,
                               what_if=what_if)  # fmt: skip
    result = rank_bottlenecks(city, base, reports=reports)
    logger.info("ranked %d candidates in %.1f s", len(result.candidates),
                time.perf_counter() - started)  # fmt: skip
    return result


def city_turn_restrictions(city: City) -> pd.DataFrame | None:
    """Return the City's turn restrictions, if it has them (optional layer)."""
    frame = getattr(city, "turn_restrictions", None)
    return frame if isinstance(frame, pd.DataFrame) else None


def _junction_table(
    city: City,
    per_node: pd.DataFrame,
    zones: SchoolZones,
    a: Mapping[str, Any],
    extra: Mapping[int, str],
) -> pd.DataFrame:
    """Major junctions: legs, top class, control, through movement and pupils crossing."""
    jn = a["junctions"]
    nodes = city.walk_nodes
    legs = build_legs(nodes, city.walk_segments)
    counts = np.diff(legs.start)
    node_of_leg = np.repeat(np.arange(len(nodes)), counts)
    road = legs.rank < len(CARRIAGEWAY_CLASSES)
    road_legs = np.bincount(node_of_leg[road], minlength=len(nodes))
    top = np.full(len(nodes), len(CARRIAGEWAY_CLASSES))
    np.minimum.at(top, node_of_leg[road], legs.rank[road])
    major_ranks = [CARRIAGEWAY_CLASSES.index(c) for c in jn["major_classes"]]
    major = np.flatnonzero((road_legs >= jn["min_legs"]) & np.isin(top, major_ranks))
    controls = np.asarray(junction_controls(_controls_frame(nodes, extra),
                                            search_m=a["crossings"]["search_m"]))  # fmt: skip
    column = scale_column(float(jn["scale_m"]))
    through = per_node.set_index("walk_node_id")[column]
    c = zones.crossings
    unprotected = c[~c["control"].isin(PROTECTED)].groupby("walk_node_id")["pupils"].sum()
    crossing_all = c.groupby("walk_node_id")["pupils"].sum()
    names = _junction_names(city, legs, major)
    return pd.DataFrame({
        "walk_node_id": major,
        "name": names,
        "legs": road_legs[major],
        "top_class": [CARRIAGEWAY_CLASSES[k] for k in top[major]],
        "control": controls[major],
        "through_movement": through.reindex(major).fillna(0.0).to_numpy(),
        "pupils_crossing": crossing_all.reindex(major).fillna(0.0).to_numpy(),
        "pupils_unprotected": unprotected.reindex(major).fillna(0.0).to_numpy(),
        "x_utm": nodes["x_utm"].to_numpy()[major],
        "y_utm": nodes["y_utm"].to_numpy()[major],
    })  # fmt: skip


def _controls_frame(nodes: pd.DataFrame, extra: Mapping[int, str]) -> pd.DataFrame:
    if not extra:
        return nodes
    out = nodes.copy()
    if "crossing" not in out.columns:
        out["crossing"] = ""
    for node, control in extra.items():
        out.loc[out.index[int(node)], "crossing"] = control
    return out


def _junction_names(city: City, legs: Legs, major: np.ndarray[Any, Any]) -> list[str]:
    """Names of the two most important named roads meeting there (``A x B``)."""
    segs = city.walk_segments
    zh = segs["name"].fillna("").astype(str).to_numpy() if "name" in segs.columns else None
    out = []
    for v in major:
        lo, hi = legs.start[v], legs.start[v + 1]
        names: list[str] = []
        for k in np.argsort(legs.rank[lo:hi], kind="stable"):
            name = "" if zh is None else zh[legs.segment[lo + k]]
            if name and name not in names:
                names.append(name)
        out.append(" \u00d7 ".join(names[:2]) or f"junction {v}")
    return out


def _norm(values: pd.Series) -> pd.Series:
    top = float(values.max()) if len(values) else 0.0
    return values / top if top > 0 else values * 0.0


def _rank(
    city: City,
    zones: SchoolZones,
    junctions: pd.DataFrame,
    counts: pd.DataFrame,
    a: Mapping[str, Any],
    jn: Mapping[str, Any],
) -> pd.DataFrame:
    per_place = counts.groupby("candidate_id")["reports"].sum()
    s = zones.schools
    gates = pd.DataFrame({
        "candidate_id": "gate:" + s["facility_id"], "kind": "school_gate", "name": s["name"],
        "pupils": s["pupils"], "x_utm": s["x_utm"], "y_utm": s["y_utm"],
        "steep_unprotected_main": s["steep_unprotected_main"],
        "unprotected_main": s["unprotected_main"], "unprotected_minor": s["unprotected_minor"],
        "kerb_pressure": s["kerb_pressure"], "cars_peak_15min": s["cars_peak_15min"],
        "kerb_m": s["kerb_m"], "kerb_needed_m": s["kerb_needed_m"],
    })  # fmt: skip
    gates["reports"] = gates["candidate_id"].map(per_place).fillna(0).to_numpy()
    juncs = pd.DataFrame({
        "candidate_id": "junction:" + junctions["walk_node_id"].astype(str),
        "kind": "junction", "name": junctions["name"], "pupils": junctions["pupils_crossing"],
        "x_utm": junctions["x_utm"], "y_utm": junctions["y_utm"],
        "through_movement": junctions["through_movement"],
        "unprotected_pupils": junctions["pupils_unprotected"], "control": junctions["control"],
    })  # fmt: skip
    juncs["reports"] = juncs["candidate_id"].map(per_place).fillna(0).to_numpy()
    scored = []
    for frame, kind in ((gates, "gate"), (juncs, "junction")):
        weights = a["weights"][kind]
        total = sum(weights.values()) or 1.0
        score = np.zeros(len(frame))
        for name, w in weights.items():
            if name not in frame.columns:
                msg = f"[weights.{kind}] names `{name}`, which is not a {kind} component"
                raise ConfigError(msg)
            part = _norm(frame[name].astype(float)) * (w / total)
            frame[f"c_{name}"] = part.round(4).to_numpy()
            score += part.to_numpy()
        frame["score"] = np.round(score, 4)
        frame["reason"] = [
            _reason({str(k): v for k, v in row.items()}, jn) for row in frame.to_dict("records")
        ]
        scored.append(frame)
    table = pd.concat(scored, ignore_index=True)
    table["residents"] = _residents_near(city, table, a["affected"]["residents_radius_m"])
    table = table.sort_values(["score", "candidate_id"], ascending=[False, True], kind="stable")
    table.insert(0, "rank", np.arange(1, len(table) + 1))
    from shancheng.geo.crs import utm_to_lonlat  # noqa: PLC0415

    lon, lat = utm_to_lonlat(table["x_utm"].to_numpy(), table["y_utm"].to_numpy(),
                             epsg=city.network.crs_epsg)  # fmt: skip
    table["lon"], table["lat"] = np.round(lon, 6), np.round(lat, 6)
    lead = list(CANDIDATE_COLUMNS)
    rest = [c for c in table.columns if c not in lead]
    return table[lead + rest].reset_index(drop=True)


def _residents_near(city: City, table: pd.DataFrame, radius_m: float) -> np.ndarray[Any, Any]:
    b = city.buildings
    tree = cKDTree(b[["x_utm", "y_utm"]].to_numpy(np.float64))
    pop = b["population"].to_numpy(np.float64)
    near = tree.query_ball_point(table[["x_utm", "y_utm"]].to_numpy(np.float64), r=radius_m)
    return np.array([int(pop[k].sum()) for k in near], dtype=np.int64)


def _reason(row: Mapping[str, Any], jn: Mapping[str, Any]) -> str:
    """Return the candidate's largest weighted components, in words."""
    parts = sorted(((v, k[2:]) for k, v in row.items() if k.startswith("c_") and v > 0),
                   reverse=True)[:3]  # fmt: skip
    words = {
        "steep_unprotected_main": lambda r: (
            f"{r['steep_unprotected_main']:.0f} pupil crossings "
            "of a main road on a steep approach with neither crossing nor signal"
        ),
        "unprotected_main": lambda r: (
            f"{r['unprotected_main']:.0f} pupil crossings of a main road "
            "with neither crossing nor signal"
        ),
        "unprotected_minor": lambda r: (
            f"{r['unprotected_minor']:.0f} unmarked crossings of minor streets"
        ),
        "kerb_pressure": lambda r: (
            f"{r['cars_peak_15min']:.0f} cars in the peak quarter hour need "
            f"{r['kerb_needed_m']:.0f} m of kerb against {r['kerb_m']:.0f} m"
        ),
        "reports": lambda r: f"{r['reports']:.0f} traffic reports nearby",
        "pupils": lambda r: f"{r['pupils']:.0f} pupils",
        "through_movement": lambda r: (
            f"through movement {r['through_movement']:.0f} "
            f"origin-destination pairs within {float(jn['scale_m']) / 1000:g} km"
        ),
        "unprotected_pupils": lambda r: (
            f"{r['unprotected_pupils']:.0f} pupils cross here "
            f"unprotected (control: {r.get('control') or 'none'})"
        ),
    }
    if not parts:
        return "no measured problem"
    return "; ".join(words[name](row) for _, name in parts)
