"""/targets: the packaged plan, measured figures by district, manual figures append-only."""

from datetime import date

import pytest
import sqlalchemy as sa

from shancheng.api.state import state_of
from shancheng.cases.permissions import Role
from shancheng.errors import ConfigError
from shancheng.indicators.targets import load_targets


def test_packaged_targets_and_measured_figures(dash, city_state):
    r = dash.client.get("/targets")
    assert r.status_code == 200, r.text
    targets = {t["target_id"]: t for t in r.json()}
    values = {k: (t["target_value"], t["source"]) for k, t in targets.items()}
    assert values == {
        "circle_coverage_15min": (1.0, "measured"),
        "childcare_places_per_1000": (4.5, "measured"),
        "pipe_monitoring_dense": (1.0, "measured"),
        "case_on_time_closure": (0.9, "measured"),
        "senior_homes_renovated": (45000.0, "manual"),
        "metro_network_km": (593.0, "measured"),
    }
    assert targets["circle_coverage_15min"]["due"] == "2025-12-31"
    units = city_state.evaluation.units.set_index("code")
    childcare = targets["childcare_places_per_1000"]
    districts = units[units["level"] == "district"]
    assert [m["code"] for m in childcare["measured"]] == list(districts.index)
    for m in childcare["measured"]:
        assert m["value"] == pytest.approx(units.at[m["code"], "nursery_supply_per_1000"])
    coverage = targets["circle_coverage_15min"]
    assert coverage["city_value"] == pytest.approx(
        units.at[city_state.city_code, "complete_15min_share"]
    )
    assert all(m["value"] is None for m in targets["case_on_time_closure"]["measured"])
    # the metro target reads the line-km computed from the City's feed (the small demo metro)
    metro = targets["metro_network_km"]
    assert metro["history"] is None
    lines = city_state.evaluation.transit.lines
    assert metro["city_value"] == pytest.approx(lines["length_km"].sum(), abs=1e-3)
    assert [m["code"] for m in metro["measured"]] == list(districts.index)
    assert sum(m["value"] for m in metro["measured"]) <= metro["city_value"] + 1e-6
    # the editable copy was seeded into the data folder
    path = state_of(dash.app).settings.data_dir / "targets.toml"
    assert path.is_file()
    path.write_text(
        path.read_text("utf-8").replace("target_value = 593", "target_value = 600"), "utf-8"
    )
    again = {t["target_id"]: t for t in dash.client.get("/targets").json()}
    assert again["metro_network_km"]["target_value"] == 600.0


def test_manual_figures_are_appended_by_supervisors_only(dash):
    path = "/targets/senior_homes_renovated/figures"
    body = {"value": 31200, "date": "2025-06-30", "note": "half-year report"}
    assert dash.client.post(path, json=body).status_code == 401
    for role in (Role.CITIZEN, Role.DISPATCHER, Role.INSPECTOR):
        headers = dash.user(f"u-{role.value}", role, "990100")
        r = dash.client.post(path, json=body, headers=headers)
        assert r.status_code == 403, role
    boss = dash.user("zhao", Role.SUPERVISOR, "990100")
    r = dash.client.post(path, json=body, headers=boss)
    assert r.status_code == 201, r.text
    assert (r.json()["entered_by"], r.json()["value"]) == ("zhao", 31200.0)
    dash.clock[0] = dash.clock[0].replace(hour=10)
    r = dash.client.post(path, json={**body, "value": 30800, "note": "corrected"}, headers=boss)
    assert r.status_code == 201
    target = next(
        t for t in dash.client.get("/targets").json() if t["target_id"] == "senior_homes_renovated"
    )
    assert [(h["value"], h["note"]) for h in target["history"]] == [
        (31200.0, "half-year report"),
        (30800.0, "corrected"),
    ]
    assert target["city_value"] == 30800.0
    assert target["history"][0]["date"] == "2025-06-30"
    r = dash.client.post("/targets/circle_coverage_15min/figures", json=body, headers=boss)
    assert r.status_code == 422 and "`target_id`" in r.json()["detail"][0]["msg"]
    r = dash.client.post("/targets/nope/figures", json=body, headers=boss)
    assert r.status_code == 404
    r = dash.client.post(path, json={**body, "value": -1}, headers=boss)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "value"]


@pytest.mark.services
@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_figures_cannot_be_rewritten(make_dash, request, backend):
    url = None if backend == "sqlite" else request.getfixturevalue("postgres_url")
    dash = make_dash(url)
    boss = dash.user(f"admin-{backend}", Role.ADMIN, "990100")
    r = dash.client.post(
        "/targets/senior_homes_renovated/figures",
        headers=boss,
        json={"value": 538, "date": str(date(2025, 1, 1)), "note": ""},
    )
    assert r.status_code == 201
    engine = state_of(dash.app).engine
    for statement in ("update target_figures set value = 600", "delete from target_figures"):
        with pytest.raises(sa.exc.DatabaseError, match="append-only"), engine.begin() as conn:
            conn.execute(sa.text(statement))
    with engine.connect() as conn:
        values = conn.execute(
            sa.text("select value from target_figures where entered_by = :u"),
            {"u": f"admin-{backend}"},
        )
        assert [v for (v,) in values] == [538.0]
    if backend == "postgresql":
        with engine.begin() as conn:  # leave the shared database as found (triggers off)
            conn.execute(sa.text("alter table target_figures disable trigger user"))
            conn.execute(sa.text("delete from target_figures"))
            conn.execute(sa.text("alter table target_figures enable trigger user"))


def test_bad_targets_file_names_the_field(tmp_path):
    bad = tmp_path / "targets.toml"
    bad.write_text(
        '[[targets]]\ntarget_id = "x"\nname_zh = "x"\nname_en = "x"\nunit = "%"\n'
        'target_value = 1\ndue = 2025-12-31\nsource = "measured"\n',
        "utf-8",
    )
    with pytest.raises(ConfigError, match=r"targets.toml: target 1: field `\(entry\)`.*measure"):
        load_targets(bad)
    bad.write_text(bad.read_text("utf-8").replace('source = "measured"', 'source = "guess"'))
    with pytest.raises(ConfigError, match="target 1: field `source`"):
        load_targets(bad)
    bad.write_text("not = [toml")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_targets(bad)
