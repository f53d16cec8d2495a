"""Read an OpenStreetMap extract (``.osm.pbf``, ``.osm``) in one streaming pass.

pyosmium (``osmium`` 4.x) streams the file with node locations kept in its own compact
index, so only what is needed is held in Python: the walkable ways (node ids and lon/lat),
the facilities matched by the tag mapping, residential buildings and named places. A
100 MB extract fits easily in memory.

Which ways are walkable (:func:`walk_way`): footway, path, pedestrian, steps,
living_street, residential, service, unclassified, track, cycleway, corridor and the
tertiary/secondary/primary roads (and links); ``foot=no`` excludes any way and
``foot=yes/designated/permissive`` includes any; ``access=private/no`` excludes unless foot
is allowed; motorways and trunk roads are excluded unless foot is allowed or they carry a
sidewalk (``sidewalk=both/left/right/yes``); areas (``area=yes``) and construction are
skipped. Steps with ``conveying`` are escalators (one-way when ``forward``/``backward``);
``highway=elevator`` nodes and ways are public lifts.

Buildings and facilities mapped as ``type=multipolygon`` relations (courtyard blocks, a
school's grounds with holes) come from pyosmium's area assembly
(:meth:`osmium.FileProcessor.with_areas`): libosmium builds their rings, inner holes included.
Area assembly needs the relations before the ways, so it costs one extra read of the
relations only (pyosmium's first pass; filtered to relations with a building, facility or
base-map area key, so member ways of other multipolygons are not kept).

The base map's water and green areas (closed ways and multipolygons; tags in
:mod:`shancheng.data.osm_basemap`) are kept with their names in ``base_areas``.
Closed ways keep their own path through :func:`_take_way`, so a self-intersecting footprint
libosmium would reject is still kept.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import osmium
import shapely

from shancheng.data.osm_basemap import AREA_KEYS, area_kind, names
from shancheng.data.osm_tags import FacilityTagMapping, load_facility_tags
from shancheng.data.osm_traffic import crossing_control, restriction
from shancheng.errors import OsmInputError
from shancheng.network.speed import EdgeKind

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from shancheng.types import FloatArray, IntArray

    Tags = Mapping[str, str] | osmium.osm.TagList

logger = logging.getLogger(__name__)


WALKABLE_HIGHWAYS = frozenset({
    "footway", "path", "pedestrian", "steps", "living_street", "residential", "service",
    "unclassified", "track", "cycleway", "corridor", "road", "elevator",
    "tertiary", "tertiary_link", "secondary", "secondary_link", "primary", "primary_link",
})  # fmt: skip
"""Highway values walked by default (foot access assumed unless tagged otherwise)."""
NEEDS_SIDEWALK = frozenset({"motorway", "motorway_link", "trunk", "trunk_link"})
"""Highways walked only with a sidewalk or explicit foot access."""
NEVER = frozenset({"construction", "proposed", "abandoned", "platform", "raceway", "razed",
                   "bus_guideway", "escape", "rest_area", "services", "bridleway"})  # fmt: skip
FOOT_ALLOWED = frozenset({"yes", "designated", "permissive", "destination"})
FOOT_DENIED = frozenset({"no", "private", "use_sidepath"})
ACCESS_DENIED = frozenset({"private", "no"})
SIDEWALK_PRESENT = frozenset({"yes", "both", "left", "right"})
RESIDENTIAL_BUILDINGS = frozenset({
    "residential", "apartments", "house", "detached", "semidetached_house", "terrace",
    "dormitory", "bungalow", "farm", "yes",
})  # fmt: skip
"""Building values kept; ``yes`` (use unknown) is kept and flagged so population can fall
back on it where a place has no building tagged as housing."""
PLACES = frozenset({"city", "town", "village", "hamlet", "suburb", "quarter", "neighbourhood"})


@dataclass(frozen=True, slots=True)
class WalkWay:
    """How one walkable way is walked: edge kind, direction, and what lifts it off the ground."""

    kind: EdgeKind
    direction: int = 0
    """0 two-way, 1 one-way along the way, -1 one-way against it."""
    bridge: bool = False
    tunnel: bool = False


def walk_way(tags: Tags) -> WalkWay | None:  # noqa: PLR0911 - one rule per return
    """Classify a way for walking, or return ``None`` when people cannot walk it.

    Examples
    --------
    >>> walk_way({"highway": "steps"}).kind.name
    'STEPS'
    >>> walk_way({"highway": "trunk"}) is None, walk_way({"highway": "trunk", "sidewalk": "both"})
    (True, WalkWay(kind=<EdgeKind.STREET: 0>, direction=0, bridge=False, tunnel=False))
    >>> walk_way({"highway": "footway", "access": "private"}) is None
    True
    >>> walk_way({"highway": "steps", "conveying": "backward"}).direction
    -1
    """
    highway = tags.get("highway")
    if highway is None or highway in NEVER or tags.get("area") == "yes":
        return None
    foot = tags.get("foot", "")
    if foot in FOOT_DENIED:
        return None
    foot_ok = foot in FOOT_ALLOWED
    if tags.get("access") in ACCESS_DENIED and not foot_ok:
        return None
    if highway in NEEDS_SIDEWALK:
        sidewalk = {tags.get(k, "") for k in ("sidewalk", "sidewalk:both", "sidewalk:left",
                                               "sidewalk:right")}  # fmt: skip
        if not foot_ok and not sidewalk & SIDEWALK_PRESENT:
            return None
    elif highway not in WALKABLE_HIGHWAYS and not foot_ok:
        return None
    kind, direction = _kind(highway, tags)
    bridge = tags.get("bridge", "no") != "no"
    tunnel = tags.get("tunnel", "no") not in ("no", "building_passage")
    if kind == EdgeKind.STEPS and not bridge and not tunnel:
        return WalkWay(kind, direction)
    if kind == EdgeKind.STREET and bridge:
        kind = EdgeKind.BRIDGE
    elif kind == EdgeKind.STREET and tunnel:
        kind = EdgeKind.TUNNEL
    return WalkWay(kind, direction, bridge=bridge, tunnel=tunnel)


def _kind(highway: str, tags: Tags) -> tuple[EdgeKind, int]:  # noqa: PLR0911
    if highway == "elevator":
        return EdgeKind.ELEVATOR, 0
    if highway == "steps":
        conveying = tags.get("conveying")
        if conveying in ("forward", "backward", "yes", "reversible"):
            return EdgeKind.ESCALATOR, {"forward": 1, "backward": -1}.get(conveying, 0)
        return EdgeKind.STEPS, 0
    direction = {"yes": 1, "-1": -1}.get(str(tags.get("oneway:foot", "")), 0)
    if highway == "footway" and tags.get("footway") == "crossing":
        return EdgeKind.CROSSING, direction
    if highway in ("footway", "pedestrian", "living_street", "cycleway", "corridor"):
        return EdgeKind.FOOTWAY, direction
    if highway in ("path", "track"):
        return EdgeKind.PATH, direction
    return EdgeKind.STREET, direction


# --- the streaming reader ----------------------------------------------------------------


@dataclass
class OsmExtract:
    """What one pass over an extract keeps (lon/lat in WGS84)."""

    source: str
    timestamp: str = ""
    """Data timestamp from the file header (``osmosis_replication_timestamp``), if any."""
    way_id: list[int] = field(default_factory=list)
    way_refs: list[IntArray] = field(default_factory=list)
    way_lonlat: list[FloatArray] = field(default_factory=list)
    way_class: list[WalkWay] = field(default_factory=list)
    way_tags: list[dict[str, str]] = field(default_factory=list)
    elevator_nodes: set[int] = field(default_factory=set)
    facilities: list[dict[str, object]] = field(default_factory=list)
    buildings: list[dict[str, object]] = field(default_factory=list)
    places: list[dict[str, object]] = field(default_factory=list)
    base_areas: list[dict[str, object]] = field(default_factory=list)
    """Water and green polygons of the base map (:mod:`shancheng.data.osm_basemap`)."""
    signal_nodes: set[int] = field(default_factory=set)
    """Nodes tagged ``highway=traffic_signals`` (:mod:`shancheng.data.osm_traffic`)."""
    crossing_nodes: dict[int, str] = field(default_factory=dict)
    """Crossing nodes and their control: ``signals``, ``marked`` or ``unmarked``."""
    restrictions: list[dict[str, object]] = field(default_factory=list)
    """Turn restrictions read (``from_way, via_node, to_way, restriction, osm_id``)."""
    skipped_restrictions: list[str] = field(default_factory=list)
    """Restriction relations left out, with the reason."""

    @property
    def n_ways(self) -> int:
        """Number of walkable ways kept."""
        return len(self.way_id)


_WAY_TAGS = (
    "highway",
    "name",
    "name:en",
    "step_count",
    "incline",
    "sidewalk",
    "conveying",
    "layer",
    "level",
    "oneway",
    "oneway:motor_vehicle",
    "oneway:motorcar",
    "junction",
    "maxspeed",
)


def read_osm(
    path: str | Path,
    *,
    facility_tags: FacilityTagMapping | None = None,
    progress: Callable[[int], None] | None = None,
) -> OsmExtract:
    """Stream an OSM file once and keep walkable ways, facilities, buildings and places.

    Parameters
    ----------
    path
        ``.osm.pbf``, ``.osm`` or ``.osm.bz2``/``.gz`` (anything libosmium reads).
    facility_tags
        The tag mapping; :func:`load_facility_tags` () when ``None``.
    progress
        Called with the number of objects read since the last call (every 10,000).

    Raises
    ------
    OsmInputError
        The file is missing, truncated or not OSM data; the message names the file.
    """
    source = str(path)
    if not Path(path).is_file():
        msg = f"{source}: no such OpenStreetMap file"
        raise OsmInputError(msg)
    mapping = facility_tags or load_facility_tags()
    keys = {"highway", "building", "place", *AREA_KEYS, *mapping.keys}
    traffic_keys = {"crossing", "type"}  # crossing nodes, restriction relations
    out = OsmExtract(source, timestamp=_header_timestamp(source))
    tick = progress or (lambda _n: None)
    try:
        processor = (
            osmium.FileProcessor(source)
            .with_locations()
            .with_areas(osmium.filter.KeyFilter(*sorted(keys - {"highway", "place"})))
            .with_filter(
                osmium.filter.EntityFilter(
                    osmium.osm.NODE | osmium.osm.WAY | osmium.osm.AREA | osmium.osm.RELATION
                )
            )
            .with_filter(osmium.filter.KeyFilter(*sorted(keys | traffic_keys)))
        )
        for count, obj in enumerate(processor, start=1):
            if isinstance(obj, osmium.osm.Way):
                _take_way(out, obj, mapping)
            elif isinstance(obj, osmium.osm.Node):
                _take_node(out, obj, mapping)
            elif isinstance(obj, osmium.osm.Area) and not obj.from_way():
                _take_relation_area(out, obj, mapping)
            elif isinstance(obj, osmium.osm.Relation):
                _take_restriction(out, obj)
            if count % 10_000 == 0:
                tick(10_000)
    except RuntimeError as exc:
        msg = f"{source}: cannot read OpenStreetMap data ({exc}); the file may be truncated"
        raise OsmInputError(msg) from exc
    logger.info(
        "%s: %d walkable ways, %d lift nodes, %d facilities, %d buildings, %d places",
        source, out.n_ways, len(out.elevator_nodes), len(out.facilities), len(out.buildings),
        len(out.places),
    )  # fmt: skip
    return out


def _header_timestamp(source: str) -> str:
    """Return the extract's data timestamp (the provenance date of OSM facilities)."""
    try:
        reader = osmium.io.Reader(source, osmium.osm.osm_entity_bits.NOTHING)
    except RuntimeError:
        return ""  # the full read that follows reports the problem
    try:
        header = reader.header()
        return str(header.get("osmosis_replication_timestamp") or header.get("timestamp") or "")
    finally:
        reader.close()


