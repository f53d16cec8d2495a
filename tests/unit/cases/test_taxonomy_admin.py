"""Admin API: the taxonomy as data (add, change, retire categories), audit-logged.

Runs on SQLite and PostgreSQL. Reports arrive Monday 23 November 2026 at 09:00; deadlines are
hand-computed on the default calendar (office hours 08:30-12:00 and 14:00-17:30).
"""

import time
from dataclasses import replace
from datetime import datetime

import pytest
import sqlalchemy as sa

from shancheng.api.state import state_of
from shancheng.cases import admin as admin_edits
from shancheng.cases.calendar import CHINA_TZ
from shancheng.cases.center import Center, CenterCache
from shancheng.cases.permissions import Role

pytestmark = pytest.mark.services

NEW = {
    "code": "E0105",  # a free minor number in major class E01 (city appearance)
    "name_zh": "井盖异响",
    "name_en": "rattling manhole cover",
    "department": "gardens",
    "level": "district",
    "priority": 1,
    "limits_h": {"register": 2, "dispatch": 3, "dispose": 8, "verify": 2},
    "keywords": ["井盖响", "rattling cover"],
}


@pytest.fixture
def root(api):
    return api.user("root", Role.ADMIN, "990100")


@pytest.fixture
def o311(api):
    api.key = api.api_key("open311-app")
    return api


def post311(api, code, lon, lat):
    return api.client.post(
        "/open311/requests.json",
        data={"api_key": api.key, "service_code": code, "lat": lat, "long": lon},
    )


def monday(hour):
    return datetime(2026, 11, 23, hour, tzinfo=CHINA_TZ)


def services(api):
    return {s["service_code"]: s for s in api.client.get("/open311/services.json").json()}


def case_by_reference(api, headers, reference):
    rows = api.client.get("/cases", headers=headers).json()
    [row] = [r for r in rows if r["reference"] == reference]
    return row


def test_a_new_category_takes_open311_reports_with_its_defaults(o311, root, point, streets):
    api = o311
    r = api.client.post("/admin/taxonomy", headers=root, json=NEW)
    assert r.status_code == 201, r.text
    made = r.json()
    assert (made["kind"], made["group_en"], made["clock"], made["active"], made["origin"]) == (
        "event",
        "city appearance",
        "working",
        True,
        "added",
    )
    offered = services(api)["E0105"]
    assert offered["service_name"] == "井盖异响 rattling manhole cover"
    assert offered["group"] == "市容环境 city appearance"
    assert offered["keywords"] == "井盖响,rattling cover"
    definition = api.client.get("/open311/services/E0105.json").json()
    assert [a["code"] for a in definition["attributes"]] == ["severity"]  # an event: no asset
    lon, lat = point(street=streets[0])
    r = post311(api, "E0105", lon, lat)
    assert r.status_code == 200, r.text
    reference = r.json()[0]["service_request_id"]
    case = case_by_reference(api, root, reference)
    # the category's defaults: gardens at district level, priority 1; register limit 2 h
    assert (case["department"], case["level"], case["priority"]) == ("gardens", "district", 1)
    assert case["unit_code"] == case["district_code"]
    assert datetime.fromisoformat(case["deadline_at"]) == monday(11)
    # registering starts the dispatch stage: 3 working hours from 09:00 -> 12:00
    dispatcher = api.user("wang", Role.DISPATCHER, "990100")
    r = api.client.post(
        f"/cases/{case['id']}/actions", headers=dispatcher, json={"action": "register"}
    )
    assert r.status_code == 200 and datetime.fromisoformat(r.json()["deadline_at"]) == monday(12)
    record = api.client.get(f"/open311/requests/{reference}.json").json()[0]
    assert record["service_name"] == "井盖异响 rattling manhole cover"
    assert record["agency_responsible"] == "园林绿化 parks and greening"
    log = api.client.get("/admin/audit", headers=root).json()
    assert [(e["action"], e["table_name"]) for e in log] == [("create", "case_taxonomy")]
    assert log[0]["before"] is None and log[0]["after"]["code"] == "E0105"
    assert log[0]["after"]["limits_h"] == {"register": 2, "dispatch": 3, "dispose": 8, "verify": 2}


