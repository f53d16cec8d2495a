"""The catalogue: the packaged default and the errors that name the bad entry."""

import tomllib
from pathlib import Path

import pytest

from shancheng.circles.standard import load_catalogue, parse_catalogue
from shancheng.errors import CatalogueError

DATA = Path(__file__).resolve().parents[2] / "data"
DEFAULT = Path(__file__).resolve().parents[3] / "src/shancheng/circles/standard.toml"


def _default():
    return tomllib.loads(DEFAULT.read_text(encoding="utf-8"))


def test_default_catalogue_has_three_levels_and_the_childcare_norm():
    catalogue = load_catalogue()
    assert catalogue.levels == (5, 10, 15)
    assert catalogue.categories["nursery"].capacity_per_1000 == 4.5
    assert catalogue.categories["nursery"].capacity_demand == "all"
    assert {r.key for r in catalogue.requirements_at(5)} >= {"kindergarten_5min", "nursery_5min"}
    assert catalogue.catchment_s("park") == 600.0  # park: 10 and 15 min, the smaller counts
    assert set(catalogue.age_groups) >= {"all", "children", "elderly"}


def test_every_unverified_number_says_so_in_the_file():
    text = DEFAULT.read_text(encoding="utf-8")
    assert "unverified" in text and "CONFIGURABLE" in text
    catalogue = load_catalogue()
    statuses = {r.status for r in catalogue.requirements}
    assert statuses <= {"verified", "secondary", "unverified"}
    assert "unverified" in statuses


def test_the_default_matches_the_demo_categories():
    from shancheng.data.demo import CATEGORY_IDS

    assert set(load_catalogue().category_ids) == set(CATEGORY_IDS)


def test_unknown_category_names_the_file_and_entry():
    path = DATA / "bad_catalogue_unknown_category.toml"
    with pytest.raises(CatalogueError) as info:
        load_catalogue(path)
    message = str(info.value)
    assert message.startswith(str(path))
    assert "requirement 2 (category 'kindergarden', 5-min level)" in message
    assert "unknown category 'kindergarden'; categories are: kindergarten" in message


def test_negative_threshold_names_the_entry_and_value():
    path = DATA / "bad_catalogue_negative_threshold.toml"
    with pytest.raises(
        CatalogueError,
        match=r"requirement 2 \(category 'market', 10-min level\): "
        r"field `threshold_min`: .*greater than 0, got -10",
    ):
        load_catalogue(path)


def test_not_toml_and_missing_file():
    with pytest.raises(CatalogueError, match="not valid TOML"):
        load_catalogue(DATA / "bad_catalogue_not_toml.toml")
    with pytest.raises(CatalogueError, match="cannot read the catalogue"):
        load_catalogue(DATA / "no_such_catalogue.toml")


@pytest.mark.parametrize(
    ("edit", "pattern"),
    [
        (
            lambda d: d["categories"]["nursery"].update(serves="babies"),
            r"category 'nursery': field `serves`: unknown age group 'babies'",
        ),
        (
            lambda d: d["categories"]["nursery"].update(capacity_per_1000=-4.5),
            r"category 'nursery': field `capacity_per_1000`: .*got -4.5",
        ),
        (
            lambda d: d["categories"]["park"].update(colour="green"),
            r"category 'park': field `colour`: Extra inputs are not permitted",
        ),
        (
            lambda d: d["requirements"].append(dict(d["requirements"][0])),
            r"requirement 21 \(category 'nursery', 5-min level\): the same category appears twice",
        ),
        (
            lambda d: d["requirements"][0].pop("threshold_min"),
            (
                r"requirement 1 \(category 'nursery', 5-min level\): field `threshold_min`: "
                r"Field required"
            ),
        ),
        (
            lambda d: d["requirements"][3].update(threshold_min=float("nan")),
            r"requirement 4 .*field `threshold_min`",
        ),
        (
            lambda d: d["requirements"][0].update(status="probably"),
            r"requirement 1 .*field `status`",
        ),
        (lambda d: d["age_groups"].pop("all"), r"an age group `all`"),
        (lambda d: d.update(format_version=2), r"`format_version` must be 1, got 2"),
        (lambda d: d["capacity"].update(decay="linear"), r"field `capacity.decay`"),
    ],
)
def test_bad_entries_are_named(edit, pattern):
    data = _default()
    edit(data)
    with pytest.raises(CatalogueError, match=pattern):
        parse_catalogue(data, source="my.toml")
