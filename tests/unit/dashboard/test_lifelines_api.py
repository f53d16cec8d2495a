"""/lifelines on the small demo city: ingest with the MQTT path's rules, alarms, isolation."""

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from shancheng.api.state import state_of
from shancheng.cases.permissions import Role
from shancheng.lifelines.service import plan_isolation


def iso(minutes_ago):
    return (datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=minutes_ago)).isoformat()


def test_networks_and_pipes(dash, small_city):
    nets = {
        n["network"]: n for n in dash.client.get("/lifelines/networks", headers=dash.staff()).json()
    }
    links = small_city.water_links
    pipes = links[links["kind"] != "valve"]
    assert nets["water"]["pipes"] == len(pipes)
    assert nets["water"]["length_m"] == pytest.approx(pipes["length_m"].sum(), abs=0.1)
    fc = dash.client.get("/lifelines/pipes", params={"network": "gas"}, headers=dash.staff()).json()
    assert len(fc["features"]) == nets["gas"]["pipes"]
    lon, lat = fc["features"][0]["geometry"]["coordinates"][0]
    assert 100 < lon < 110 and 25 < lat < 32
    r = dash.client.get("/lifelines/pipes", params={"network": "sewage"}, headers=dash.staff())
    assert r.status_code == 404 and "`network`" in r.json()["detail"][0]["msg"]


def test_ingest_validates_like_mqtt_and_raises_alarms(dash):
    key = dash.api_key()
    good = {"sensor_id": "W00000", "time": iso(3), "value": 320.0, "unit": "kPa"}
    r = dash.client.post("/lifelines/readings", json=good)
    assert r.status_code == 401
    r = dash.client.post("/lifelines/readings", json=good, headers={"X-API-Key": key})
    assert r.status_code == 200, r.text
    assert (r.json()["stored"], r.json()["rejected"], r.json()["alarms"]) == (1, 0, [])
    batch = [
        {**good, "time": iso(2), "value": 50.0},  # below 100 kPa: level-1 alarm
        {**good, "time": iso(1), "unit": "bar"},  # wrong unit
        {**good, "sensor_id": "NOPE"},  # unknown sensor
        {**good, "time": iso(1), "value": 5000.0},  # outside the sensor's range
        {**good, "time": iso(-60)},  # an hour in the future
        good,  # the same reading again
    ]
    body = dash.client.post("/lifelines/readings", json=batch, params={"api_key": key}).json()
    assert (body["received"], body["stored"], body["duplicates"], body["rejected"]) == (6, 1, 1, 4)
    assert [(x["index"], x["reason"]) for x in body["rejections"]] == [
        (1, "wrong_unit"),
        (2, "unknown_sensor"),
        (3, "out_of_range"),
        (4, "future_time"),
    ]
    # 320 -> 50 kPa in one minute: below the level-1 floor and faster than 50 kPa/min
    by_rule = {a["rule"]: a for a in body["alarms"]}
    assert sorted(by_rule) == ["rate_of_change", "threshold"]
    alarm = by_rule["threshold"]
    assert (alarm["sensor_id"], alarm["level"], alarm["state"]) == ("W00000", 1, "raised")
    assert alarm["value"] == 50.0 and alarm["unit"] == "kPa"
    assert by_rule["rate_of_change"]["level"] == 2
    with state_of(dash.app).engine.connect() as conn:
        reasons = dict(
            conn.execute(
                sa.text("select reason, count(*) from lifelines_rejections group by reason")
            ).all()
        )
    assert reasons == {"wrong_unit": 1, "unknown_sensor": 1, "out_of_range": 1, "future_time": 1}
    listed = dash.client.get(
        "/lifelines/alarms", params={"state": "raised"}, headers=dash.staff()
    ).json()
    assert sorted(a["alarm_id"] for a in listed) == sorted(a["alarm_id"] for a in body["alarms"])
    sensors = {
        f["properties"]["sensor_id"]: f["properties"]
        for f in dash.client.get("/lifelines/sensors", headers=dash.staff()).json()["features"]
    }
    assert sensors["W00000"]["last_value"] == 50.0
    assert sensors["W00000"]["state"] == "alarm"
    assert sensors["W00001"]["state"] == "no_data"
    # the table's pages: one network, alarms first, then by id; the total in X-Total-Count
    water = sorted(s for s, p in sensors.items() if p["network"] == "water")
    pages, total = [], None
    for offset in range(0, len(water), 7):
        r = dash.client.get(
            "/lifelines/sensors",
            params={"network": "water", "limit": 7, "offset": offset},
            headers=dash.staff(),
        )
        total = int(r.headers["X-Total-Count"])
        pages += [f["properties"]["sensor_id"] for f in r.json()["features"]]
    assert total == len(water)
    assert pages == ["W00000", *(s for s in water if s != "W00000")]  # the alarm first
    found = dash.client.get(
        "/lifelines/sensors", params={"q": "w0000", "limit": 50}, headers=dash.staff()
    )
    assert sorted(f["properties"]["sensor_id"] for f in found.json()["features"]) == sorted(
        s for s in sensors if "W0000" in s
    )
    r = dash.client.post(
        "/lifelines/readings", json={"sensor_id": "W00000"}, headers={"X-API-Key": key}
    )
    assert r.status_code == 422


