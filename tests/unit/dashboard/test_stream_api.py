"""Server-sent events on a real server: an alarm and a case arrive live; clients leave cleanly."""

import json
import time
from datetime import UTC, datetime, timedelta

import pytest
from tests.servers import uvicorn_in_thread

from shancheng.api.state import state_of
from shancheng.cases.permissions import Role


@pytest.fixture
def live(dash):
    with uvicorn_in_thread(dash.app) as url:
        yield dash, url


def read_events(lines, wanted, *, limit_s=20.0):
    """Read SSE lines until an event named `wanted` arrives; return (event, data)."""
    event = None
    deadline = time.monotonic() + limit_s
    for line in lines:
        assert time.monotonic() < deadline, f"no {wanted} event in {limit_s} s"
        if line.startswith("event: "):
            event = line[7:]
        elif line.startswith("data: ") and event == wanted:
            return event, json.loads(line[6:])
    raise AssertionError("stream ended")


def opened(response):
    """Wait for the stream's opening comment; return the iterator of the remaining lines."""
    lines = response.iter_lines()
    for line in lines:
        if line.startswith(": stream open"):
            return lines
    raise AssertionError("stream ended before it opened")


def test_reading_over_threshold_arrives_as_an_alarm_event(live):
    import httpx2

    dash, base = live
    key = dash.api_key()
    hub = state_of(dash.app).live.hub
    with httpx2.Client(base_url=base, timeout=10) as client:
        token = dash.token(dash.staff())
        with client.stream("GET", "/stream/lifelines", params={"access_token": token}) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            lines = opened(response)
            assert hub.subscribers == 1
            at = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
            r = client.post(
                "/lifelines/readings",
                headers={"X-API-Key": key},
                json={"sensor_id": "W00002", "time": at, "value": 42.0, "unit": "kPa"},
            )
            assert r.status_code == 200, r.text
            event, reading = read_events(lines, "reading")
            assert (reading["sensor_id"], reading["value"]) == ("W00002", 42.0)
            _event, alarm = read_events(lines, "alarm")
            assert (alarm["sensor_id"], alarm["rule"], alarm["level"]) == ("W00002", "threshold", 1)
        # the client left: the server notices and drops the subscription
        deadline = time.monotonic() + 10
        while hub.subscribers:
            assert time.monotonic() < deadline, "subscription not dropped after disconnect"
            time.sleep(0.1)


def test_case_events_follow_the_callers_scope(live, city_state, lonlat):
    import httpx2

    dash, base = live
    buildings = city_state.city.buildings
    streets = sorted(buildings["street_code"].unique())
    mine, other = streets[0], next(s for s in streets if s[:6] != streets[0][:6])
    dispatcher = dash.user("wang", Role.DISPATCHER, mine)
    citizen = dash.user("li", Role.CITIZEN, "990100")

    def point(street):
        b = buildings[buildings["street_code"] == street].iloc[0]
        return lonlat(b["x_utm"], b["y_utm"])

    token = dash.token(dispatcher)
    with httpx2.Client(base_url=base, timeout=10) as client:
        assert client.get("/stream/cases", params={"access_token": "forged"}).status_code == 401
        with client.stream("GET", "/stream/cases", params={"access_token": token}) as response:
            assert response.status_code == 200
            lines = opened(response)
            for street in (other, mine):  # the first is outside the dispatcher's street
                lon, lat = point(street)
                r = client.post(
                    "/cases",
                    headers=citizen,
                    json={"category_code": "E0102", "lon": lon, "lat": lat, "description": "垃圾"},
                )
                assert r.status_code == 201, r.text
            _event, case = read_events(lines, "case")
            assert case["street_code"] == mine and case["status"] == "reported"
            r = client.post(
                f"/cases/{case['id']}/actions", headers=dispatcher, json={"action": "register"}
            )
            assert r.status_code == 200, r.text
            _event, again = read_events(lines, "case")
            assert (again["id"], again["status"]) == (case["id"], "registered")
