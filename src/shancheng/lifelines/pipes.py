"""One model for the water, gas and drainage pipe networks, and its validation.

A :class:`PipeNetwork` holds three tables with string ids (the names the source file uses):

``nodes``
    ``node_id, kind, x, y, population, demand`` -- ``kind`` is one of :data:`NODE_KINDS`;
    ``population`` counts the residents served at a customer connection.
``links``
    ``link_id, kind, from_node, to_node, from_index, to_index, length_m, diameter_mm,
    material, install_year, one_way`` -- ``kind`` is one of :data:`LINK_KINDS`; the ``*_index``
    columns are row positions in ``nodes`` (what the kernels use); ``one_way`` links pass flow
    only from ``from_node`` to ``to_node`` (pumps, compressors, pressure-reducing and
    -sustaining valves, pipes with a check valve); by default it is true for the kinds in
    :data:`ONE_WAY_KINDS`.
``valves``
    ``valve_id, link_id, node_id, link_index, node_index`` -- isolation valves in WNTR's valve
    layer convention: a valve sits on a link at one of its end nodes, and closing it separates
    that link from that node. An isolation valve drawn as its own link (the demo city, GasLib)
    becomes a valve on that link at its ``from_node``.

Loaders: :func:`read_inp` (EPANET through WNTR), :func:`from_wntr`, :func:`read_geojson` (gas and
drainage), :func:`read_gaslib` (GasLib ``.net`` topology, zipped or not), :func:`from_city` (the
City's water and gas layers). Every loader ends in :func:`build_network`, which checks the
tables and raises one :class:`~shancheng.errors.PipeNetworkError` listing every problem by id:
duplicate ids, dangling links (an end missing, or both ends the same node), unknown node
references, negative lengths, valves not at an end of their link.
"""

from __future__ import annotations

import json
import logging
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from xml.etree import ElementTree as ET

import numpy as np
import numpy.typing as npt
import pandas as pd
from pyproj import Geod

from shancheng.errors import PipeNetworkError
from shancheng.lifelines.inp_check import check_epanet

if TYPE_CHECKING:
    from shancheng.data.city import City
    from shancheng.types import IntArray

logger = logging.getLogger(__name__)

NetworkKind = Literal["water", "gas", "drainage"]

NODE_KINDS = frozenset(
    {"junction", "source", "tank", "customer", "valve", "gate_station", "regulator_station",
     "manhole", "outfall", "sink"}
)  # fmt: skip
"""Node kinds: supply points (:data:`SOURCE_KINDS`), junctions, customer connections, ..."""
SOURCE_KINDS = frozenset({"source", "tank", "gate_station", "outfall"})
"""Nodes that supply the network (for drainage: outfalls, where the network must drain to)."""
LINK_KINDS = frozenset(
    {"pipe", "service", "valve", "control_valve", "pump", "regulator", "compressor", "resistor"}
)
"""Link kinds; ``valve`` is an isolation valve, ``control_valve`` an EPANET PRV/FCV/..."""
ONE_WAY_KINDS = frozenset({"pump", "compressor", "regulator"})
"""Link kinds that pass flow only forwards unless the loader says otherwise (a GasLib control
valve is a ``regulator``: it reduces pressure from ``from`` to ``to``)."""
CONTROLLABLE_KINDS = frozenset({"pump", "compressor", "control_valve", "regulator"})
"""Link kinds an operator can stop or close besides the isolation valves."""
NODE_COLUMNS = ("node_id", "kind", "x", "y", "population", "demand")
LINK_COLUMNS = ("link_id", "kind", "from_node", "to_node", "length_m", "diameter_mm",
                "material", "install_year")  # fmt: skip
_ONE_WAY_VALVES = frozenset({"PRV", "PSV"})
_MAX_LISTED = 20
_LENGTH_TO_M = {"m": 1.0, "km": 1000.0}
_DIAMETER_TO_MM = {"mm": 1.0, "m": 1000.0}
_GASLIB_NS = "{http://gaslib.zib.de/Gas}"
_GASLIB_NODES = {"source": "source", "sink": "sink", "innode": "junction"}
_GASLIB_LINKS = {"pipe": "pipe", "shortPipe": "pipe", "valve": "valve",
                 "controlValve": "regulator", "compressorStation": "compressor",
                 "resistor": "resistor"}  # fmt: skip


