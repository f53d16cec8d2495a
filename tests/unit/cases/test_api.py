"""The REST API on SQLite and PostgreSQL: auth, scope, workflow, and 4xx for bad input."""

import base64
import struct
import zlib
from datetime import timedelta

import pytest
from tests.unit.cases.conftest import pixels

from shancheng.cases.permissions import Role

pytestmark = pytest.mark.services


def png(red=0):
    """A 1 x 1 PNG of the colour (red, 0, 0)."""

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(bytes([0, red, 0, 0])))
        + chunk(b"IEND", b"")
    )


def b64(data):
    return base64.b64encode(data).decode()


def test_report_dispatch_and_scope(api, point, streets):
    citizen = api.user("li", Role.CITIZEN, "990100")
    dispatcher = api.user("wang", Role.DISPATCHER, streets[0])
    stranger = api.user("zhou", Role.DISPATCHER, streets[2])
    lon, lat = point(street=streets[0])
    r = api.client.post(
        "/cases",
        headers=citizen,
        json={
            "category_code": "E0102",
            "lon": lon,
            "lat": lat,
            "description": "垃圾",
            "photos": [{"content_base64": b64(png()), "content_type": "image/png"}],
        },
    )
    assert r.status_code == 201, r.text
    case = r.json()["case"]
    assert (case["status"], case["department"], case["street_code"]) == (
        "reported",
        "sanitation",
        streets[0],
    )
    path = f"/cases/{case['id']}"
    # outside his unit the case does not exist for him: no hint of its state
    assert api.client.get(path, headers=stranger).status_code == 404
    r = api.client.post(path + "/actions", headers=stranger, json={"action": "register"})
    assert r.status_code == 404
    assert r.json()["detail"][0]["msg"] == f"no case with id {case['id']}"
    missing = api.client.post(
        "/cases/999999/actions", headers=stranger, json={"action": "register"}
    )
    assert missing.json()["detail"][0]["msg"] == "no case with id 999999"  # the same answer
    r = api.client.post(path + "/actions", headers=dispatcher, json={"action": "register"})
    assert r.json()["status"] == "registered"
    r = api.client.post(path + "/actions", headers=dispatcher, json={"action": "close"})
    assert r.status_code == 409
    assert "cannot close a case that is registered" in r.json()["detail"][0]["msg"]
    events = api.client.get(path + "/events", headers=citizen).json()
    assert [e["action"] for e in events] == ["report", "register"]
    mine = api.client.get("/cases", headers=citizen).json()
    assert [c["id"] for c in mine] == [case["id"]]
    assert api.client.get("/cases", headers=stranger).json() == []


def test_attachments_list_every_photo_with_its_bytes_in_scope(api, point, streets):
    citizen = api.user("li", Role.CITIZEN, "990100")
    stranger = api.user("zhou", Role.DISPATCHER, streets[2])
    lon, lat = point(street=streets[0])
    photos = [png(), png(200)]  # two different pictures
    r = api.client.post(
        "/cases",
        headers=citizen,
        json={
            "category_code": "E0102",
            "lon": lon,
            "lat": lat,
            "description": "垃圾",
            "photos": [{"content_base64": b64(p), "content_type": "image/png"} for p in photos],
        },
    )
    assert r.status_code == 201, r.text
    path = f"/cases/{r.json()['case']['id']}/attachments"
    listed = api.client.get(path, headers=citizen).json()
    shown = [a for a in listed if a["kind"] == "photo"]
    assert len(shown) == 2
    assert [pixels(api.client.get(a["url"]).content) for a in shown] == [pixels(p) for p in photos]
    assert api.client.get(path, headers=stranger).status_code == 404


