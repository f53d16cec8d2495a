"""The taxonomy's edits laid over the seed, checked like the taxonomy file (no database)."""

import json
import logging

import pytest

from shancheng.cases.taxonomy import SEED_FILE, load_taxonomy
from shancheng.errors import CaseInputError, TaxonomyError, UnknownCategoryError

LIMITS = {"register": 1, "dispatch": 2, "dispose": 24, "verify": 4}


def test_an_override_changes_only_its_fields_and_merges_limits(taxonomy):
    edited = taxonomy.with_edits(
        [{"code": "C0110", "name_en": "dark lamp", "limits_h": {"dispose": 0.5}}]
    )
    seed_lamp, lamp = taxonomy.category("C0110"), edited.category("C0110")
    assert lamp.name_en == "dark lamp" and lamp.name_zh == seed_lamp.name_zh
    assert lamp.limits_h == {**seed_lamp.limits_h, "dispose": 0.5}
    assert lamp.limit_s("dispose") == 1800.0
    assert (lamp.department, lamp.level, lamp.group_en) == (
        seed_lamp.department,
        seed_lamp.level,
        seed_lamp.group_en,
    )
    assert taxonomy.category("C0110").name_en == seed_lamp.name_en  # the seed is untouched
    assert len(edited.categories) == len(taxonomy.categories)


def test_a_new_category_takes_defaults_and_its_major_class_group(taxonomy):
    new = taxonomy.edited(
        {
            "code": "C0305",
            "name_zh": "坐凳",
            "name_en": "bench",
            "department": "gardens",
            "level": "street",
            "priority": 3,
            "limits_h": LIMITS,
        }
    )
    assert (new.kind, new.clock, new.keywords, new.active) == ("component", "working", (), True)
    assert (new.group_zh, new.group_en) == taxonomy.groups[("component", "03")]


def test_a_stale_edit_is_logged_and_left_out(taxonomy, caplog):
    with caplog.at_level(logging.ERROR, logger="shancheng.cases.taxonomy"):
        edited = taxonomy.with_edits(
            [
                {"code": "E0102", "department": "gone_department"},
                {"code": "E0103", "priority": 1},
            ]
        )
    assert edited.category("E0102") is taxonomy.category("E0102")
    assert edited.category("E0103").priority == 1
    assert "taxonomy edit of 'E0102' ignored" in caplog.text


def test_reportable_refuses_retired_and_unknown_codes(taxonomy):
    edited = taxonomy.with_edits([{"code": "E0103", "active": False}])
    assert edited.reportable("E0102").code == "E0102"
    with pytest.raises(CaseInputError, match="'E0103' .* is retired") as info:
        edited.reportable("E0103")
    assert info.value.field == "service_code"
    assert edited.category("E0103").active is False  # still there for old cases
    with pytest.raises(UnknownCategoryError):
        edited.reportable("E0999")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"department": "nope"}, "department"),
        ({"level": "province"}, "level"),
        ({"priority": True}, "priority"),
        ({"limits_h": {"dispose": float("inf")}}, "limits_h.dispose"),
        ({"limits_h": {"dispose": float("nan")}}, "limits_h.dispose"),
        ({"keywords": "garbage"}, "keywords"),
        ({"name_en": "   "}, "name_en"),
        ({"clock": "lunar"}, "clock"),
        ({"active": "no"}, "active"),
    ],
)
def test_bad_fields_are_named(taxonomy, change, field):
    with pytest.raises(TaxonomyError) as info:
        taxonomy.edited({"code": "E0102", **change})
    assert info.value.field == field
    assert f"category 'E0102': field `{field}`" in str(info.value)


def test_the_taxonomy_file_gets_the_same_checks(tmp_path):
    from importlib import resources

    raw = json.loads(resources.files("shancheng.cases").joinpath(SEED_FILE).read_text("utf-8"))
    raw["categories"][0]["limits_h"]["verify"] = -1
    path = tmp_path / "taxonomy.json"
    path.write_text(json.dumps(raw), encoding="utf-8")
    with pytest.raises(TaxonomyError) as info:
        load_taxonomy(path)
    assert info.value.field == "limits_h.verify"
    assert str(path) in str(info.value) and "categories[0]" in str(info.value)
