"""Group commit of supports: many residents' supports written in one transaction.

A server that receives supports faster than it can commit them one by one gathers the ones
waiting into a batch (as the governance center's intake does with reports) and hands them to
:func:`support_many`: one transaction, a handful of statements for the whole batch, one commit.
Each request still gets its own answer — supported, already supported, or its own error (phase
closed, hidden or merged idea, not verified, over the campaign's limit) — exactly what
:func:`~shancheng.ideas.supports.support` would have answered had the requests come one after
the other in the batch's order. The counts stay exact under the same locks, taken in the same
order (idea rows, then the people's counters sorted, then the ideas' counters sorted), so
batches and single supports may run at once.

On PostgreSQL the batch is written with array parameters (``unnest``); elsewhere (SQLite, one
writer at a time) it is a loop of single supports.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from shancheng.errors import (
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    ShanchengError,
)
from shancheng.ideas.permissions import IdeaVerb, check_verb
from shancheng.ideas.phases import PhaseClosedError, answer_due
from shancheng.ideas.service import unit_of_work
from shancheng.ideas.supports import (
    SupportResult,
    _flag_burst,
    _retrying,
    support,
)
from shancheng.ideas.suspicion import BurstRule

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import datetime

    from sqlalchemy.orm import Session

    from shancheng.cases.center import Center
    from shancheng.cases.permissions import Actor
    from shancheng.ideas.verification import Verifier

Outcome = SupportResult | ShanchengError
"""What one request of a batch gets: its result, or the error it alone caused."""


@dataclass(frozen=True, slots=True)
class SupportRequest:
    """One resident's support, as it arrived."""

    idea_id: int
    actor: Actor
    at: datetime


_IDEAS = sa.text("""
select i.id, i.campaign_id, i.moderation, i.merged_into_id, c.supporting_start,
       c.supporting_end, c.max_supports_per_person, c.threshold, c.answer_working_days
from ideas i join ideas_campaigns c on c.id = i.campaign_id
where i.id = any(cast(:ids as integer[]))
order by i.id
for share of i
""")
_INSERT = sa.text("""
insert into ideas_supports (idea_id, campaign_id, username, at, new_account)
select * from unnest(cast(:ideas as integer[]), cast(:campaigns as integer[]),
                     cast(:users as varchar[]), cast(:ats as timestamptz[]),
                     cast(:news as boolean[]))
on conflict (idea_id, username) do nothing
returning idea_id, username
""")
_QUOTA_LOCK = sa.text("""
insert into ideas_quotas (campaign_id, username, used)
select c, u, 0 from unnest(cast(:campaigns as integer[]), cast(:users as varchar[])) as x(c, u)
order by c, u
on conflict (campaign_id, username) do update set used = ideas_quotas.used
returning campaign_id, username, used
""")
"""The people's counters made where missing and locked, in (campaign, username) order, in one
round trip: an upsert locks the row it meets as an update does, and returns the count."""
_UNDO = sa.text("""
delete from ideas_supports s
using unnest(cast(:ideas as integer[]), cast(:users as varchar[])) as x(i, u)
where s.idea_id = x.i and s.username = x.u
""")
_COUNTS_LOCK = sa.text("""
select idea_id, supports from ideas_counts
where idea_id = any(cast(:ids as integer[]))
order by idea_id
for update
""")
_WRITE = sa.text("""
with quotas as (
  update ideas_quotas q set used = q.used + x.k
  from unnest(cast(:q_campaigns as integer[]), cast(:q_users as varchar[]),
              cast(:q_ks as integer[])) as x(c, u, k)
  where q.campaign_id = x.c and q.username = x.u
), log as (
  insert into ideas_support_log (idea_id, username, action, at)
  select i, u, 'support', a
  from unnest(cast(:ideas as integer[]), cast(:users as varchar[]), cast(:ats as timestamptz[]))
    as x(i, u, a)
), counts as (
  update ideas_counts c set supports = c.supports + x.n
  from unnest(cast(:c_ids as integer[]), cast(:c_ns as integer[])) as x(i, n)
  where c.idea_id = x.i
)
select 1
""")
"""The people's counters, the log and the ideas' counters raised in one round trip: their rows
are locked already (counters before, in order), so the statements' order does not matter."""
_DEADLINES = sa.text("""
insert into ideas_deadlines (idea_id, reached_at, due_at)
select * from unnest(cast(:ids as integer[]), cast(:reached as timestamptz[]),
                     cast(:due as timestamptz[]))
on conflict (idea_id) do nothing
""")


