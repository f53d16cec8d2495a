"""What the operations center's first screen and role-aware menus read from the API.

Paging and filters of the case list with their total, case trends per day and week, the
signed-in user's own routes, department names and error codes, on SQLite and PostgreSQL.
"""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from shancheng.api.policy import POLICY, admits
from shancheng.cases.permissions import Actor, Role
from shancheng.store.cases_tables import CaseRow

pytestmark = pytest.mark.services


def report(api, headers, lon, lat, category="E0102"):
    r = api.client.post(
        "/cases", headers=headers, json={"category_code": category, "lon": lon, "lat": lat}
    )
    assert r.status_code == 201, r.text
    return r.json()["case"]


def login(api, username):
    r = api.client.post(
        "/auth/token", data={"username": username, "password": "correct horse battery"}
    )
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def test_case_list_pages_filters_and_total(api, point, streets):
    inspector = api.user("insp", Role.INSPECTOR, "990100")
    city = api.user("boss", Role.SUPERVISOR, "990100")
    made = {s: [] for s in streets[:2]}
    for street in streets[:2]:
        for k in range(7 if street == streets[0] else 4):
            lon, lat = point(street=street, skip=k * 3, dx_m=5.0 * k)
            made[street].append(report(api, inspector, lon, lat)["id"])
            api.clock[0] += timedelta(minutes=1)
    r = api.client.get("/cases", headers=city, params={"limit": 5})
    assert (r.headers["X-Total-Count"], len(r.json())) == ("11", 5)
    # the pages together are every case once, newest first
    pages = [
        api.client.get("/cases", headers=city, params={"limit": 5, "offset": o}).json()
        for o in (0, 5, 10)
    ]
    ids = [c["id"] for page in pages for c in page]
    assert ids == sorted(made[streets[0]] + made[streets[1]], reverse=True)
    r = api.client.get("/cases", headers=city, params={"unit": streets[1]})
    assert r.headers["X-Total-Count"] == "4"
    assert sorted(c["id"] for c in r.json()) == sorted(made[streets[1]])
    # a street's own operator sees only their street's total, even asking for the other
    own = api.user("street-op", Role.DISPATCHER, streets[0])
    r = api.client.get("/cases", headers=own, params={"unit": streets[1]})
    assert (r.headers["X-Total-Count"], r.json()) == ("0", [])
    assert api.client.get("/cases", headers=own).headers["X-Total-Count"] == "7"
    # overdue: none yet; after the reporting stage's limit, all of them
    assert api.client.get("/cases", headers=city, params={"overdue": True}).json() == []
    api.clock[0] += timedelta(days=30)
    city = login(api, "boss")  # the old token has expired meanwhile
    r = api.client.get("/cases", headers=city, params={"overdue": True, "limit": 2})
    assert (r.headers["X-Total-Count"], len(r.json())) == ("11", 2)


