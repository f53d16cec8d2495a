"""Intake on SQLite and PostgreSQL: routing, duplicates, photos, bad input, sensor cases."""

import re
import struct
import zlib
from datetime import timedelta

import pytest
import sqlalchemy as sa
from tests.unit.cases.conftest import center_for, pixels

from shancheng.cases import repository, service
from shancheng.cases.domain import Action
from shancheng.cases.intake import ReportIn
from shancheng.cases.media import Photo
from shancheng.cases.permissions import Actor, Role
from shancheng.cases.sensor_intake import SensorReport
from shancheng.errors import (
    CaseInputError,
    OutsideCityError,
    TransitionNotAllowedError,
    UnknownCategoryError,
)
from shancheng.store.cases_tables import JurisdictionRuleRow

pytestmark = pytest.mark.services

TABLES = ("cases", "case_events", "case_blobs", "case_attachments")


def png(width=1, height=1, seed=0):
    raw = b"".join(b"\x00" + bytes([seed % 256, 0, 0]) * width for _ in range(height))

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def counts(session):
    session.expire_all()
    return {t: session.execute(sa.text(f"select count(*) from {t}")).scalar_one() for t in TABLES}


def test_report_is_routed_and_recorded(session, point, streets, monday_9):
    lonlat = point(street=streets[0])
    result = service.submit_report(
        session,
        center_for(session),
        ReportIn("E0102", *lonlat, description="垃圾成堆", reporter="li"),
        at=monday_9,
    )
    case = result.case
    assert result.linked_to is None
    assert (case.status, case.department, case.level, case.unit_code) == (
        "reported",
        "sanitation",
        "street",
        streets[0],
    )
    assert case.street_code == streets[0]
    assert re.fullmatch(r"SC20261123[0-9A-F]{10}", case.reference)
    [event] = repository.events_of(session, case.id)
    assert (event.action, event.actor, event.data) == ("report", "li", {"source": "citizen"})


def test_jurisdiction_table_in_the_database_overrides(session, point, streets, monday_9):
    session.add(
        JurisdictionRuleRow(
            category="E01", unit=streets[1], department="city_management", level="district"
        )
    )
    session.commit()
    here = service.submit_report(
        session, center_for(session), ReportIn("E0102", *point(street=streets[1])), at=monday_9
    )
    there = service.submit_report(
        session, center_for(session), ReportIn("E0102", *point(street=streets[0])), at=monday_9
    )
    assert (here.case.department, here.case.level) == ("city_management", "district")
    assert (there.case.department, there.case.level) == ("sanitation", "street")


def test_cross_boundary_report_goes_up(session, point, streets, monday_9):
    same_district = service.submit_report(
        session,
        center_for(session),
        ReportIn("E0103", *point(street=streets[0]), extra_points=(point(street=streets[1]),)),
        at=monday_9,
    ).case
    other_district = service.submit_report(
        session,
        center_for(session),
        ReportIn(
            "E0103", *point(street=streets[0], skip=4), extra_points=(point(street=streets[2]),)
        ),
        at=monday_9,
    ).case
    assert (same_district.level, same_district.unit_code) == (
        "district",
        same_district.district_code,
    )
    assert (other_district.level, other_district.unit_code) == ("city", "990100")


def test_address_is_matched_to_a_named_place(session, small_city, monday_9):
    street = small_city.admin_units.query("level == 'street'").iloc[2]
    case = service.submit_report(
        session, center_for(session), ReportIn("E0502", address=street["name_en"]), at=monday_9
    ).case
    assert case.street_code == street["code"]
    assert case.address == street["name_en"]


