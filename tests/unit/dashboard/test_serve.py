"""`shancheng serve`: the dashboard at /ui/, and the MQTT ingester inside the server process."""

import json
import time

import pytest
from tests.servers import uvicorn_in_thread

from shancheng.cli import main


def test_ui_is_served_when_built(make_dash, tmp_path):
    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text("<!doctype html><title>山城</title>", "utf-8")
    (dist / "assets" / "app.js").write_text("console.log(1)", "utf-8")
    dash = make_dash(web_dist=dist)
    r = dash.client.get("/", follow_redirects=False)
    assert (r.status_code, r.headers["location"]) == (307, "/ui/")
    r = dash.client.get("/ui/")
    assert r.status_code == 200 and "山城" in r.text
    assert dash.client.get("/ui/assets/app.js").text == "console.log(1)"
    assert dash.client.get("/health").json() == {"status": "ok"}  # the API is still there


def test_ui_without_a_build_answers_a_hint(make_dash, tmp_path):
    dash = make_dash(web_dist=tmp_path / "absent")
    r = dash.client.get("/ui/")
    assert r.status_code == 404
    assert "not built" in r.json()["detail"] and "hint" in r.json()
    assert dash.client.get("/", follow_redirects=True).status_code == 404


def test_mqtt_needs_a_single_worker(capsys):
    assert main(["serve", "--mqtt", "--workers", "2"]) == 1
    assert "--workers 1" in capsys.readouterr().err


@pytest.mark.services
def test_mqtt_reading_over_threshold_arrives_live(make_dash, mqtt_broker, city_state):
    import httpx2

    from shancheng.lifelines.mqtt import MqttPublisher

    host, port = mqtt_broker
    dash = make_dash(serve_mqtt=True, mqtt_url=f"mqtt://{host}:{port}")
    sensor = city_state.sensors["W00003"]
    found = None
    token = dash.token(dash.staff())
    with uvicorn_in_thread(dash.app, lifespan="on", start_timeout_s=30) as url:
        publisher = MqttPublisher(host, port, client_id=f"dash-test-{url.rsplit(':', 1)[1]}")
        try:
            found = _first_alarm_from_mqtt(httpx2, url, publisher, sensor, token)
        finally:
            publisher.close()
    assert found is not None and (found["rule"], found["level"]) == ("threshold", 1)


def _first_alarm_from_mqtt(httpx2, url, publisher, sensor, token):
    """Publish an over-threshold reading and read /stream/lifelines until its alarm arrives."""
    found = None
    with (
        httpx2.Client(base_url=url, timeout=5) as client,
        client.stream("GET", "/stream/lifelines", params={"access_token": token}) as response,
    ):
        lines = response.iter_lines()
        assert next(lines).startswith(": stream open")
        event = None
        now_ms = int(time.time() * 1000) - 120_000
        publisher.publish(sensor, [now_ms], [33.0])
        deadline = time.monotonic() + 30
        for line in lines:
            assert time.monotonic() < deadline, "no alarm from the MQTT reading"
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: ") and event == "alarm":
                data = json.loads(line[6:])
                if data["sensor_id"] == "W00003":
                    found = data
                    break
            elif line.startswith(": ping"):  # the subscription may have been late: again
                now_ms += 1000
                publisher.publish(sensor, [now_ms], [33.0])
    return found


def test_tiles_are_cut_from_the_shared_city_state(make_dash, city_state, tmp_path):
    # the app's data folder holds no City and no circles results: every layer, coverage
    # included, must come from the state the other routers use, not from a second read
    assert not any(tmp_path.glob("*/manifest.json"))
    dash = make_dash()
    tiles = dash.app.state.tiles()
    base_map = {"roads", "buildings", "water", "green", "contours", "labels"}
    assert set(tiles.layers) == {"walk", "cells", "pipes", "admin", "coverage", *base_map}
    assert set(tiles.rasters) == {"hillshade"}
    assert len(tiles.layers["coverage"].geometry) == len(city_state.evaluation.residences)
    assert len(tiles.layers["cells"].geometry) == len(city_state.evaluation.layer("cells"))
    r = dash.client.get("/tiles")
    assert r.status_code == 200
    # critical infrastructure: staff only
    assert set(r.json()) == set(tiles.layers) - {"pipes"} | {"hillshade", "base"}
    assert set(tiles.composites["base"]) == base_map  # the base map's layers, never the pipes
