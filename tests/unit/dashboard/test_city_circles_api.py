"""/city and /circles on the small demo city: answers equal the circles evaluation's own tables."""

import numpy as np
import pytest
import shapely

from shancheng.cases.permissions import Role


def test_units_per_level_and_parent(dash, city_state):
    units = city_state.evaluation.units
    r = dash.client.get("/city/units", params={"level": "district"})
    assert r.status_code == 200
    features = r.json()["features"]
    districts = units[units["level"] == "district"]
    assert sorted(f["properties"]["code"] for f in features) == sorted(districts["code"])
    first = features[0]["properties"]
    expected = float(districts.set_index("code").at[first["code"], "population"])
    assert first["residents"] == pytest.approx(expected)
    assert features[0]["geometry"]["type"] in {"Polygon", "MultiPolygon"}
    lon, lat = (
        features[0]["geometry"]["coordinates"][0][0][:2]
        if features[0]["geometry"]["type"] == "Polygon"
        else features[0]["geometry"]["coordinates"][0][0][0][:2]
    )
    assert 100 < lon < 110 and 25 < lat < 32  # WGS84 lon/lat, not UTM metres
    r = dash.client.get("/city/units", params={"level": "street", "parent": first["code"]})
    streets = units[(units["level"] == "street") & (units["parent_code"] == first["code"])]
    assert sorted(f["properties"]["code"] for f in r.json()["features"]) == sorted(streets["code"])
    r = dash.client.get("/city/units", params={"level": "street", "parent": "nope"})
    assert r.status_code == 422 and "`parent`" in r.json()["detail"][0]["msg"]
    assert dash.client.get("/city/units", params={"level": "planet"}).status_code == 422


def test_indicators_equal_the_evaluation_and_count_cases(dash, city_state, lonlat):
    units = city_state.evaluation.units.set_index("code")
    street = next(c for c in units.index if units.at[c, "level"] == "street")
    citizen = dash.user("li", Role.CITIZEN, "990100")
    cell = city_state.city.buildings[city_state.city.buildings["street_code"] == street].iloc[0]
    lon, lat = lonlat(cell["x_utm"], cell["y_utm"])
    r = dash.client.post(
        "/cases",
        headers=citizen,
        json={"category_code": "E0102", "lon": lon, "lat": lat, "description": "垃圾"},
    )
    assert r.status_code == 201, r.text
    rows = dash.client.get(
        "/city/indicators", params={"level": "street"}, headers=dash.staff()
    ).json()
    assert len(rows) == int((units["level"] == "street").sum())
    by_code = {row["code"]: row for row in rows}
    for code, row in by_code.items():
        assert row["circle_coverage_share"] == pytest.approx(units.at[code, "complete_15min_share"])
        assert row["childcare_places_per_1000"] == pytest.approx(
            units.at[code, "nursery_supply_per_1000"]
        )
        assert row["cases_open"] == (1 if code == street else 0)
        assert row["cases_overdue"] == 0 and row["on_time_share"] is None
    district = units.at[street, "parent_code"]
    rows = dash.client.get(
        "/city/indicators", params={"level": "district"}, headers=dash.staff()
    ).json()
    assert {r["code"]: r["cases_open"] for r in rows}[district] == 1
    city = dash.client.get(
        "/city/indicators", params={"level": "city"}, headers=dash.staff()
    ).json()
    assert city[0]["cases_open"] == 1
    assert 0 <= city[0]["pipe_monitoring_share"] <= 1


def test_coverage_equals_evaluate_table(dash, city_state):
    table = city_state.evaluation.table
    for category, measure in (("nursery", "nursery_5min"), ("complete_15min", "complete_15min")):
        for level in ("district", "street", "community"):
            got = dash.client.get(
                "/circles/coverage", params={"category": category, "level": level}
            ).json()
            want = table[
                (table["measure"] == measure)
                & (table["unit_level"] == level)
                & (table["age_group"] == "all")
            ]
            assert {g["code"]: g["share"] for g in got} == pytest.approx(
                dict(zip(want["unit_code"], want["share"], strict=True))
            )
            assert {g["code"]: g["covered_residents"] for g in got} == pytest.approx(
                dict(zip(want["unit_code"], want["covered_population"], strict=True))
            )
    park15 = dash.client.get("/circles/coverage", params={"category": "park", "circle": 15}).json()
    want = table[
        (table["measure"] == "park_15min")
        & (table["unit_level"] == "district")
        & (table["age_group"] == "all")
    ]
    assert [p["share"] for p in park15] == pytest.approx(want["share"].tolist())
    # names in both languages, so an English page shows no Chinese unit names
    names = city_state.units.set_index("code")
    assert all(p["name_en"] == names.loc[p["code"], "name_en"] != "" for p in park15)