@dataclass(frozen=True, eq=False)
class PipeNetwork:
    """A validated pipe network; build one with a loader or :func:`build_network`.

    Attributes
    ----------
    network
        ``"water"``, ``"gas"`` or ``"drainage"``.
    nodes, links, valves
        The tables described in the module docstring.
    source
        Where it came from (a file name), used in messages.
    """

    network: NetworkKind
    nodes: pd.DataFrame
    links: pd.DataFrame
    valves: pd.DataFrame
    source: str

    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return len(self.nodes)

    @property
    def n_links(self) -> int:
        """Number of links."""
        return len(self.links)

    @property
    def tail(self) -> IntArray:
        """Row index of each link's from-node."""
        return self.links["from_index"].to_numpy(dtype=np.int64)

    @property
    def head(self) -> IntArray:
        """Row index of each link's to-node."""
        return self.links["to_index"].to_numpy(dtype=np.int64)

    def is_source(self) -> npt.NDArray[np.bool_]:
        """Boolean mask of the nodes that supply the network."""
        return self.nodes["kind"].isin(SOURCE_KINDS).to_numpy()

    def with_valves(self, valve_layer: pd.DataFrame) -> PipeNetwork:
        """Return a copy whose valves are ``valve_layer`` (columns ``link``, ``node``).

        Valve ids come from an optional ``valve_id`` column, else ``V<row>``.

        This is WNTR's valve-layer format (``wntr.network.generate_valve_layer``); the copy is
        validated like any loaded network.
        """
        for column in ("link", "node"):
            if column not in valve_layer.columns:
                msg = f"{self.source}: valve layer needs columns `link` and `node`, no `{column}`"
                raise PipeNetworkError(msg)
        names = (
            valve_layer["valve_id"].astype(str).to_numpy()
            if "valve_id" in valve_layer.columns
            else [f"V{i}" for i in range(len(valve_layer))]
        )
        valves = pd.DataFrame(
            {
                "valve_id": names,
                "link_id": valve_layer["link"].astype(str).to_numpy(),
                "node_id": valve_layer["node"].astype(str).to_numpy(),
            }
        )
        return build_network(self.network, self.nodes, self.links, valves, source=self.source)


def build_network(
    network: NetworkKind,
    nodes: pd.DataFrame,
    links: pd.DataFrame,
    valves: pd.DataFrame | None = None,
    *,
    source: str,
) -> PipeNetwork:
    """Check the three tables and index them into a :class:`PipeNetwork`.

    Raises
    ------
    PipeNetworkError
        Listing, by id, every duplicate id, dangling link, unknown node reference, bad kind,
        negative length and misplaced valve in ``source``.
    """
    nodes = _with_defaults(nodes, {"population": 0, "demand": 0.0, "x": np.nan, "y": np.nan})
    links = _with_defaults(
        links, {"length_m": np.nan, "diameter_mm": np.nan, "material": "", "install_year": -1}
    )
    if "one_way" not in links.columns:
        links = links.assign(one_way=links["kind"].isin(ONE_WAY_KINDS).to_numpy())
    for frame, columns, what in ((nodes, NODE_COLUMNS, "nodes"), (links, LINK_COLUMNS, "links")):
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            msg = f"{source}: {what} table lacks column(s) {', '.join(missing)}"
            raise PipeNetworkError(msg)
    nodes = nodes.reset_index(drop=True).astype({"node_id": str, "kind": str})
    links = links.reset_index(drop=True).astype({"link_id": str, "kind": str, "one_way": bool})
    if valves is None:
        valves = pd.DataFrame({"valve_id": [], "link_id": [], "node_id": []}, dtype=str)
    valves = valves.reset_index(drop=True).astype({"link_id": str, "node_id": str})
    problems = _problems(nodes, links, valves)
    if problems:
        listed = problems[:_MAX_LISTED]
        more = (
            f"\n... and {len(problems) - _MAX_LISTED} more" if len(problems) > _MAX_LISTED else ""
        )
        msg = f"{source}: {len(problems)} problem(s) in the pipe network:\n" + "\n".join(listed)
        raise PipeNetworkError(msg + more)
    node_index = pd.Series(np.arange(len(nodes), dtype=np.int64), index=nodes["node_id"])
    link_index = pd.Series(np.arange(len(links), dtype=np.int64), index=links["link_id"])
    links = links.assign(
        from_index=node_index.loc[links["from_node"].to_numpy()].to_numpy(),
        to_index=node_index.loc[links["to_node"].to_numpy()].to_numpy(),
    )
    valves = valves.assign(
        link_index=link_index.loc[valves["link_id"].to_numpy()].to_numpy(),
        node_index=node_index.loc[valves["node_id"].to_numpy()].to_numpy(),
    )
    logger.info(
        "%s: %s network, %d nodes, %d links, %d valves",
        source, network, len(nodes), len(links), len(valves),
    )  # fmt: skip
    return PipeNetwork(network, nodes, links, valves, source)


