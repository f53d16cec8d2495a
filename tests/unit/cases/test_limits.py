"""Limits before work: body caps, the login throttle, scoped API keys, the anonymous photo
quota, and the errors that were 500s now answering 4xx in the format of the API called."""

from __future__ import annotations

import tracemalloc
from datetime import timedelta

import pytest
import sqlalchemy as sa
from tests.servers import uvicorn_in_thread
from tests.unit.cases.test_api import b64, png

from shancheng.cases import accounts
from shancheng.cases.permissions import Actor, Role

pytestmark = pytest.mark.services

MIB = 1024 * 1024


def test_a_body_over_the_limit_is_refused_before_it_is_read(api):
    form = {"service_code": "E0102"}
    huge = {"Content-Length": str(200 * MIB), "Content-Type": "application/json"}
    r = api.client.post("/cases/classify", content=b"{}", headers=huge)
    assert r.status_code == 413
    assert "larger than this route's limit of 262,144 bytes" in r.json()["detail"][0]["msg"]
    r = api.client.post("/open311/requests.xml", data=form, headers={"Content-Length": "999999999"})
    assert r.status_code == 413 and r.text.startswith("<?xml") and "<code>413</code>" in r.text


def test_a_chunked_body_is_cut_off_and_memory_does_not_grow_with_it(api):
    import httpx2

    sent = [0]

    def chunks(total):
        block = b"x" * 65536
        for _ in range(total // len(block)):
            sent[0] += len(block)
            yield block

    with uvicorn_in_thread(api.app) as url:
        # the server runs in this process: the peak of Python allocations while it answers
        # would hold the body, had it been buffered
        tracemalloc.start()
        tracemalloc.reset_peak()
        with httpx2.Client(base_url=url, timeout=30) as client:
            try:
                r = client.post(
                    "/cases/classify",
                    content=chunks(64 * MIB),
                    headers={"Content-Type": "application/json"},
                )
                status = r.status_code
            except httpx2.TransportError:  # the server closed the connection mid-send
                status = None
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    # refused: a 413, or the connection closed long before the 64 MiB were sent
    assert status == 413 or (status is None and sent[0] < 64 * MIB), (status, sent[0])
    assert peak < 16 * MIB, peak


def test_logins_are_throttled_per_account_and_per_address(api, monday_9):
    api.user("wang", Role.DISPATCHER, "990100")
    wrong = {"username": "wang", "password": "not the password"}
    answers = [api.client.post("/auth/token", data=wrong) for _ in range(7)]
    assert [a.status_code for a in answers[:5]] == [401] * 5  # five free mistakes
    assert answers[5].status_code == 429  # then a growing wait, before the password is checked
    assert int(answers[5].headers["Retry-After"]) >= 1
    right = {"username": "wang", "password": "correct horse battery"}
    assert api.client.post("/auth/token", data=right).status_code == 429  # even the right one
    api.clock[0] = monday_9 + timedelta(seconds=3)  # 1 s after the 6th failure is long past
    assert api.client.post("/auth/token", data=right).status_code == 200
    # the account's record is cleared by its login; the address keeps its own
    with api.session() as s:
        rows = dict(s.execute(sa.text("select key, failures from case_login_failures")).all())
    assert rows == {"ip:testclient": 5}  # throttled attempts are refused before they count
    assert accounts.wait_after(6) == 2.0 and accounts.wait_after(40) == 900.0


def test_keys_carry_scopes(api, monday_9):
    with api.session() as s:
        app_key = accounts.create_api_key(
            s, "citizen app", actor=Actor("r", Role.ADMIN, ""), at=monday_9
        )
        gateway = accounts.create_api_key(
            s, "gateway", actor=Actor("r", Role.ADMIN, ""), at=monday_9, scopes=("ingest",)
        )
        with pytest.raises(
            Exception, match="`scopes` must be some of report, ingest, gateway, analytics"
        ):
            accounts.create_api_key(
                s, "x", actor=Actor("r", Role.ADMIN, ""), at=monday_9, scopes=("root",)
            )
    assert app_key  # its refusal for readings: test_lifelines_api (an app with a City)
    r = api.client.post(
        "/open311/requests.json", data={"api_key": gateway, "service_code": "E0102"}
    )
    assert r.status_code == 403 and "may not be used to report" in r.text


def test_anonymous_photos_have_a_daily_quota(make_api, point):
    api = make_api(cases_anonymous_photo_bytes_per_day=300)
    photo = {"content_base64": b64(png(1))}
    lon, lat = point(skip=2)
    sent = [
        api.client.post(
            "/cases", json={"category_code": "E0102", "lon": lon, "lat": lat, "photos": [photo]}
        ).status_code
        for _ in range(5)
    ]
    assert sent[0] == 201 and 429 in sent  # the quota runs out within a few photos
    refused = api.client.post(
        "/cases", json={"category_code": "E0102", "lon": lon, "lat": lat, "photos": [photo]}
    )
    assert refused.status_code == 429 and "daily limit of anonymous reports" in refused.text
    ok = api.client.post("/cases", json={"category_code": "E0102", "lon": lon, "lat": lat})
    assert ok.status_code == 201  # without photos the report goes in


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"start_date": "9999-12-01T00:00:00Z"}, "start_date"),
        ({"end_date": "0001-03-01T00:00:00Z"}, "end_date"),
    ],
)
@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_dates_past_the_calendar_are_a_400_naming_the_field(api, query, field, fmt):
    r = api.client.get(f"/open311/requests.{fmt}", params=query)
    assert r.status_code == 400
    assert f"`{field}` is too far from today" in r.text
    assert r.headers["content-type"].startswith("text/xml" if fmt == "xml" else "application/json")


def test_a_broken_multipart_body_is_an_open311_error(api):
    key = api.api_key()
    r = api.client.post(
        "/open311/requests.xml",
        content=b"--x\r\nContent-Disposition: form-data",
        headers={"Content-Type": "multipart/form-data; boundary=x"},
        params={"api_key": key},
    )
    assert 400 <= r.status_code < 500
    assert r.text.startswith("<?xml") and "<errors>" in r.text
