"""Supports on SQLite and PostgreSQL: one per person under concurrency, withdrawal, limits,
merges without double counting, verification, and the suspicious-pattern flag."""

import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa
from tests.unit.ideas.conftest import STREET, resident

from shancheng.errors import ConflictError, PermissionDeniedError
from shancheng.ideas import service, supports, views
from shancheng.ideas.suspicion import BurstRule
from shancheng.ideas.verification import AllowListVerifier, RecordedVerifier, record_verification

EVERYONE = AllowListVerifier(everyone=True)
MINUTE = timedelta(minutes=1)


def _idea(session, center, camp, at, point, title, author="alice"):
    lon, lat = point(street=STREET)
    spec = service.IdeaIn(title, f"{title}，请考虑", "设施", lon=lon, lat=lat)
    return service.propose(session, center, camp.id, spec, actor=resident(author), at=at)


def _run_at_once(n, target):
    """Run target(i) in n threads released together; return the errors raised."""
    barrier = threading.Barrier(n)
    errors = []

    def run(i):
        barrier.wait()
        try:
            target(i)
        except Exception as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


def test_concurrent_supports_count_each_person_once(
    session, sessions, center, make_campaign, monday_9, point
):
    camp = make_campaign(threshold_supports=25)
    row = _idea(session, center, camp, monday_9, point, "加装电梯")
    n_threads, n_people = 48, 30  # 18 people press twice (two phones, a double click)

    def press(i):
        with sessions() as s:
            supports.support(s, center, row.id, actor=resident(f"r{i % n_people}"),
                             at=monday_9 + MINUTE, verifier=EVERYONE)  # fmt: skip

    assert _run_at_once(n_threads, press) == []
    assert supports.count_supports(session, row.id) == n_people
    rows = session.scalar(sa.text(f"select count(*) from ideas_supports where idea_id = {row.id}"))
    assert rows == n_people  # the counter equals the rows it counts
    logged = session.scalar(
        sa.text("select count(*) from ideas_support_log where action='support'")
    )
    assert logged == n_people  # a press that changed nothing left no trace
    used = session.execute(sa.text("select sum(used), max(used) from ideas_quotas")).one()
    assert tuple(used) == (n_people, 1)
    # the threshold (25) was crossed by racing supports: the deadline exists exactly once
    assert session.scalar(sa.text("select count(*) from ideas_deadlines")) == 1


def test_withdrawal_then_support_again(session, center, make_campaign, monday_9, point):
    camp = make_campaign()
    row = _idea(session, center, camp, monday_9, point, "加装电梯")
    bob = resident("bob")
    first = supports.support(session, center, row.id, actor=bob, at=monday_9, verifier=EVERYONE)
    again = supports.support(session, center, row.id, actor=bob, at=monday_9, verifier=EVERYONE)
    assert (first.changed, first.supports, again.changed, again.supports) == (True, 1, False, 1)
    gone = supports.withdraw(session, row.id, actor=bob, at=monday_9 + MINUTE)
    assert (gone.changed, gone.supports) == (True, 0)
    assert not supports.withdraw(session, row.id, actor=bob, at=monday_9 + MINUTE).changed
    back = supports.support(session, center, row.id, actor=bob, at=monday_9 + 2 * MINUTE,
                            verifier=EVERYONE)  # fmt: skip
    assert (back.changed, back.supports) == (True, 1)
    log = session.scalars(sa.text("select action from ideas_support_log order by id")).all()
    assert log == ["support", "withdraw", "support"]
    assert views.idea_view(session, center, row.id, viewer=bob).supported_by_me


def test_only_verified_residents_support(session, center, make_campaign, monday_9, point):
    camp = make_campaign()
    row = _idea(session, center, camp, monday_9, point, "加装电梯")
    verifier = RecordedVerifier()
    with pytest.raises(PermissionDeniedError, match="not a verified resident"):
        supports.support(session, center, row.id, actor=resident("bob"), at=monday_9,
                         verifier=verifier)  # fmt: skip
    record_verification(session, "bob", method="phone", at=monday_9)
    session.commit()
    ok = supports.support(session, center, row.id, actor=resident("bob"), at=monday_9,
                          verifier=verifier)  # fmt: skip
    assert ok.supports == 1


def test_per_person_limit_holds_when_one_person_races_on_many_ideas(
    session, sessions, center, make_campaign, monday_9, point
):
    camp = make_campaign(max_supports_per_person=2)
    ideas = [_idea(session, center, camp, monday_9, point, f"建议{i}号") for i in range(6)]
    for row in ideas[:2]:
        supports.support(session, center, row.id, actor=resident("seq"), at=monday_9,
                         verifier=EVERYONE)  # fmt: skip
    with pytest.raises(PermissionDeniedError, match="all 2 supports"):
        supports.support(session, center, ideas[2].id, actor=resident("seq"), at=monday_9,
                         verifier=EVERYONE)  # fmt: skip
    # withdrawing one frees it
    supports.withdraw(session, ideas[0].id, actor=resident("seq"), at=monday_9)
    supports.support(session, center, ideas[2].id, actor=resident("seq"), at=monday_9,
                     verifier=EVERYONE)  # fmt: skip

    def press(i):
        with sessions() as s:
            supports.support(s, center, ideas[i].id, actor=resident("racer"), at=monday_9,
                             verifier=EVERYONE)  # fmt: skip

    errors = _run_at_once(len(ideas), press)
    assert len(errors) == len(ideas) - 2
    assert all(isinstance(e, PermissionDeniedError) for e in errors)
    held = session.scalar(sa.text("select count(*) from ideas_supports where username='racer'"))
    assert held == 2