def _with_defaults(frame: pd.DataFrame, defaults: dict[str, Any]) -> pd.DataFrame:
    extra = {k: v for k, v in defaults.items() if k not in frame.columns}
    return frame.assign(**extra) if extra else frame


def _problems(nodes: pd.DataFrame, links: pd.DataFrame, valves: pd.DataFrame) -> list[str]:
    """Every problem of the tables, one line each, naming the id at fault."""
    node_ids = nodes["node_id"].tolist()
    problems = [f"node {d!r}: duplicate node id" for d in _duplicates(node_ids)]
    problems += [f"link {d!r}: duplicate link id" for d in _duplicates(links["link_id"].tolist())]
    problems += [
        f"node {node_id!r}: kind {kind!r} is not one of {sorted(NODE_KINDS)}"
        for node_id, kind in zip(node_ids, nodes["kind"].tolist(), strict=True)
        if kind not in NODE_KINDS
    ]
    known = set(node_ids)
    columns = ["link_id", "kind", "from_node", "to_node", "length_m"]
    for link_id, kind, a, b, length in links[columns].itertuples(index=False, name=None):
        problems += _link_problems(str(link_id), str(kind), (a, b), float(length), known)
    ends_of = {
        str(link_id): (str(a), str(b))
        for link_id, a, b in links[["link_id", "from_node", "to_node"]].itertuples(
            index=False, name=None
        )
    }
    for valve_id, link_id, node_id in valves[["valve_id", "link_id", "node_id"]].itertuples(
        index=False, name=None
    ):
        if link_id not in ends_of:
            problems.append(f"valve {valve_id!r}: unknown link {link_id!r}")
        elif node_id not in ends_of[link_id]:
            problems.append(
                f"valve {valve_id!r}: node {node_id!r} is not an end of link {link_id!r} "
                f"(ends {ends_of[link_id]})"
            )
    return problems


def _duplicates(ids: list[str]) -> list[str]:
    counts = pd.Series(ids, dtype=object).value_counts()
    return sorted(str(i) for i in counts.index[counts.to_numpy() > 1])


def _link_problems(
    link_id: str, kind: str, ends: tuple[object, object], length_m: float, known: set[str]
) -> list[str]:
    if any(end is None or str(end) in {"", "None", "nan"} for end in ends):
        return [f"link {link_id!r}: dangling, an end node is missing"]
    problems = []
    if ends[0] == ends[1]:
        problems.append(f"link {link_id!r}: dangling, both ends are node {ends[0]!r}")
    problems += [f"link {link_id!r}: unknown node {end!r}" for end in ends if str(end) not in known]
    if kind not in LINK_KINDS:
        problems.append(f"link {link_id!r}: kind {kind!r} is not one of {sorted(LINK_KINDS)}")
    if length_m < 0:
        problems.append(f"link {link_id!r}: negative length_m {length_m}")
    return problems


# --- water: EPANET .inp through WNTR ---------------------------------------------------------


