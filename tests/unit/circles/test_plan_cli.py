"""Candidates, capacity planning and the `circles plan` command on the small demo city."""

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from shancheng.circles.candidates import (
    cell_slope,
    grid_candidates,
    ground_nodes,
    read_candidates,
)
from shancheng.circles.capacity_plan import adequacy_after, plan_capacity
from shancheng.circles.planning import plan_max_cover, prepare_siting
from shancheng.circles.residences import residences_from_buildings
from shancheng.circles.standard import load_catalogue
from shancheng.circles.whatif import WhatIf
from shancheng.cli import main
from shancheng.data.city import write_city
from shancheng.errors import InputError
from shancheng.network.speed import EdgeKind


def test_grid_candidates_skip_water_and_steep_cells(small_city):
    all_sites = grid_candidates(small_city, max_slope=10.0)
    flat_only = grid_candidates(small_city, max_slope=0.05)
    people_cells = set(small_city.buildings.loc[small_city.buildings["population"] > 0, "cell_id"])
    assert set(all_sites["cell_id"]) <= people_cells
    assert len(set(all_sites["cell_id"])) == len(all_sites)  # one per cell
    assert (flat_only["slope"] <= 0.05).all()
    assert len(flat_only) < len(all_sites)
    net = small_city.network
    ground = ground_nodes(net)
    assert ground[all_sites["node"].to_numpy()].all()
    # a node touched only by bridge arcs (mid-river) is never ground
    bridge_only = np.ones(net.n_nodes, bool)
    not_bridge = net.edge_kind != EdgeKind.BRIDGE
    bridge_only[net.edge_tail[not_bridge]] = False
    bridge_only[net.edge_head[not_bridge]] = False
    touched = np.zeros(net.n_nodes, bool)
    touched[net.edge_tail] = True
    assert not ground[bridge_only & touched].any()


def test_cell_slope_of_a_known_plane(small_city):
    cells = small_city.grid_cells.copy()
    size = small_city.grid.cell_size_m
    cells["z_m"] = 0.1 * cells["col"] * size  # a 10 % slope eastwards
    plane = small_city.__class__(**{**small_city.__dict__, "grid_cells": cells})
    slope = cell_slope(plane)
    present = set(zip(cells["row"], cells["col"], strict=True))
    lonely = np.array([(r, c - 1) not in present and (r, c + 1) not in present
                       for r, c in zip(cells["row"], cells["col"], strict=True)])  # fmt: skip
    assert np.allclose(slope.to_numpy()[~lonely], 0.1)  # central or one-sided differences
    assert np.allclose(slope.to_numpy()[lonely], 0.0)  # no east-west neighbour: unknown, 0


def test_read_candidates_csv_and_geojson(tmp_path):
    csv = tmp_path / "c.csv"
    csv.write_text("candidate_id,lon,lat,capacity\na,106.55,29.56,90\nb,106.56,29.57,60\n")
    sites = read_candidates(csv, epsg=32648)
    assert sites["candidate_id"].tolist() == ["a", "b"]
    assert sites["capacity"].tolist() == [90.0, 60.0]
    path = tmp_path / "c.geojson"
    sites.to_file(path, driver="GeoJSON")
    again = read_candidates(path, epsg=32648)
    np.testing.assert_allclose(again["x_utm"], sites["x_utm"], atol=1e-3)
    bad = tmp_path / "bad.csv"
    bad.write_text("candidate_id,lon,lat\na,106.55,north\n")
    with pytest.raises(InputError, match=r"bad.csv row 0: field `lat`.*'north'"):
        read_candidates(bad, epsg=32648)
    line = tmp_path / "line.geojson"
    gpd.GeoDataFrame(geometry=gpd.GeoSeries.from_wkt(["LINESTRING (0 0, 1 1)"]),
                     crs=4326).to_file(line, driver="GeoJSON")  # fmt: skip
    with pytest.raises(InputError, match="row 0: geometry must be a Point"):
        read_candidates(line, epsg=32648)


def test_capacity_plan_accounts_for_every_missing_place(small_city):
    catalogue = load_catalogue()
    homes = residences_from_buildings(small_city)
    inst = prepare_siting(small_city.network, homes, small_city.facilities, catalogue,
                          "kindergarten_5min", grid_candidates(small_city))  # fmt: skip
    plan = plan_max_cover(inst, 5)
    places = plan_capacity(small_city, catalogue, "kindergarten", plan)
    streets = places.streets.set_index("street_code")
    # hand rule: 900 places per 1,000 children aged 3-5 living in the street
    kids = small_city.buildings.groupby(small_city.buildings["street_code"].astype(str))["age_3_5"]
    np.testing.assert_allclose(streets["required"], 0.9 * kids.sum().reindex(streets.index))
    assert (streets["missing"] >= 0).all()
    np.testing.assert_allclose(streets["assigned"] + streets["unassigned"], streets["missing"])
    by_street = places.assignments.groupby("street_code")["added"].sum()
    served = streets.loc[by_street.index]
    np.testing.assert_allclose(served["supply"] + by_street, served["required"].clip(
        lower=served["supply"]))  # fmt: skip
    state = WhatIf.from_instance(inst, catalogue, small_city.facilities)
    for cid in plan.sites["candidate_id"]:
        state.add_candidate(cid, capacity=0.0)
    before, after = adequacy_after(state, places)
    assert after >= before
    with pytest.raises(InputError, match="no capacity norm"):
        plan_capacity(small_city, catalogue, "park")


def test_cli_plan_writes_sites_table_and_map(small_city, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    city_dir = write_city(small_city, tmp_path / "small")
    out = tmp_path / "plan"
    args = ["circles", "plan", "--city", str(city_dir), "--requirement", "kindergarten_5min",
            "--k", "4", "--out", str(out)]  # fmt: skip
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "kindergarten_5min: 4 new sites" in printed
    sites = gpd.read_file(out / "sites.geojson")
    assert len(sites) == 4
    assert sites.crs.to_epsg() == 4326
    table = pd.read_csv(out / "coverage_before_after.csv")
    assert set(table["unit_level"]) == {"city", "district", "street", "community"}
    summary = json.loads((out / "plan.json").read_text())
    assert summary["method"] == "exact"
    assert summary["share_after"] > summary["share_before"]
    assert (out / "map.png").stat().st_size > 10_000
    streets = pd.read_csv(out / "capacity_streets.csv", dtype={"street_code": str})
    fitted = pd.read_csv(out / "capacity_fit_facilities.csv", dtype={"street_code": str})
    # the 2SFCA fit's places per street sit next to the proportional rule's, and add up
    assert {"assigned", "fit_added"} <= set(streets.columns)
    assert streets["fit_added"].sum() == pytest.approx(fitted["added"].sum())
    assert summary["fit_status"] == "met"
    assert summary["fit_reachable_adequate_after"] == pytest.approx(1.0)
    assert summary["fit_places_added"] >= summary["fit_places_lower_bound"] - 1e-3
    unreachable = pd.read_csv(out / "capacity_fit_unreachable.csv")
    assert len(unreachable) == summary["fit_residences_unreachable"]
    assert "2SFCA fit" in printed
    too_many = [*args[:-4], "--k", "100000", "--out", str(tmp_path / "x")]
    assert main(too_many) == 1
    err = " ".join(capsys.readouterr().err.split())  # rich wraps long lines
    assert "100000 new sites requested but only" in err
    assert "candidate sites exist" in err