def test_a_new_major_class_needs_its_group_names(api, root):
    body = {**NEW, "code": "E0801"}
    r = api.client.post("/admin/taxonomy", headers=root, json=body)
    assert r.status_code == 422
    [err] = r.json()["detail"]
    assert err["loc"][-1] == "group_zh" and "major class is not in `groups`" in err["msg"]
    assert api.count("case_taxonomy") == api.count("case_audit") == 0
    r = api.client.post(
        "/admin/taxonomy",
        headers=root,
        json={**body, "group_zh": "应急管理", "group_en": "emergencies"},
    )
    assert r.status_code == 201, r.text
    assert services(api)["E0801"]["group"] == "应急管理 emergencies"


def test_patched_names_and_limits_show_everywhere_and_are_audited(api, root, point, streets):
    r = api.client.patch(
        "/admin/taxonomy/E0102",
        headers=root,
        json={"name_en": "exposed rubbish", "limits_h": {"register": 3}},
    )
    assert r.status_code == 200, r.text
    changed = r.json()
    assert changed["name_en"] == "exposed rubbish" and changed["origin"] == "edited"
    # only the stage given changes; the others keep the seed's limits
    assert changed["limits_h"] == {"register": 3, "dispatch": 1, "dispose": 4, "verify": 2}
    assert services(api)["E0102"]["service_name"] == "暴露垃圾 exposed rubbish"
    listed = {c["code"]: c for c in api.client.get("/admin/taxonomy", headers=root).json()}
    assert listed["E0102"]["name_en"] == "exposed rubbish"
    assert listed["E0102"]["origin"] == "edited" and listed["E0103"]["origin"] == "seed"
    citizen = api.user("li", Role.CITIZEN, "990100")
    lon, lat = point(street=streets[0])
    r = api.client.post(
        "/cases", headers=citizen, json={"category_code": "E0102", "lon": lon, "lat": lat}
    )
    assert r.status_code == 201
    assert r.json()["case"]["deadline_at"] == "2026-11-23T12:00:00+08:00"  # 09:00 + 3 h
    r = api.client.patch(
        "/admin/taxonomy/E0102",
        headers=root,
        json={"keywords": ["垃圾", "rubbish"], "department": "city_management"},
    )
    assert r.status_code == 200
    log = api.client.get("/admin/audit", headers=root).json()
    assert [(e["action"], e["table_name"], e["actor"]) for e in log] == [
        ("update", "case_taxonomy", "root")
    ] * 2
    assert log[0]["row_id"] == log[1]["row_id"]  # one row of overrides per category
    newest, first = log
    assert (first["before"]["name_en"], first["after"]["name_en"]) == (
        "exposed garbage",
        "exposed rubbish",
    )
    assert (first["before"]["limits_h"]["register"], first["after"]["limits_h"]["register"]) == (
        1,
        3,
    )
    assert newest["before"]["name_en"] == "exposed rubbish"  # the version before this change
    assert (newest["before"]["department"], newest["after"]["department"]) == (
        "sanitation",
        "city_management",
    )
    assert newest["after"]["keywords"] == ["垃圾", "rubbish"]
    assert api.count("case_taxonomy") == 1


