"""Admin API: the jurisdiction table and per-district stage limits as data, audit-logged.

Runs on SQLite and PostgreSQL. Deadlines are hand-computed on the default calendar (office
hours 08:30-12:00 and 14:00-17:30); reports arrive Monday 23 November 2026 at 09:00.
"""

import pytest

from shancheng.cases.permissions import Role
from shancheng.cases.stage_limits import StageLimit, stage_limit_s

pytestmark = pytest.mark.services


@pytest.fixture
def root(api):
    return api.user("root", Role.ADMIN, "990100")


def report(api, headers, lon, lat, code="E0102"):
    r = api.client.post(
        "/cases", headers=headers, json={"category_code": code, "lon": lon, "lat": lat}
    )
    assert r.status_code == 201, r.text
    return r.json()["case"]


def test_only_admins_manage_the_configuration(api, root, streets):
    others = [
        api.user(f"u{k}", role, streets[0])
        for k, role in enumerate(
            [Role.CITIZEN, Role.INSPECTOR, Role.DISPATCHER, Role.HANDLER, Role.SUPERVISOR]
        )
        if role is not Role.HANDLER
    ] + [api.user("h", Role.HANDLER, streets[0], "sanitation")]
    rule = {
        "category": "E01",
        "unit": streets[0],
        "department": "city_management",
        "level": "street",
    }
    limit = {"district_code": "990101", "category": "*", "stage": "register", "limit_h": 2}
    for headers in others:
        assert api.client.get("/admin/jurisdiction", headers=headers).status_code == 403
        assert api.client.post("/admin/jurisdiction", headers=headers, json=rule).status_code == 403
        assert (
            api.client.patch(
                "/admin/jurisdiction/1", headers=headers, json={"level": "city"}
            ).status_code
            == 403
        )
        assert (
            api.client.post("/admin/stage-limits", headers=headers, json=limit).status_code == 403
        )
        assert api.client.get("/admin/audit", headers=headers).status_code == 403
        assert api.client.get("/admin/taxonomy", headers=headers).status_code == 403
    assert api.client.get("/admin/jurisdiction").status_code == 401
    assert api.count("case_jurisdiction") == api.count("case_audit") == 0
    assert api.client.get("/admin/jurisdiction", headers=root).json() == []


def test_a_new_rule_routes_reports_and_its_edits_are_audited(api, root, point, streets):
    citizen = api.user("li", Role.CITIZEN, "990100")
    lon, lat = point(street=streets[0])
    assert report(api, citizen, lon, lat)["department"] == "sanitation"  # taxonomy default
    r = api.client.post(
        "/admin/jurisdiction",
        headers=root,
        json={
            "category": "E01",
            "unit": streets[0],
            "department": "city_management",
            "level": "street",
        },
    )
    assert r.status_code == 201, r.text
    rule = r.json()
    lon2, lat2 = point(street=streets[0], skip=3)  # far enough not to be a duplicate
    case = report(api, citizen, lon2, lat2)
    assert (case["department"], case["unit_code"]) == ("city_management", streets[0])
    other = report(api, citizen, *point(street=streets[2]))
    assert other["department"] == "sanitation"  # the rule is scoped to its street
    r = api.client.patch(
        f"/admin/jurisdiction/{rule['id']}", headers=root, json={"department": "street_office"}
    )
    assert r.status_code == 200 and r.json()["department"] == "street_office"
    assert report(api, citizen, *point(street=streets[0], skip=6))["department"] == "street_office"
    log = api.client.get("/admin/audit", headers=root).json()
    assert [(e["action"], e["table_name"], e["row_id"], e["actor"]) for e in log] == [
        ("update", "case_jurisdiction", rule["id"], "root"),
        ("create", "case_jurisdiction", rule["id"], "root"),
    ]
    assert log[0]["before"]["department"] == "city_management"
    assert log[0]["after"]["department"] == "street_office"
    assert log[1]["before"] is None and log[1]["after"]["unit"] == streets[0]


@pytest.mark.parametrize(
    ("body", "status", "field", "needle"),
    [
        ({"department": "no_such_dept"}, 422, "department", "not a known department"),
        ({"unit": "123456789"}, 422, "unit", "nor a unit code of the city"),
        ({"category": "Z9"}, 422, "category", "nor a category code or prefix"),
        ({"level": "province"}, 422, "level", "Input should be"),
        ({"extra": 1}, 422, "extra", "Extra inputs are not permitted"),
    ],
)
def test_bad_rules_are_refused_and_nothing_is_stored(
    api, root, streets, body, status, field, needle
):
    good = {
        "category": "E01",
        "unit": streets[0],
        "department": "city_management",
        "level": "street",
    }
    r = api.client.post("/admin/jurisdiction", headers=root, json={**good, **body})
    assert r.status_code == status, r.text
    [err] = r.json()["detail"]
    assert err["loc"][-1] == field and needle in err["msg"]
    assert api.count("case_jurisdiction") == api.count("case_audit") == 0


