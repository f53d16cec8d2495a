"""The circles report: a map and a table for every admin level the City has, "no data" shown."""

from dataclasses import replace

import numpy as np
import pytest

from shancheng.circles.evaluate import evaluate_city
from shancheng.circles.report import render_report, share_text


@pytest.fixture(scope="module")
def evaluation(small_city):
    return evaluate_city(small_city)


def _headings(html):
    return [part.split("</h2>")[0] for part in html.split("<h2>")[1:]]


def test_every_level_of_the_city_gets_a_map_and_a_table(evaluation):
    levels = set(evaluation.units["level"]) - {"city"}
    headings = _headings(render_report(evaluation))
    for level in levels:
        assert f"Coverage by {level}" in headings
        assert f"{level.capitalize()} units" in headings


def test_a_city_with_districts_only_is_reported_by_district(evaluation):
    units = evaluation.units[evaluation.units["level"].isin(["city", "district"])]
    html = render_report(replace(evaluation, units=units))
    headings = _headings(html)
    assert "Coverage by district" in headings and "District units" in headings
    assert not any("street" in h.lower() or "community" in h.lower() for h in headings)
    assert "no street polygons" not in html


def test_a_city_without_units_says_no_data(evaluation):
    units = evaluation.units[evaluation.units["level"] == "city"]
    html = render_report(replace(evaluation, units=units))
    assert "no data: this City has no admin-unit polygons" in html


def test_unknown_shares_read_no_data_never_zero(evaluation):
    units = evaluation.units.copy()
    share_columns = [
        c for c in units.columns if c.startswith("complete_") and c.endswith("min_share")
    ]
    units.loc[units["level"] == "district", share_columns] = np.nan
    html = render_report(replace(evaluation, units=units))
    table = html[html.index("District units") :]
    table = table[: table.index("</table>")]
    assert "no data" in table and "nan" not in table
    assert share_text(float("nan")) == "no data" and share_text(0.0) == "0%"