def test_tokens_expire_and_forgeries_fail(api, point):
    headers = api.user("li", Role.CITIZEN, "990100")
    assert api.client.get("/cases", headers=headers).status_code == 200
    assert api.client.get("/cases").status_code == 401
    forged = {"Authorization": "Bearer " + "A" * 43}
    r = api.client.get("/cases", headers=forged)
    assert (r.status_code, r.headers["WWW-Authenticate"]) == (401, "Bearer")
    r = api.client.post("/auth/token", data={"username": "li", "password": "wrong password!"})
    assert (r.status_code, r.json()["detail"][0]["msg"]) == (401, "wrong user name or password")
    api.clock[0] += timedelta(hours=8, seconds=1)
    r = api.client.get("/cases", headers=headers)
    assert r.status_code == 401
    assert "expired" in r.json()["detail"][0]["msg"]


def test_a_logout_revokes_that_token_at_once_and_no_other(api):
    first = api.user("li", Role.CITIZEN, "990100")
    r = api.client.post("/auth/token", data={"username": "li", "password": "correct horse battery"})
    second = {"Authorization": f"Bearer {r.json()['access_token']}"}  # li on another device
    assert api.client.get("/cases", headers=first).status_code == 200  # found, and now cached
    assert api.client.delete("/auth/token", headers=first).status_code == 204
    r = api.client.get("/cases", headers=first)
    assert (r.status_code, r.json()["detail"][0]["msg"]) == (
        401, "unknown token; log in again at POST /auth/token")  # fmt: skip
    assert api.client.delete("/auth/token", headers=first).status_code == 401  # gone already
    assert api.client.get("/cases", headers=second).status_code == 200
    assert api.client.delete("/auth/token").status_code == 401  # nobody to log out


@pytest.mark.parametrize(
    ("patch", "status", "needle"),
    [
        ({"lon": 200.0}, 422, "`long` must be a finite number in [-180, 180]"),
        ({"lat": "north"}, 422, "valid number"),
        ({"lon": 116.4, "lat": 39.9}, 422, "outside the city"),
        ({"category_code": "Z0000"}, 422, "'Z0000' is not a known category"),
        ({"description": "<img src=x onerror=alert(1)>"}, 422, "without HTML"),
        (
            {"photos": [{"content_base64": b64(b"MZ\x90\x00" + bytes(64)), "filename": "a.jpg"}]},
            422,
            "not a JPEG, PNG or WebP",
        ),
        (
            {"photos": [{"content_base64": b64(b"\xff\xd8\xff" + bytes(5 * 1024 * 1024))}]},
            422,
            "limit is 5,242,880 bytes",
        ),
        ({"photos": [{"content_base64": "%%%"}]}, 422, "not valid base64"),
        ({"unexpected": 1}, 422, "Extra inputs are not permitted"),
    ],
)
def test_bad_reports_get_4xx_and_nothing_is_stored(api, point, patch, status, needle):
    headers = api.user("li", Role.CITIZEN, "990100")
    lon, lat = point(skip=2)
    body = {"category_code": "E0102", "lon": lon, "lat": lat}
    assert api.client.post("/cases", headers=headers, json=body).status_code == 201
    before = (api.count(), api.count("case_events"), api.count("case_blobs"))
    r = api.client.post("/cases", headers=headers, json={**body, **patch})
    assert r.status_code == status, r.text
    assert needle in str(r.json()["detail"])
    assert (api.count(), api.count("case_events"), api.count("case_blobs")) == before


@pytest.mark.parametrize(
    ("field", "text", "needle"),
    [
        ("description", "x'); DELETE FROM cases; --", "looks like an SQL injection"),
        ("description", "admin' OR '1'='1", "looks like an SQL injection"),
        (
            "description",
            "1 UNION SELECT username, password_hash FROM case_users",
            "looks like an SQL injection",
        ),
        ("description", "broken lamp; DROP TABLE cases", "looks like an SQL injection"),
        ("title", "<script>alert(1)</script>", "must be plain text without HTML"),
        ("title", '<a href="http://evil.example">win</a>', "must be plain text without HTML"),
        ("address", "<div class=x>", "must be plain text without HTML"),
    ],
)
def test_sql_or_html_in_a_text_field_is_refused_naming_it(api, point, field, text, needle):
    headers = api.user("li", Role.CITIZEN, "990100")
    body = {"category_code": "E0102", "lon": point()[0], "lat": point()[1], field: text}
    r = api.client.post("/cases", headers=headers, json=body)
    assert r.status_code == 422, r.text
    [err] = r.json()["detail"]
    name = "address_string" if field == "address" else field
    assert err["loc"] == ["body", name]
    assert err["msg"].startswith(f"`{name}` ") and needle in err["msg"]
    assert (api.count(), api.count("case_events")) == (0, 0)


