"""Open311 GeoReport v2 conformance, written from the spec's resource tables.

Spec: open311/open311.github.io GeoReport/v2 (services, service definitions, POST/GET requests,
tokens, discovery, errors) and its Extensions (page/page_size, extensions=true). Each test
names the rule it checks. Runs on SQLite and PostgreSQL.
"""

import struct
import zlib
from datetime import timedelta
from xml.etree import ElementTree as ET

import pytest
from tests.unit.cases.conftest import pixels

from shancheng.cases.privacy import public_position

pytestmark = pytest.mark.services

DATATYPES = {"string", "number", "datetime", "text", "singlevaluelist", "multivaluelist"}
REQUEST_FIELDS = {
    "service_request_id",
    "status",
    "status_notes",
    "service_name",
    "service_code",
    "description",
    "agency_responsible",
    "service_notice",
    "requested_datetime",
    "updated_datetime",
    "expected_datetime",
    "address",
    "address_id",
    "zipcode",
    "lat",
    "long",
    "media_url",
}


def png():
    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(b"\x00\x00\x00\x00"))
        + chunk(b"IEND", b"")
    )


@pytest.fixture
def o311(api):
    api.key = api.api_key("open311-app")
    return api


def post(api, **fields):
    data = {"api_key": api.key, "service_code": "E0102", **fields}
    return api.client.post(
        "/open311/requests.json", data={k: v for k, v in data.items() if v is not None}
    )


def xml(response):
    assert response.headers["content-type"] == "text/xml; charset=utf-8"
    assert response.content.startswith(b'<?xml version="1.0" encoding="utf-8"?>')
    return ET.fromstring(response.content)


def test_discovery_in_both_formats(o311):
    doc = o311.client.get("/open311/discovery.json").json()
    [endpoint] = doc["endpoints"]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert set(endpoint["formats"]) == {"text/xml", "application/json"}
    assert endpoint["type"] in {"production", "test"}
    root = xml(o311.client.get("/open311/discovery.xml"))
    assert root.tag == "discovery"
    assert [f.text for f in root.iter("format")] == ["text/xml", "application/json"]
    assert root.find("endpoints/endpoint/url").text.endswith("/open311")


def test_service_list_fields(o311, taxonomy):
    r = o311.client.get("/open311/services.json")
    assert r.headers["content-type"] == "application/json; charset=utf-8"
    services = r.json()
    assert isinstance(services, list)
    assert {s["service_code"] for s in services} == set(taxonomy.categories)
    for s in services:
        assert set(s) == {
            "service_code",
            "service_name",
            "description",
            "metadata",
            "type",
            "keywords",
            "group",
        }
        assert s["type"] in {"realtime", "batch", "blackbox"}
        assert isinstance(s["metadata"], bool)
    root = xml(o311.client.get("/open311/services.xml"))
    assert root.tag == "services"
    assert len(root.findall("service")) == len(services)
    assert root.find("service/metadata").text in {"true", "false"}


def test_service_definition_fields(o311):
    for code in ("E0102", "C0110"):
        d = o311.client.get(f"/open311/services/{code}.json").json()
        assert d["service_code"] == code
        orders = [a["order"] for a in d["attributes"]]
        assert len(set(orders)) == len(orders) and all(o >= 1 for o in orders)
        for a in d["attributes"]:
            assert {
                "variable",
                "code",
                "datatype",
                "required",
                "datatype_description",
                "order",
                "description",
            } <= set(a)
            assert a["datatype"] in DATATYPES
            if a["datatype"].endswith("valuelist"):
                assert all(set(v) == {"key", "name"} for v in a["values"])
    root = xml(o311.client.get("/open311/services/E0102.xml"))
    assert root.tag == "service_definition"
    assert [v.text for v in root.iter("key")] == ["minor", "major", "danger"]