def _take_node(out: OsmExtract, node: osmium.osm.Node, mapping: FacilityTagMapping) -> None:
    tags = {tag.k: tag.v for tag in node.tags}  # one pass into a dict: rules test it often
    if not node.location.valid():
        return
    lon, lat = node.location.lon, node.location.lat
    if tags.get("highway") == "elevator":
        out.elevator_nodes.add(node.id)
    if tags.get("highway") == "traffic_signals":
        out.signal_nodes.add(node.id)
    if control := crossing_control(tags):
        out.crossing_nodes[node.id] = control
    category = mapping.category(tags)
    if category is not None:
        out.facilities.append(_facility(f"node/{node.id}", category, tags, lon, lat))
    place = tags.get("place")
    if place in PLACES and "name" in tags:
        out.places.append({"osm_id": node.id, "place": place, "name": tags["name"],
                           "lon": lon, "lat": lat})  # fmt: skip


def _take_restriction(out: OsmExtract, relation: osmium.osm.Relation) -> None:
    tags = {tag.k: tag.v for tag in relation.tags}
    if tags.get("type") != "restriction":
        return
    members = [(m.type, m.ref, m.role) for m in relation.members]
    found = restriction(tags, members)
    if isinstance(found, str):
        out.skipped_restrictions.append(f"relation/{relation.id}: {found}")
    else:
        out.restrictions.append({**found, "osm_id": relation.id})


