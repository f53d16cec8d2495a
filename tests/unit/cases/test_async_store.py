"""Every store of cases writes and reads back exactly what the others do.

The same reports (new ones, a duplicate, photos, links, attributes) go through the service
into each store available on the database — the session's (ORM), the threaded one the event
loop uses on SQLite, and on PostgreSQL the asynchronous one, with and without group commit —
each on an empty database with the same random references, and must leave identical rows in
every cases table; a request read back through the event-loop store must answer exactly what
the session's path answers.
"""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import fields, replace
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from tests.unit.cases.conftest import CASE_TABLES, run_loop
from tests.unit.cases.test_open311 import png

from shancheng.api.state import state_of
from shancheng.cases import intake, service
from shancheng.cases.async_store import PostgresCaseStore, conninfo_of
from shancheng.cases.draft import CaseDraft
from shancheng.cases.intake import ReportIn
from shancheng.cases.media import Photo
from shancheng.cases.store import ThreadedCaseStore
from shancheng.store import create_db_engine, session_factory, upgrade_database
from shancheng.store.cases_tables import CaseRow

ON_POSTGRES = pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
TABLE_ORDER = {
    "cases": "id",
    "case_events": "id",
    "case_attachments": "id",
    "case_blobs": "sha256",
}


def test_the_draft_has_exactly_the_columns_of_the_cases_table():
    assert {f.name for f in fields(CaseDraft)} == {c.name for c in CaseRow.__table__.columns} - {
        "version"
    }


def test_conninfo_drops_the_sqlalchemy_driver_name():
    url = "postgresql+psycopg://postgres:secret@127.0.0.1:5432/test"
    assert conninfo_of(url) == "postgresql://postgres:secret@127.0.0.1:5432/test"


def _reports(point):
    here = point(skip=3)
    return [
        ReportIn("E0102", *here, description="垃圾满溢 overflowing bins", source="open311"),
        # 20 m away, same category, within the window: a duplicate of the first
        ReportIn("E0102", *point(skip=3, dx_m=20.0), description="again", source="open311"),
        ReportIn(
            "C0110",
            *point(skip=7),
            description="manhole cover missing",
            source="open311",
            photos=(Photo(png(), "image/png", "a.png"), Photo(png(), "image/png", "b.png")),
            media_urls=("https://example.org/p/1.jpg",),
            reporter="someone@example.org",
            client="app",
        ),
        ReportIn("E0404", *point(skip=11), title="t", address="路口", source="open311"),
    ]


def _many_reports(point):
    """Thirty reports on four spots in two categories: most repeat an earlier one."""
    spots = [point(skip=k) for k in (1, 4, 9, 12)]
    return [
        ReportIn(
            ("E0102", "E0404")[i % 2],
            spots[i % 4][0],
            spots[i % 4][1],
            description=f"report {i}",
            source="open311",
        )
        for i in range(30)
    ]


def _dump(engine):
    with engine.connect() as conn:
        return {
            table: [
                dict(row._mapping)
                for row in conn.execute(sa.text(f"select * from {table} order by {key}"))
            ]
            for table, key in TABLE_ORDER.items()
        }


def _by_reference(tables):
    """The cases and their events keyed by the case's reference, not by the order of ids."""
    reference = {row["id"]: row["reference"] for row in tables["cases"]}
    cases = {
        row["reference"]: {k: v for k, v in row.items() if k != "id"} for row in tables["cases"]
    }
    events = sorted(
        (reference[e["case_id"]], e["seq"], e["action"], e["to_status"], e["at"], e["note"])
        for e in tables["case_events"]
    )
    return cases, events


def _empty(engine):
    with engine.begin() as conn:
        conn.execute(sa.text(f"truncate {', '.join(CASE_TABLES)} restart identity cascade"))


def _written_by_session(session, center, reports, times, fixed_references):
    """Write ``reports`` one by one through the session; return the tables, emptied again."""
    engine = session.get_bind()
    fixed_references()
    for report, at in zip(reports, times, strict=True):
        service.submit_report(session, center, report, at=at)
    tables = _dump(engine)
    _empty(engine)
    fixed_references()
    return tables


@pytest.fixture
def fixed_references(monkeypatch):
    """Make the random part of the references repeat from the start at each call."""

    def restart():
        counter = itertools.count(1)
        monkeypatch.setattr(intake.secrets, "token_hex", lambda n: f"{next(counter):0{2 * n}x}")

    return restart


def _fresh_database(kind, tmp_path, name, postgres_url=None):
    """An empty migrated database: a new SQLite file, or the PostgreSQL one truncated."""
    if kind == "sqlite":
        url = f"sqlite:///{tmp_path / name}.sqlite"
        upgrade_database(url)
        return url
    engine = create_db_engine(postgres_url)
    _empty(engine)
    engine.dispose()
    return postgres_url