def test_a_retired_category_takes_no_report_but_its_cases_still_read(o311, root, point, streets):
    api = o311
    citizen = api.user("li", Role.CITIZEN, "990100")
    lon, lat = point(street=streets[0])
    r = api.client.post(
        "/cases", headers=citizen, json={"category_code": "E0102", "lon": lon, "lat": lat}
    )
    old = r.json()["case"]
    r = api.client.patch("/admin/taxonomy/E0102", headers=root, json={"active": False})
    assert r.status_code == 200 and r.json()["active"] is False
    cases_before = api.count()
    lon2, lat2 = point(street=streets[2])
    r = api.client.post(
        "/cases", headers=citizen, json={"category_code": "E0102", "lon": lon2, "lat": lat2}
    )
    assert r.status_code == 422
    [err] = r.json()["detail"]
    assert err["loc"][-1] == "service_code" and "'E0102' (exposed garbage) is retired" in err["msg"]
    r = post311(api, "E0102", lon2, lat2)
    assert r.status_code == 400
    assert "`service_code`/`category_code` 'E0102'" in r.json()[0]["description"]
    assert "retired" in r.json()[0]["description"]
    assert api.count() == cases_before
    assert "E0102" not in services(api) and "E0103" in services(api)
    # its definition is gone with it, as for any service the list does not name (the spec's 404)
    r = api.client.get("/open311/services/E0102.json")
    assert r.status_code == 404 and "retired" in r.json()[0]["description"]
    assert api.client.get("/open311/services/E0103.json").status_code == 200
    # the old case keeps its category and still reads, in the REST API and in Open311
    r = api.client.get(f"/cases/{old['id']}", headers=citizen)
    assert r.status_code == 200 and r.json()["category_code"] == "E0102"
    record = api.client.get(f"/open311/requests/{old['reference']}.json").json()[0]
    assert (record["service_code"], record["service_name"]) == ("E0102", "暴露垃圾 exposed garbage")
    listed = {c["code"]: c for c in api.client.get("/admin/taxonomy", headers=root).json()}
    assert listed["E0102"]["active"] is False
    # anyone may still read its name (the dashboard shows old cases by it), marked retired
    public = {c["code"]: c for c in api.client.get("/categories").json()}
    assert set(public) == set(listed)
    assert (public["E0102"]["name_zh"], public["E0102"]["name_en"]) == (
        "暴露垃圾",
        "exposed garbage",
    )
    assert public["E0102"]["active"] is False and public["E0103"]["active"] is True
    assert set(public["E0102"]) == {
        "code",
        "kind",
        "name_zh",
        "name_en",
        "group_zh",
        "group_en",
        "active",
    }  # no handling details: those are for admins
    # brought back, it takes reports again
    assert (
        api.client.patch("/admin/taxonomy/E0102", headers=root, json={"active": True}).status_code
        == 200
    )
    assert post311(api, "E0102", lon2, lat2).status_code == 200
    assert {c["code"]: c["active"] for c in api.client.get("/categories").json()}["E0102"] is True


def test_lifeline_alarm_categories_cannot_be_retired(api, root):
    r = api.client.patch("/admin/taxonomy/E0410", headers=root, json={"active": False})
    assert r.status_code == 422
    [err] = r.json()["detail"]
    assert err["loc"][-1] == "active" and "lifeline alarms" in err["msg"]
    assert api.count("case_taxonomy") == api.count("case_audit") == 0


def test_only_admins_edit_the_taxonomy(api, root, streets):
    others = [
        api.user(f"u{k}", role, streets[0])
        for k, role in enumerate([Role.CITIZEN, Role.INSPECTOR, Role.DISPATCHER, Role.SUPERVISOR])
    ]
    others.append(api.user("h", Role.HANDLER, streets[0], "sanitation"))
    for headers in others:
        assert api.client.get("/admin/taxonomy", headers=headers).status_code == 403
        assert api.client.post("/admin/taxonomy", headers=headers, json=NEW).status_code == 403
        r = api.client.patch("/admin/taxonomy/E0102", headers=headers, json={"active": False})
        assert r.status_code == 403
    assert api.client.post("/admin/taxonomy", json=NEW).status_code == 401
    assert api.client.patch("/admin/taxonomy/E0102", json={"priority": 1}).status_code == 401
    assert api.count("case_taxonomy") == api.count("case_audit") == 0
    assert "E0105" not in services(api)