def _facility(osm_ref: str, category: str, tags: Tags, lon: float, lat: float) -> dict[str, object]:
    return {
        "osm_ref": osm_ref,
        "category": category,
        "name": tags.get("name:zh") or tags.get("name") or "",
        "lon": lon,
        "lat": lat,
    }


def _way_lonlat(way: osmium.osm.Way) -> tuple[IntArray, FloatArray]:
    """Node ids and lon/lat of a way's nodes, leaving out nodes missing from the extract."""
    refs, coords = [], []
    for node in way.nodes:
        location = node.location
        if location.valid():
            refs.append(node.ref)
            coords.append((location.lon, location.lat))
    return np.asarray(refs, dtype=np.int64), np.asarray(coords, dtype=np.float64).reshape(-1, 2)


def _take_way(out: OsmExtract, way: osmium.osm.Way, mapping: FacilityTagMapping) -> None:
    tags = {tag.k: tag.v for tag in way.tags}
    category = mapping.category(tags)
    building = tags.get("building")
    cls = walk_way(tags) if "highway" in tags else None
    base = area_kind(tags)
    if cls is None and category is None and building not in RESIDENTIAL_BUILDINGS and not base:
        return
    refs, lonlat = _way_lonlat(way)
    if cls is not None and refs.shape[0] >= 2:  # noqa: PLR2004
        out.way_id.append(way.id)
        out.way_refs.append(refs)
        out.way_lonlat.append(lonlat)
        out.way_class.append(cls)
        out.way_tags.append({k: tags[k] for k in _WAY_TAGS if k in tags})
    if base is not None and refs.shape[0] >= 4 and refs[0] == refs[-1]:  # noqa: PLR2004
        _take_base_area(out, base, tags, shapely.Polygon(lonlat))
    if (category is None and building not in RESIDENTIAL_BUILDINGS) or refs.shape[0] == 0:
        return
    closed = refs.shape[0] >= 4 and refs[0] == refs[-1]  # noqa: PLR2004
    shape: shapely.Geometry
    if closed:
        shape = shapely.Polygon(lonlat)
        centre = shapely.centroid(shape)
    elif refs.shape[0] > 1:
        shape = shapely.LineString(lonlat)
        centre = shapely.line_interpolate_point(shape, 0.5, normalized=True)
    else:
        shape = centre = shapely.Point(lonlat[0])
    if category is not None:
        lon, lat = float(shapely.get_x(centre)), float(shapely.get_y(centre))
        out.facilities.append(_facility(f"way/{way.id}", category, tags, lon, lat))
    if building in RESIDENTIAL_BUILDINGS and closed:
        out.buildings.append({
            "osm_id": way.id,
            "osm_type": "way",
            "building": building,
            "levels": _levels(tags.get("building:levels")),
            "geometry": shape,
        })  # fmt: skip