def test_categories_gaps_and_facilities(dash, city_state):
    cats = dash.client.get("/circles/categories").json()
    assert len(cats) == len(city_state.catalogue.requirements) + len(city_state.catalogue.levels)
    nursery = next(c for c in cats if c["category"] == "nursery")
    assert (nursery["level"], nursery["cutoff_s"]) == ("5min", 300.0)
    gaps = dash.client.get("/circles/gaps", params={"category": "nursery"}).json()["features"]
    expected = city_state.evaluation.gaps
    expected = expected[expected["measure"] == "nursery_5min"]
    assert sorted(g["properties"]["gap_id"] for g in gaps) == sorted(expected["gap_id"])
    assert sum(g["properties"]["residents"] for g in gaps) == pytest.approx(
        expected["residents"].sum()
    )
    # a category required at two circles: each circle's gaps alone (not both drawn at once)
    all_gaps = city_state.evaluation.gaps
    for circle in (10, 15):
        got = dash.client.get("/circles/gaps", params={"category": "park", "circle": circle})
        want = all_gaps[all_gaps["measure"] == f"park_{circle}min"]
        assert sorted(g["properties"]["gap_id"] for g in got.json()["features"]) == sorted(
            want["gap_id"]
        )
    both = dash.client.get("/circles/gaps", params={"category": "park"}).json()["features"]
    assert len(both) == int(all_gaps["measure"].isin(["park_10min", "park_15min"]).sum())
    bad = dash.client.get("/circles/gaps", params={"category": "park", "circle": 5})
    assert (bad.status_code, bad.json()["detail"][0]["code"]) == (422, "query")
    facilities = dash.client.get("/circles/facilities", params={"category": "nursery"}).json()
    mine = city_state.city.facilities[city_state.city.facilities["category"] == "nursery"]
    assert sorted(f["properties"]["facility_id"] for f in facilities["features"]) == sorted(
        mine["facility_id"]
    )


