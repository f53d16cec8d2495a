"""The citizen page's API: report without logging in (limited per address), follow by reference."""

from shancheng.cases.permissions import Role


def test_anonymous_report_and_public_status(dash, city_state, lonlat):
    home = city_state.city.buildings.iloc[10]
    lon, lat = lonlat(home["x_utm"], home["y_utm"])
    r = dash.client.post(
        "/cases",
        json={
            "category_code": "E0102",
            "lon": lon,
            "lat": lat,
            "description": "垃圾没人收 — 李先生 13800000000",
        },
    )
    assert r.status_code == 201, r.text
    case = r.json()["case"]
    reference = case["reference"]
    assert case["status"] == "reported" and reference
    public = dash.client.get(f"/cases/public/{reference}")
    assert public.status_code == 200
    body = public.json()
    assert (body["reference"], body["category"], body["stage"], body["stage_zh"]) == (
        reference,
        "E0102",
        "reported",
        "上报",
    )
    assert [s["stage"] for s in body["timeline"]] == ["reported"]
    text = public.text
    for private in ("13800000000", "李先生", str(round(lon, 4)), "description", "reporter"):
        assert private not in text
    # the operator's steps show up in the public timeline
    dispatcher = dash.user("wang", Role.DISPATCHER, "990100")
    r = dash.client.post(
        f"/cases/{case['id']}/actions", headers=dispatcher, json={"action": "register"}
    )
    assert r.status_code == 200, r.text
    body = dash.client.get(f"/cases/public/{reference.lower()}").json()
    assert [s["stage"] for s in body["timeline"]] == ["reported", "registered"]
    assert body["stage_zh"] == "立案"
    # the operator finds the anonymous report in the list
    listed = dash.client.get("/cases", headers=dispatcher).json()
    assert [c["reference"] for c in listed] == [reference]
    assert dash.client.get("/cases/public/SC00000000NOPE").status_code == 404
    assert dash.client.get("/cases/public/bad-ref!").status_code == 422


def test_anonymous_reports_are_rate_limited_per_address(make_dash, city_state, lonlat):
    dash = make_dash(cases_rate_per_min=1, cases_rate_burst=2, cases_duplicate_radius_m=0)
    homes = city_state.city.buildings
    statuses = []
    for k in range(3):
        lon, lat = lonlat(homes["x_utm"].iloc[k * 7], homes["y_utm"].iloc[k * 7])
        r = dash.client.post("/cases", json={"category_code": "E0102", "lon": lon, "lat": lat})
        statuses.append(r.status_code)
    assert statuses == [201, 201, 429]
    assert int(r.headers["Retry-After"]) >= 1
    # a logged-in citizen is another client: still served
    citizen = dash.user("li", Role.CITIZEN, "990100")
    r = dash.client.post(
        "/cases", headers=citizen, json={"category_code": "E0102", "lon": lon, "lat": lat}
    )
    assert r.status_code == 201, r.text
    # a bad token is refused, not treated as anonymous
    r = dash.client.post(
        "/cases",
        headers={"Authorization": "Bearer " + "A" * 43},
        json={"category_code": "E0102", "lon": lon, "lat": lat},
    )
    assert r.status_code == 401