_WKB = osmium.geom.WKBFactory()


def _take_relation_area(
    out: OsmExtract, area: osmium.osm.Area, mapping: FacilityTagMapping
) -> None:
    """Keep a multipolygon relation that is a residential building or a facility.

    The polygon (outer rings with their holes) is libosmium's assembly; a relation whose rings
    do not close in the extract is never delivered as an area, so it is skipped silently.
    """
    tags = {tag.k: tag.v for tag in area.tags}
    category = mapping.category(tags)
    building = tags.get("building")
    base = area_kind(tags)
    if category is None and building not in RESIDENTIAL_BUILDINGS and base is None:
        return
    relation_id = area.orig_id()
    try:
        shape = shapely.from_wkb(_WKB.create_multipolygon(area))
    except RuntimeError as exc:  # an area with no valid ring
        logger.warning("%s: relation %d: no usable polygon (%s)", out.source, relation_id, exc)
        return
    first = shapely.get_geometry(shape, 0)
    if shapely.get_num_geometries(shape) == 1 and first is not None:
        shape = first  # one outer ring: a Polygon (with its holes), like a closed way
    if base is not None:
        _take_base_area(out, base, tags, shape)
    if category is None and building not in RESIDENTIAL_BUILDINGS:
        return
    if category is not None:
        centre = shapely.centroid(shape)
        out.facilities.append(_facility(f"relation/{relation_id}", category, tags,
                                        float(shapely.get_x(centre)),
                                        float(shapely.get_y(centre))))  # fmt: skip
    if building in RESIDENTIAL_BUILDINGS:
        out.buildings.append({
            "osm_id": relation_id,
            "osm_type": "relation",
            "building": building,
            "levels": _levels(tags.get("building:levels")),
            "geometry": shape,
        })  # fmt: skip


def _take_base_area(
    out: OsmExtract, base: tuple[str, str], tags: Mapping[str, str], shape: shapely.Geometry
) -> None:
    """Keep a water or green polygon of the base map with its names."""
    name, name_en = names(tags)
    layer, kind = base
    out.base_areas.append({"layer": layer, "kind": kind, "name": name, "name_en": name_en,
                           "geometry": shape})  # fmt: skip


def _levels(text: str | None) -> float:
    """Parse ``building:levels`` ("5", "3.5", "4;5" → 5); NaN when absent or unreadable."""
    if not text:
        return math.nan
    numbers = []
    for part in text.replace(",", ";").split(";"):
        try:
            numbers.append(float(part.strip()))
        except ValueError:
            continue
    good = [n for n in numbers if math.isfinite(n) and 0 < n < 200]  # noqa: PLR2004
    return max(good) if good else math.nan
