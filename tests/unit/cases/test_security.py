"""Who may see what: the route policy against the served routes, every audience against every
route, masking of personal data, photos without metadata, and scope on merges."""

from __future__ import annotations

import io
import re

import pytest
from fastapi import APIRouter
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from shancheng.api.policy import POLICY, STAFF_ROLES, Audience, check_policy, declared_routes
from shancheng.cases.permissions import Role
from shancheng.cases.privacy import id_number_valid, mask_personal
from shancheng.errors import ConfigError

pytestmark = pytest.mark.services

# --- the policy table and the routes -------------------------------------------------------


def test_every_served_route_has_exactly_one_rule(api):
    served = declared_routes(api.app)
    assert sorted(served) == sorted(POLICY)  # no route without a rule, no rule without a route
    check_policy(api.app)


def test_a_route_added_without_a_rule_stops_the_application(api):
    extra = APIRouter()

    @extra.get("/cases/export")
    def export() -> dict[str, str]:
        return {}

    api.app.include_router(extra)
    api.app.openapi_schema = None
    with pytest.raises(ConfigError, match=r"routes without a rule: \['GET /cases/export'\]"):
        check_policy(api.app)


def test_the_readme_lists_every_public_route_with_its_reason():
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[3] / "README.md").read_text("utf-8")
    for key, rule in POLICY.items():
        if rule.audience in {Audience.PUBLIC, Audience.CLIENT}:
            assert f"| `{key}` | {rule.reason} |" in readme, key


def _concrete(path):
    """A path with its parameters filled: a route that exists, a case id that does not."""
    values = {
        "fmt": "json",
        "case_id": "999999",
        "rule_id": "999999",
        "limit_id": "999999",
        "code": "Z9999",
        "sha256": "0" * 64,
        "reference": "SC000",
        "request_id": "SC000",
        "service_code": "E0102",
        "token": "SC000",
        "target_id": "nope",
        "sensor_id": "NOPE",
        "alarm_id": "nope",
        "decision_id": "999999",
        "pick_id": "999999",
        "campaign_id": "999999",
        "idea_id": "999999",
        "index": "0",
        "flag_id": "999999",
        "gap_id": "999999",
        "username": "nobody",
        "layer": "walk",
        "z": "3",
        "x": "0",
        "y": "0",
    }
    return re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], path)


def _call(api, key, headers):
    method, path = key.split(" ", 1)
    url = _concrete(path)
    if path in {"/stream/cases", "/stream/lifelines"}:
        token = headers.get("Authorization", " ").split(" ", 1)[1]
        # a stream that lets the caller in stays open: ask for the headers only
        with api.client.stream("GET", url, params={"access_token": token} if token else {}) as r:
            return r.status_code
    return api.client.request(
        method, url, headers=headers, json={} if method != "GET" else None, follow_redirects=False
    ).status_code


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_every_audience_against_every_route(api, streets):
    users = {"anonymous": {}}
    for role in Role:
        users[role.value] = api.user(
            f"u-{role.value}",
            role,
            "990100",
            department="sanitation" if role is Role.HANDLER else None,
        )
    refused = {}
    # a logout revokes the caller's token: it comes last
    for key, rule in sorted(POLICY.items(), key=lambda kv: (kv[0] == "DELETE /auth/token", kv)):
        if key.startswith("GET /ui") or key in {"GET /", "GET /stream/cases"}:
            continue  # static files; the case stream is checked in test_stream_api
        for who, headers in users.items():
            status = _call(api, key, headers)
            refused[key, who] = status in {401, 403}
            assert status < 500, (key, who, status)
    wrong = []
    for key, rule in POLICY.items():
        if key.startswith("GET /ui") or key in {"GET /", "GET /stream/cases"}:
            continue
        if rule.audience in {Audience.PUBLIC, Audience.CLIENT}:
            continue  # a client route refuses a missing key in its own format (403 in Open311)
        expected = {"anonymous": True}
        if rule.audience is Audience.USER:
            expected["citizen"] = False
        if rule.audience is Audience.STAFF:
            roles = rule.roles or STAFF_ROLES
            expected.update({role.value: role not in roles for role in Role})
        wrong += [(key, who) for who, no in expected.items() if refused[key, who] is not no]
    assert wrong == []