def _stores(kind):
    """The asynchronous stores available on a database of ``kind``: name, maker from a URL."""
    yield "threaded", lambda url: ThreadedCaseStore(session_factory(create_db_engine(url)))
    # (the threaded store's engine is disposed with its sessionmaker's bind, below)
    if kind == "postgresql":
        yield "postgres", PostgresCaseStore
        yield "postgres, no group commit", lambda url: PostgresCaseStore(url, group_commit=False)


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_every_store_writes_identical_rows(
    request, kind, tmp_path, center, point, monday_9, fixed_references
):
    postgres_url = request.getfixturevalue("postgres_url") if kind == "postgresql" else None
    reports = _reports(point)
    times = [monday_9 + timedelta(minutes=5 * i) for i in range(len(reports))]
    url = _fresh_database(kind, tmp_path, "session", postgres_url)
    engine = create_db_engine(url)
    fixed_references()
    with session_factory(engine)() as session:
        intakes = [
            service.submit_report(session, center, r, at=t)
            for r, t in zip(reports, times, strict=True)
        ]
        assert [i.case.id for i in intakes] == [1, 2, 3, 4]
        assert [i.linked_to for i in intakes] == [None, 1, None, None]
    by_session = _dump(engine)
    engine.dispose()
    assert len(by_session["cases"]) == 4
    assert len(by_session["case_events"]) == 5  # the duplicate has its report and its merge
    assert len(by_session["case_attachments"]) == 3  # two photos (one blob) and one link
    assert len(by_session["case_blobs"]) == 1
    compared = []
    for name, make in _stores(kind):
        url = _fresh_database(kind, tmp_path, name.replace(" ", "_").replace(",", ""), postgres_url)
        fixed_references()
        store = make(url)

        async def write_all(store=store):
            answers = [
                await service.submit_report_async(store, center, r, at=t)
                for r, t in zip(reports, times, strict=True)
            ]
            await store.close()
            return answers

        answers = run_loop(write_all())
        if isinstance(store, ThreadedCaseStore):
            store.sessions.kw["bind"].dispose()
        assert [a.case_id for a in answers] == [1, 2, 3, 4], name
        assert [a.linked_to for a in answers] == [None, 1, None, None], name
        assert answers[1].linked_reference == answers[0].reference, name
        engine = create_db_engine(url)
        by_store = _dump(engine)
        engine.dispose()
        for table in TABLE_ORDER:
            assert by_store[table] == by_session[table], (name, table)
        compared.append(name)
    assert len(compared) == (1 if kind == "sqlite" else 3)


@ON_POSTGRES
def test_reports_arriving_together_are_written_in_batches_as_if_one_by_one(
    postgres_url, make_session, center, point, monday_9, fixed_references, monkeypatch
):
    """Concurrent reports share transactions, and end exactly as the session writes them.

    The four first reports are written one after the other; the 26 others, which repeat them,
    arrive together (reports arriving together do not see each other as duplicates).
    """
    session = make_session(center)
    engine = session.get_bind()
    reports = _many_reports(point)
    times = [monday_9 + timedelta(seconds=i) for i in range(len(reports))]
    by_session = _written_by_session(session, center, reports, times, fixed_references)
    from shancheng.cases import async_store

    batches = []
    write_batch = async_store._write_batch

    async def counting(pool, batch):
        batches.append(len(batch))
        return await write_batch(pool, batch)

    monkeypatch.setattr(async_store, "_write_batch", counting)
    store = PostgresCaseStore(postgres_url)

    async def one(report, at):
        return await service.submit_report_async(store, center, report, at=at)

    async def masters_then_all_at_once():
        answers = [await one(r, t) for r, t in zip(reports[:4], times[:4], strict=True)]
        pairs = zip(reports[4:], times[4:], strict=True)
        answers += await asyncio.gather(*(one(r, t) for r, t in pairs))
        await store.close()
        return answers

    answers = run_loop(masters_then_all_at_once())
    by_store = _dump(engine)
    session.close()
    assert sum(batches) == 30 and len(batches) < 26  # fewer commits than reports
    assert sorted(a.case_id for a in answers) == list(range(1, 31))
    assert [a.linked_to for a in answers[:4]] == [None, None, None, None]
    assert all(a.linked_to == (i % 4) + 1 for i, a in enumerate(answers[4:], start=4))
    assert [row["duplicates"] for row in by_store["cases"][:4]] == [7, 7, 6, 6]
    assert [row["version"] for row in by_store["cases"][:4]] == [8, 8, 7, 7]
    # the ids of the 26 follow the order their searches ended in; all else is the same
    assert _by_reference(by_store) == _by_reference(by_session)


