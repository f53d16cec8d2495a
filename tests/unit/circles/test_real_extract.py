"""Nearest times on a real street network: Monaco (OSM, 2026) with SRTM heights, vs networkx.

The network is built here with pyosmium in a few lines (every walkable way, one segment per
pair of consecutive nodes, heights from the void-filled SRTM-3 tile), independent of the
real-city importer. Facilities are the extract's own amenities mapped to catalogue
categories; 1,000 residences are placed beside random streets.
"""

import numpy as np
import pandas as pd
import pytest
from tests.unit.circles.oracle import oracle_nearest

from shancheng.circles.accessibility import compute_accessibility
from shancheng.circles.standard import load_catalogue
from shancheng.network.speed import EdgeKind
from shancheng.network.walk import build_walk_network

WALKABLE = {
    "footway",
    "pedestrian",
    "path",
    "steps",
    "living_street",
    "residential",
    "service",
    "unclassified",
    "track",
    "cycleway",
    "corridor",
    "tertiary",
    "secondary",
    "primary",
    "tertiary_link",
    "secondary_link",
    "primary_link",
}
AMENITY = {
    ("amenity", "kindergarten"): "kindergarten",
    ("amenity", "school"): "primary_school",
    ("amenity", "pharmacy"): "health_station",
    ("amenity", "doctors"): "health_station",
    ("amenity", "clinic"): "community_health_center",
    ("amenity", "hospital"): "hospital",
    ("amenity", "marketplace"): "market",
    ("shop", "supermarket"): "supermarket",
    ("shop", "convenience"): "convenience_store",
    ("highway", "bus_stop"): "bus_stop",
    ("amenity", "community_centre"): "community_service",
    ("amenity", "library"): "culture",
    ("leisure", "playground"): "park",
    ("leisure", "pitch"): "sports_ground",
}
UTM_32N = 32632


def _heights(shared_data, lon, lat):
    """Nearest-cell SRTM-3 heights (tile N43E007: rows from 44 N southward, 3 arc-seconds)."""
    tile = shared_data / "networks" / "dem" / "srtm3_filled_pyhgtmap" / "N43E007.hgt"
    dem = np.fromfile(tile, dtype=">i2").reshape(1201, 1201).astype(np.float64)
    rows = np.clip(np.rint((44.0 - lat) * 1200), 0, 1200).astype(int)
    cols = np.clip(np.rint((lon - 7.0) * 1200), 0, 1200).astype(int)
    z = dem[rows, cols]
    return np.where(z < -1000, 0.0, z)


def _monaco(shared_data):
    pytest.importorskip("osmium")
    path = shared_data / "networks" / "osm" / "monaco_2026-07-10_geofabrik.osm.pbf"
    if not path.is_file():
        pytest.skip(f"{path} is missing")
    return osm_walk(path, heights=lambda lon, lat: _heights(shared_data, lon, lat))


def osm_walk(path, *, heights=None, epsg=UTM_32N):
    """Walk network (every walkable way, one segment per node pair) and amenities of an OSM file.

    Also used by benchmarks/circles.py for the largest extract (Malta).
    """
    import osmium
    from pyproj import Transformer

    refs, kinds, points = [], [], []
    for obj in osmium.FileProcessor(str(path)).with_locations():
        if obj.is_way() and obj.tags.get("highway") in WALKABLE and len(obj.nodes) > 1:
            refs.append([(n.ref, n.lon, n.lat) for n in obj.nodes if n.location.valid()])
            kinds.append(EdgeKind.STEPS if obj.tags.get("highway") == "steps" else EdgeKind.STREET)
        elif obj.is_node():
            for (key, value), category in AMENITY.items():
                if obj.tags.get(key) == value:
                    points.append((f"N{obj.id}", category, obj.location.lon, obj.location.lat))
    ids = {}
    lonlat = []
    tail, head, kind = [], [], []
    for way, k in zip(refs, kinds, strict=True):
        for ref, lon, lat in way:
            if ref not in ids:
                ids[ref] = len(ids)
                lonlat.append((lon, lat))
        tail += [ids[a[0]] for a in way[:-1]]
        head += [ids[b[0]] for b in way[1:]]
        kind += [k] * (len(way) - 1)
    lonlat = np.array(lonlat)
    to_utm = Transformer.from_crs(4326, epsg, always_xy=True)
    x, y = to_utm.transform(lonlat[:, 0], lonlat[:, 1])
    tail, head = np.array(tail), np.array(head)
    length = np.hypot(x[head] - x[tail], y[head] - y[tail])
    z = heights(lonlat[:, 0], lonlat[:, 1]) if heights else None
    network = build_walk_network(x, y, z, tail, head, length, kind, crs_epsg=epsg, source=path.name)
    fac = pd.DataFrame(points, columns=["facility_id", "category", "lon", "lat"])
    fac["x_utm"], fac["y_utm"] = to_utm.transform(fac["lon"].to_numpy(), fac["lat"].to_numpy())
    return network, fac


@pytest.mark.data
@pytest.mark.slow
def test_nearest_times_equal_networkx_on_monaco(shared_data):
    network, facilities = _monaco(shared_data)
    assert network.n_nodes > 5_000
    assert network.edge_rise_m.max() > 5  # real terrain: uphill and downhill differ
    assert facilities["category"].nunique() >= 8
    rng = np.random.default_rng(4)
    seg = rng.integers(0, network.n_edges, 1000)
    t = rng.uniform(0, 1, 1000)
    side = rng.uniform(5, 60, 1000) * rng.choice([-1, 1], 1000)
    dx = network.node_x_utm[network.edge_head[seg]] - network.node_x_utm[network.edge_tail[seg]]
    dy = network.node_y_utm[network.edge_head[seg]] - network.node_y_utm[network.edge_tail[seg]]
    norm = np.maximum(np.hypot(dx, dy), 1e-9)
    homes = pd.DataFrame(
        {
            "residence_id": [f"R{i}" for i in range(1000)],
            "x_utm": network.node_x_utm[network.edge_tail[seg]] + t * dx - side * dy / norm,
            "y_utm": network.node_y_utm[network.edge_tail[seg]] + t * dy + side * dx / norm,
        }
    )
    catalogue = load_catalogue()
    for column in catalogue.population_columns:
        homes[column] = 10
    acc = compute_accessibility(network, homes, facilities, catalogue, cutoff_s=1800.0)
    group = np.array([acc.categories.index(c) for c in acc.facilities["category"]])
    expected = oracle_nearest(
        network,
        (homes["x_utm"].to_numpy(), homes["y_utm"].to_numpy()),
        (acc.facilities["x_utm"].to_numpy(), acc.facilities["y_utm"].to_numpy()),
        group,
        len(acc.categories),
        cutoff_s=1800.0,
    )
    assert np.array_equal(np.isinf(acc.time_s), np.isinf(expected))
    finite = np.isfinite(expected)
    assert finite.sum() > 5_000
    np.testing.assert_allclose(acc.time_s[finite], expected[finite], rtol=1e-9, atol=1e-6)
