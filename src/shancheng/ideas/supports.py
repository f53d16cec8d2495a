"""Supports: one per verified resident and idea, exact under concurrency; withdrawal; merges.

How the counts stay exact when many residents support at once:

- ``ideas_supports`` has a unique constraint on ``(idea_id, username)`` and a support is an
  ``INSERT ... ON CONFLICT DO NOTHING``: a second support by the same person (a double click,
  two phones) inserts nothing, whatever the interleaving;
- only a support that inserted its row raises the idea's counter (``ideas_counts``,
  ``supports = supports + 1``) in the same transaction; the counter's row lock orders the
  supports of one idea, so it equals the number of rows at every commit, and exactly one
  transaction takes it to the threshold and sets the answer's deadline;
- a support reads its idea ``FOR SHARE`` (supports never wait for each other on it) and a
  merge or a moderation takes it ``FOR UPDATE``, so no support lands on an idea being merged;
- the per-person limit of a campaign is a counter row per person, raised by an upsert that
  refuses past the limit, so one person racing on many ideas cannot exceed it.

Locks are always taken in the order idea, idea counter, person counter: no deadlock. On
PostgreSQL the support, the person's counter, the log row and the idea's counter are one
statement (data-modifying CTEs: one round trip); SQLite runs them one by one and, having no row
locks, takes its single write lock first; a support that finds it locked retries.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import OperationalError

from shancheng.errors import ConflictError, NotFoundError, PermissionDeniedError
from shancheng.ideas.permissions import IdeaVerb, check_verb
from shancheng.ideas.phases import PhaseClosedError, answer_due
from shancheng.ideas.service import begin_write, campaign, idea, unit_of_work, units_of
from shancheng.ideas.suspicion import BurstRule, burst_start
from shancheng.store.ideas_tables import (
    CampaignRow,
    CountRow,
    DeadlineRow,
    FlagRow,
    IdeaEventRow,
    IdeaRow,
    QuotaRow,
    SupportLogRow,
    SupportRow,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from datetime import datetime

    from sqlalchemy.orm import Session

    from shancheng.cases.center import Center
    from shancheng.cases.permissions import Actor
    from shancheng.ideas.verification import Verifier

logger = logging.getLogger(__name__)
_LOCK_RETRIES = 200
_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class SupportResult:
    """What a support or withdrawal did: whether it changed anything, and the idea's count."""

    idea_id: int
    supported: bool
    changed: bool
    supports: int


def _insert(session: Session, table: Any) -> Any:  # noqa: ANN401 - a dialect's Insert
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


def _retrying(session: Session, work: Callable[[], _T]) -> _T:
    """Run ``work`` (a whole transaction); if the database was locked, roll back and rerun it.

    Locked: SQLite's one writer was busy, or PostgreSQL broke a deadlock between two batches.
    """
    for attempt in range(_LOCK_RETRIES):
        try:
            return work()
        except OperationalError as exc:
            session.rollback()
            locked = any(word in str(exc) for word in ("locked", "busy", "deadlock detected"))
            if not locked or attempt == _LOCK_RETRIES - 1:
                raise
            time.sleep(0.002 * (1 + attempt % 10))
    raise AssertionError  # pragma: no cover - the loop returns or raises


def count_supports(session: Session, idea_id: int) -> int:
    """Return the number of standing supports of an idea (its counter)."""
    row = session.get(CountRow, idea_id, populate_existing=True)
    if row is None:
        msg = f"`idea_id`: no idea {idea_id}"
        raise NotFoundError(msg, field="idea_id")
    return int(row.supports)


def support_counts(session: Session, campaign_id: int) -> dict[int, int]:
    """Return the standing supports of every idea of a campaign that has any."""
    rows = session.execute(
        sa.select(CountRow.idea_id, CountRow.supports)
        .join(IdeaRow, IdeaRow.id == CountRow.idea_id)
        .where(IdeaRow.campaign_id == campaign_id, CountRow.supports > 0)
    ).all()
    return {int(i): int(n) for i, n in rows}


_OPEN = (
    sa.select(
        IdeaRow.campaign_id,
        IdeaRow.moderation,
        IdeaRow.merged_into_id,
        CampaignRow.supporting_start,
        CampaignRow.supporting_end,
        CampaignRow.max_supports_per_person,
        CampaignRow.threshold,
        CampaignRow.answer_working_days,
    )
    .join(CampaignRow, CampaignRow.id == IdeaRow.campaign_id)
    .where(IdeaRow.id == sa.bindparam("idea_id"))
    .with_for_update(read=True, of=IdeaRow)
)