def support_many(
    session: Session,
    center: Center,
    requests: Sequence[SupportRequest],
    *,
    verifier: Verifier,
    burst: BurstRule | None = None,
) -> list[Outcome]:
    """Write a batch of supports in one transaction; one outcome per request, in order.

    Errors that concern one request (:class:`PhaseClosedError`, :class:`ConflictError`,
    :class:`PermissionDeniedError`, :class:`NotFoundError`) are returned in its place; an
    error of the database fails the whole batch (nothing is written), after the retries.
    """
    rule = burst or BurstRule()
    if session.get_bind().dialect.name != "postgresql":
        return [_one(session, center, r, verifier, rule) for r in requests]
    return _retrying(session, lambda: _batch(session, center, requests, verifier, rule))


def _one(
    session: Session, center: Center, r: SupportRequest, verifier: Verifier, rule: BurstRule
) -> Outcome:
    try:
        return support(
            session, center, r.idea_id, actor=r.actor, at=r.at, verifier=verifier, burst=rule
        )
    except ShanchengError as exc:
        return exc


def _check(r: SupportRequest, idea: Any, verified: bool) -> ShanchengError | None:  # noqa: ANN401, FBT001, PLR0911 - a Row; one return per check
    """Return the error this request alone gets, or ``None`` (the checks of ``support``)."""
    try:
        check_verb(r.actor, IdeaVerb.SUPPORT)
    except PermissionDeniedError as exc:
        return exc
    if idea is None:
        return NotFoundError(f"`idea_id`: no idea {r.idea_id}", field="idea_id")
    if not idea.supporting_start <= r.at < idea.supporting_end:
        msg = (
            f"cannot support an idea: the supporting phase runs from "
            f"{idea.supporting_start.isoformat()} to {idea.supporting_end.isoformat()}, and it "
            f"is {r.at.isoformat()}"
        )
        return PhaseClosedError(msg, status="closed", action="support an idea")
    if idea.moderation == "merged":
        msg = f"idea {r.idea_id} was merged into idea {idea.merged_into_id}; support that one"
        return ConflictError(msg)
    if idea.moderation != "visible":
        return ConflictError(f"idea {r.idea_id} is hidden by the moderators; it takes no supports")
    if not verified:
        msg = (
            f"user {r.actor.username!r} is not a verified resident; verify the account by phone "
            "or with the identity provider to support ideas"
        )
        return PermissionDeniedError(msg)
    return None


def _batch(
    session: Session,
    center: Center,
    requests: Sequence[SupportRequest],
    verifier: Verifier,
    rule: BurstRule,
) -> list[Outcome]:
    outcomes: list[Outcome | None] = [None] * len(requests)
    with unit_of_work(session):
        ideas = {
            row.id: row
            for row in session.execute(_IDEAS, {"ids": sorted({r.idea_id for r in requests})})
        }
        residents = verifier.verified_many(session, {r.actor.username for r in requests})
        fresh: list[int] = []  # indexes of the requests to insert (first of each pair)
        seen: set[tuple[int, str]] = set()
        for i, r in enumerate(requests):
            error = _check(r, ideas.get(r.idea_id), r.actor.username in residents)
            if error is not None:
                outcomes[i] = error
            elif (r.idea_id, r.actor.username) not in seen:
                seen.add((r.idea_id, r.actor.username))
                fresh.append(i)
        new_account = {
            i: rule.is_new(residents[requests[i].actor.username].account_created_at, requests[i].at)
            for i in fresh
        }
        inserted: set[tuple[int, str]] = set()
        if fresh:
            rows = session.execute(
                _INSERT,
                {
                    "ideas": [requests[i].idea_id for i in fresh],
                    "campaigns": [ideas[requests[i].idea_id].campaign_id for i in fresh],
                    "users": [requests[i].actor.username for i in fresh],
                    "ats": [requests[i].at for i in fresh],
                    "news": [new_account[i] for i in fresh],
                },
            ).all()
            inserted = {(int(a), str(b)) for a, b in rows}
        added = [i for i in fresh if (requests[i].idea_id, requests[i].actor.username) in inserted]
        allowed, refused, taken_quotas = _apply_quotas(session, requests, ideas, added)
        for i in refused:
            r = requests[i]
            limit = ideas[r.idea_id].max_supports_per_person
            campaign_id = ideas[r.idea_id].campaign_id
            msg = (
                f"user {r.actor.username!r} has used all {limit} supports of campaign "
                f"{campaign_id}; withdraw one to support another"
            )
            outcomes[i] = PermissionDeniedError(msg)
        counts = _apply_counts(session, center, requests, ideas, allowed, taken_quotas)
        for idea_id in {requests[i].idea_id for i in allowed if new_account[i]}:
            latest = max(requests[i].at for i in allowed if requests[i].idea_id == idea_id)
            _flag_burst(session, idea_id, latest, rule)
        taken = set(allowed)
        for i, r in enumerate(requests):
            if outcomes[i] is None:
                outcomes[i] = SupportResult(
                    r.idea_id, supported=True, changed=i in taken, supports=counts[r.idea_id]
                )
    return [o for o in outcomes if o is not None]