@pytest.mark.parametrize(
    ("method", "path", "body", "loc"),
    [
        (
            "post",
            "/lifelines/telemetry/heartbeat",
            {"gateway": "\x00", "epoch": 1, "last_seq": 3},
            ["body", "gateway"],
        ),
        (
            "post",
            "/lifelines/readings",
            [
                {"sensor_id": "W00000", "time": "2026-01-01T00:00:00Z", "value": 1.0},
                {"sensor_id": "W\x00", "time": "2026-01-01T00:00:00Z", "value": 1.0},
            ],
            ["body", 1, "sensor_id"],
        ),
        (
            "post",
            "/cases",
            {"category_code": "E0102", "lon": 0, "lat": 0, "photos": [{"filename": "a\x00.jpg"}]},
            ["body", "photos", 0, "filename"],
        ),
        (
            "post",
            "/cases",
            {"category_code": "E0102", "lon": 0, "lat": 0, "ab\x00c": 1},
            ["body", "abc"],
        ),
    ],
)
def test_a_nul_byte_anywhere_in_a_json_body_is_refused_naming_the_field(
    api, method, path, body, loc
):
    """PostgreSQL refuses NUL in text: a gateway named "\\x00" was a 500 (found by
    schemathesis on the telemetry heartbeat); now every JSON body is checked first."""
    headers = api.user("boss", Role.ADMIN, "990100")
    r = api.client.request(method.upper(), path, headers=headers, json=body)
    assert r.status_code == 422, r.text
    [err] = r.json()["detail"]
    name = ".".join(str(p) for p in loc[1:])
    assert (err["loc"], err["type"]) == (loc, "nul_byte")
    assert err["msg"] == f"`{name}` contains a NUL byte; send plain UTF-8 text"
    assert api.count() == 0


def test_a_nul_byte_in_a_login_form_is_refused_and_escaped_text_passes(api, point):
    r = api.client.post("/auth/token", data={"username": "li\x00", "password": "x" * 12})
    assert (r.status_code, r.json()["detail"][0]["loc"]) == (422, ["body", "username"])
    headers = api.user("li", Role.CITIZEN, "990100")
    lon, lat = point()
    # the six characters \u0000 as text (an escaped backslash), not a NUL: accepted as written
    body = {"category_code": "E0102", "lon": lon, "lat": lat, "description": "see \\u0000 here"}
    r = api.client.post("/cases", headers=headers, json=body)
    assert r.status_code == 201, r.text
    assert r.json()["case"]["description"] == "see \\u0000 here"


def test_quotes_brackets_and_sql_words_in_plain_complaints_pass(api, point):
    headers = api.user("li", Role.CITIZEN, "990100")
    text = (
        "Don't park on the fire lane; it's the 3rd time -- select a union rep? "
        '温度<30度，噪音>70分贝；"夜市"占道 #12'
    )
    r = api.client.post(
        "/cases",
        headers=headers,
        json={"category_code": "E0102", "lon": point()[0], "lat": point()[1], "description": text},
    )
    assert r.status_code == 201, r.text
    got = api.client.get(f"/cases/{r.json()['case']['id']}", headers=headers).json()
    assert got["description"] == text


