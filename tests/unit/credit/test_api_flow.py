"""End to end through HTTP: link, decide, publish, public page, tier, the next draw; privacy."""

from datetime import timedelta

from shancheng.cases.permissions import Role
from shancheng.credit.codes import complete_code

TRADER = complete_code("92990101MA000001")  # an individual trader
OPERATOR_ID = "11010519491231002X"  # GB 11643's published example number


def test_inspector_links_officer_decides_public_sees_tier_and_draw_follow(api, point):
    supervisor = api.user("officer", Role.SUPERVISOR, "990101001")
    inspector = api.user("insp", Role.INSPECTOR, "990101001")
    dispatcher = api.user("disp", Role.DISPATCHER, "990101001")
    lon, lat = point(street="990101001")
    body = {"code": TRADER, "name": "老王烧烤", "address": "夜市 3 号", "lon": lon, "lat": lat,
            "representative": "王大明", "representative_id": OPERATOR_ID}  # fmt: skip
    r = api.client.post("/credit/entities", json=body, headers=supervisor)
    assert r.status_code == 201, r.text
    assert r.json()["tier"] == "A"
    assert "representative_id" not in r.json()
    # an inspector reports a night-market problem naming the stall, and links it
    r = api.client.post("/cases", json={"category_code": "E0506", "lon": lon, "lat": lat,
                        "description": "老王烧烤 占道到深夜"}, headers=inspector)  # fmt: skip
    assert r.status_code in (200, 201), r.text
    case_id = r.json()["case"]["id"]
    r = api.client.get(f"/credit/cases/{case_id}/suggestions", headers=inspector)
    assert r.json()[0]["code"] == TRADER and r.json()[0]["named_in_text"]
    r = api.client.post(f"/credit/cases/{case_id}/link", json={"code": TRADER}, headers=inspector)
    assert r.status_code == 200, r.text
    proposal = {"case_id": case_id, "code": TRADER, "kind": "penalty", "amount_yuan": 2000,
                "legal_basis": [{"law": "重庆市市容环境卫生管理条例", "article": "第五十一条"}],
                "facts": f"经营者王大明（身份证 {OPERATOR_ID}）占道经营"}  # fmt: skip
    r = api.client.post("/credit/decisions", json=proposal, headers=inspector)
    assert r.status_code == 201, r.text
    decision_id = r.json()["id"]
    # the inspector may not decide; the officer does
    path = f"/credit/decisions/{decision_id}/actions"
    assert api.client.post(path, json={"action": "decide"}, headers=inspector).status_code == 403
    r = api.client.post(path, json={"action": "decide"}, headers=supervisor)
    assert r.status_code == 200, r.text
    assert r.json()["publish_due"] == "2026-12-02"  # Monday 23 Nov + 7 working days
    assert api.client.get("/credit/public").json()["decisions"] == []
    api.clock[0] += timedelta(hours=2)
    r = api.client.post(path, json={"action": "publish"}, headers=dispatcher)
    assert r.status_code == 200, r.text
    public = api.client.get("/credit/public")
    assert public.status_code == 200
    [shown] = public.json()["decisions"]
    assert (shown["entity_code"], shown["amount_yuan"], shown["operator"]) == (TRADER, 2000, "王**")
    assert OPERATOR_ID not in public.text and "王大明" not in public.text
    # the tier changed, with the reasons, audited
    page = api.client.get(f"/credit/entities/{TRADER}", headers=supervisor).json()
    assert page["entity"]["tier"] == "B"
    assert [(t["from_tier"], t["to_tier"]) for t in page["tier_changes"]][-1] == ("A", "B")
    assert page["case_ids"] == [case_id]
    [penalty] = [r for r in page["reasons"] if r["kind"] == "penalty"]
    assert (penalty["code"], penalty["ref"], penalty["params"]["weight"]) == (
        "counted",
        f"decision {decision_id}",
        -15.0,
    )
    assert penalty["english"].startswith("penalty (decision")
    assert page["tier_changes"][-1]["reasons"][-1]["code"] == "counted"
    # the next draw weights the trader by its tier's rate
    draw = {"plan": "夜市 12 月", "inspectors": ["insp", "li", "zhao"], "seed": 7}
    r = api.client.post("/credit/draws", json=draw, headers=supervisor)
    assert r.status_code == 201, r.text
    assert r.json()["population"] == [[TRADER, "B"]]
    assert r.json()["rates"]["B"] == 0.15
    picks = r.json()["picks"]
    assert all(p["probability"] == 0.15 for p in picks)
    stats = api.client.get("/credit/stats", headers=supervisor).json()
    assert stats[0]["published_on_time"] == 1
    # staff of another street see nothing of it
    other = api.user("far", Role.SUPERVISOR, "990102001")
    assert api.client.get(f"/credit/entities/{TRADER}", headers=other).status_code == 404
    assert api.client.get("/credit/entities", headers=other).json() == []
    assert api.client.get("/credit/entities").status_code == 401