def test_nearest_at_a_home_equals_its_accessibility(dash, city_state, lonlat):
    acc = city_state.evaluation.accessibility
    checked = 0
    for row in range(0, len(acc.residences), max(1, len(acc.residences) // 15)):
        if not acc.attached[row]:
            continue
        home = acc.residences.iloc[row]
        lon, lat = lonlat(home["x_utm"], home["y_utm"])
        got = dash.client.get("/circles/nearest", params={"lon": lon, "lat": lat})
        assert got.status_code == 200, got.text
        times = {g["category"]: g["walk_time_s"] for g in got.json()}
        for c, category in enumerate(acc.categories):
            want = acc.time_s[row, c]
            if np.isfinite(want):
                # the point is re-projected through WGS84 and rounded to 0.1 s
                assert times[category] == pytest.approx(want, abs=0.5), (row, category)
            else:
                assert times[category] is None
        checked += 1
    assert checked >= 10


def test_isochrone_contains_the_clicked_point_and_grows(dash, city_state, lonlat):
    net = city_state.city.network
    node = net.n_nodes // 2
    lon, lat = lonlat(net.node_x_utm[node], net.node_y_utm[node])
    r = dash.client.get("/circles/isochrone", params={"lon": lon, "lat": lat, "minutes": "5,10"})
    assert r.status_code == 200, r.text
    features = r.json()["features"]
    assert [f["properties"]["minutes"] for f in features] == [5.0, 10.0]
    polygons = [shapely.geometry.shape(f["geometry"]) for f in features]
    assert all(p.contains(shapely.Point(lon, lat)) for p in polygons)
    assert polygons[0].area < polygons[1].area
    assert (
        features[0]["properties"]["street_length_m"] < features[1]["properties"]["street_length_m"]
    )


def test_whatif_in_a_gap_raises_that_units_share(dash, city_state):
    gaps = city_state.evaluation.gaps
    gap = gaps[gaps["measure"] == "nursery_5min"].sort_values("residents").iloc[-1]
    spot = gap.geometry.representative_point()
    r = dash.client.post(
        "/circles/whatif", json={"category": "nursery", "lon": spot.x, "lat": spot.y}
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["level"] == "5min" and body["residents_newly_covered"] > 0
    before = {(u["level"], u["code"]): u["share"] for u in body["before"]}
    after = {(u["level"], u["code"]): u["share"] for u in body["after"]}
    units = city_state.evaluation.units
    district = str(
        units[(units["level"] == "district") & units.geometry.covers(spot)]["code"].iloc[0]
    )
    assert after[("district", district)] > before[("district", district)]
    # adding never uncovers anyone, and the gains add up to the residents newly covered
    assert all(after[k] >= before[k] for k in before)
    people = units[units["level"] == "district"].set_index("code")["population"]
    gained = sum(
        (after[("district", c)] - before[("district", c)]) * people[c] for c in people.index
    )
    assert gained == pytest.approx(body["residents_newly_covered"])
    streets = [k for k in before if k[0] == "street"]
    assert streets and all(str(k[1]).startswith(district) for k in streets)
    # the state is restored: the same question gives the same answer
    again = dash.client.post(
        "/circles/whatif", json={"category": "nursery", "lon": spot.x, "lat": spot.y}
    ).json()
    assert again == body
    table = city_state.evaluation.table
    want = table[
        (table["measure"] == "nursery_5min")
        & (table["unit_level"] == "district")
        & (table["age_group"] == "all")
    ].set_index("unit_code")["share"]
    assert before[("district", district)] == pytest.approx(want[district])


@pytest.mark.parametrize(
    ("method", "path", "payload", "field"),
    [
        ("get", "/circles/nearest", {"lon": 116.4, "lat": 39.9}, "`lon`"),
        ("get", "/circles/isochrone", {"lon": 116.4, "lat": 39.9}, "`lon`"),
        ("get", "/circles/coverage", {"category": "casino"}, "`category`"),
        ("get", "/circles/gaps", {"category": "casino"}, "`category`"),
        ("get", "/circles/facilities", {"category": "casino"}, "`category`"),
        ("get", "/circles/coverage", {"category": "nursery", "circle": 15}, "`circle`"),
        (
            "post",
            "/circles/whatif",
            {"category": "casino", "lon": 106.55, "lat": 29.56},
            "`category`",
        ),
        ("post", "/circles/whatif", {"category": "nursery", "lon": 116.4, "lat": 39.9}, "`lon`"),
    ],
)
def test_bad_input_names_the_field(dash, city_state, method, path, payload, field):
    if method == "get":
        r = dash.client.get(path, params=payload)
    else:
        r = dash.client.post(path, json=payload)
    assert r.status_code == 422, r.text
    assert field in r.json()["detail"][0]["msg"]


def test_isochrone_minutes_are_checked(dash, city_state, lonlat):
    net = city_state.city.network
    lon, lat = lonlat(net.node_x_utm[0], net.node_y_utm[0])
    for bad in ("0", "abc", "90", ""):
        r = dash.client.get("/circles/isochrone", params={"lon": lon, "lat": lat, "minutes": bad})
        assert r.status_code == 422 and "`minutes`" in r.json()["detail"][0]["msg"], bad
    r = dash.client.get("/circles/nearest", params={"lon": 500, "lat": 29.5})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "lon"]


def test_stations_catchments_and_lines_of_the_city_feed(dash, city_state):
    transit = city_state.evaluation.transit
    stations = dash.client.get("/circles/stations").json()
    assert stations["type"] == "FeatureCollection"
    assert len(stations["features"]) == len(transit.stations) > 0
    first = stations["features"][0]
    assert first["geometry"]["type"] == "Point"
    assert set(first["properties"]) == {
        "station_id",
        "stop_name",
        "platforms",
        "entrances",
        "climb_max_s",
        "residents_10min",
        "residents_15min",
    }
    response = dash.client.get("/circles/stations/catchments", params={"minutes": 10})
    assert response.status_code == 200, response.text
    catchments = response.json()
    served = {
        f["properties"]["station_id"]: f["properties"]["residents"] for f in catchments["features"]
    }
    by_station = {
        f["properties"]["station_id"]: f["properties"]["residents_10min"]
        for f in stations["features"]
    }
    assert served == {k: v for k, v in by_station.items() if v > 0}
    assert (
        dash.client.get("/circles/stations/catchments", params={"minutes": 12}).status_code == 422
    )
    lines = dash.client.get("/circles/lines").json()
    assert sum(f["properties"]["length_km"] for f in lines["features"]) == pytest.approx(
        transit.lines["length_km"].sum()
    )


def test_transit_coverage_per_unit_against_the_residences(dash, city_state):
    """Walk + transit coverage per district: recomputed here from the per-residence times."""
    transit = city_state.evaluation.transit
    access = transit.access
    residences = city_state.evaluation.accessibility.residences
    people = residences["population"].to_numpy(float)
    # the category the demo metro helps most within 30 minutes (chosen from the raw times)
    gains = [people[(access.median_s[:, k] <= 1800) & (access.walk_s[:, k] > 1800)].sum()
             for k in range(len(access.categories))]  # fmt: skip
    c = int(np.argmax(gains))
    category = access.categories[c]
    rows = dash.client.get(
        "/circles/transit/coverage", params={"category": category, "level": "district",
                                             "minutes": 30}
    )  # fmt: skip
    assert rows.status_code == 200, rows.text
    got = {r["code"]: r for r in rows.json()}
    district = residences["district_code"].astype(str).to_numpy()
    assert set(got) == set(district)
    gained = 0.0
    for code, row in got.items():
        mine = district == code
        assert row["residents"] == pytest.approx(people[mine].sum())
        walk = people[mine & (access.walk_s[:, c] <= 1800)].sum()
        ride = people[mine & (access.median_s[:, c] <= 1800)].sum()
        assert row["walk_covered"] == pytest.approx(walk)
        assert row["transit_covered"] == pytest.approx(ride)
        assert row["transit_covered"] >= row["walk_covered"] - 1e-9
        assert row["transit_share"] == pytest.approx(ride / people[mine].sum())
        gained += ride - walk
        assert row["name"]
    assert gained == pytest.approx(gains[c]) and gained > 0
    for bad in ({"minutes": 20}, {"category": "nope"}):
        r = dash.client.get("/circles/transit/coverage", params={"category": category, **bad})
        assert r.status_code == 422, r.text
