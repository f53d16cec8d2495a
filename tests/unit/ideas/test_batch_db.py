"""Group commit of supports on SQLite and PostgreSQL: a batch answers each request as single
supports in the batch's order would have, and the counts stay exact across racing batches."""

import threading
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from tests.unit.ideas.conftest import STREET, phases_from, resident

from shancheng.errors import ConflictError, NotFoundError, PermissionDeniedError
from shancheng.ideas import service, supports
from shancheng.ideas.batch import SupportRequest, support_many
from shancheng.ideas.phases import PhaseClosedError
from shancheng.ideas.verification import AllowListVerifier
from shancheng.store.ideas_tables import DeadlineRow

MINUTE = timedelta(minutes=1)
PEOPLE = AllowListVerifier(
    created_at={f"u{i}": datetime(2020, 1, 1, tzinfo=UTC) for i in range(100)}
)


def _ideas(session, center, camp, at, point, n):
    lon, lat = point(street=STREET)
    return [
        service.propose(session, center, camp.id,
                        service.IdeaIn(f"建议{k}", f"内容{k}", "设施", lon=lon, lat=lat),
                        actor=resident(f"author{k}"), at=at)
        for k in range(n)
    ]  # fmt: skip


def _kind(outcome):
    if isinstance(outcome, supports.SupportResult):
        return ("ok", outcome.changed)
    return (type(outcome).__name__,)


def _requests(ideas, at):
    a, b, c, d = (i.id for i in ideas)
    late = at + timedelta(days=40)  # after the supporting phase
    return [
        SupportRequest(a, resident("u1"), at),
        SupportRequest(a, resident("u1"), at + MINUTE),  # a double click: no change
        SupportRequest(b, resident("u1"), at + MINUTE),  # u1's second and last (limit 2)
        SupportRequest(c, resident("u2"), at),  # c is hidden
        SupportRequest(b, resident("stranger"), at),  # not verified
        SupportRequest(d, resident("u1"), at),  # over u1's limit
        SupportRequest(999_999, resident("u2"), at),  # no such idea
        SupportRequest(a, resident("u2"), late),  # the phase is over
        SupportRequest(d, resident("u2"), at),
        SupportRequest(a, resident("u3"), at),
    ]


def test_a_batch_answers_each_request_as_single_supports_would(
    session, center, make_campaign, monday_9, point, moderator
):
    expected = [
        ("ok", True), ("ok", False), ("ok", True), ("ConflictError",),
        ("PermissionDeniedError",), ("PermissionDeniedError",), ("NotFoundError",),
        ("PhaseClosedError",), ("ok", True), ("ok", True),
    ]  # fmt: skip
    answers = []
    for way in ("batch", "single"):
        camp = make_campaign(max_supports_per_person=2)
        ideas = _ideas(session, center, camp, monday_9, point, 4)
        service.moderate(session, center, ideas[2].id, hide=True, reason="重复", actor=moderator,
                         at=monday_9)  # fmt: skip
        requests = _requests(ideas, monday_9 + MINUTE)
        if way == "batch":
            got = support_many(session, center, requests, verifier=PEOPLE)
        else:
            got = []
            for r in requests:
                try:
                    got.append(supports.support(session, center, r.idea_id, actor=r.actor,
                                                at=r.at, verifier=PEOPLE))  # fmt: skip
                except (
                    ConflictError,
                    PermissionDeniedError,
                    NotFoundError,
                    PhaseClosedError,
                ) as exc:
                    got.append(exc)
        answers.append([_kind(o) for o in got])
        assert isinstance(got[7], PhaseClosedError)
        counts = [supports.count_supports(session, i.id) for i in ideas]
        assert counts == [2, 1, 0, 1]
    assert answers[0] == expected
    assert answers[1] == expected
    rows = session.scalar(sa.text("select count(*) from ideas_supports"))
    logged = session.scalar(
        sa.text("select count(*) from ideas_support_log where action='support'")
    )
    assert rows == logged == 2 * 4


def test_the_deadline_starts_at_the_support_that_crossed_the_threshold(
    session, center, make_campaign, monday_9, point
):
    camp = make_campaign(threshold_supports=3, answer_working_days=1)
    (idea,) = _ideas(session, center, camp, monday_9, point, 1)
    supports.support(session, center, idea.id, actor=resident("u0"), at=monday_9,
                     verifier=PEOPLE)  # fmt: skip
    times = [monday_9 + k * MINUTE for k in (1, 2, 3, 4)]
    got = support_many(session, center, [SupportRequest(idea.id, resident(f"u{k + 1}"), t)
                                         for k, t in enumerate(times)], verifier=PEOPLE)  # fmt: skip
    batched = session.get_bind().dialect.name == "postgresql"  # SQLite: single supports
    assert [o.supports for o in got] == ([5, 5, 5, 5] if batched else [2, 3, 4, 5])
    row = session.get(DeadlineRow, idea.id)
    reached, due = row.reached_at, row.due_at
    assert reached == times[1]  # the second of the batch made it 3
    # one working day (7 h) from Monday 09:02: 2 h 58 min to noon, 3 h 30 min in the
    # afternoon, 32 min on Tuesday -> Tuesday 09:02
    assert due == times[1] + timedelta(days=1)


def test_racing_batches_and_single_supports_count_each_person_once(
    session, sessions, center, make_campaign, monday_9, point
):
    camp = make_campaign(threshold_supports=40, max_supports_per_person=3,
                         phases=phases_from(monday_9))  # fmt: skip
    ideas = [i.id for i in _ideas(session, center, camp, monday_9, point, 5)]
    barrier = threading.Barrier(8)
    errors = []

    def run(w):
        barrier.wait()
        try:
            with sessions() as s:
                if w % 2:
                    for k in range(20):
                        supports.support(s, center, ideas[(w + k) % 5], actor=resident(f"u{(w * 7 + k) % 60}"),
                                         at=monday_9 + MINUTE, verifier=PEOPLE)  # fmt: skip
                else:
                    requests = [SupportRequest(ideas[(w + k) % 5], resident(f"u{(w * 7 + k) % 60}"),
                                               monday_9 + MINUTE) for k in range(40)]  # fmt: skip
                    for chunk in (requests[:20], requests[20:]):
                        support_many(s, center, chunk, verifier=PEOPLE)
        except Exception as exc:  # noqa: BLE001 - asserted below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(w,)) for w in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [e for e in errors if not isinstance(e, PermissionDeniedError)] == []
    rows = session.execute(sa.text(
        "select idea_id, count(*) from ideas_supports group by idea_id order by idea_id"
    )).all()  # fmt: skip
    assert dict(rows) == {
        i: supports.count_supports(session, i) for i in ideas if supports.count_supports(session, i)
    }
    per_person = session.execute(sa.text(
        "select username, count(*) from ideas_supports group by username"
    )).all()  # fmt: skip
    used = dict(session.execute(sa.text("select username, used from ideas_quotas")).all())
    assert all(n <= 3 for _, n in per_person)  # the limit held
    assert dict(per_person) == {u: n for u, n in used.items() if n}
    logged = session.scalar(
        sa.text("select count(*) from ideas_support_log where action='support'")
    )
    assert logged == sum(n for _, n in rows)