def test_trends_count_per_day_and_on_time_per_week(api, point, streets):
    inspector = api.user("insp", Role.INSPECTOR, "990100")
    city = api.user("boss", Role.SUPERVISOR, "990100")
    start = api.clock[0]  # Monday 23 November 2026, 09:00 in Chongqing (01:00 UTC)
    ids = []
    for day, n in [(0, 2), (1, 1), (3, 3), (7, 1)]:
        api.clock[0] = start + timedelta(days=day)
        inspector = login(api, "insp")
        for k in range(n):
            lon, lat = point(street=streets[0], skip=day * 4 + k)
            ids.append(report(api, inspector, lon, lat)["id"])
    # three closings: two on time in the first week, one late in the second
    closings = [
        (ids[0], start + timedelta(days=2), True),
        (ids[1], start + timedelta(days=4), True),
        (ids[2], start + timedelta(days=8), False),
    ]
    with api.session() as s:
        for case_id, at, on_time in closings:
            s.execute(
                sa.update(CaseRow)
                .where(CaseRow.id == case_id)
                .values(status="closed", closed_at=at, closed_on_time=on_time)
            )
        s.commit()
    api.clock[0] = start + timedelta(days=9)
    city = login(api, "boss")
    r = api.client.get("/stats/trends", headers=city, params={"days": 14})
    assert r.status_code == 200, r.text
    body = r.json()
    daily = {d["day"]: (d["reported"], d["closed"]) for d in body["daily"]}
    assert len(daily) == 14
    assert daily["2026-11-23"] == (2, 0)
    assert daily["2026-11-24"] == (1, 0)
    assert daily["2026-11-25"] == (0, 1)
    assert daily["2026-11-26"] == (3, 0)
    assert daily["2026-11-27"] == (0, 1)
    assert daily["2026-11-30"] == (1, 0)
    assert daily["2026-12-01"] == (0, 1)
    assert sum(r for r, _ in daily.values()) == 7
    weekly = {w["week"]: (w["closed_timed"], w["closed_on_time"]) for w in body["weekly"]}
    assert weekly["2026-11-23"] == (2, 2)
    assert weekly["2026-11-30"] == (1, 0)
    shares = {w["week"]: w["on_time_share"] for w in body["weekly"]}
    assert (shares["2026-11-23"], shares["2026-11-30"]) == (1.0, 0.0)
    assert shares["2026-11-16"] is None  # a week without closings has no share, not 0 %
    # a citizen may not read the trends; a street's operator sees their street only
    citizen = api.user("li", Role.CITIZEN, "990100")
    assert api.client.get("/stats/trends", headers=citizen).status_code == 403
    other = api.user("other", Role.DISPATCHER, streets[2])
    mine = api.client.get("/stats/trends", headers=other, params={"days": 14}).json()
    assert sum(d["reported"] for d in mine["daily"]) == 0
    assert api.client.get("/stats/trends", headers=city, params={"days": 3}).status_code == 422


@pytest.mark.parametrize(
    ("role", "unit", "has", "lacks"),
    [
        (Role.CITIZEN, "990100", ["GET /cases", "POST /cases"], ["GET /lifelines/sensors"]),
        (
            Role.DISPATCHER,
            "990101",
            ["GET /lifelines/sensors", "GET /city/indicators", "GET /stats/trends"],
            ["GET /admin/audit", "GET /stats/evaluation"],
        ),
        (Role.SUPERVISOR, "990100", ["GET /stats/evaluation"], ["GET /admin/audit"]),
        (Role.ADMIN, "990100", ["GET /admin/audit", "POST /admin/taxonomy"], []),
    ],
)
def test_me_lists_the_routes_the_policy_admits(api, role, unit, has, lacks):
    headers = api.user("someone", role, unit)
    me = api.client.get("/auth/me", headers=headers).json()
    assert (me["role"], me["unit_code"]) == (role.value, unit)
    assert me["unit_name"] and me["unit_name"] != unit  # a name, never the code
    routes = set(me["routes"])
    assert set(has) <= routes
    assert not routes & set(lacks)
    actor = Actor("someone", role, unit)
    assert routes == {key for key, rule in POLICY.items() if admits(rule, actor)}
    # what the list says is what the server does
    for route in ["GET /lifelines/sensors", "GET /admin/audit", "GET /stats/trends"]:
        status = api.client.get(route.split(" ")[1], headers=headers).status_code
        assert (status != 403) == (route in routes), (route, status)


def test_me_names_the_department_and_needs_a_login(api):
    headers = api.user("gas", Role.HANDLER, "990100", department="gas_utility")
    me = api.client.get("/auth/me", headers=headers).json()
    assert me["department"] == "gas_utility"
    assert me["department_name"] != "gas_utility" and me["department_name_en"]
    assert api.client.get("/auth/me").status_code == 401
    names = {d["code"]: d for d in api.client.get("/departments").json()}
    assert names["gas_utility"]["name_zh"] == me["department_name"]


def test_errors_carry_a_code_to_translate(api, point):
    headers = api.user("li", Role.CITIZEN, "990100")
    r = api.client.post(
        "/cases", headers=headers, json={"category_code": "E0102", "lon": 116.4, "lat": 39.9}
    )
    assert (r.status_code, r.json()["detail"][0]["code"]) == (422, "outside_city")
    r = api.client.post("/cases", headers=headers, json={"lon": 106.5})
    assert r.status_code == 422
    assert {d["code"] for d in r.json()["detail"]} == {"missing"}
    lon, lat = point()
    case = report(api, headers, lon, lat)
    r = api.client.post(f"/cases/{case['id']}/actions", headers=headers, json={"action": "close"})
    assert r.json()["detail"][0]["code"] == "permission_denied"