def _apply_quotas(
    session: Session,
    requests: Sequence[SupportRequest],
    ideas: dict[int, Any],
    added: list[int],
) -> tuple[list[int], list[int], Counter[tuple[int, str]]]:
    """Lock the people's counters; return the requests allowed, refused, and the rises.

    The rises are written with the ideas' counts (:func:`_apply_counts`). The counters are
    locked in (campaign, username) order; a person's supports in this batch are allowed in
    request order up to the campaign's limit, and the rows of the others removed.
    """
    taken: Counter[tuple[int, str]] = Counter()
    if not added:
        return [], [], taken
    keys = sorted(
        {(ideas[requests[i].idea_id].campaign_id, requests[i].actor.username) for i in added}
    )
    params = {"campaigns": [c for c, _ in keys], "users": [u for _, u in keys]}
    used = {(int(c), str(u)): int(n) for c, u, n in session.execute(_QUOTA_LOCK, params)}
    allowed, refused = [], []
    for i in added:
        idea = ideas[requests[i].idea_id]
        key = (idea.campaign_id, requests[i].actor.username)
        limit = idea.max_supports_per_person
        if limit is not None and used[key] + taken[key] >= limit:
            refused.append(i)
        else:
            taken[key] += 1
            allowed.append(i)
    if refused:
        session.execute(
            _UNDO,
            {
                "ideas": [requests[i].idea_id for i in refused],
                "users": [requests[i].actor.username for i in refused],
            },
        )
    return allowed, refused, taken


def _apply_counts(
    session: Session,
    center: Center,
    requests: Sequence[SupportRequest],
    ideas: dict[int, Any],
    allowed: list[int],
    taken: Counter[tuple[int, str]],
) -> dict[int, int]:
    """Raise the ideas' counters, the people's counters and the log; set deadlines crossed.

    The ideas' counters are locked in id order first. Returns every batch idea's count after
    the batch.
    """
    ids = sorted(ideas)
    before = {int(i): int(n) for i, n in session.execute(_COUNTS_LOCK, {"ids": ids})}
    per_idea: defaultdict[int, list[int]] = defaultdict(list)
    for i in allowed:
        per_idea[requests[i].idea_id].append(i)
    if per_idea or taken:
        session.execute(
            _WRITE,
            {
                "q_campaigns": [c for c, _ in taken],
                "q_users": [u for _, u in taken],
                "q_ks": list(taken.values()),
                "ideas": [requests[i].idea_id for i in allowed],
                "users": [requests[i].actor.username for i in allowed],
                "ats": [requests[i].at for i in allowed],
                "c_ids": list(per_idea),
                "c_ns": [len(v) for v in per_idea.values()],
            },
        )
    crossing = []
    for idea_id, members in per_idea.items():
        idea = ideas[idea_id]
        old = before[idea_id]
        if old < idea.threshold <= old + len(members):
            reached = requests[members[idea.threshold - old - 1]].at
            due = answer_due(center.calendar, reached, idea.answer_working_days)
            crossing.append((idea_id, reached, due))
    if crossing:
        session.execute(
            _DEADLINES,
            {
                "ids": [c[0] for c in crossing],
                "reached": [c[1] for c in crossing],
                "due": [c[2] for c in crossing],
            },
        )
    return {i: before.get(i, 0) + len(per_idea.get(i, [])) for i in ids}