def test_duplicates_link_within_distance_and_time(session, point, streets, monday_9):
    lon, lat = point(street=streets[0], skip=2)
    master = service.submit_report(
        session, center_for(session), ReportIn("E0102", lon, lat), at=monday_9
    ).case
    near = point(street=streets[0], skip=2, dx_m=30.0)
    far = point(street=streets[0], skip=2, dx_m=80.0)
    dup = service.submit_report(
        session, center_for(session), ReportIn("E0102", *near), at=monday_9 + timedelta(hours=2)
    )
    assert dup.linked_to == master.id
    assert (dup.case.status, dup.case.parent_id) == ("merged", master.id)
    session.refresh(master)
    assert master.duplicates == 1
    other_category = service.submit_report(
        session, center_for(session), ReportIn("E0502", *near), at=monday_9
    )
    too_far = service.submit_report(
        session, center_for(session), ReportIn("E0102", *far), at=monday_9
    )
    too_late = service.submit_report(
        session, center_for(session), ReportIn("E0102", *near), at=monday_9 + timedelta(hours=73)
    )
    assert [other_category.linked_to, too_far.linked_to, too_late.linked_to] == [None, None, None]
    history = repository.events_of(session, dup.case.id)
    assert [e.action for e in history] == ["report", "merge"]
    assert history[1].data == {"into": master.id, "distance_m": 30.0}


def test_inspector_merges_and_unmerges(session, point, streets, monday_9):
    inspector = Actor("zhao", Role.INSPECTOR, streets[0])
    a = service.submit_report(
        session,
        center_for(session),
        ReportIn("E0104", *point(street=streets[0], skip=1)),
        at=monday_9,
    ).case
    b = service.submit_report(
        session,
        center_for(session),
        ReportIn("E0104", *point(street=streets[0], skip=9)),
        at=monday_9,
    ).case
    service.act(
        session, center_for(session), b.id, Action.MERGE, actor=inspector, at=monday_9, into=a.id
    )
    assert (b.status, b.parent_id, a.duplicates) == ("merged", a.id, 1)
    with pytest.raises(CaseInputError, match="another case"):
        service.act(
            session,
            center_for(session),
            a.id,
            Action.MERGE,
            actor=inspector,
            at=monday_9,
            into=a.id,
        )
    with pytest.raises(TransitionNotAllowedError):
        service.act(
            session,
            center_for(session),
            b.id,
            Action.MERGE,
            actor=inspector,
            at=monday_9,
            into=a.id,
        )
    service.act(
        session,
        center_for(session),
        b.id,
        Action.UNMERGE,
        actor=inspector,
        at=monday_9 + timedelta(hours=1),
    )
    session.refresh(a)
    assert (b.status, b.parent_id, a.duplicates) == ("reported", None, 0)


def test_photos_are_checked_and_stored_once(session, point, monday_9):
    photo = Photo(png(2, 2), "image/png", "a.png")
    one = service.submit_report(
        session,
        center_for(session),
        ReportIn("E0102", *point(skip=11), photos=(photo,)),
        at=monday_9,
    ).case
    two = service.submit_report(
        session,
        center_for(session),
        ReportIn("E0102", *point(skip=40), photos=(photo,)),
        at=monday_9,
    ).case
    n = counts(session)
    assert (n["case_blobs"], n["case_attachments"]) == (1, 2)
    [att] = repository.attachments_of(session, two.id)
    blob = repository.get_blob(session, att.blob_sha256)
    assert blob.content_type == "image/png"
    # stored re-encoded (no metadata), the same picture
    assert pixels(blob.content) == pixels(photo.content)
    assert one.id != two.id


@pytest.mark.parametrize(
    ("report", "error", "needle"),
    [
        (dict(category_code="X9999"), UnknownCategoryError, "X9999"),
        (dict(lon=116.4, lat=39.9), OutsideCityError, "outside the city"),
        (dict(lon=float("inf")), CaseInputError, "`long` must be a finite"),
        (dict(lon=None), CaseInputError, "`long` is missing"),
        (dict(lon=None, lat=None), CaseInputError, "a location is required"),
        (dict(description="<script>alert(1)</script>"), CaseInputError, "without HTML"),
        (dict(description="x" * 4001), CaseInputError, "4,001 characters; the limit is 4,000"),
        (dict(title="bad\x00title"), CaseInputError, "control characters"),
        (
            dict(photos=(Photo(b"<?php system($_GET['c']); ?>", "image/jpeg", "cat.jpg"),)),
            CaseInputError,
            "not a JPEG, PNG or WebP",
        ),
        (
            dict(photos=(Photo(png(), "image/jpeg", "x.jpg"),)),
            CaseInputError,
            "declared 'image/jpeg' but its bytes are image/png",
        ),
        (
            dict(photos=(Photo(b"\xff\xd8\xff" + bytes(6 * 1024 * 1024)),)),
            CaseInputError,
            "limit is 5,242,880 bytes",
        ),
    ],
)
def test_bad_input_is_refused_and_nothing_is_stored(
    session, point, monday_9, report, error, needle
):
    lon, lat = point(skip=12)
    service.submit_report(
        session,
        center_for(session),
        ReportIn("E0102", lon, lat, photos=(Photo(png()),)),
        at=monday_9,
    )
    before = counts(session)
    fields = {"category_code": "E0102", "lon": lon, "lat": lat, "photos": (Photo(png(3, 3)),)}
    with pytest.raises(error, match=needle):
        service.submit_report(
            session, center_for(session), ReportIn(**{**fields, **report}), at=monday_9
        )
    assert counts(session) == before