def read_inp(path: str | Path) -> PipeNetwork:
    """Read an EPANET ``.inp`` water network through WNTR, after checking it ourselves.

    :func:`~shancheng.lifelines.inp_check.check_epanet` runs first: WNTR accepts duplicate
    ids, truncated files and missing coordinates silently, and reports a missing node as
    EPANET's opaque ``(Error 200)``.

    Raises
    ------
    PipeNetworkError
        The file is missing, our check finds problems (each named by line), or WNTR cannot
        parse it (its reason repeated).
    """
    import wntr  # noqa: PLC0415 - heavy; only the water loader needs it

    file = Path(path)
    if not file.is_file():
        msg = f"{file}: no such EPANET .inp file"
        raise PipeNetworkError(msg)
    check_epanet(file)
    try:
        wn = wntr.network.WaterNetworkModel(str(file))
    except Exception as exc:  # WNTR raises ENxxx errors, ValueError, KeyError...
        reason = str(exc).strip() or type(exc).__name__
        msg = f"{file}: not a readable EPANET .inp file ({type(exc).__name__}: {reason})"
        raise PipeNetworkError(msg) from exc
    return from_wntr(wn, source=str(file))


def from_wntr(wn: Any, *, source: str) -> PipeNetwork:  # noqa: ANN401 - wntr is untyped
    """Convert a ``wntr.network.WaterNetworkModel`` (lengths in m, diameters in m).

    Pumps, PRVs, PSVs and pipes with a check valve are ``one_way`` (EPANET closes them to
    reverse flow); FCVs, TCVs, PBVs and GPVs pass flow both ways. Junctions keep the sum of
    their base demands (m³/s) in ``demand``.
    """
    kinds = {"Junction": "junction", "Reservoir": "source", "Tank": "tank"}
    node_rows = []
    for name, node in wn.nodes():
        x, y = node.coordinates if node.coordinates is not None else (np.nan, np.nan)
        demand = 0.0
        if node.node_type == "Junction" and len(node.demand_timeseries_list):
            demand = float(sum(d.base_value for d in node.demand_timeseries_list))
        node_rows.append((name, kinds[node.node_type], float(x), float(y), 0, demand))
    link_rows = []
    for name, link in wn.links():
        kind = {"Pipe": "pipe", "Pump": "pump"}.get(link.link_type, "control_valve")
        length = float(getattr(link, "length", 0.0) or 0.0)
        diameter = float(getattr(link, "diameter", np.nan) or np.nan) * 1000.0
        one_way = (
            kind == "pump"
            or getattr(link, "valve_type", "") in _ONE_WAY_VALVES
            or bool(getattr(link, "check_valve", False))
        )
        link_rows.append(
            (name, kind, link.start_node_name, link.end_node_name, length, diameter, "", -1,
             one_way)
        )  # fmt: skip
    nodes = pd.DataFrame(node_rows, columns=list(NODE_COLUMNS))
    links = pd.DataFrame(link_rows, columns=[*LINK_COLUMNS, "one_way"])
    return build_network("water", nodes, links, source=source)


# --- gas and drainage: GeoJSON ---------------------------------------------------------------


