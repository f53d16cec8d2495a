"""The live feed of case changes delivers every event once, even when commits come out of order."""

from __future__ import annotations

from datetime import timedelta

from tests.unit.cases.conftest import center_for

from shancheng.cases import service
from shancheng.cases.intake import ReportIn
from shancheng.cases.permissions import Actor, Role
from shancheng.cases.service import CaseFeed
from shancheng.store.cases_tables import CaseEventRow

CITY = "990100"  # the small demo city's code


def _event(case_id, event_id, seq, at):
    return CaseEventRow(
        id=event_id,
        case_id=case_id,
        seq=seq,
        action="report",
        from_status="reported",
        to_status="reported",
        actor="test",
        at=at,
        note="",
        data={},
    )


def test_the_feed_delivers_late_commits_below_the_newest_id(
    quiet_session, point, streets, admin, monday_9
):
    session = quiet_session
    first = service.submit_report(
        session, center_for(session), ReportIn("E0102", *point(street=streets[0])), at=monday_9
    ).case
    feed = CaseFeed.start(session, lookback=50)
    assert (
        feed.poll(session, actor=admin, city_code=CITY) == []
    )  # what was there before is not news

    second = service.submit_report(
        session,
        center_for(session),
        ReportIn("E0102", *point(street=streets[2])),
        at=monday_9 + timedelta(minutes=1),
    ).case
    assert [c.id for c in feed.poll(session, actor=admin, city_code=CITY)] == [second.id]
    assert feed.poll(session, actor=admin, city_code=CITY) == []

    # a later-numbered event commits first, then one numbered below it (another writer)
    top = feed.after_id + 10
    session.add(_event(first.id, top, 40, monday_9))
    session.commit()
    assert [c.id for c in feed.poll(session, actor=admin, city_code=CITY)] == [first.id]
    session.add(_event(second.id, top - 5, 41, monday_9))
    session.commit()
    assert [c.id for c in feed.poll(session, actor=admin, city_code=CITY)] == [
        second.id
    ]  # not lost
    assert feed.poll(session, actor=admin, city_code=CITY) == []  # and not delivered twice
    assert feed.after_id == top


def test_the_feed_keeps_to_the_callers_scope_and_forgets_old_ids(
    quiet_session, point, streets, monday_9
):
    session = quiet_session
    feed = CaseFeed.start(session, lookback=3)
    street_operator = Actor("op", Role.DISPATCHER, streets[0])
    mine = [
        service.submit_report(
            session,
            center_for(session),
            ReportIn("E0102", *point(street=streets[0], skip=k)),
            at=monday_9 + timedelta(minutes=k),
        ).case
        for k in range(3)
    ]
    service.submit_report(
        session, center_for(session), ReportIn("E0102", *point(street=streets[2])), at=monday_9
    )
    assert [c.id for c in feed.poll(session, actor=street_operator, city_code=CITY)] == [
        c.id for c in mine
    ]
    assert max(feed.delivered) == feed.after_id
    assert min(feed.delivered) > feed.after_id - 3  # bounded by the look back