@ON_POSTGRES
def test_a_report_that_fails_does_not_sink_its_batch(
    postgres_url, make_session, center, point, monday_9
):
    make_session(center).close()  # empties the tables
    store = PostgresCaseStore(postgres_url)
    reports = _many_reports(point)[:6]
    times = [monday_9 + timedelta(seconds=i) for i in range(6)]
    planned = [intake.plan(center, r, at=t) for r, t in zip(reports, times, strict=True)]
    planned[3].row.reference = planned[1].row.reference  # the unique reference is refused

    async def write(p, t):
        search = intake.duplicate_search(center, p, at=t)
        master = await store.find_duplicate(search)
        if master is not None:
            intake.link_duplicate(center, p, master, at=t)
        return await store.insert(p, at=t)

    async def two_then_all_at_once():
        answers = [await write(p, t) for p, t in zip(planned[:2], times[:2], strict=True)]
        pairs = zip(planned[2:], times[2:], strict=True)
        answers += await asyncio.gather(*(write(p, t) for p, t in pairs), return_exceptions=True)
        await store.close()
        return answers

    answers = run_loop(two_then_all_at_once())
    assert isinstance(answers[3], Exception) and "reference" in str(answers[3])
    stored = [a for a in answers if not isinstance(a, Exception)]
    assert len(stored) == 5
    # reports 4 and 5 repeat reports 0 and 1 (same spot and category): linked, and counted
    # once each, though the first attempt at their batch was rolled back
    assert answers[4].linked_to == answers[0].case_id
    assert answers[5].linked_to == answers[1].case_id
    with make_session(center) as s:
        rows = s.execute(sa.text("select id, duplicates, parent_id from cases order by id")).all()
        events = s.execute(sa.text("select count(*) from case_events")).scalar_one()
    assert len(rows) == 5
    duplicates = {r.id: r.duplicates for r in rows}
    assert duplicates[answers[0].case_id] == duplicates[answers[1].case_id] == 1
    assert events == 7  # five reports, two merges


@ON_POSTGRES
def test_the_store_follows_the_running_event_loop(postgres_url, make_session, center, point):
    make_session(center).close()  # empties the tables
    store = PostgresCaseStore(postgres_url)
    quiet = replace(center, duplicate_radius_m=0.0)
    at = datetime(2026, 11, 23, 1, tzinfo=UTC)

    async def one():
        stored = await service.submit_report_async(store, quiet, ReportIn("E0102", *point()), at=at)
        found = await store.by_reference(stored.reference)
        missing = await store.by_reference("SC-no-such-case")
        return stored, found, missing

    first = run_loop(one())
    second = run_loop(one())  # another loop: the old pool cannot serve it
    run_loop(store.close())
    for stored, found, missing in (first, second):
        assert found is not None
        assert found.case.id == stored.case_id
        assert found.case.reference == stored.reference
        assert found.parent_reference is None
        assert missing is None
    assert second[0].case_id == first[0].case_id + 1


@ON_POSTGRES
@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_a_request_reads_back_the_same_from_both_paths(make_api, point, fmt):
    fast = make_api()
    slow = make_api(cases_async_intake=False)
    assert isinstance(state_of(fast.app).case_store, PostgresCaseStore)
    assert isinstance(state_of(slow.app).case_store, ThreadedCaseStore)
    key = fast.api_key()
    here = point(skip=5)
    form = {"api_key": key, "service_code": "E0102", "lat": f"{here[1]}", "long": f"{here[0]}"}
    first = fast.client.post("/open311/requests.json", data=form)
    again = slow.client.post(
        "/open311/requests.json", data={**form, "media_url": "https://example.org/x.jpg"}
    )
    photo = fast.client.post(
        "/open311/requests.json",
        data={**form, "service_code": "C0110"},
        files={"media": ("p.png", png(), "image/png")},
    )
    references = []
    for response in (first, again, photo):
        assert response.status_code == 200, response.text
        references.append(response.json()[0]["service_request_id"])
    assert again.json()[0]["service_notice"].endswith(references[0])  # linked across paths
    for reference in references:
        path = f"/open311/requests/{reference}.{fmt}"
        from_store, from_session = fast.client.get(path), slow.client.get(path)
        assert from_store.status_code == from_session.status_code == 200
        assert from_store.content == from_session.content
    record = fast.client.get(f"/open311/requests/{references[1]}.json").json()[0]
    assert record["media_url"] == "https://example.org/x.jpg"
    assert record["status_notes"].endswith(f"duplicate of {references[0]}")
    assert (
        fast.client.get(f"/open311/requests/{references[2]}.json")
        .json()[0]["media_url"]
        .startswith("http://testserver/blobs/")
    )
    missing = fast.client.get("/open311/requests/SC000.json")
    assert missing.status_code == 404
    assert missing.json()[0]["code"] == 404
