"""Living-circle evaluation: shancheng vs pandana 0.8 and cityseer 5.8 on one network, one run.

The evaluation every peer performs, for every node of the network (a node stands for a
residence, as the peers work per node): walking distance to the nearest facility of each of
15 categories, and the number of facilities of each category within 5, 10 and 15 minutes
(400, 800 and 1,200 m at 80 m/min). End to end: network build (and pandana's contraction
hierarchy) included. Each peer runs in a forked child so its time and peak RSS are its own;
answers are cross-checked against shancheng's.

Input: the street lattice of benchmarks/search.py (sqrt(N) x sqrt(N), 80 m spacing, jitter,
10 % of edges removed, whole-second times at 80 m/min; 15 categories from 6 to 0.05 per km²).
Facilities sit on nodes so that every peer attaches them the same way. cityseer measures
edge length from geometry, so each edge is given a two-piece polyline as long as its length.

    .venv/bin/python benchmarks/circles.py --side 316            # 100k nodes, all peers
    .venv/bin/python benchmarks/circles.py --side 707 --peers shancheng,cityseer,pandana
    .venv/bin/python benchmarks/circles.py --demo 1000000        # full evaluation, demo city
    .venv/bin/python benchmarks/circles.py --malta               # full evaluation, Malta OSM

The two last modes time :func:`shancheng.circles.evaluate_city` / ``compute_accessibility``
(snapping, splicing, nearest, counts, 2SFCA, coverage, gaps) on a demo city of that many
residents, and on the largest real network in ../shared/data/networks (Malta 2018, no DEM:
flat) with facilities placed at random street nodes, 15 categories at the lattice densities
(seed 1), and residences at every 4th node, 20 m off the street.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from search import DENSITIES_KM2, SPEED_M_S, in_child, peak_rss_mb, street_grid

from shancheng.network.search import count_within, nearest_times
from shancheng.network.walk import build_walk_network

THRESHOLDS_M = [400, 800, 1200]
THRESHOLDS_S = [300, 600, 900]
N_CAT = len(DENSITIES_KM2)


def run_shancheng(graph, out: Path) -> dict:
    x, y, tail, head, seconds, sources, groups = graph
    t0 = time.perf_counter()
    net = build_walk_network(
        x, y, None, tail, head, seconds * SPEED_M_S, np.zeros_like(tail), fixed_time_s=seconds
    )
    net.reversed()
    build = time.perf_counter() - t0
    t0 = time.perf_counter()
    near = nearest_times(net, sources, group=groups, n_groups=N_CAT, cutoff_s=900, time_step_s=1.0)
    nearest = time.perf_counter() - t0
    t0 = time.perf_counter()
    within = count_within(
        net, sources, group=groups, n_groups=N_CAT, thresholds_s=THRESHOLDS_S, time_step_s=1.0
    )
    counts = time.perf_counter() - t0
    np.save(out / "shancheng_near.npy", (near.time_s * SPEED_M_S).astype(np.float32))
    np.save(out / "shancheng_count.npy", within.count)
    return {
        "build_s": build,
        "nearest_s": nearest,
        "counts_s": counts,
        "total_s": build + nearest + counts,
    }


def run_pandana(graph, out: Path) -> dict:
    import pandana
    import pandas as pd

    x, y, tail, head, seconds, sources, groups = graph
    t0 = time.perf_counter()
    nodes = pd.DataFrame({"x": x, "y": y})
    edges = pd.DataFrame({"from": tail, "to": head, "d": seconds * SPEED_M_S})
    net = pandana.Network(
        nodes["x"], nodes["y"], edges["from"], edges["to"], edges[["d"]], twoway=True
    )
    build = time.perf_counter() - t0
    t0 = time.perf_counter()
    net.precompute(max(THRESHOLDS_M))
    precompute = time.perf_counter() - t0
    near = np.empty((N_CAT, x.shape[0]), np.float32)
    t0 = time.perf_counter()
    for g in range(N_CAT):
        members = sources[groups == g]
        net.set_pois(f"c{g}", max(THRESHOLDS_M), 1, pd.Series(x[members]), pd.Series(y[members]))
        dist = np.array(
            net.nearest_pois(max(THRESHOLDS_M), f"c{g}", num_pois=1)[1], dtype=np.float32
        )  # copy: pandana returns read-only arrays
        dist[dist >= max(THRESHOLDS_M)] = np.inf
        near[g] = dist
    nearest = time.perf_counter() - t0
    count = np.zeros((N_CAT, x.shape[0], len(THRESHOLDS_M)), np.int32)
    t0 = time.perf_counter()
    for g in range(N_CAT):
        members = sources[groups == g]
        net.set(
            pd.Series(members, index=np.arange(members.shape[0])),
            variable=pd.Series(np.ones(members.shape[0]), index=np.arange(members.shape[0])),
            name=f"n{g}",
        )
        for k, radius in enumerate(THRESHOLDS_M):
            count[g, :, k] = np.rint(
                net.aggregate(radius, type="sum", decay="flat", name=f"n{g}").to_numpy()
            )
    counts = time.perf_counter() - t0
    np.save(out / "pandana_near.npy", near)
    np.save(out / "pandana_count.npy", count)
    return {
        "build_s": build + precompute,
        "nearest_s": nearest,
        "counts_s": counts,
        "total_s": build + precompute + nearest + counts,
        "ch_build_s": build,
        "precompute_s": precompute,
    }


def _cityseer_geometry(x, y, tail, head, length):
    """Two-piece polylines whose length is the edge's (cityseer measures geometry)."""
    import shapely

    ax, ay, bx, by = x[tail], y[tail], x[head], y[head]
    chord = np.hypot(bx - ax, by - ay)
    rise = np.sqrt(np.maximum((length / 2) ** 2 - (chord / 2) ** 2, 0.0))
    nx_, ny_ = -(by - ay) / chord, (bx - ax) / chord
    mx, my = (ax + bx) / 2 + rise * nx_, (ay + by) / 2 + rise * ny_
    coords = np.stack(
        [np.column_stack([ax, ay]), np.column_stack([mx, my]), np.column_stack([bx, by])], axis=1
    )
    return shapely.linestrings(coords)