def _open_for_support(session: Session, idea_id: int, at: datetime, doing: str) -> Any:  # noqa: ANN401 - a typed Row of the join
    """Read the idea and its campaign (idea row ``FOR SHARE``); refuse outside supporting."""
    row = session.execute(_OPEN, {"idea_id": idea_id}).first()
    if row is None:
        msg = f"`idea_id`: no idea {idea_id}"
        raise NotFoundError(msg, field="idea_id")
    start, end = row.supporting_start, row.supporting_end
    if not start <= at < end:
        msg = (
            f"cannot {doing}: the supporting phase runs from {start.isoformat()} to "
            f"{end.isoformat()}, and it is {at.isoformat()}"
        )
        raise PhaseClosedError(msg, status="closed", action=doing)
    return row


def support(
    session: Session,
    center: Center,
    idea_id: int,
    *,
    actor: Actor,
    at: datetime,
    verifier: Verifier,
    burst: BurstRule | None = None,
) -> SupportResult:
    """Support an idea as a verified resident; a second support by the same person is a no-op.

    Raises
    ------
    PermissionDeniedError
        The actor is not a verified resident, or reached the campaign's per-person limit.
    PhaseClosedError
        The supporting phase is not open.
    ConflictError
        The idea is hidden, or was merged (the message names the idea to support instead).
    """
    check_verb(actor, IdeaVerb.SUPPORT)
    rule = burst or BurstRule()

    def work() -> SupportResult:
        with unit_of_work(session):
            begin_write(session)
            row = _open_for_support(session, idea_id, at, "support an idea")
            if row.moderation == "merged":
                msg = f"idea {idea_id} was merged into idea {row.merged_into_id}; support that one"
                raise ConflictError(msg)
            if row.moderation != "visible":
                msg = f"idea {idea_id} is hidden by the moderators; it takes no supports"
                raise ConflictError(msg)
            resident = verifier.verified(session, actor.username)
            if resident is None:
                msg = (
                    f"user {actor.username!r} is not a verified resident; verify the account "
                    "by phone or with the identity provider to support ideas"
                )
                raise PermissionDeniedError(msg)
            new = rule.is_new(resident.account_created_at, at)
            values = {
                "idea": idea_id, "campaign": row.campaign_id, "user": actor.username, "at": at,
                "new": new, "limit": row.max_supports_per_person,
            }  # fmt: skip
            inserted, quota_ok, count = _add_support(session, values)
            if not inserted:
                return SupportResult(idea_id, supported=True, changed=False, supports=count)
            if not quota_ok:
                msg = (
                    f"user {actor.username!r} has used all {row.max_supports_per_person} "
                    f"supports of campaign {row.campaign_id}; withdraw one to support another"
                )
                raise PermissionDeniedError(msg)
            if count == row.threshold:
                due = answer_due(center.calendar, at, row.answer_working_days)
                _set_deadline(session, idea_id, at, due)
            if new:
                _flag_burst(session, idea_id, at, rule)
            return SupportResult(idea_id, supported=True, changed=True, supports=count)

    return _retrying(session, work)


_ADD_SUPPORT_PG = sa.text("""
with s as (
    insert into ideas_supports (idea_id, campaign_id, username, at, new_account)
    values (:idea, :campaign, :user, :at, :new)
    on conflict (idea_id, username) do nothing
    returning 1
), q as (
    insert into ideas_quotas (campaign_id, username, used)
    select :campaign, :user, 1 from s
    on conflict (campaign_id, username) do update set used = ideas_quotas.used + 1
    where cast(:limit as integer) is null or ideas_quotas.used < cast(:limit as integer)
    returning 1
), l as (
    insert into ideas_support_log (idea_id, username, action, at)
    select :idea, :user, 'support', :at from q
    returning 1
), c as (
    update ideas_counts set supports = supports + 1
    where idea_id = :idea and exists (select 1 from q)
    returning supports
)
select (select count(*) from s) as inserted, (select count(*) from q) as quota_ok,
       coalesce((select supports from c),
                (select supports from ideas_counts where idea_id = :idea)) as supports,
       (select count(*) from l) as logged
""")