def test_merge_carries_supports_over_without_double_counting(
    session, center, make_campaign, monday_9, point, moderator
):
    camp = make_campaign(max_supports_per_person=5)
    kept = _idea(session, center, camp, monday_9, point, "老旧小区加装电梯")
    dup = _idea(session, center, camp, monday_9, point, "小区加电梯", author="bob")
    for name in ("a", "b", "c"):
        supports.support(session, center, dup.id, actor=resident(name), at=monday_9,
                         verifier=EVERYONE)  # fmt: skip
    for name in ("c", "d"):
        supports.support(session, center, kept.id, actor=resident(name), at=monday_9,
                         verifier=EVERYONE)  # fmt: skip
    with pytest.raises(PermissionDeniedError):
        supports.merge(session, center, dup.id, kept.id, actor=resident("x"), at=monday_9)
    result = supports.merge(session, center, dup.id, kept.id, actor=moderator, at=monday_9)
    assert (result.moved, result.folded, result.supports) == (2, 1, 4)  # {a, b, c} | {c, d}
    assert supports.count_supports(session, dup.id) == 0
    people = session.scalars(sa.text(
        f"select username from ideas_supports where idea_id = {kept.id} order by username"
    )).all()  # fmt: skip
    assert people == ["a", "b", "c", "d"]
    # c's quota: two supports before, one after (the folded one was given back)
    c_used = session.scalar(sa.text("select used from ideas_quotas where username = 'c'"))
    assert c_used == 1
    merged = views.idea_view(session, center, dup.id, viewer=None)
    assert (merged.moderation, merged.merged_into_id) == ("merged", kept.id)
    with pytest.raises(ConflictError, match=f"merged into idea {kept.id}"):
        supports.support(session, center, dup.id, actor=resident("e"), at=monday_9,
                         verifier=EVERYONE)  # fmt: skip
    listed = views.campaign_ideas(session, center, camp.id, viewer=None)
    assert [(v.id, v.supports) for v in listed] == [(kept.id, 4)]


def test_merge_racing_with_supports_loses_and_doubles_nobody(
    session, sessions, center, make_campaign, monday_9, point, moderator
):
    camp = make_campaign()
    kept = _idea(session, center, camp, monday_9, point, "老旧小区加装电梯")
    dup = _idea(session, center, camp, monday_9, point, "小区加电梯", author="bob")
    for i in range(10):
        supports.support(session, center, kept.id, actor=resident(f"k{i}"), at=monday_9,
                         verifier=EVERYONE)  # fmt: skip

    through = []

    def act(i):
        with sessions() as s:
            if i == 0:
                supports.merge(s, center, dup.id, kept.id, actor=moderator, at=monday_9)
            else:  # people of both groups (k0-k19) support the duplicate meanwhile
                name = f"k{i % 20}"
                supports.support(s, center, dup.id, actor=resident(name), at=monday_9,
                                 verifier=EVERYONE)  # fmt: skip
                through.append(name)

    errors = _run_at_once(31, act)
    # a support after the merge is refused naming the kept idea, never lost silently
    assert all(isinstance(e, ConflictError) and "merged into" in str(e) for e in errors)
    assert len(errors) + len(through) == 30
    assert supports.count_supports(session, dup.id) == 0
    stored = session.scalars(
        sa.text(f"select username from ideas_supports where idea_id = {kept.id}")
    ).all()
    expected = {f"k{i}" for i in range(10)} | set(through)
    assert sorted(stored) == sorted(expected)  # each once: nobody lost, nobody doubled
    assert supports.count_supports(session, kept.id) == len(expected)


def test_burst_of_new_accounts_is_flagged_not_dropped(
    session, center, make_campaign, monday_9, point
):
    camp = make_campaign()
    row = _idea(session, center, camp, monday_9, point, "加装电梯")
    fresh = {f"n{i}": monday_9 - timedelta(days=1) for i in range(6)}
    old = {"old": monday_9 - timedelta(days=400)}
    verifier = AllowListVerifier(created_at={**fresh, **old})
    rule = BurstRule(min_supports=5, window=timedelta(minutes=10))
    supports.support(session, center, row.id, actor=resident("old"), at=monday_9,
                     verifier=verifier, burst=rule)  # fmt: skip
    for i, name in enumerate(fresh):
        supports.support(session, center, row.id, actor=resident(name),
                         at=monday_9 + i * MINUTE, verifier=verifier, burst=rule)  # fmt: skip
    assert supports.count_supports(session, row.id) == 7  # counted, not dropped
    flags = supports.flags(session)
    assert len(flags) == 1  # raised once for the burst, not once per support
    assert (flags[0].idea_id, flags[0].kind, flags[0].window_start) == (
        row.id, "new_account_burst", monday_9)  # fmt: skip