def run_cityseer(graph, out: Path) -> dict:
    import geopandas as gpd
    import networkx as nx
    from cityseer.metrics import layers
    from cityseer.tools import io

    logging.getLogger("cityseer").setLevel(logging.WARNING)
    x, y, tail, head, seconds, sources, groups = graph
    t0 = time.perf_counter()
    geoms = _cityseer_geometry(x, y, tail, head, seconds * SPEED_M_S)
    g_nx = nx.MultiGraph()
    g_nx.add_nodes_from((str(i), {"x": float(x[i]), "y": float(y[i])}) for i in range(x.shape[0]))
    g_nx.add_edges_from(
        (str(a), str(b), {"geom": geom}) for a, b, geom in zip(tail, head, geoms, strict=True)
    )
    g_nx.graph["crs"] = 32648
    nodes_gdf, _, structure = io.network_structure_from_nx(g_nx)
    build = time.perf_counter() - t0
    data = gpd.GeoDataFrame(
        {"cat": [f"c{g}" for g in groups]},
        geometry=gpd.points_from_xy(x[sources], y[sources]),
        crs=32648,
    )
    t0 = time.perf_counter()
    result = layers.compute_accessibilities(
        data, "cat", [f"c{g}" for g in range(N_CAT)], nodes_gdf, structure, distances=THRESHOLDS_M
    )
    both = time.perf_counter() - t0
    order = np.argsort(result.index.to_numpy().astype(np.int64), kind="stable")
    near = np.stack(
        [result[f"cc_c{g}_nearest_max_1200"].to_numpy(np.float32)[order] for g in range(N_CAT)]
    )
    count = np.stack(
        [
            np.stack([result[f"cc_c{g}_{d}_nw"].to_numpy()[order] for d in THRESHOLDS_M], axis=1)
            for g in range(N_CAT)
        ]
    )
    np.save(out / "cityseer_near.npy", near)
    np.save(out / "cityseer_count.npy", np.rint(count).astype(np.int32))
    return {
        "build_s": build,
        "nearest_s": both,
        "counts_s": 0.0,
        "total_s": build + both,
        "note": "nearest and counts in one pass",
    }


PEERS = {"shancheng": run_shancheng, "pandana": run_pandana, "cityseer": run_cityseer}


def cross_check(out: Path, names: list[str]) -> None:
    ours_near = np.load(out / "shancheng_near.npy")
    ours_count = np.load(out / "shancheng_count.npy")
    for name in names:
        if name == "shancheng":
            continue
        near = np.load(out / f"{name}_near.npy")
        count = np.load(out / f"{name}_count.npy")
        reach = np.isfinite(near) == np.isfinite(ours_near)
        both = np.isfinite(near) & np.isfinite(ours_near)
        diff = float(np.max(np.abs(near[both] - ours_near[both]), initial=0.0))
        same_count = count == ours_count
        print(
            f"{name:9s} vs shancheng: reach agrees on {reach.mean():.6%} of node x category "
            f"({(~reach).sum():,} differ), max |Δd| {diff:.3g} m; counts agree on "
            f"{same_count.mean():.6%} ({(~same_count).sum():,} of {same_count.size:,} differ)"
        )