def read_geojson(path: str | Path, network: NetworkKind) -> PipeNetwork:
    """Read a gas or drainage network from a GeoJSON FeatureCollection (WGS84 lon/lat).

    Point features are nodes (properties ``node_id``, ``kind``, optional ``population``);
    LineString features are links (``link_id``, ``kind``, ``from_node``, ``to_node``, optional
    ``diameter_mm``, ``material``, ``install_year``, ``length_m`` -- geodesic length of the
    line when absent). A Point with ``kind: "valve"`` and a ``link_id`` property is an isolation
    valve on that link at its nearest end.

    Raises
    ------
    PipeNetworkError
        Unreadable JSON, a feature without the required property (named by feature number), a
        geometry type other than Point/LineString, or any problem :func:`build_network` finds.
    """
    file = Path(path)
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
        features = data["features"]
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError) as exc:
        msg = f"{file}: not a readable GeoJSON FeatureCollection ({type(exc).__name__}: {exc})"
        raise PipeNetworkError(msg) from exc
    geod = Geod(ellps="WGS84")
    nodes, links, valve_points = [], [], []
    for number, feature in enumerate(features):
        props = feature.get("properties") or {}
        geometry = feature.get("geometry") or {}
        kind = geometry.get("type")
        where = f"{file}: feature {number}"
        if kind == "Point":
            x, y = geometry["coordinates"][:2]
            if props.get("kind") == "valve" and "link_id" in props:
                valve_points.append(
                    (
                        str(props.get("valve_id", f"V{number}")),
                        str(props["link_id"]),
                        float(x),
                        float(y),
                    )
                )
                continue
            _require(props, ("node_id", "kind"), where)
            nodes.append((str(props["node_id"]), str(props["kind"]), float(x), float(y),
                          int(props.get("population", 0)),
                          float(props.get("demand", 0.0))))  # fmt: skip
        elif kind == "LineString":
            _require(props, ("link_id", "kind", "from_node", "to_node"), where)
            coords = np.asarray(geometry["coordinates"], dtype=np.float64)
            length = props.get("length_m")
            if length is None:
                length = float(geod.line_length(coords[:, 0], coords[:, 1]))
            links.append(
                (
                    str(props["link_id"]),
                    str(props["kind"]),
                    str(props["from_node"]),
                    str(props["to_node"]),
                    float(length),
                    float(props.get("diameter_mm", np.nan)),
                    str(props.get("material", "")),
                    int(props.get("install_year", -1)),
                )
            )
        else:
            msg = f"{where}: geometry type {kind!r}; nodes are Point, links LineString"
            raise PipeNetworkError(msg)
    node_frame = pd.DataFrame(nodes, columns=list(NODE_COLUMNS))
    link_frame = pd.DataFrame(links, columns=list(LINK_COLUMNS))
    valves = _valves_at_nearest_end(valve_points, node_frame, link_frame)
    return build_network(network, node_frame, link_frame, valves, source=str(file))


def _require(props: dict[str, Any], names: tuple[str, ...], where: str) -> None:
    missing = [name for name in names if props.get(name) in (None, "")]
    if missing:
        msg = f"{where}: property {', '.join(f'`{m}`' for m in missing)} is missing"
        raise PipeNetworkError(msg)


def _valves_at_nearest_end(
    points: list[tuple[str, str, float, float]], nodes: pd.DataFrame, links: pd.DataFrame
) -> pd.DataFrame:
    """Valve points drawn on a link: the valve sits at the link end nearest to the point."""
    xy = dict(zip(nodes["node_id"], zip(nodes["x"], nodes["y"], strict=True), strict=True))
    ends = dict(zip(links["link_id"], zip(links["from_node"], links["to_node"], strict=True),
                    strict=True))  # fmt: skip
    rows = []
    for valve_id, link_id, x, y in points:
        a, b = ends.get(link_id, ("", ""))
        ax, ay = xy.get(a, (np.inf, np.inf))
        bx, by = xy.get(b, (np.inf, np.inf))
        near = a if np.hypot(ax - x, ay - y) <= np.hypot(bx - x, by - y) else b
        rows.append((valve_id, link_id, near))
    return pd.DataFrame(rows, columns=["valve_id", "link_id", "node_id"], dtype=str)


# --- gas: GasLib .net ------------------------------------------------------------------------


