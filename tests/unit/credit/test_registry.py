"""Registry files: a real CSV and a real XLSX read alike, bad rows named, updates keep history."""

from datetime import date, timedelta

import pandas as pd
import pytest

from shancheng.credit import service
from shancheng.credit.codes import EntityKind, complete_code
from shancheng.credit.registry import read_registry
from shancheng.errors import RegistryImportError

FIRM = "91350100M000100Y43"  # GB 32100's worked example (checked by hand in codes.py)
TRADER = complete_code("92990101L0000001")
OPERATOR_ID = "11010519491231002X"  # GB 11643's published example number


def _rows(lon, lat):
    licence = {"licence_kind": "食品经营许可证", "licence_authority": "市场监督管理局",
               "licence_decided_on": "2025-03-01", "licence_valid_from": "2025-03-01"}  # fmt: skip
    return [
        {"code": FIRM, "name": "重庆山城火锅有限公司", "address": "南滨路 1 号", "lon": lon,
         "lat": lat, "representative": "李四", "licence_number": "JY1", **licence,
         "licence_valid_until": "2030-02-28"},
        # the same firm again: only to add a second licence
        {"code": FIRM, "name": "重庆山城火锅有限公司", "address": "南滨路 1 号", "lon": lon,
         "lat": lat, "representative": "李四", "licence_number": "JY2", **licence,
         "licence_valid_until": ""},
        {"code": TRADER.lower(), "name": "老王烧烤", "address": "夜市 3 号", "lon": lon,
         "lat": lat, "representative": "王大明", "representative_id": OPERATOR_ID},
    ]  # fmt: skip


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_reads_a_real_file(tmp_path, suffix):
    frame = pd.DataFrame(_rows(106.55, 29.56))
    path = tmp_path / f"registry{suffix}"
    if suffix == ".csv":
        frame.to_csv(path, index=False, encoding="utf-8-sig")
    else:
        frame.to_excel(path, index=False, engine="openpyxl")
    firm, trader = read_registry(path)
    assert (firm.code, firm.kind, firm.name) == (
        FIRM,
        EntityKind.ENTERPRISE,
        "重庆山城火锅有限公司",
    )
    assert (firm.lon, firm.lat) == (106.55, 29.56)
    assert [lic.number for lic in firm.licences] == ["JY1", "JY2"]
    assert firm.licences[0].valid_until == date(2030, 2, 28)
    assert firm.licences[1].valid_until is None  # open-ended
    assert firm.row == f"registry{suffix}, row 2"
    assert (trader.code, trader.kind) == (TRADER, EntityKind.INDIVIDUAL)  # upper-cased
    assert trader.representative_id == OPERATOR_ID
    assert trader.licences == ()


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_bad_rows_are_each_named_and_nothing_is_returned(tmp_path, suffix):
    rows = _rows(106.55, 29.56)
    rows[1]["licence_valid_from"] = "2025-13-01"  # row 3
    rows[2]["code"] = TRADER[:-1] + ("0" if TRADER[-1] != "0" else "1")  # row 4
    rows[2]["lat"] = "north"
    frame = pd.DataFrame(rows)
    path = tmp_path / f"bad{suffix}"
    if suffix == ".csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_excel(path, index=False, engine="openpyxl")
    with pytest.raises(RegistryImportError) as caught:
        read_registry(path)
    problems = caught.value.problems
    assert len(problems) == 3
    assert problems[0].startswith(f"`bad{suffix}, row 3, licence_valid_from`: '2025-13-01'")
    assert f"`bad{suffix}, row 4, code`" in problems[1] and "position 18" in problems[1]
    assert problems[2] == f"`bad{suffix}, row 4, lat`: 'north' is not a number"
    assert "nothing was imported" in str(caught.value)


def test_a_file_without_a_required_column_is_refused(tmp_path):
    path = tmp_path / "short.csv"
    pd.DataFrame([{"code": FIRM, "name": "x"}]).to_csv(path, index=False)
    with pytest.raises(RegistryImportError, match=r"short.csv: missing column\(s\) address, lon"):
        read_registry(path)


def _written(tmp_path, rows, name):
    path = tmp_path / name
    pd.DataFrame(rows).to_csv(path, index=False)
    return read_registry(path)


def test_an_update_keeps_the_old_record_in_the_history(
    session, center, point, root, monday_9, tmp_path
):
    lon, lat = point(street="990101001")
    first = _written(tmp_path, _rows(lon, lat)[2:], "v1.csv")
    result = service.import_entities(session, center, first, actor=root, at=monday_9)
    assert result.created == (TRADER,)
    moved = [r | {"name": "老王烧烤（新店）", "address": "夜市 8 号"} for r in _rows(lon, lat)[2:]]
    second = _written(tmp_path, moved, "v2.csv")
    later = monday_9 + timedelta(days=3)
    result = service.import_entities(session, center, second, actor=root, at=later, source="v2.csv")
    assert (result.created, result.updated) == ((), (TRADER,))
    again = service.import_entities(session, center, second, actor=root, at=later)
    assert again.unchanged == (TRADER,)
    entity = service.get_entity(session, center, TRADER, actor=root)
    assert (entity.name, entity.address) == ("老王烧烤（新店）", "夜市 8 号")
    [old] = service.entity_history(session, center, TRADER, actor=root)
    assert (old.record["name"], old.record["address"]) == ("老王烧烤", "夜市 3 号")
    assert old.record["representative_id"] == OPERATOR_ID
    assert (old.source, old.actor) == ("v2.csv", "root")
    assert old.at == later  # aware times, stored in UTC