def lattice(args) -> None:
    warm = street_grid(30)
    run_shancheng(warm, Path(tempfile.mkdtemp()))  # numba compile outside the timings
    graph = street_grid(args.side)
    print(
        f"lattice: {args.side**2:,} nodes, {2 * graph[2].shape[0]:,} arcs, "
        f"{graph[5].shape[0]:,} facilities in {N_CAT} categories"
    )
    out = Path(tempfile.mkdtemp())
    names = args.peers.split(",")
    stats = {}
    for name in names:
        try:
            stats[name] = in_child(PEERS[name], graph, out)
        except Exception as exc:  # noqa: BLE001 - report a dead peer, keep the others
            print(f"{name}: FAILED: {exc}")
    cross_check(out, [n for n in names if n in stats])
    print(
        f"\n{'peer':10s} {'build s':>9s} {'nearest s':>10s} {'counts s':>9s} {'total s':>9s} "
        f"{'peak RSS MB':>12s}"
    )
    for name, s in stats.items():
        print(
            f"{name:10s} {s['build_s']:9.2f} {s['nearest_s']:10.2f} {s['counts_s']:9.2f} "
            f"{s['total_s']:9.2f} {s['peak_rss_mb']:12.0f}  {s.get('note', '')}"
        )
    if "shancheng" in stats:
        for name in stats:
            if name != "shancheng":
                ratio = stats[name]["total_s"] / stats["shancheng"]["total_s"]
                print(f"end to end, {name} / shancheng: {ratio:.1f}x")


def demo(residents: int) -> None:
    from shancheng.circles import evaluate_city
    from shancheng.data.demo import DemoConfig, generate_demo_city

    evaluate_city(generate_demo_city(DemoConfig.small()))  # warm-up: numba compile
    t0 = time.perf_counter()
    city = generate_demo_city(DemoConfig(target_population=residents))
    made = time.perf_counter() - t0
    for kind in ("buildings", "cells"):
        t0 = time.perf_counter()
        result = evaluate_city(city, residences=kind, time_step_s=1.0)
        took = time.perf_counter() - t0
        print(
            f"demo city, {residents:,} residents, {len(result.residences):,} {kind}, "
            f"{city.network.n_nodes:,} nodes: evaluate_city {took:.2f} s "
            f"(city generated in {made:.1f} s, not counted); peak RSS {peak_rss_mb():.0f} MB"
        )


def malta() -> None:
    import geopandas as gpd
    import pandas as pd
    from tests.unit.circles.test_real_extract import osm_walk

    from shancheng.circles import compute_accessibility, load_catalogue
    from shancheng.circles.capacity import capacity_access
    from shancheng.circles.coverage import aggregate_coverage, residence_coverage

    path = Path(__file__).resolve().parents[2] / "shared/data/networks/osm"
    path /= "malta_2018-08-27_geofabrik.osm.pbf"
    t0 = time.perf_counter()
    network, _ = osm_walk(path, epsg=32633)
    parse = time.perf_counter() - t0
    catalogue = load_catalogue()
    rng = np.random.default_rng(1)
    cats = catalogue.category_ids[:N_CAT]
    width = np.ptp(network.node_x_utm) / 1e3
    height = np.ptp(network.node_y_utm) / 1e3
    rows = []
    for category, density in zip(cats, DENSITIES_KM2, strict=True):
        k = max(1, round(density * width * height * 0.3))  # ~30 % of the bbox is built-up
        for node in rng.choice(network.n_nodes, k, replace=False):
            rows.append(
                (
                    f"F{len(rows)}",
                    category,
                    network.node_x_utm[node],
                    network.node_y_utm[node],
                    100.0,
                )
            )
    fac = pd.DataFrame(rows, columns=["facility_id", "category", "x_utm", "y_utm", "capacity"])
    homes_at = np.arange(0, network.n_nodes, 4)
    homes = pd.DataFrame(
        {
            "residence_id": homes_at.astype(str),
            "x_utm": network.node_x_utm[homes_at] + 20.0,
            "y_utm": network.node_y_utm[homes_at],
        }
    )
    for column in catalogue.population_columns:
        homes[column] = 10
    homes["cell_id"] = 0
    homes = gpd.GeoDataFrame(
        homes, geometry=gpd.points_from_xy(homes.x_utm, homes.y_utm), crs=32633
    )
    compute_accessibility(network, homes.iloc[:100], fac.iloc[:50], catalogue)  # warm-up
    t0 = time.perf_counter()
    acc = compute_accessibility(network, homes, fac, catalogue, time_step_s=1.0)
    cap = capacity_access(acc, catalogue)
    coverage = residence_coverage(acc, catalogue, adequate=cap.adequate)
    aggregate_coverage(coverage, homes, levels=("city",))
    took = time.perf_counter() - t0
    print(
        f"Malta: {network.n_nodes:,} nodes, {network.n_edges:,} arcs (parsed in {parse:.1f} s, "
        f"not counted), {len(homes):,} residences, {len(fac):,} facilities: accessibility + "
        f"2SFCA + coverage {took:.2f} s; peak RSS {peak_rss_mb():.0f} MB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--side", type=int, default=316, help="lattice side (N = side²)")
    parser.add_argument("--peers", default="shancheng,pandana,cityseer")
    parser.add_argument("--demo", type=int, help="evaluate a demo city of this many residents")
    parser.add_argument("--malta", action="store_true", help="evaluate the Malta OSM network")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if args.demo:
        demo(args.demo)
    elif args.malta:
        malta()
    else:
        lattice(args)


if __name__ == "__main__":
    main()
