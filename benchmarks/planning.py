"""Siting and what-if: shancheng against spopt (PySAL) on the same coverage data, in one run.

Part 1 — the same maximal-covering (k sites) and set-covering (every coverable resident)
instances, solved by shancheng (sparse HiGHS MILP after reduction, greedy fallback) and by
spopt's ``MCLP`` / ``LSCP.from_cost_matrix`` (dense cost matrix, PuLP + CBC). The coverage
data come from the full demo city: residences not yet within ``--requirement``'s threshold
of an existing facility, ``--candidates`` grid candidates (a seeded sample), coverage sets from
one bounded walk per candidate. spopt gets the same sets as a dense cost matrix (0 inside,
2 outside, service radius 1).

Part 2 — what-if of one facility on the largest real network in ../shared/data (Malta,
imported with shancheng's OSM importer, flat: no DEM): add / resize / remove a facility and
get the change per unit. Demand: the OSM buildings, 10 residents each (synthetic: the
extract has no population), OSM facilities without a capacity get 100. Target: <= 200 ms per edit.

    .venv/bin/python benchmarks/planning.py [--candidates 1000] [--k 10] [--no-spopt]
"""

from __future__ import annotations

import argparse
import resource
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from shancheng.circles.candidates import candidate_frame, grid_candidates
from shancheng.circles.planning import prepare_siting
from shancheng.circles.residences import residences_from_buildings
from shancheng.circles.siting import max_cover, set_cover
from shancheng.circles.standard import load_catalogue
from shancheng.circles.whatif import WhatIf
from shancheng.data.city import AGE_GROUPS
from shancheng.data.demo import DemoConfig, generate_demo_city
from shancheng.data.importer import ImportOptions, build_city

MALTA = (Path(__file__).resolve().parents[2] / "shared" / "data" / "networks" / "osm"
         / "malta_2018-08-27_geofabrik.osm.pbf")  # fmt: skip


def siting_instance(requirement: str, n_candidates: int, seed: int = 7):
    city = generate_demo_city(DemoConfig())
    catalogue = load_catalogue()
    cands = grid_candidates(city)
    rng = np.random.default_rng(seed)
    if len(cands) > n_candidates:
        cands = cands.iloc[np.sort(rng.choice(len(cands), n_candidates, replace=False))]
    started = time.perf_counter()
    inst = prepare_siting(city.network, residences_from_buildings(city), city.facilities,
                          catalogue, requirement, cands)  # fmt: skip
    build_s = time.perf_counter() - started
    return inst, build_s


def spopt_solve(matrix, weight, k: int | None):
    import pulp
    from spopt.locate import LSCP, MCLP

    started = time.perf_counter()
    dense = np.where(matrix.toarray().T > 0, 0.0, 2.0)  # (demand, sites)
    solver = pulp.PULP_CBC_CMD(msg=False)
    if k is not None:
        model = MCLP.from_cost_matrix(dense, weight, service_radius=1.0, p_facilities=k)
    else:
        model = LSCP.from_cost_matrix(dense, service_radius=1.0)
    built_s = time.perf_counter() - started
    model = model.solve(solver)
    chosen = np.array([j for j, v in enumerate(model.fac_vars) if v.value() > 0.5])
    hit = (matrix[chosen].sum(axis=0) > 0) if chosen.shape[0] else np.zeros(matrix.shape[1], bool)
    value = float(weight[np.asarray(hit).ravel()].sum()) if k is not None else len(chosen)
    return value, built_s, time.perf_counter() - started