def test_critical_infrastructure_is_not_public(api):
    for path in (
        "/lifelines/pipes?network=gas",
        "/lifelines/sensors",
        "/lifelines/alarms",
        "/lifelines/isolation?network=gas&pipe=1",
        "/city/indicators",
        "/tiles/pipes.json",
        "/tiles/pipes/15/0/0.mvt",
    ):
        assert api.client.get(path).status_code == 401, path
    citizen = api.user("li", Role.CITIZEN, "990100")
    assert api.client.get("/lifelines/pipes?network=gas", headers=citizen).status_code == 403
    assert "pipes" not in api.client.get("/tiles").json()


# --- masking --------------------------------------------------------------------------------

# a real-looking table: what citizens write, and what the public may read of it
MASKED = [
    ("王先生电话13812345678，请尽快处理", "王先生电话138****5678，请尽快处理"),
    ("联系 139-1234-5678 或 +86 15912345678", "联系 139****5678 或 159****5678"),
    ("座机 023-6312 3456 转 8", "座机 023-****3456 转 8"),
    ("举报人身份证11010519491231002X，住8号楼", "举报人身份证110***********002X，住8号楼"),
    ("身份证号 500101199001011234 张三", "身份证号 500101199001011234 张三"),  # check char wrong
    ("邮箱 zhang.san+city@example.com.cn 回复", "邮箱 z***@example.com.cn 回复"),
    ("渝A12345 长期占用消防通道", "渝A***45 长期占用消防通道"),
    ("新能源车渝AD12345停在盲道", "新能源车渝A****45停在盲道"),
]
UNTOUCHED = [
    "2026年11月23日上午9点，解放碑步行街",
    "日期 20261123 时间 0930",
    "物业费每月1380元，涨到2180.50元",
    "8号楼3单元502室，邮编400010",
    "第12345678号通知，共120户",
    "订单 613812345678901 已付款",
    "WIFI密码 abc13812345678xyz",
]


@pytest.mark.parametrize(("text", "public"), MASKED)
def test_personal_data_is_masked(text, public):
    assert mask_personal(text) == public


@pytest.mark.parametrize("text", UNTOUCHED)
def test_ordinary_numbers_are_left_alone(text):
    assert mask_personal(text) == text


def _with_check(first17):
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return first17 + "10X98765432"[sum(int(d) * w for d, w in zip(first17, weights)) % 11]


@settings(max_examples=200, deadline=None)
@given(
    st.from_regex(r"\A[1-6]\d{5}(19|20)\d{2}(0[1-9]|1[0-2])(0[1-9]|[12]\d)\d{3}\Z"),
    st.text(alphabet="举报人住址在号楼", max_size=6),
)
def test_a_valid_id_number_is_always_masked_and_a_wrong_check_never(first17, words):
    valid = _with_check(first17)
    wrong = valid[:17] + ("0" if valid[17] != "0" else "1")
    assert id_number_valid(valid) and not id_number_valid(wrong)
    assert valid not in mask_personal(f"{words}{valid}{words}")
    assert mask_personal(f"{words}{wrong}{words}") == f"{words}{wrong}{words}"


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Nd",), blacklist_characters="@")))
def test_text_without_digits_or_addresses_is_unchanged(text):
    assert mask_personal(text) == text


def test_the_public_view_masks_and_hides_staff_notes(api, point, streets):
    key = api.api_key()
    dispatcher = api.user("wang", Role.DISPATCHER, "990100")
    lon, lat = point(street=streets[0], skip=3)
    posted = api.client.post(
        "/open311/requests.json",
        data={
            "api_key": key,
            "service_code": "E0102",
            "lat": f"{lat}",
            "long": f"{lon}",
            "description": "垃圾堆了一周，联系我13812345678",
        },
    ).json()[0]
    case = api.client.get("/cases", headers=dispatcher).json()[0]
    api.client.post(
        f"/cases/{case['id']}/actions",
        headers=dispatcher,
        json={"action": "register", "note": "已联系李女士 13987654321"},
    )
    [public] = api.client.get(
        f"/open311/requests/{posted['service_request_id']}.json", params={"extensions": "true"}
    ).json()
    text = str(public)
    assert "13812345678" not in text and "138****5678" in public["description"]
    assert "13987654321" not in text and "李女士" not in text  # the staff's note is not public
    assert [n["type"] for n in public["notes"]] == ["report", "register"]
    assert "department" not in public["extended_attributes"]
    assert (public["long"], public["lat"]) != (case["lon"], case["lat"])  # coarsened
    staff_view = api.client.get(f"/cases/{case['id']}", headers=dispatcher).json()
    assert "13812345678" in staff_view["description"]  # staff see the report as written