def test_rule_clash_and_unknown_id(api, root, streets):
    good = {
        "category": "E01",
        "unit": streets[0],
        "department": "city_management",
        "level": "street",
    }
    assert api.client.post("/admin/jurisdiction", headers=root, json=good).status_code == 201
    r = api.client.post("/admin/jurisdiction", headers=root, json=good)
    assert r.status_code == 422 and "already routes (E01, " in r.text
    r = api.client.patch("/admin/jurisdiction/999", headers=root, json={"level": "city"})
    assert r.status_code == 404 and "no jurisdiction rule with id 999" in r.text
    assert api.count("case_jurisdiction") == api.count("case_audit") == 1


def test_district_stage_limits_drive_the_deadlines(api, root, point, streets):
    citizen = api.user("li", Role.CITIZEN, "990100")
    dispatcher = api.user("wang", Role.DISPATCHER, "990100")
    here = report(api, citizen, *point(street=streets[0]))
    there = report(api, citizen, *point(street=streets[2]))
    district = here["district_code"]
    assert there["district_code"] != district
    # taxonomy: E0102 register 1 working hour -> Monday 10:00
    assert here["deadline_at"] == there["deadline_at"] == "2026-11-23T10:00:00+08:00"
    add = {"district_code": district, "category": "E0102", "stage": "register", "limit_h": 4}
    assert api.client.post("/admin/stage-limits", headers=root, json=add).status_code == 201
    r = api.client.post(
        "/admin/stage-limits",
        headers=root,
        json={"district_code": district, "category": "*", "stage": "dispatch", "limit_h": 3.5},
    )
    assert r.status_code == 201
    star = r.json()
    # 4 h from 09:00: 09:00-12:00 and 14:00-15:00 -> 15:00
    here2 = report(api, citizen, *point(street=streets[0], skip=5))
    there2 = report(api, citizen, *point(street=streets[2], skip=5))
    assert here2["deadline_at"] == "2026-11-23T15:00:00+08:00"
    assert there2["deadline_at"] == "2026-11-23T10:00:00+08:00"  # other district: taxonomy
    # registering starts the dispatch stage: '*' gives 3.5 h -> 14:30
    r = api.client.post(
        f"/cases/{here2['id']}/actions", headers=dispatcher, json={"action": "register"}
    )
    assert r.json()["deadline_at"] == "2026-11-23T14:30:00+08:00"
    r = api.client.post(
        f"/cases/{there2['id']}/actions", headers=dispatcher, json={"action": "register"}
    )
    assert r.json()["deadline_at"] == "2026-11-23T10:00:00+08:00"  # taxonomy: dispatch 1 h
    # an edit applies to stages started afterwards: 0.5 h -> 09:30
    r = api.client.patch(f"/admin/stage-limits/{star['id']}", headers=root, json={"limit_h": 0.5})
    assert r.status_code == 200 and r.json()["limit_h"] == 0.5
    here3 = report(api, citizen, *point(street=streets[0], skip=9))
    r = api.client.post(
        f"/cases/{here3['id']}/actions", headers=dispatcher, json={"action": "register"}
    )
    assert r.json()["deadline_at"] == "2026-11-23T09:30:00+08:00"
    log = api.client.get("/admin/audit", headers=root).json()
    assert [e["action"] for e in log] == ["update", "create", "create"]
    assert (log[0]["before"]["limit_h"], log[0]["after"]["limit_h"]) == (3.5, 0.5)


@pytest.mark.parametrize(
    ("body", "field", "needle"),
    [
        ({"district_code": "990100"}, "district_code", "is not a district of the city"),
        ({"category": "E9999"}, "category", "nor a category code of the taxonomy"),
        ({"stage": "close"}, "stage", "Input should be"),
        ({"limit_h": 0}, "limit_h", "greater than 0"),
        ({"limit_h": 1e6}, "limit_h", "less than or equal to 8784"),
    ],
)
def test_bad_stage_limits_are_refused(api, root, body, field, needle):
    good = {"district_code": "990101", "category": "*", "stage": "register", "limit_h": 2}
    r = api.client.post("/admin/stage-limits", headers=root, json={**good, **body})
    assert r.status_code == 422, r.text
    [err] = r.json()["detail"]
    assert err["loc"][-1] == field and needle in err["msg"]
    assert api.count("case_stage_limits") == api.count("case_audit") == 0


def test_taxonomy_listing(api, root, taxonomy):
    rows = api.client.get("/admin/taxonomy", headers=root).json()
    assert len(rows) == len(taxonomy.categories)
    lamp = next(r for r in rows if r["code"] == "E0102")
    assert lamp["department"] == "sanitation" and lamp["limits_h"]["register"] == 1


def test_specific_category_beats_any_category(taxonomy):
    garbage = taxonomy.category("E0102")
    limits = [
        StageLimit("990101", "*", "dispose", 10.0),
        StageLimit("990101", "E0102", "dispose", 2.0),
        StageLimit("990102", "E0102", "dispose", 7.0),
    ]
    assert stage_limit_s(garbage, "dispose", "990101", limits) == 2 * 3600
    assert stage_limit_s(garbage, "dispose", "990102", limits) == 7 * 3600
    assert stage_limit_s(garbage, "dispose", "990103", limits) == garbage.limit_s("dispose")
    assert stage_limit_s(garbage, "verify", "990101", limits) == garbage.limit_s("verify")