@pytest.mark.parametrize(
    ("body", "field", "needle"),
    [
        ({"code": "E01"}, "code", "must be C/E + 4 digits"),
        ({"code": "E0100"}, "code", "major and minor class 01-99"),
        ({"code": "X0105"}, "code", "must be C/E + 4 digits"),
        ({"code": "e0105"}, "code", "must be C/E + 4 digits"),
        ({"code": "C0105", "kind": "event"}, "code", "matching `kind` 'event'"),
        ({"code": "E0102"}, "code", "exists already; change it with PATCH"),
        ({"department": "no_such_dept"}, "department", "'no_such_dept' is not a listed department"),
        ({"level": "province"}, "level", "Input should be"),
        ({"priority": 4}, "priority", "less than or equal to 3"),
        (
            {"limits_h": {"register": 0, "dispatch": 1, "dispose": 1, "verify": 1}},
            "register",
            "greater than 0",
        ),
        (
            {"limits_h": {"register": 1, "dispatch": 1, "dispose": 1e6, "verify": 1}},
            "dispose",
            "less than or equal to 8784",
        ),
        (
            {"limits_h": {"register": 1, "dispatch": 1, "dispose": 1}},
            "limits_h",
            "must give hours for register, dispatch, dispose, verify",
        ),
        (
            {"limits_h": {"register": 1, "dispatch": 1, "dispose": 1, "verify": 1, "close": 1}},
            "[key]",
            "Input should be",
        ),
        ({"name_en": "<b>loud</b> cover"}, "name_en", "plain text without HTML"),
        ({"keywords": ["ok", ""]}, "1", "at least 1 character"),
        ({"name_zh": ""}, "name_zh", "at least 1 character"),
        ({"clock": "lunar"}, "clock", "Input should be"),
        ({"extra": 1}, "extra", "Extra inputs are not permitted"),
    ],
)
def test_bad_categories_are_refused_and_nothing_is_stored(api, root, body, field, needle):
    r = api.client.post("/admin/taxonomy", headers=root, json={**NEW, **body})
    assert r.status_code == 422, r.text
    [err] = r.json()["detail"]
    assert str(err["loc"][-1]) == field and needle in err["msg"], err
    if "limits_h" in body:
        assert "limits_h" in err["loc"]
    assert api.count("case_taxonomy") == api.count("case_audit") == 0


@pytest.mark.parametrize(
    ("code", "body", "status", "field", "needle"),
    [
        ("E0102", {"department": "no_such_dept"}, 422, "department", "not a listed department"),
        ("E0102", {"limits_h": {"dispose": -1}}, 422, "dispose", "greater than 0"),
        ("E0102", {"kind": "component"}, 422, "kind", "Extra inputs are not permitted"),
        ("E0102", {"code": "E0109"}, 422, "code", "Extra inputs are not permitted"),
        ("E0102", {"name_zh": "<script>x</script>"}, 422, "name_zh", "without HTML"),
        ("E0109", {"priority": 1}, 404, "CaseNotFoundError", "no category 'E0109'"),
    ],
)
def test_bad_changes_are_refused_and_nothing_is_stored(
    api, root, code, body, status, field, needle
):
    r = api.client.patch(f"/admin/taxonomy/{code}", headers=root, json=body)
    assert r.status_code == status, r.text
    [err] = r.json()["detail"]
    assert str(err["loc"][-1]) == field and needle in err["msg"], err
    assert api.count("case_taxonomy") == api.count("case_audit") == 0
    assert services(api)["E0102"]["service_name"] == "暴露垃圾 exposed garbage"


def test_classifier_survives_a_new_category_and_never_proposes_a_retired_one(api, root):
    citizen = api.user("li", Role.CITIZEN, "990100")
    assert api.client.post("/admin/taxonomy", headers=root, json=NEW).status_code == 201
    r = api.client.post("/cases/classify", headers=citizen, json={"text": "路边有暴露垃圾"})
    assert r.status_code == 200 and r.json()[0]["category_code"] == "E0102"
    assert (
        api.client.patch("/admin/taxonomy/E0102", headers=root, json={"active": False}).status_code
        == 200
    )
    r = api.client.post("/cases/classify", headers=citizen, json={"text": "路边有暴露垃圾"})
    assert r.status_code == 200
    proposals = r.json()
    assert len(proposals) == 3 and "E0102" not in {p["category_code"] for p in proposals}
    state_of(api.app).classifier.wait(120)  # the retraining on the changed taxonomy
    r = api.client.post("/cases/classify", headers=citizen, json={"text": "rattling cover"})
    assert r.json()[0]["category_code"] == "E0105"