def read_gaslib(path: str | Path) -> PipeNetwork:
    """Read the topology of a GasLib network (``.net`` XML, or the ``.zip`` that holds one).

    Sources, sinks and inner nodes become ``source``, ``sink`` and ``junction`` nodes; pipes
    and short pipes ``pipe`` links (length in km or m, diameter in mm or m), control valves
    ``regulator``, compressor stations ``compressor``, resistors ``resistor``; a GasLib valve
    is an isolation ``valve`` link, closable at its ``from`` end.

    Raises
    ------
    PipeNetworkError
        Unreadable file or XML, an element without ``id``/``from``/``to``, a length or diameter
        in a unit other than those above (naming the link and the unit), or any problem
        :func:`build_network` finds.
    """
    file = Path(path)
    try:
        if file.suffix == ".zip":
            with zipfile.ZipFile(file) as archive:
                names = [n for n in archive.namelist() if n.endswith(".net")]
                if not names:
                    msg = f"{file}: the archive holds no GasLib .net file"
                    raise PipeNetworkError(msg)
                text = archive.read(names[0])
        else:
            text = file.read_bytes()
        # GasLib files are research data; expat >= 2.4 refuses entity-expansion bombs
        root = ET.fromstring(text)  # noqa: S314
    except (OSError, zipfile.BadZipFile, ET.ParseError) as exc:
        msg = f"{file}: not a readable GasLib .net file ({type(exc).__name__}: {exc})"
        raise PipeNetworkError(msg) from exc
    nodes = [
        (el.get("id"), kind, float(el.get("x", "nan")), float(el.get("y", "nan")), 0, 0.0)
        for tag, kind in _GASLIB_NODES.items()
        for el in root.iter(f"{_GASLIB_NS}{tag}")
    ]
    links, valves = [], []
    for tag, kind in _GASLIB_LINKS.items():
        for el in root.iter(f"{_GASLIB_NS}{tag}"):
            link_id, a, b = el.get("id"), el.get("from"), el.get("to")
            length_m = _gaslib_value(el, "length", _LENGTH_TO_M, file, link_id, default=0.0)
            diameter = _gaslib_value(el, "diameter", _DIAMETER_TO_MM, file, link_id)
            links.append((link_id, kind, a, b, length_m, diameter, "", -1))
            if kind == "valve":
                valves.append((f"V_{link_id}", link_id, a))
    return build_network(
        "gas",
        pd.DataFrame(nodes, columns=list(NODE_COLUMNS)),
        pd.DataFrame(links, columns=list(LINK_COLUMNS)),
        pd.DataFrame(valves, columns=["valve_id", "link_id", "node_id"]),
        source=str(file),
    )


def _gaslib_value(
    element: ET.Element,
    name: str,
    factors: dict[str, float],
    file: Path,
    link_id: str | None,
    *,
    default: float = np.nan,
) -> float:
    child = element.find(f"{_GASLIB_NS}{name}")
    if child is None:
        return default
    unit = child.get("unit", "")
    if unit not in factors:
        msg = (
            f"{file}: link {link_id!r}: `{name}` unit must be one of {sorted(factors)}, "
            f"got {unit!r}"
        )
        raise PipeNetworkError(msg)
    return float(child.get("value", "nan")) * factors[unit]


# --- the City's layers -----------------------------------------------------------------------


def from_city(city: City, network: Literal["water", "gas"]) -> PipeNetwork:
    """Build the City's water or gas network (coordinates in UTM metres, ids as strings).

    Its ``valve`` links are isolation valves; each closes at its ``from_node`` (the junction
    it guards, as the demo generator lays them).
    """
    node_layer = city.layer(f"{network}_nodes")
    link_layer = city.layer(f"{network}_links")
    nodes = pd.DataFrame(
        {
            "node_id": node_layer["node_id"].astype(str).to_numpy(),
            "kind": node_layer["kind"].to_numpy(),
            "x": node_layer["x_utm"].to_numpy(dtype=np.float64),
            "y": node_layer["y_utm"].to_numpy(dtype=np.float64),
            "population": node_layer["population"].to_numpy(dtype=np.int64),
            "demand": 0.0,
            "building_id": node_layer["building_id"].to_numpy(dtype=np.int64),
        }
    )
    links = pd.DataFrame(
        {
            "link_id": link_layer["link_id"].astype(str).to_numpy(),
            "kind": link_layer["kind"].to_numpy(),
            "from_node": link_layer["from_node"].astype(str).to_numpy(),
            "to_node": link_layer["to_node"].astype(str).to_numpy(),
            "length_m": link_layer["length_m"].to_numpy(dtype=np.float64),
            "diameter_mm": link_layer["diameter_mm"].to_numpy(dtype=np.float64),
            "material": link_layer["material"].to_numpy(),
            "install_year": link_layer["install_year"].to_numpy(dtype=np.int64),
        }
    )
    is_valve = links["kind"] == "valve"
    valves = pd.DataFrame(
        {
            "valve_id": "V" + links.loc[is_valve, "link_id"],
            "link_id": links.loc[is_valve, "link_id"],
            "node_id": links.loc[is_valve, "from_node"],
        }
    )
    return build_network(network, nodes, links, valves, source=f"City {city.name!r} {network}")
