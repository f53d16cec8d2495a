"""``GET /mobility/bottlenecks``: the ranked list and its GeoJSON layer, public."""

from __future__ import annotations


def test_bottlenecks_ranked_list_and_layer(dash):
    client = dash.client
    rows = client.get("/mobility/bottlenecks", params={"limit": 5}).json()
    assert [r["rank"] for r in rows] == sorted(r["rank"] for r in rows)
    assert len(rows) == 5
    first = rows[0]
    assert abs(sum(first["components"].values()) - first["score"]) < 1e-3
    assert first["reason"]
    gates = client.get("/mobility/bottlenecks", params={"kind": "school_gate"}).json()
    assert {r["kind"] for r in gates} == {"school_gate"}
    layer = client.get("/mobility/bottlenecks.geojson", params={"limit": 3}).json()
    assert layer["type"] == "FeatureCollection" and len(layer["features"]) == 3


def test_the_centers_traffic_reports_count_near_a_gate_as_they_come_in(dash):
    client = dash.client
    gates = client.get("/mobility/bottlenecks", params={"kind": "school_gate"}).json()
    gate = gates[-1]  # the lowest-ranked gate: reports can only lift it
    before = gate["measures"].get("reports", 0.0)
    for k in range(3):  # illegal parking (E0502) at the gate, a few metres apart
        r = client.post("/cases", json={"category_code": "E0502", "lon": gate["lon"] + k * 2e-5,
                                        "lat": gate["lat"]})  # fmt: skip
        assert r.status_code == 201, r.text
    far = client.post("/cases", json={"category_code": "E0502", "lon": gate["lon"] + 0.02,
                                      "lat": gate["lat"]})  # about 2 km away: not counted  # fmt: skip
    assert far.status_code in (201, 422), far.text  # (422 if outside the city)
    again = client.get("/mobility/bottlenecks", params={"kind": "school_gate", "limit": 5000})
    (after,) = [g for g in again.json() if g["candidate_id"] == gate["candidate_id"]]
    assert after["measures"]["reports"] == before + 3
    assert after["score"] > gate["score"]
    assert "traffic reports nearby" in after["reason"] or after["rank"] < gate["rank"]


def test_unprotected_school_crossings_per_unit_add_up_from_the_gates(dash, small_city):
    import shapely

    gates = dash.client.get(
        "/mobility/bottlenecks", params={"kind": "school_gate", "limit": 5000}
    ).json()
    assert sum(g["measures"]["unprotected_main"] for g in gates) > 0  # the demo has some
    rows = dash.client.get(
        "/city/indicators", params={"level": "district"}, headers=dash.staff()
    ).json()
    units = small_city.admin_units.set_index("code")
    for row in rows:
        shape = units.loc[row["code"], "geometry"]
        inside = [
            g["measures"]["unprotected_main"] for g in gates
            if shapely.contains_xy(shape, g["lon"], g["lat"])
        ]  # fmt: skip
        assert row["school_unprotected_crossings"] == sum(inside), row["code"]
    (city,) = dash.client.get(
        "/city/indicators", params={"level": "city"}, headers=dash.staff()
    ).json()
    assert city["school_unprotected_crossings"] == sum(
        g["measures"]["unprotected_main"] for g in gates
    )
    measures = {m["key"]: m for m in dash.client.get("/city/measures").json()}
    assert measures["school_unprotected_crossings"]["better"] == "lower"


def test_a_city_without_schools_gets_the_reason_every_time(dash, city_state, monkeypatch):
    """The city state keeps why it has no analysis; each request gets a fresh error from it."""
    from shancheng.errors import InputError

    monkeypatch.setattr(city_state, "bottlenecks", InputError("no schools in the City"))
    for _ in range(2):
        r = dash.client.get("/mobility/bottlenecks")
        assert r.status_code == 400 and "no schools in the City" in r.text
    assert city_state.bottlenecks.__traceback__ is None  # the stored one was never raised
