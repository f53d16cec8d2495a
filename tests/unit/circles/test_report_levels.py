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


def test_age_groups_without_residents_read_no_data(small_city, evaluation):
    """A City imported without ages counts everyone as 15-59: the age groups say no data."""
    from shancheng.circles.report import _age_chart
    from shancheng.data.city import AGE_GROUPS

    b = small_city.buildings.copy()
    for column in AGE_GROUPS:
        b[column] = b["population"] if column == "age_15_59" else 0
    aged = evaluate_city(replace(small_city, buildings=b))
    axes = _age_chart(aged).axes[0]
    labels = [t.get_text() for t in axes.get_legend().get_texts()]
    groups = list(aged.catalogue.age_groups)
    assert labels == [g if g == "all" else f"{g} (no data)" for g in groups]
    n_levels = len(aged.catalogue.levels)
    assert sum(t.get_text() == "no data" for t in axes.texts) == (len(groups) - 1) * n_levels
    # the City with ages: every group is drawn, none says no data
    full = _age_chart(evaluation).axes[0]
    assert [t.get_text() for t in full.get_legend().get_texts()] == groups
    assert not [t for t in full.texts if t.get_text() == "no data"]