def test_unknown_service_is_404_with_error_list(o311):
    for fmt in ("json", "xml"):
        r = o311.client.get(f"/open311/services/NOPE.{fmt}")
        assert r.status_code == 404
        if fmt == "json":
            [err] = r.json()
            assert err["code"] == 404 and "'NOPE' is not a known category" in err["description"]
        else:
            assert xml(r).tag == "errors" and xml(r).find("error/code").text == "404"
    assert post(o311, service_code="NOPE", lat="29.55", long="106.54").status_code == 404


def test_post_request_and_read_it_back(o311, point, monday_9):
    lon, lat = point(skip=4)
    r = post(
        o311,
        lat=str(lat),
        long=str(lon),
        description="路边垃圾",
        **{"attribute[severity]": "major", "email": "li@example.org"},
    )
    assert r.status_code == 200, r.text
    [answer] = r.json()
    ref = answer["service_request_id"]
    assert "token" not in answer
    [record] = o311.client.get(f"/open311/requests/{ref}.json").json()
    assert set(record) >= REQUEST_FIELDS
    assert (record["status"], record["service_code"]) == ("open", "E0102")
    assert record["status_notes"].startswith("上报 reported")
    assert record["requested_datetime"] == "2026-11-23T09:00:00+08:00"
    assert record["lat"] == pytest.approx(lat) and record["long"] == pytest.approx(lon)
    assert "email" not in record and "li@example.org" not in str(record)
    assert record["agency_responsible"] == "环境卫生 sanitation"
    root = xml(o311.client.get(f"/open311/requests/{ref}.xml"))
    assert root.tag == "service_requests"
    assert root.find("request/service_request_id").text == ref
    [tok] = o311.client.get(f"/open311/tokens/{ref}.json").json()
    assert tok == {"service_request_id": ref, "token": ref}


def test_api_key_rules(o311, point):
    lon, lat = point(skip=4)
    assert post(o311, api_key=None, lat=str(lat), long=str(lon)).status_code == 403
    r = post(o311, api_key="sck_forged_forged_forged", lat=str(lat), long=str(lon))
    assert r.status_code == 403
    assert r.json()[0]["description"] == "`api_key` is not valid"
    assert o311.count() == 0


@pytest.mark.parametrize(
    ("fields", "status", "needle"),
    [
        ({"service_code": ""}, 400, "`service_code` is required"),
        ({"lat": "29.5x"}, 400, "`lat` must be a decimal number"),
        ({"lat": "nan"}, 400, "`lat` must be a decimal number"),
        ({"lat": "39.9", "long": "116.4"}, 400, "outside the city"),
        ({"lat": None, "long": None}, 400, "a location is required"),
        ({"description": "x" * 4001}, 400, "limit is 4,000"),
        ({"description": "<b>bold</b>"}, 400, "`description` must be plain text without HTML"),
        ({"description": "x' OR '1'='1"}, 400, "`description` looks like an SQL injection"),
        ({"address_string": "1 Main St'; DROP TABLE cases; --"}, 400, "`address_string` looks"),
        ({"first_name": "<script>alert(1)</script>"}, 400, "`first_name` must be plain text"),
        ({"email": "a@b.c' UNION SELECT password FROM case_users"}, 400, "`email` looks like"),
        ({"attribute[severity]": "<svg onload=x>"}, 400, "`attribute[severity]` must be plain"),
        ({"attribute[severity]": "apocalyptic"}, 400, "must be one of minor, major, danger"),
        ({"attribute[color]": "red"}, 400, "not an attribute of service E0102"),
        ({"jurisdiction_id": "elsewhere.example"}, 404, "not served here"),
    ],
)
def test_bad_posts_get_spec_errors(o311, point, fields, status, needle):
    lon, lat = point(skip=4)
    r = post(o311, **{"lat": str(lat), "long": str(lon), **fields})
    assert r.status_code == status, r.text
    [err] = r.json()
    assert err["code"] == status and needle in err["description"]
    assert o311.count() == 0