def test_rate_limit_per_client(make_api, point):
    # 1 a minute: no token comes back while the three requests run, however slow the machine
    api = make_api(cases_rate_per_min=1, cases_rate_burst=2)
    headers = api.user("li", Role.CITIZEN, "990100")
    codes = []
    for k in range(3):
        lon, lat = point(skip=10 * k)
        codes.append(
            api.client.post(
                "/cases", headers=headers, json={"category_code": "E0102", "lon": lon, "lat": lat}
            )
        )
    assert [r.status_code for r in codes] == [201, 201, 429]
    assert int(codes[2].headers["Retry-After"]) >= 1
    assert "more than 1 reports a minute" in codes[2].json()["detail"][0]["msg"]
    assert api.count() == 2


def test_classify_proposes_three_categories(api):
    headers = api.user("li", Role.CITIZEN, "990100")
    r = api.client.post("/cases/classify", headers=headers, json={"text": "路口的路灯坏了不亮"})
    assert r.status_code == 200, r.text
    proposals = r.json()
    assert len(proposals) == 3
    assert "C0110" in [p["category_code"] for p in proposals]
    assert proposals[0]["confidence"] >= proposals[1]["confidence"] >= proposals[2]["confidence"]
    assert api.client.post("/cases/classify", headers=headers, json={"text": ""}).status_code == 422


def test_statistics_endpoints_in_scope(api, point, streets):
    citizen = api.user("li", Role.CITIZEN, "990100")
    supervisor = api.user("sup", Role.SUPERVISOR, streets[0])
    for k in range(3):
        lon, lat = point(street=streets[0], skip=k)
        api.client.post(
            "/cases", headers=citizen, json={"category_code": "E0502", "lon": lon, "lat": lat}
        )
    lon, lat = point(street=streets[2])
    api.client.post(
        "/cases", headers=citizen, json={"category_code": "E0102", "lon": lon, "lat": lat}
    )
    assert api.client.get("/stats/evaluation", headers=citizen).status_code == 403
    rows = api.client.get("/stats/evaluation", headers=supervisor).json()
    assert [(r["department"], r["cases"], r["closed"]) for r in rows] == [("traffic_police", 3, 0)]
    assert rows[0]["on_time_rate"] is None
    cells = api.client.get("/stats/hotspots", headers=supervisor, params={"window": "1h"}).json()
    assert sum(c["reports"] for c in cells) == 3
    r = api.client.get("/stats/hotspots", headers=supervisor, params={"window": "2D"})
    assert r.status_code == 422


def test_each_user_is_offered_the_actions_they_may_take_and_the_stages_are_served(
    api, point, streets
):
    dispatcher = api.user("wang", Role.DISPATCHER, streets[0])
    supervisor = api.user("zhou", Role.SUPERVISOR, streets[0])
    handler = api.user("chen", Role.HANDLER, streets[0], department="sanitation")
    lon, lat = point(street=streets[0], skip=2)
    case = api.client.post("/cases", json={"category_code": "E0102", "lon": lon, "lat": lat})
    case_id = case.json()["case"]["id"]
    offered = {
        name: api.client.get(f"/cases/{case_id}", headers=h).json()["actions"]
        for name, h in (
            ("dispatcher", dispatcher),
            ("supervisor", supervisor),
            ("handler", handler),
        )
    }
    # the reported stage allows register, reject, escalate and merge (domain.TRANSITIONS)
    assert offered["dispatcher"] == ["register", "reject", "escalate", "merge"]
    assert offered["supervisor"] == ["escalate"]  # a supervisor does not register or merge
    assert offered["handler"] == []  # not dispatched to the handler's department yet
    after = api.client.post(
        f"/cases/{case_id}/actions", headers=dispatcher, json={"action": "register"}
    ).json()
    assert after["actions"] == ["dispatch", "escalate", "merge"]
    assert after["is_open"] is True
    listed = api.client.get("/cases", headers=dispatcher).json()
    assert [c["actions"] for c in listed if c["id"] == case_id] == [after["actions"]]
    stages = api.client.get("/cases/workflow").json()["statuses"]
    assert [s["value"] for s in stages][:3] == ["reported", "registered", "rejected"]
    assert {s["value"] for s in stages if not s["is_open"]} == {"closed", "rejected", "merged"}