def test_bad_code_is_refused_naming_the_field(api, point):
    supervisor = api.user("officer", Role.SUPERVISOR, "990101001")
    lon, lat = point(street="990101001")
    bad = TRADER[:-1] + ("0" if TRADER[-1] != "0" else "1")
    body = {"code": bad, "name": "x", "lon": lon, "lat": lat}
    before = api.count("credit_entities")
    r = api.client.post("/credit/entities", json=body, headers=supervisor)
    assert r.status_code == 422
    assert "position 18" in r.text
    assert api.count("credit_entities") == before


def test_steps_offered_follow_the_workflow_the_role_and_the_scope(api, point):
    officer = api.user("officer", Role.SUPERVISOR, "990101001")
    inspector = api.user("insp", Role.INSPECTOR, "990101001")
    dispatcher = api.user("disp", Role.DISPATCHER, "990101001")
    far = api.user("far", Role.SUPERVISOR, "990102001")
    lon, lat = point(street="990101001")
    trader = {"code": TRADER, "name": "老王烧烤", "address": "夜市 3 号", "lon": lon, "lat": lat}
    assert api.client.post("/credit/entities", json=trader, headers=officer).status_code == 201
    r = api.client.post("/cases", json={"category_code": "E0506", "lon": lon, "lat": lat,
                        "description": "老王烧烤 占道"}, headers=inspector)  # fmt: skip
    case_id = r.json()["case"]["id"]
    # the case in enforcement: the inspector may link and propose, and sees the suggestion
    page = api.client.get(f"/credit/cases/{case_id}", headers=inspector).json()
    assert page["actions"] == ["link", "propose"]
    assert page["entity"] is None and page["decisions"] == []
    assert [s["code"] for s in page["suggestions"]] == [TRADER]
    # a dispatcher links but does not propose
    assert api.client.get(f"/credit/cases/{case_id}", headers=dispatcher).json()["actions"] == [
        "link"
    ]
    # another street's officer does not see the case at all
    assert api.client.get(f"/credit/cases/{case_id}", headers=far).status_code == 404
    proposal = {"case_id": case_id, "code": TRADER, "kind": "warning",
                "legal_basis": [{"law": "重庆市市容环境卫生管理条例", "article": ""}]}  # fmt: skip
    r = api.client.post("/credit/decisions", json=proposal, headers=inspector)
    assert r.status_code == 201, r.text
    decision_id = r.json()["id"]
    assert r.json()["actions"] == []  # the inspector proposed; deciding is the officer's

    def steps(headers):
        [d] = api.client.get(f"/credit/cases/{case_id}", headers=headers).json()["decisions"]
        return d["status"], d["actions"]

    assert steps(officer) == ("proposed", ["decide", "withdraw"])
    assert steps(dispatcher) == ("proposed", [])
    path = f"/credit/decisions/{decision_id}/actions"
    r = api.client.post(path, json={"action": "decide"}, headers=officer)
    assert r.json()["actions"] == ["publish"]  # the response carries the next steps
    assert steps(dispatcher) == ("decided", ["publish"])
    assert steps(inspector) == ("decided", [])
    api.client.post(path, json={"action": "publish"}, headers=dispatcher)
    assert steps(officer) == ("published", ["appeal", "close"])
    assert steps(dispatcher) == ("published", ["close"])
    # every step offered is one the server accepts; one not offered is refused
    assert api.client.post(path, json={"action": "appeal"}, headers=dispatcher).status_code == 403
    assert api.client.post(path, json={"action": "appeal"}, headers=officer).status_code == 200
    assert steps(officer) == ("appealed", ["uphold", "revoke"])
    # the case page shows the linked entity now, and the decisions list carries the steps too
    assert api.client.get(f"/credit/cases/{case_id}", headers=officer).json()["entity"]["code"] == (
        TRADER
    )
    [listed] = api.client.get("/credit/decisions", headers=officer).json()
    assert listed["actions"] == ["uphold", "revoke"]


def test_reasons_stored_before_the_codes_are_served_as_text(api, point):
    import sqlalchemy as sa

    from shancheng.store.credit_tables import EntityRow, TierChangeRow

    officer = api.user("officer", Role.SUPERVISOR, "990101001")
    lon, lat = point(street="990101001")
    trader = {"code": TRADER, "name": "老王烧烤", "address": "夜市 3 号", "lon": lon, "lat": lat}
    assert api.client.post("/credit/entities", json=trader, headers=officer).status_code == 201
    old = "penalty (decision 9, 2026-01-05): -15 x 0.84 (90 d, half-life 365 d) = -12.6"
    with api.session() as s:
        entity = s.scalars(sa.select(EntityRow).where(EntityRow.code == TRADER)).one()
        first = s.scalars(
            sa.select(TierChangeRow).where(TierChangeRow.entity_id == entity.id)
        ).one()
        s.add(TierChangeRow(entity_id=entity.id, at=first.at, actor="old", from_tier="A",
                            to_tier="B", score=87.4, reasons=[old]))  # fmt: skip
        s.commit()
    page = api.client.get(f"/credit/entities/{TRADER}", headers=officer).json()
    new, kept = page["tier_changes"]
    assert new["reasons"] == []  # a new trader: no event yet, tier A from the start score
    assert kept["reasons"] == [
        {"code": "text", "kind": "", "ref": "", "on": None, "params": {"text": old}, "english": old}
    ]