def _statements(engine):
    seen = []
    sa.event.listen(
        engine, "before_cursor_execute", lambda *args: seen.append(args[2])
    )  # statement text
    return seen


def test_another_center_sees_an_edit_after_the_ttl(
    make_session, taxonomy, admin_index, admin, monday_9
):
    ttl = 2.0
    one, two = (
        make_session(Center(taxonomy, admin_index)),
        make_session(Center(taxonomy, admin_index)),
    )
    ones = CenterCache(Center(taxonomy, admin_index), ttl_s=ttl)
    twos = CenterCache(Center(taxonomy, admin_index), ttl_s=ttl)
    assert twos.current(two).taxonomy.category("E0102").name_en == "exposed garbage"  # cached
    started = time.monotonic()
    admin_edits.update_category(
        one, ones, "E0102", {"name_en": "exposed rubbish"}, actor=admin, at=monday_9
    )
    admin_edits.create_category(one, ones, dict(NEW), actor=admin, at=monday_9)
    # the editing process sees both at once; the other one still has its cached copy
    assert ones.current(one).taxonomy.category("E0102").name_en == "exposed rubbish"
    assert "E0105" in ones.current(one).taxonomy.categories
    stale = twos.current(two).taxonomy
    if time.monotonic() - started < ttl:  # a very slow machine may have passed the TTL
        assert stale.category("E0102").name_en == "exposed garbage"
        assert "E0105" not in stale.categories
    time.sleep(ttl + 0.1)
    two.rollback()  # end the read transaction: a new one sees the other process's commits
    fresh = twos.current(two).taxonomy
    assert fresh.category("E0102").name_en == "exposed rubbish"
    assert fresh.category("E0105").department == "gardens"
    assert fresh.category("E0103") is taxonomy.category("E0103")  # untouched: the seed's
    one.close()
    two.close()


def test_the_cache_costs_no_query_while_the_tables_are_fresh(
    make_session, taxonomy, admin_index, admin, monday_9
):
    session = make_session(Center(taxonomy, admin_index))
    centers = CenterCache(Center(taxonomy, admin_index), ttl_s=60.0)
    admin_edits.update_category(
        session, centers, "E0102", {"priority": 1}, actor=admin, at=monday_9
    )
    first = centers.current(session)
    assert first.taxonomy.category("E0102").priority == 1
    seen = _statements(session.get_bind())
    for _ in range(200):
        assert centers.current(session) is first
    assert seen == []
    # with no caching at all, every call reads the tables, and unchanged tables keep the
    # very same center
    uncached = CenterCache(Center(taxonomy, admin_index), ttl_s=0.0)
    derived = uncached.current(session)
    seen = _statements(session.get_bind())
    assert uncached.current(session) is derived and uncached.current(session) is derived
    assert len([s for s in seen if "case_taxonomy" in s]) == 2
    assert len([s for s in seen if "case_jurisdiction" in s]) == 2
    session.close()


def test_schema_of_the_table_matches_the_model(db_url):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from shancheng.store import create_db_engine
    from shancheng.store.tables import Base

    engine = create_db_engine(db_url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    assert [d for d in diff if "case_taxonomy" in repr(d)] == []


def test_centers_of_two_seeds_keep_their_own_settings(make_session, center, admin, monday_9):
    quiet = replace(center, duplicate_radius_m=0.0)
    session = make_session(center)
    loud_centers, calm_centers = CenterCache(center), CenterCache(quiet)
    admin_edits.update_category(
        session, loud_centers, "E0102", {"priority": 1}, actor=admin, at=monday_9
    )
    loud, calm = loud_centers.current(session), calm_centers.current(session)
    assert loud.taxonomy.category("E0102").priority == calm.taxonomy.category("E0102").priority == 1
    assert (loud.duplicate_radius_m, calm.duplicate_radius_m) == (50.0, 0.0)
    session.close()
