"""The registry of measures is what the API, the targets and ``shancheng indicators`` share."""

from __future__ import annotations

import json
import math

import pytest

from shancheng.api.schemas.city import UnitIndicators
from shancheng.cli import main
from shancheng.data.demo import DemoConfig, write_demo_city
from shancheng.indicators.measures import MEASURE_KEYS, MEASURES, TARGETABLE_KEYS, measure
from shancheng.indicators.targets import MEASURES as TARGET_MEASURES


def test_the_api_row_has_exactly_the_identity_and_every_measure():
    identity = {"code", "name", "name_en", "level", "parent", "residents", "area_km2"}
    assert set(UnitIndicators.model_fields) == identity | set(MEASURE_KEYS)


def test_targets_may_name_the_targetable_measures_only():
    assert TARGET_MEASURES == TARGETABLE_KEYS
    assert "cases_open" not in TARGETABLE_KEYS and "on_time_share" in TARGETABLE_KEYS
    with pytest.raises(KeyError, match="no measure 'coverage'; measures are circle_coverage"):
        measure("coverage")


def test_the_measures_endpoint_serves_the_registry(dash):
    served = dash.client.get("/city/measures").json()
    assert served == [m.as_dict() for m in MEASURES]


def test_the_command_prints_what_the_api_serves(make_dash, tmp_path, capsys, monkeypatch, point):
    write_demo_city(tmp_path / "small", DemoConfig.small())
    url = f"sqlite:///{tmp_path / 'shared.sqlite'}"
    from shancheng.store import upgrade_database

    upgrade_database(url)
    dash = make_dash(url)
    here = point()
    for _ in range(2):  # two open cases in one district (the second one 30 m further)
        r = dash.client.post(
            "/cases",
            json={
                "category_code": "E0404",
                "lon": here[0],
                "lat": here[1],
                "description": "blocked",
            },
        )
        assert r.status_code == 201, r.text
    served = dash.client.get(
        "/city/indicators", params={"level": "district"}, headers=dash.staff()
    ).json()
    monkeypatch.setenv("SHANCHENG_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("SHANCHENG_CITY", "small")
    monkeypatch.setenv("SHANCHENG_DATABASE_URL", url)
    assert (
        main(
            [
                "indicators",
                "--level",
                "district",
                "--output",
                "json",
                "--at",
                dash.clock[0].isoformat(),
            ]
        )
        == 0
    )
    printed = json.loads(capsys.readouterr().out)
    assert [row["code"] for row in printed] == [row["code"] for row in served]
    for mine, theirs in zip(printed, served, strict=True):
        for key in MEASURE_KEYS:
            if theirs[key] is None:
                assert mine[key] is None, key
            else:
                assert math.isclose(mine[key], theirs[key], rel_tol=1e-9), key
    assert sum(row["cases_open"] for row in printed) == 1  # the second report was a duplicate


@pytest.fixture
def point(city_state, lonlat):
    def first_home():
        home = city_state.city.buildings.iloc[10]
        return lonlat(float(home.x_utm), float(home.y_utm))

    return first_home