def _add_support(session: Session, values: dict[str, Any]) -> tuple[bool, bool, int]:
    """Insert the support, raise the person's and the idea's counters, log it.

    Returns whether the support was new, whether the person's limit allowed it, and the
    idea's count now (this transaction's).
    """
    if session.get_bind().dialect.name == "postgresql":
        r = session.execute(_ADD_SUPPORT_PG, values).one()
        return bool(r.inserted), bool(r.quota_ok), int(r.supports)
    inserted = session.execute(
        _insert(session, SupportRow)
        .values(
            idea_id=values["idea"], campaign_id=values["campaign"], username=values["user"],
            at=values["at"], new_account=values["new"],
        )
        .on_conflict_do_nothing(index_elements=["idea_id", "username"])
        .returning(SupportRow.id)
    ).first()  # fmt: skip
    if inserted is None:
        return False, True, count_supports(session, values["idea"])
    limit = values["limit"]
    quota = session.execute(
        _insert(session, QuotaRow)
        .values(campaign_id=values["campaign"], username=values["user"], used=1)
        .on_conflict_do_update(
            index_elements=["campaign_id", "username"],
            set_={"used": QuotaRow.used + 1},
            where=(QuotaRow.used < limit) if limit is not None else None,
        )
        .returning(QuotaRow.used)
    ).first()
    if quota is None:
        return True, False, count_supports(session, values["idea"])
    _log(session, values["idea"], values["user"], "support", values["at"])
    return True, True, _bump(session, values["idea"], 1)


def _bump(session: Session, idea_id: int, by: int) -> int:
    """Add ``by`` to the idea's counter (locking its row); return the new count."""
    return int(
        session.execute(
            sa.update(CountRow)
            .where(CountRow.idea_id == idea_id)
            .values(supports=CountRow.supports + by)
            .returning(CountRow.supports)
        ).scalar_one()
    )


def _set_deadline(session: Session, idea_id: int, at: datetime, due: datetime) -> None:
    session.execute(
        _insert(session, DeadlineRow)
        .values(idea_id=idea_id, reached_at=at, due_at=due)
        .on_conflict_do_nothing(index_elements=["idea_id"])
    )


def _log(session: Session, idea_id: int, username: str, action: str, at: datetime) -> None:
    session.execute(
        sa.insert(SupportLogRow).values(idea_id=idea_id, username=username, action=action, at=at)
    )


def _give_back_quota(session: Session, campaign_id: int, username: str) -> None:
    session.execute(
        sa.update(QuotaRow)
        .where(QuotaRow.campaign_id == campaign_id, QuotaRow.username == username)
        .values(used=QuotaRow.used - 1)
    )


def _flag_burst(session: Session, idea_id: int, at: datetime, rule: BurstRule) -> None:
    since = at - rule.window
    times = list(
        session.scalars(
            sa.select(SupportRow.at).where(
                SupportRow.idea_id == idea_id, SupportRow.new_account, SupportRow.at >= since
            )
        )
    )
    start = burst_start(times, rule)
    if start is None:
        return
    already = session.scalar(
        sa.select(sa.func.count()).where(
            FlagRow.idea_id == idea_id,
            FlagRow.kind == "new_account_burst",
            FlagRow.raised_at >= at - rule.window,
        )
    )
    if already:
        return
    session.add(
        FlagRow(
            idea_id=idea_id,
            kind="new_account_burst",
            window_start=start,
            supports=len(times),
            raised_at=at,
        )
    )
    logger.warning(
        "idea %d: %d supports from new accounts within %s", idea_id, len(times), rule.window
    )


def withdraw(session: Session, idea_id: int, *, actor: Actor, at: datetime) -> SupportResult:
    """Withdraw the actor's support while the supporting phase is open (no-op if none)."""
    check_verb(actor, IdeaVerb.SUPPORT)

    def work() -> SupportResult:
        with unit_of_work(session):
            begin_write(session)
            row = _open_for_support(session, idea_id, at, "withdraw a support")
            gone = session.execute(
                sa.delete(SupportRow)
                .where(SupportRow.idea_id == idea_id, SupportRow.username == actor.username)
                .returning(SupportRow.id)
            ).first()
            if gone is None:
                count = count_supports(session, idea_id)
                return SupportResult(idea_id, supported=False, changed=False, supports=count)
            count = _bump(session, idea_id, -1)
            _give_back_quota(session, row.campaign_id, actor.username)
            _log(session, idea_id, actor.username, "withdraw", at)
            return SupportResult(idea_id, supported=False, changed=True, supports=count)

    return _retrying(session, work)