def part_siting(args) -> list[dict]:
    inst, build_s = siting_instance(args.requirement, args.candidates)
    a = inst.matrix
    w = inst.weight[inst.demand]
    reach = np.asarray(a.sum(axis=0)).ravel() > 0
    print(
        f"instance {args.requirement}: {a.shape[0]} candidates x {a.shape[1]} residences in "
        f"demand, {a.nnz} coverage pairs (built in {build_s:.2f} s: attach + one ball each)"
    )
    rows = []
    for name, k in (("max cover", args.k), ("set cover 100 %", None)):
        sub = a if k is not None else a[:, np.flatnonzero(reach)]
        ws = w if k is not None else w[reach]
        started = time.perf_counter()
        res = (max_cover(sub, ws, k, time_limit_s=60) if k is not None
               else set_cover(sub, ws, float(ws.sum()), time_limit_s=60))  # fmt: skip
        ours_s = time.perf_counter() - started
        row = {"problem": name, "size": f"{sub.shape[0]}x{sub.shape[1]}",
               "shancheng_s": ours_s, "shancheng_obj": res.objective,
               "method": res.method, "gap": res.gap}  # fmt: skip
        if not args.no_spopt:
            value, built, total = spopt_solve(sub, ws, k)
            row |= {"spopt_build_s": built, "spopt_total_s": total, "spopt_obj": value,
                    "ratio": total / ours_s}  # fmt: skip
        rows.append(row)
    return rows


def part_whatif(repeats: int) -> list[dict]:
    if not MALTA.is_file():
        print(f"skip what-if: {MALTA} not found")
        return []
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        city, _ = build_city(ImportOptions(osm=MALTA, name="Malta"))
    print(
        f"Malta imported in {time.perf_counter() - started:.1f} s: "
        f"{city.network.n_nodes:,} nodes, {city.network.n_edges:,} arcs"
    )
    b = city.buildings
    homes = pd.DataFrame({"residence_id": b["building_id"].astype(str),
                          "x_utm": b["x_utm"], "y_utm": b["y_utm"], "population": 10.0,
                          **{c: 10.0 / len(AGE_GROUPS) for c in AGE_GROUPS}})  # fmt: skip
    rng = np.random.default_rng(3)
    nodes = rng.choice(city.network.n_nodes, repeats, replace=False)
    cands = candidate_frame([f"n{n}" for n in nodes], city.network.node_x_utm[nodes],
                            city.network.node_y_utm[nodes], epsg=city.network.crs_epsg)  # fmt: skip
    catalogue = load_catalogue()
    facilities = city.facilities.assign(capacity=city.facilities["capacity"].fillna(100.0))
    rows = []
    for requirement in ("supermarket_15min", "primary_school_10min"):
        started = time.perf_counter()
        inst = prepare_siting(city.network, homes, facilities, catalogue, requirement, cands)
        state = WhatIf.from_instance(inst, catalogue, facilities)
        setup_s = time.perf_counter() - started
        times = {"add": [], "resize": [], "remove": []}
        searched = []
        for cid in cands["candidate_id"]:
            change = state.add_candidate(cid, capacity=500.0)
            times["add"].append(change.elapsed_s)
            searched.append(change.searched_nodes)
            times["resize"].append(state.resize(f"planned-{cid}", 800.0).elapsed_s)
            times["remove"].append(state.remove(f"planned-{cid}").elapsed_s)
        for op, values in times.items():
            ms = 1000 * np.asarray(values)
            rows.append({"requirement": requirement, "edit": op, "n": len(values),
                         "median_ms": float(np.median(ms)), "max_ms": float(ms.max()),
                         "nodes_searched_median": float(np.median(searched)) if op == "add" else 0,
                         "setup_s": setup_s, "residences": len(homes)})  # fmt: skip
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requirement", default="kindergarten_5min")
    parser.add_argument("--candidates", type=int, default=1000)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--no-spopt", action="store_true")
    parser.add_argument("--no-whatif", action="store_true")
    args = parser.parse_args()
    pd.set_option("display.width", 200)
    print(pd.DataFrame(part_siting(args)).round(4).to_string(index=False))
    if not args.no_whatif:
        print(pd.DataFrame(part_whatif(args.repeats)).round(3).to_string(index=False))
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of the whole run: {peak_mb:,.0f} MB")


if __name__ == "__main__":
    main()