def test_acknowledge_needs_an_operator(dash):
    key = dash.api_key()
    bad = {"sensor_id": "W00000", "time": iso(1), "value": 20.0, "unit": "kPa"}
    alarm = dash.client.post("/lifelines/readings", json=bad, headers={"X-API-Key": key}).json()[
        "alarms"
    ][0]
    path = f"/lifelines/alarms/{alarm['alarm_id']}/acknowledge"
    assert dash.client.post(path).status_code == 401
    citizen = dash.user("li", Role.CITIZEN, "990100")
    r = dash.client.post(path, headers=citizen)
    assert r.status_code == 403
    dispatcher = dash.user("wang", Role.DISPATCHER, "990100")
    r = dash.client.post(path, headers=dispatcher)
    assert r.status_code == 200 and r.json()["state"] == "acknowledged"
    assert dash.client.post(path, headers=dispatcher).status_code == 400  # not twice
    assert (
        dash.client.get(
            "/lifelines/alarms", params={"state": "raised"}, headers=dash.staff()
        ).json()
        == []
    )
    r = dash.client.post("/lifelines/alarms/nope/acknowledge", headers=dispatcher)
    assert r.status_code == 404


def test_readings_are_downsampled(dash):
    key = dash.api_key()
    start = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=30)
    values = [300.0, 310.0, 320.0, 330.0, 340.0, 350.0]
    dash.client.post(
        "/lifelines/readings",
        headers={"X-API-Key": key},
        json=[
            {
                "sensor_id": "W00001",
                "time": (start + timedelta(minutes=k)).isoformat(),
                "value": v,
                "unit": "kPa",
            }
            for k, v in enumerate(values)
        ],
    )
    params = {"start": start.isoformat(), "end": (start + timedelta(minutes=6)).isoformat()}
    raw = dash.client.get(
        "/lifelines/sensors/W00001/readings", params=params, headers=dash.staff()
    ).json()
    assert [p["mean"] for p in raw] == values
    buckets = dash.client.get(
        "/lifelines/sensors/W00001/readings",
        params={**params, "bucket_s": 180},
        headers=dash.staff(),
    ).json()
    first_bucket = (int(start.timestamp()) // 180) * 180
    split = [
        v for k, v in enumerate(values) if int(start.timestamp()) + 60 * k < first_bucket + 180
    ]
    assert buckets[0]["count"] == len(split)
    assert (buckets[0]["min"], buckets[0]["max"]) == (min(split), max(split))
    assert buckets[0]["mean"] == pytest.approx(sum(split) / len(split))
    assert sum(b["count"] for b in buckets) == len(values)
    r = dash.client.get("/lifelines/sensors/NOPE/readings", headers=dash.staff())
    assert r.status_code == 404 and "`sensor_id`" in r.json()["detail"][0]["msg"]
    r = dash.client.get(
        "/lifelines/sensors/W00001/readings",
        params={"start": "2026-01-01T00:00"},
        headers=dash.staff(),
    )
    assert r.status_code == 422 and "`start`" in r.json()["detail"][0]["msg"]


def test_isolation_equals_lifelines_plan(dash, small_city, city_state, lonlat):
    links = small_city.water_links
    pipe = str(links[links["kind"] == "pipe"]["link_id"].iloc[len(links) // 3])
    want = plan_isolation(small_city, "water", pipe)
    got = dash.client.get(
        "/lifelines/isolation", params={"network": "water", "pipe": pipe}, headers=dash.staff()
    ).json()
    assert got["pipe_id"] == pipe
    assert got["valves_to_close"] == want.valves_to_close
    assert got["segments_lost"] == want.impact["segments"]
    assert got["side_effect_segments"] == len(want.cut_off_segments)
    assert got["customers"] == want.impact["customers"]
    assert got["residents"] == want.impact["residents"]
    assert [f["facility_id"] for f in got["critical_facilities"]] == want.facilities[
        "facility_id"
    ].astype(str).tolist()
    roles = [f["properties"]["role"] for f in got["geometry"]["features"]]
    assert roles.count("valve") == len(want.valves_to_close)
    assert pipe in [
        f["properties"]["id"]
        for f in got["geometry"]["features"]
        if f["properties"]["role"] == "lost"
    ]
    # a click on the middle of that pipe finds it
    model = city_state.pipe_model("water")
    line = model.lines[model.lines["link_id"] == pipe].geometry.iloc[0]
    mid = line.interpolate(0.5, normalized=True)
    lon, lat = lonlat(mid.x, mid.y)
    near = dash.client.get(
        "/lifelines/isolation",
        params={"network": "water", "lon": lon, "lat": lat},
        headers=dash.staff(),
    ).json()
    assert near["pipe_id"] == pipe
    r = dash.client.get(
        "/lifelines/isolation", params={"network": "water", "pipe": "P-none"}, headers=dash.staff()
    )
    assert r.status_code == 404 and "`pipe`" in r.json()["detail"][0]["msg"]
    r = dash.client.get(
        "/lifelines/isolation",
        params={"network": "water", "lon": 0, "lat": 0},
        headers=dash.staff(),
    )
    assert r.status_code == 422 and "`lon`" in r.json()["detail"][0]["msg"]
    r = dash.client.get("/lifelines/isolation", params={"network": "water"}, headers=dash.staff())
    assert r.status_code == 422 and "`pipe`" in r.json()["detail"][0]["msg"]


def test_a_citizen_apps_key_cannot_post_readings(dash):
    app_key = dash.api_key("citizen app", scopes=("report",))
    reading = {"sensor_id": "G00001", "time": iso(1), "value": 60.0, "unit": "%LEL"}
    r = dash.client.post("/lifelines/readings", json=reading, headers={"X-API-Key": app_key})
    assert r.status_code == 403 and "may not be used to ingest" in r.text
    assert dash.client.post("/lifelines/readings", json=reading).status_code == 401
    # a staff token may post readings by hand (a field check)
    r = dash.client.post("/lifelines/readings", json=reading, headers=dash.staff())
    assert r.status_code == 200, r.text


def test_every_alarm_not_yet_cleared_is_listed(dash):
    """A confirmed alarm is still an active one: the dashboard's list asks for active=true."""
    key = dash.api_key()
    bad = {"sensor_id": "W00000", "time": iso(1), "value": 20.0, "unit": "kPa"}
    alarm = dash.client.post("/lifelines/readings", json=bad, headers={"X-API-Key": key}).json()[
        "alarms"
    ][0]
    dispatcher = dash.user("wang", Role.DISPATCHER, "990100")
    path = f"/lifelines/alarms/{alarm['alarm_id']}/acknowledge"
    assert dash.client.post(path, headers=dispatcher).status_code == 200
    raised = dash.client.get("/lifelines/alarms", params={"state": "raised"}, headers=dispatcher)
    active = dash.client.get("/lifelines/alarms", params={"active": "true"}, headers=dispatcher)
    assert raised.json() == []  # what the list used to load: the acknowledged alarm vanished
    assert [a["alarm_id"] for a in active.json()] == [alarm["alarm_id"]]
    assert active.json()[0]["state"] == "acknowledged"


def test_staff_see_their_unit_and_their_network_only(dash, city_state):
    """A street sees its own sensors, alarms and pipes; a gas handler only the gas network."""
    from shancheng.api.lifeline_scope import sensor_units

    located = sensor_units(city_state)
    street = next(u[1] for u in located.values() if u is not None)
    theirs = {s for s, u in located.items() if u is not None and u[1] == street}
    operator = dash.user("street-op", Role.DISPATCHER, street)
    shown = {
        f["properties"]["sensor_id"]
        for f in dash.client.get("/lifelines/sensors", headers=operator).json()["features"]
    }
    assert shown == theirs and 0 < len(shown) < len(located)
    everything = dash.client.get("/lifelines/sensors", headers=dash.staff()).json()["features"]
    assert len(everything) == len(located)  # the city's supervisor sees every sensor
    # an alarm of a sensor elsewhere does not exist for the street
    key = dash.api_key()
    elsewhere = next(s for s in located if s not in theirs and s.startswith("W"))
    bad = {"sensor_id": elsewhere, "time": iso(1), "value": 20.0, "unit": "kPa"}
    alarm = dash.client.post("/lifelines/readings", json=bad, headers={"X-API-Key": key}).json()[
        "alarms"
    ][0]
    listed = dash.client.get("/lifelines/alarms", headers=operator).json()
    assert alarm["alarm_id"] not in {a["alarm_id"] for a in listed}
    r = dash.client.post(f"/lifelines/alarms/{alarm['alarm_id']}/acknowledge", headers=operator)
    assert r.status_code == 404
    r = dash.client.get(f"/lifelines/sensors/{elsewhere}/readings", headers=operator)
    assert r.status_code == 404
    # pipes: the street's only; a gas handler sees the gas network and not the water one
    street_pipes = dash.client.get(
        "/lifelines/pipes", params={"network": "water"}, headers=operator
    ).json()["features"]
    all_pipes = dash.client.get(
        "/lifelines/pipes", params={"network": "water"}, headers=dash.staff()
    ).json()["features"]
    assert 0 < len(street_pipes) < len(all_pipes)
    gas = dash.user("gas-hand", Role.HANDLER, "990100", department="gas_utility")
    nets = {n["network"] for n in dash.client.get("/lifelines/networks", headers=gas).json()}
    assert nets == {"gas"}
    water_for_gas = dash.client.get(
        "/lifelines/pipes", params={"network": "water"}, headers=gas
    ).json()["features"]
    assert water_for_gas == []


def test_case_counts_per_unit_are_scoped_to_the_viewers_unit(dash, city_state):
    districts = city_state.units[city_state.units["level"] == "district"]
    mine = str(districts["code"].iloc[0])
    operator = dash.user("district-op", Role.DISPATCHER, mine)
    rows = dash.client.get(
        "/city/indicators", params={"level": "district"}, headers=operator
    ).json()
    assert [r["code"] for r in rows] == [mine]
    streets = dash.client.get(
        "/city/indicators", params={"level": "street"}, headers=operator
    ).json()
    assert streets and {r["parent"] for r in streets} == {mine}
    everything = dash.client.get(
        "/city/indicators", params={"level": "district"}, headers=dash.staff()
    ).json()
    assert len(everything) == len(districts)