def supported_by(session: Session, username: str, idea_ids: Sequence[int]) -> set[int]:
    """Return which of ``idea_ids`` the user supports."""
    if not idea_ids:
        return set()
    return set(
        session.scalars(
            sa.select(SupportRow.idea_id).where(
                SupportRow.username == username, SupportRow.idea_id.in_(idea_ids)
            )
        )
    )


@dataclass(frozen=True, slots=True)
class MergeResult:
    """A merge: supports moved to the kept idea, and those folded (their person supported both)."""

    kept_id: int
    merged_id: int
    moved: int
    folded: int
    supports: int


def merge(
    session: Session,
    center: Center,
    duplicate_id: int,
    into_id: int,
    *,
    actor: Actor,
    at: datetime,
) -> MergeResult:
    """Merge a duplicate idea into another of its campaign; nobody's support counts twice.

    A support of the duplicate moves to the kept idea, unless its person already supports the
    kept idea: then it is folded (removed, logged) and that person's campaign quota given back.
    The duplicate stays, marked merged, pointing at the kept idea.
    """
    if duplicate_id == into_id:
        msg = "`into_id`: an idea cannot be merged into itself"
        raise ConflictError(msg)

    def work() -> MergeResult:
        with unit_of_work(session):
            begin_write(session)
            first, second = sorted((duplicate_id, into_id))  # one lock order: no deadlock
            rows = {
                first: idea(session, first, lock=True),
                second: idea(session, second, lock=True),
            }
            dup, kept = rows[duplicate_id], rows[into_id]
            camp = campaign(session, dup.campaign_id)
            check_verb(actor, IdeaVerb.MERGE, *units_of(dup, camp, center))
            check_verb(
                actor, IdeaVerb.MERGE, *units_of(kept, campaign(session, kept.campaign_id), center)
            )
            if dup.campaign_id != kept.campaign_id:
                msg = f"ideas {duplicate_id} and {into_id} belong to different campaigns"
                raise ConflictError(msg)
            for r in (dup, kept):
                if r.moderation != "visible":
                    msg = f"idea {r.id} is {r.moderation}; only visible ideas are merged"
                    raise ConflictError(msg)
            already = set(
                session.scalars(sa.select(SupportRow.username).where(SupportRow.idea_id == into_id))
            )
            moved = folded = 0
            for s in session.scalars(
                sa.select(SupportRow)
                .where(SupportRow.idea_id == duplicate_id)
                .order_by(SupportRow.username)  # the people's counters in one order: no deadlock
            ).all():
                if s.username in already:
                    session.delete(s)
                    _give_back_quota(session, dup.campaign_id, s.username)
                    action, folded = "fold", folded + 1
                else:
                    s.idea_id = into_id
                    action, moved = "move", moved + 1
                session.add(
                    SupportLogRow(idea_id=duplicate_id, username=s.username, action=action, at=at)
                )
            session.flush()
            total = _bump(session, into_id, moved)
            _bump(session, duplicate_id, -(moved + folded))
            if total >= camp.threshold:
                due = answer_due(center.calendar, at, camp.answer_working_days)
                _set_deadline(session, into_id, at, due)
            dup.moderation, dup.merged_into_id = "merged", into_id
            note = f"merged into idea {into_id}: {moved} supports moved, {folded} already there"
            for r, act in ((dup, "merged"), (kept, "absorbed")):
                session.add(
                    IdeaEventRow(
                        idea_id=r.id,
                        action=act,
                        actor=actor.username,
                        at=at,
                        note=note,
                        from_status="",
                        to_status=r.moderation,
                    )
                )
            return MergeResult(into_id, duplicate_id, moved, folded, total)

    return _retrying(session, work)


def flags(session: Session, *, open_only: bool = True) -> list[FlagRow]:
    """Return the suspicious-pattern flags (unresolved ones by default), newest first."""
    stmt = sa.select(FlagRow).order_by(FlagRow.id.desc())
    if open_only:
        stmt = stmt.where(FlagRow.resolved_by == "")
    return list(session.scalars(stmt))


def resolve_flag(session: Session, center: Center, flag_id: int, *, actor: Actor) -> FlagRow:
    """Mark a flag as looked at by a moderator."""
    with unit_of_work(session):
        flag = session.get(FlagRow, flag_id)
        if flag is None:
            msg = f"`flag_id`: no flag {flag_id}"
            raise NotFoundError(msg, field="flag_id")
        row = idea(session, flag.idea_id)
        check_verb(
            actor, IdeaVerb.MODERATE, *units_of(row, campaign(session, row.campaign_id), center)
        )
        flag.resolved_by = actor.username
    return flag
