"""A city profile over the catalogue: requirements on, off, or where the city has one."""

from __future__ import annotations

import pytest

from shancheng.circles.city_profile import apply_city_profile, read_city_profile
from shancheng.circles.evaluate import evaluate_city, summarize
from shancheng.circles.standard import load_catalogue
from shancheng.cli import main
from shancheng.data.city import write_city
from shancheng.errors import CatalogueError


@pytest.fixture(scope="module")
def catalogue():
    return load_catalogue()


@pytest.fixture(scope="module")
def city_dir(small_city, tmp_path_factory):
    return write_city(small_city, tmp_path_factory.mktemp("city") / "small")


def _profile(tmp_path, text):
    path = tmp_path / "profile.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_rules_by_category_and_by_requirement(catalogue, tmp_path):
    path = _profile(
        tmp_path,
        '[requirements]\nmetro_station = "where_present"\n'
        'senior_canteen_5min = "off"\npark = "on"\n',
    )
    rules = read_city_profile(path, catalogue)
    shaped, notes = apply_city_profile(catalogue, rules, present={"park", "hospital"})
    keys = {r.key: r for r in shaped.requirements}
    assert "senior_canteen_5min" not in keys
    assert keys["metro_station_15min"].required is False  # no metro in this city
    before = {r.key: r for r in catalogue.requirements}
    assert keys["park_15min"].required == before["park_15min"].required
    assert len(shaped.requirements) == len(catalogue.requirements) - 1
    assert any(
        "metro_station_15min: not required, the city has no metro_station" in n for n in notes
    )
    with_metro, _ = apply_city_profile(catalogue, rules, present={"metro_station"})
    assert {r.key: r for r in with_metro.requirements}["metro_station_15min"].required == before[
        "metro_station_15min"
    ].required


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ('[requirements]\nsubway = "off"\n', "requirements.subway: not a category or requirement"),
        ('[requirements]\npark = "maybe"\n', "requirements.park: `maybe` must be one of"),
        ('park = "off"\n', "a [requirements] table is needed"),
        ("[requirements\n", "not a readable city profile"),
    ],
)
def test_bad_profiles_name_the_file_and_key(catalogue, tmp_path, text, needle):
    with pytest.raises(CatalogueError, match="profile.toml") as error:
        read_city_profile(_profile(tmp_path, text), catalogue)
    assert needle in str(error.value)


def test_a_missing_metro_no_longer_empties_the_15_minute_circle(small_city, catalogue):
    rules = {"metro_station": "where_present"}
    present = set(small_city.facilities["category"].astype(str)) - {"metro_station"}
    shaped, _ = apply_city_profile(catalogue, rules, present)
    plain = summarize(evaluate_city(small_city, catalogue))["shares"]["complete_15min"]
    profiled = summarize(evaluate_city(small_city, shaped))["shares"]["complete_15min"]
    assert profiled >= plain  # one requirement fewer can only complete more circles


def test_the_cli_applies_a_profile_and_the_report_says_so(city_dir, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SHANCHENG_QUIET", "1")
    path = _profile(tmp_path, '[requirements]\nsenior_canteen = "off"\n')
    out = tmp_path / "circles"
    assert (
        main(
            [
                "circles",
                "evaluate",
                "--city",
                str(city_dir),
                "--out",
                str(out),
                "--profile",
                str(path),
            ]
        )
        == 0
    )
    assert "senior_canteen_5min: switched off by the city profile" in capsys.readouterr().out
    report = (out / "report.html").read_text(encoding="utf-8")
    assert "senior_canteen_5min: switched off by the city profile" in report