def test_sql_injection_in_text_is_refused_and_nothing_stored(session, point, monday_9):
    text = "路灯坏了'); DROP TABLE cases; -- and \" OR 1=1"
    with pytest.raises(CaseInputError, match="`description` looks like an SQL injection"):
        service.submit_report(
            session,
            center_for(session),
            ReportIn("C0110", *point(skip=13), description=text),
            at=monday_9,
        )
    assert counts(session)["cases"] == 0


def test_quotes_and_semicolons_are_stored_verbatim(session, point, monday_9):
    text = '路灯坏了\'); 请尽快修; -- "急" OR 明天'
    case = service.submit_report(
        session,
        center_for(session),
        ReportIn("C0110", *point(skip=13), description=text),
        at=monday_9,
    ).case
    session.expire_all()
    assert repository.get_case(session, case.id).description == text
    assert counts(session)["cases"] == 1


def _alarm(**overrides):
    fields = dict(
        alarm_id="gas-alarm-1",
        category_code="E0411",
        network="gas",
        level=1,
        lon=0.0,
        lat=0.0,
        title="CH4 3% LEL at well W12",
        description="concentration > 3% for 5 min",
        sensor_id="S-77",
        attachments={"valves_to_close": ["V1", "V9"], "customers_affected": 412},
    )
    fields.update(overrides)
    return SensorReport(**fields)


def test_sensor_case_is_idempotent_routed_and_keeps_attachments(session, point, monday_9):
    lon, lat = point(skip=20)
    first = service.open_sensor_case(
        session, center_for(session), _alarm(lon=lon, lat=lat), at=monday_9
    )
    again = service.open_sensor_case(
        session, center_for(session), _alarm(lon=lon, lat=lat), at=monday_9
    )
    assert first.created and not again.created
    assert (again.case_id, again.reference) == (first.case_id, first.reference)
    case = repository.get_case(session, first.case_id)
    assert (case.status, case.department, case.level, case.priority, case.alarm_id) == (
        "registered",
        "gas_utility",
        "city",
        1,
        "gas-alarm-1",
    )
    assert case.description == "concentration \u203a 3% for 5 min"
    [att] = repository.attachments_of(session, case.id)
    assert att.data["valves_to_close"] == ["V1", "V9"]
    assert att.data["alarm"] == {
        "alarm_id": "gas-alarm-1",
        "network": "gas",
        "level": 1,
        "sensor_id": "S-77",
    }
    water = service.open_sensor_case(
        session,
        center_for(session),
        _alarm(
            alarm_id="w-1",
            category_code="not-a-code",
            network="water",
            department_hint="drainage",
            lon=lon,
            lat=lat,
        ),
        at=monday_9,
    )
    row = repository.get_case(session, water.case_id)
    assert (row.category_code, row.department) == ("E0410", "drainage")
    drain = service.open_sensor_case(
        session,
        center_for(session),
        _alarm(alarm_id="d-1", category_code="", network="drainage", lon=lon, lat=lat),
        at=monday_9,
    )
    row = repository.get_case(session, drain.case_id)
    assert (row.category_code, row.department, row.level) == ("E0412", "drainage", "district")
    assert counts(session)["cases"] == 3