def test_bad_post_answers_in_xml_too(o311, point):
    lon, lat = point(skip=4)
    data = {
        "api_key": o311.key,
        "service_code": "E0102",
        "lat": str(lat),
        "long": str(lon),
        "description": "<iframe src=//evil.example>",
    }
    r = o311.client.post("/open311/requests.xml", data=data)
    assert r.status_code == 400
    [err] = xml(r).findall("error")
    assert err.find("code").text == "400"
    assert "`description` must be plain text without HTML" in err.find("description").text
    assert o311.count() == 0


def test_media_upload_extension(o311, point):
    lon, lat = point(skip=4)
    data = {"api_key": o311.key, "service_code": "E0102", "lat": str(lat), "long": str(lon)}
    fake = o311.client.post(
        "/open311/requests.json",
        data=data,
        files={"media": ("cat.jpg", b"#!/bin/sh\nrm -rf /\n" * 3, "image/jpeg")},
    )
    assert fake.status_code == 400 and "not a JPEG, PNG or WebP" in fake.text
    ok = o311.client.post(
        "/open311/requests.json", data=data, files={"media": ("p.png", png(), "image/png")}
    )
    ref = ok.json()[0]["service_request_id"]
    [record] = o311.client.get(f"/open311/requests/{ref}.json").json()
    photo = o311.client.get(record["media_url"].replace("http://testserver", ""))
    assert (pixels(photo.content), photo.headers["content-type"]) == (pixels(png()), "image/png")


def test_get_requests_filters_and_extensions(o311, point, monday_9):
    refs = []
    for k, code in enumerate(["E0102", "E0502", "E0102"]):
        lon, lat = point(skip=30 * k)
        o311.clock[0] = monday_9 + timedelta(minutes=k)
        refs.append(
            post(o311, service_code=code, lat=str(lat), long=str(lon)).json()[0][
                "service_request_id"
            ]
        )
    get = lambda **p: o311.client.get("/open311/requests.json", params=p)  # noqa: E731
    assert [r["service_request_id"] for r in get().json()] == refs[::-1]
    assert {r["service_request_id"] for r in get(service_code="E0102").json()} == {refs[0], refs[2]}
    assert [
        r["service_request_id"]
        for r in get(service_request_id=f"{refs[1]},{refs[0]}", service_code="E0102").json()
    ] == [refs[1], refs[0]]
    assert get(status="closed").json() == []
    assert len(get(status="open,closed").json()) == 3
    page = get(page="2", page_size="2").json()
    assert [r["service_request_id"] for r in page] == [refs[0]]
    assert get(start_date="2026-11-24T00:00:00+08:00").json() == []
    assert (
        len(get(start_date="2026-11-23T00:00:00Z", end_date="2026-11-23T09:05:00+08:00").json())
        == 3
    )
    extended = get(extensions="true").json()[0]
    assert extended["extended_attributes"]["stage_zh"] == "上报"
    assert [n["type"] for n in extended["notes"]] == ["report"]
    for params, needle in (
        ({"status": "pending"}, "`status` must be open, closed"),
        ({"start_date": "2026-11-01"}, "with time zone"),
        (
            {"start_date": "2026-01-01T00:00:00Z", "end_date": "2026-11-01T00:00:00Z"},
            "at most 90 days",
        ),
        ({"page_size": "0"}, "`page_size` must be an integer"),
    ):
        r = get(**params)
        assert r.status_code == 400 and needle in r.json()[0]["description"], params
    assert o311.client.get("/open311/requests/SC99.json").status_code == 404
    assert o311.client.get("/open311/requests.yaml").status_code == 404


def test_duplicate_post_is_linked_and_noticed(o311, point):
    lon, lat = point(skip=4)
    first = post(o311, lat=str(lat), long=str(lon)).json()[0]["service_request_id"]
    second = post(o311, lat=str(lat), long=str(lon)).json()[0]
    assert second["service_notice"] == f"Already reported: linked to open request {first}"
    [record] = o311.client.get(f"/open311/requests/{second['service_request_id']}.json").json()
    assert record["status"] == "closed"
    assert record["status_notes"] == f"合并 merged; duplicate of {first}"