# --- photos -------------------------------------------------------------------------------------


def _jpeg_with_gps():
    image = Image.new("RGB", (8, 6), (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0110] = "Model X"  # Model
    exif[0x8825] = {1: "N", 2: (29.0, 33.0, 42.0), 3: "E", 4: (106.0, 33.0, 5.0)}  # GPS IFD
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif)
    return out.getvalue()


def test_exif_gps_and_device_are_removed_at_upload(api, point):
    photo = _jpeg_with_gps()
    with Image.open(io.BytesIO(photo)) as sent:
        assert sent.getexif().get_ifd(0x8825)  # the GPS position is in what is sent
    key = api.api_key()
    lon, lat = point(skip=6)
    posted = api.client.post(
        "/open311/requests.json",
        data={"api_key": key, "service_code": "E0102", "lat": f"{lat}", "long": f"{lon}"},
        files={"media": ("p.jpg", photo, "image/jpeg")},
    ).json()[0]
    [record] = api.client.get(f"/open311/requests/{posted['service_request_id']}.json").json()
    stored = api.client.get(record["media_url"].replace("http://testserver", "")).content
    assert b"PhoneMaker" not in stored and b"Model X" not in stored
    with Image.open(io.BytesIO(stored)) as kept:
        assert dict(kept.getexif()) == {}
        assert kept.size == (8, 6)


def test_a_handlers_photo_is_for_staff_in_scope_only(api, point, streets):
    from tests.unit.cases.test_api import b64, png

    dispatcher = api.user("wang", Role.DISPATCHER, streets[0])
    stranger = api.user("zhou", Role.DISPATCHER, streets[2])
    lon, lat = point(street=streets[0], skip=5)
    case = api.client.post(
        "/cases",
        json={
            "category_code": "E0102",
            "lon": lon,
            "lat": lat,
            "photos": [{"content_base64": b64(png(10))}],
        },
    )
    case_id = case.json()["case"]["id"]
    after = api.client.post(
        f"/cases/{case_id}/actions",
        headers=dispatcher,
        json={"action": "register", "photos": [{"content_base64": b64(png(250))}]},
    )
    assert after.status_code == 200, after.text
    shown = api.client.get(f"/cases/{case_id}/attachments", headers=dispatcher).json()
    reporters, handlers = (a["url"] for a in sorted(shown, key=lambda a: a["event_seq"]))
    assert api.client.get(reporters).status_code == 200  # the reporter's: public
    assert api.client.get(handlers).status_code == 404  # the handler's: not to the public
    assert api.client.get(handlers, headers=stranger).status_code == 404  # nor other streets
    answer = api.client.get(handlers, headers=dispatcher)
    assert answer.status_code == 200 and answer.headers["cache-control"] == "private, no-store"


# --- scope on merges ----------------------------------------------------------------------------


def test_a_merge_checks_the_target_scope_category_and_distance(api, point, streets):
    inspector = api.user("insp", Role.INSPECTOR, streets[0])

    def report(code, where):
        lon, lat = where
        r = api.client.post("/cases", json={"category_code": code, "lon": lon, "lat": lat})
        return r.json()["case"]["id"]

    here = report("E0404", point(street=streets[0], skip=1))
    other_street = report("E0404", point(street=streets[2], skip=1))
    other_category = report("E0102", point(street=streets[0], skip=1, dx_m=5.0))
    far = report("E0404", point(street=streets[0], skip=40))

    def merge(into):
        r = api.client.post(
            f"/cases/{here}/actions", headers=inspector, json={"action": "merge", "into": into}
        )
        return r.status_code, r.json()["detail"][0]["msg"] if r.status_code != 200 else ""

    status, msg = merge(other_street)
    assert (
        status == 422 and msg == f"`into`: no case with id {other_street} that you may merge into"
    )
    status, msg = merge(999999)
    assert msg == "`into`: no case with id 999999 that you may merge into"  # the same answer
    assert merge(other_category)[1].startswith(f"`into` case {other_category} is of category")
    assert "m away; a duplicate lies within 500 m" in merge(far)[1]
    with api.session() as s:
        from shancheng.cases import repository

        assert repository.get_case(s, here).status == "reported"  # nothing happened