def test_address_id_locates_at_the_named_place(o311, admin_index, small_city):
    street = small_city.admin_units.query("level == 'street'").iloc[0]
    facility = small_city.facilities.iloc[5]
    for place_id, name in (
        (str(street["code"]), street["name"]),
        (str(facility["facility_id"]), facility["name"]),
    ):
        _, lon, lat = admin_index.place_ids[place_id]
        r = post(o311, address_id=place_id)
        assert r.status_code == 200, r.text
        ref = r.json()[0]["service_request_id"]
        [record] = o311.client.get(f"/open311/requests/{ref}.json").json()
        # the public position: the centre of the category kind's grid cell holding the place
        assert (record["long"], record["lat"]) == public_position(lon, lat, precision_m=100.0)
        assert record["address"] == name
        assert record["address_id"] == place_id
        # the point lies in the place: a street's point is routed to that street
        if place_id == str(street["code"]):
            assert admin_index.locate(lon, lat).street_code == place_id
    r = post(o311, address_id="NO-SUCH-PLACE")
    assert r.status_code == 400
    assert "`address_id` 'NO-SUCH-PLACE' is not the id of a named place" in r.text
    assert o311.count() == 2


def test_address_id_is_kept_beside_coordinates(o311, point):
    lon, lat = point(skip=2)
    r = post(o311, lat=str(lat), long=str(lon), address_id="building 7/B-12")
    assert r.status_code == 200, r.text
    ref = r.json()[0]["service_request_id"]
    [record] = o311.client.get(f"/open311/requests/{ref}.json").json()
    assert record["address_id"] == "building 7/B-12"
    assert record["lat"] == pytest.approx(lat)  # the coordinates locate; the id is kept
    assert (
        xml(o311.client.get(f"/open311/requests/{ref}.xml")).find("request/address_id").text
        == "building 7/B-12"
    )
    for bad, needle in (("x" * 65, "the limit is 64"), ("<b>7</b>", "without HTML")):
        r = post(o311, lat=str(lat), long=str(lon), address_id=bad)
        assert r.status_code == 400
        assert "`address_id`" in r.text and needle in r.text
    assert o311.count() == 1


@pytest.mark.parametrize(
    ("url", "needle"),
    [
        ("javascript:alert(1)", "must be an http:// or https:// URL"),
        ("ftp://files.example.org/p.jpg", "must be an http:// or https:// URL"),
        ("https://", "must be an http:// or https:// URL with a host"),
        ('https://a.example/x.jpg"><script>', "without spaces, quotes or angle brackets"),
        ("https://user:pw@a.example/x.jpg", "must not carry a user name or password"),
        ("https://a.example:99999/x.jpg", "is not a valid URL"),
        ("https://a.example/" + "x" * 2000, "the limit is 2,000"),
    ],
)
def test_bad_media_url_is_refused(o311, point, url, needle):
    lon, lat = point(skip=4)
    r = post(o311, lat=str(lat), long=str(lon), media_url=url)
    assert r.status_code == 400
    [err] = r.json()
    assert "`media_url`" in err["description"] and needle in err["description"]
    assert (o311.count(), o311.count("case_attachments")) == (0, 0)


def test_media_url_is_kept_as_the_photo_reference(o311, point):
    lon, lat = point(skip=4)
    url = "https://img.example.org/reports/2026/p1.jpg?size=large"
    r = post(o311, lat=str(lat), long=str(lon), media_url=url)
    assert r.status_code == 200, r.text
    ref = r.json()[0]["service_request_id"]
    [record] = o311.client.get(f"/open311/requests/{ref}.json").json()
    assert record["media_url"] == url
    root = xml(o311.client.get(f"/open311/requests/{ref}.xml"))
    assert root.find("request/media_url").text == url


def test_unreadable_form_body_is_a_clear_400_and_stores_nothing(o311):
    r = o311.client.post(
        "/open311/requests.json",
        content=b"api_key=x&description=\xff\xfe",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 400
    [err] = r.json()
    assert "form body cannot be read" in err["description"]
    assert o311.count() == 0
