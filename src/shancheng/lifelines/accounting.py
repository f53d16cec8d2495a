"""Per-source message accounting: sequence numbers, duplicates, gaps on record, backfill.

A gateway (or a sensor publishing on its own) numbers its messages 1, 2, 3 … within a boot
*epoch* and sends the three as MQTT 5 user properties (``gateway``, ``epoch``, ``seq``; see
docs/lifelines-telemetry.md). In the same transaction that stores a batch's readings,
:func:`account_messages` records which numbers arrived, so the account and the readings commit
together. Per source, ``accounted_through`` moves over every number that arrived. A hole whose
next message arrived more than a grace period ago (long enough for out-of-order delivery
between ingesters on one shared subscription) becomes a :class:`Gap` on record and the
watermark moves past it. Messages that come later -- a late redelivery, or the gateway's
buffer posted back over HTTP (the backfill) -- fill the gap; when nothing is missing it closes.
A number that arrives twice is a counted duplicate.

A loss at the very end of a stream (the last messages dropped, nothing sent after them) shows
through the gateway's heartbeat (:func:`announce`, over HTTP, so no broker can drop it): the
last number it sent stands for a message received at the heartbeat's time.

All state lives in the database, so several ingesters on one shared subscription keep one
account: a source's row is locked (PostgreSQL ``FOR UPDATE``) while it changes, sources in a
fixed order so two ingesters never deadlock.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

import sqlalchemy as sa

from shancheng.errors import ConflictError, NotFoundError, QueryError
from shancheng.lifelines.repository import dialect_insert
from shancheng.store.lifelines_tables import TelemetryGapRow, TelemetrySeqRow, TelemetrySourceRow

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from sqlalchemy.engine import Connection

GRACE_MS = 5_000
"""A hole becomes a gap once the message after it has waited this long (ms)."""
MAX_HEARTBEAT_JUMP = 1_000_000
"""A heartbeat may announce at most this many numbers beyond what arrived (a typo or a
hostile key would otherwise put a gap of billions on record that nothing can close)."""
MAX_SEQ = 2**53
"""Sequence numbers and epochs are positive integers below this (exact in JSON and doubles)."""

Via = Literal["mqtt", "backfill"]


class Stamp(NamedTuple):
    """A message's place in its source's numbering."""

    gateway: str
    epoch: int
    seq: int


def parse_stamp(pairs: Iterable[tuple[str, str]]) -> Stamp | str | None:
    """Read a message's stamp from its user properties: ``None`` if none, a reason if broken.

    Examples
    --------
    >>> parse_stamp([("gateway", "GW1"), ("epoch", "7"), ("seq", "42")])
    Stamp(gateway='GW1', epoch=7, seq=42)
    >>> parse_stamp([("gateway", "GW1"), ("seq", "x")])
    'user properties `gateway`, `epoch` and `seq` go together; `epoch` is missing'
    """
    found = {key: value for key, value in pairs if key in {"gateway", "epoch", "seq"}}
    if not found:
        return None
    for key in ("gateway", "epoch", "seq"):
        if key not in found:
            return f"user properties `gateway`, `epoch` and `seq` go together; `{key}` is missing"
    gateway = found["gateway"]
    if not 0 < len(gateway) <= 64 or not gateway.isprintable():  # noqa: PLR2004 - column width
        return "user property `gateway` must be 1-64 printable characters"
    numbers = []
    for key in ("epoch", "seq"):
        text = found[key]
        if not text.isdigit() or not 0 < int(text) < MAX_SEQ:
            return f"user property `{key}` must be a whole number from 1 to 2^53, got {text[:20]!r}"
        numbers.append(int(text))
    return Stamp(gateway, numbers[0], numbers[1])


@dataclass(frozen=True, slots=True)
class Gap:
    """A run of a source's messages that did not arrive, from ``first_seq`` to ``last_seq``."""

    gap_id: int
    gateway: str
    epoch: int
    first_seq: int
    last_seq: int
    missing: int
    filled_by_backfill: int
    filled_late: int
    detected_at_ms: int
    closed_at_ms: int | None
    waived_by: str | None = None
    waived_reason: str | None = None
    arrived_after_waiver: int = 0

    @property
    def size(self) -> int:
        """How many messages the gap held when it was found."""
        return self.last_seq - self.first_seq + 1


@dataclass
class Accounting:
    """What accounting one batch (or one sweep) did."""

    received: int = 0
    duplicates: int = 0
    filled: int = 0
    after_waiver: int = 0
    """Messages of waived gaps that arrived after all (in ``received``, not in ``filled``)."""
    opened: list[Gap] = field(default_factory=list)
    closed: list[Gap] = field(default_factory=list)

    @property
    def gateways(self) -> set[str]:
        """The sources whose gaps opened or closed."""
        return {gap.gateway for gap in self.opened + self.closed}


def account_messages(
    conn: Connection,
    stamps: Sequence[Stamp],
    *,
    now_ms: int,
    via: Via,
    grace_ms: int = GRACE_MS,
) -> Accounting:
    """Record the numbered messages of one batch; the caller commits with the readings.

    Call it before storing the readings: it locks the batch's sources first, in sorted order.
    """
    by_source: dict[tuple[str, int], list[int]] = defaultdict(list)
    for stamp in stamps:
        by_source[stamp.gateway, stamp.epoch].append(stamp.seq)
    account = Accounting()
    for gateway, epoch in sorted(by_source):
        seqs = by_source[gateway, epoch]
        unique = sorted(set(seqs))
        duplicates = len(seqs) - len(unique)
        source = _lock_source(conn, gateway, epoch, now_ms)
        through = int(source["accounted_through"])
        above = [s for s in unique if s > through]
        new_above = _insert_seqs(conn, gateway, epoch, above, now_ms)
        below = [s for s in unique if s <= through]
        filled, late_duplicates = _fill_gaps(conn, gateway, epoch, below, now_ms, via, account)
        after_waiver = _after_waiver(conn, gateway, epoch, below, now_ms)
        duplicates += len(above) - new_above + late_duplicates - after_waiver
        announced = (int(source["announced_seq"]), int(source["announced_at_ms"]))
        moved = _advance(conn, gateway, epoch, through, now_ms, grace_ms, account, announced)
        conn.execute(
            sa.update(TelemetrySourceRow)
            .where(TelemetrySourceRow.gateway == gateway, TelemetrySourceRow.epoch == epoch)
            .values(
                accounted_through=moved,
                highest_seq=max(int(source["highest_seq"]), unique[-1]),
                messages=TelemetrySourceRow.messages + new_above + filled + after_waiver,
                duplicates=TelemetrySourceRow.duplicates + duplicates,
                last_seen_ms=now_ms,
            )
        )
        account.received += new_above + filled + after_waiver
        account.duplicates += duplicates
        account.filled += filled
        account.after_waiver += after_waiver
    return account


def sweep_gaps(conn: Connection, *, now_ms: int, grace_ms: int = GRACE_MS) -> Accounting:
    """Put on record the holes that waited past the grace period, for every source.

    Sources another ingester holds are skipped (``SKIP LOCKED``): it is sweeping them.
    """
    source = TelemetrySourceRow
    query = (
        sa.select(source.gateway, source.epoch, source.accounted_through, source.announced_seq,
                  source.announced_at_ms)
        .where(sa.or_(source.highest_seq > source.accounted_through,
                      source.announced_seq > source.accounted_through))
        .order_by(source.gateway, source.epoch)
        .with_for_update(skip_locked=True)
    )  # fmt: skip
    account = Accounting()
    for gateway, epoch, through, announced_seq, announced_at in conn.execute(query).all():
        moved = _advance(
            conn, gateway, epoch, int(through), now_ms, grace_ms, account,
            (int(announced_seq), int(announced_at)),
        )  # fmt: skip
        if moved != through:
            conn.execute(
                sa.update(TelemetrySourceRow)
                .where(TelemetrySourceRow.gateway == gateway, TelemetrySourceRow.epoch == epoch)
                .values(accounted_through=moved)
            )
    return account


def announce(
    conn: Connection,
    stamp: Stamp,
    *,
    now_ms: int,
    grace_ms: int = GRACE_MS,
) -> Accounting:
    """Record a gateway's heartbeat: ``stamp.seq`` is the last number it sent.

    Numbers up to it that have not arrived once the grace period has passed since the
    heartbeat become a gap on record, as if that last message had arrived then. A later
    heartbeat with a lower number (a replayed request) changes nothing.
    """
    source = _lock_source(conn, stamp.gateway, stamp.epoch, now_ms)
    known = max(int(source["highest_seq"]), int(source["accounted_through"]))
    if stamp.seq > known + MAX_HEARTBEAT_JUMP:
        msg = (
            f"`last_seq`: {stamp.seq:,} is more than {MAX_HEARTBEAT_JUMP:,} beyond the last "
            f"number that arrived from {stamp.gateway!r} epoch {stamp.epoch} ({known:,})"
        )
        raise QueryError(msg, field="last_seq")
    announced = (int(source["announced_seq"]), int(source["announced_at_ms"]))
    if stamp.seq > announced[0]:
        announced = (stamp.seq, now_ms)
    account = Accounting()
    through = int(source["accounted_through"])
    moved = _advance(
        conn, stamp.gateway, stamp.epoch, through, now_ms, grace_ms, account, announced
    )
    conn.execute(
        sa.update(TelemetrySourceRow)
        .where(TelemetrySourceRow.gateway == stamp.gateway,
               TelemetrySourceRow.epoch == stamp.epoch)
        .values(accounted_through=moved, announced_seq=announced[0],
                announced_at_ms=announced[1])
    )  # fmt: skip
    return account


def _lock_source(conn: Connection, gateway: str, epoch: int, now_ms: int) -> sa.RowMapping:
    """Lock the source's row, creating it on first sight (numbering starts at 1)."""
    conn.execute(
        dialect_insert(conn, TelemetrySourceRow)
        .values(gateway=gateway, epoch=epoch, accounted_through=0, highest_seq=0, messages=0,
                duplicates=0, first_seen_ms=now_ms, last_seen_ms=now_ms, announced_seq=0,
                announced_at_ms=0)
        .on_conflict_do_nothing(index_elements=["gateway", "epoch"])
    )  # fmt: skip
    return (
        conn.execute(
            sa.select(
                TelemetrySourceRow.accounted_through,
                TelemetrySourceRow.highest_seq,
                TelemetrySourceRow.announced_seq,
                TelemetrySourceRow.announced_at_ms,
            )
            .where(TelemetrySourceRow.gateway == gateway, TelemetrySourceRow.epoch == epoch)
            .with_for_update()
        )
        .mappings()
        .one()
    )


def _insert_seqs(conn: Connection, gateway: str, epoch: int, seqs: list[int], now_ms: int) -> int:
    """Insert received numbers (those already there are skipped); return how many were new."""
    if not seqs:
        return 0
    stmt = (
        dialect_insert(conn, TelemetrySeqRow)
        .on_conflict_do_nothing(index_elements=["gateway", "epoch", "seq"])
        .returning(TelemetrySeqRow.seq)
    )
    rows = [{"gateway": gateway, "epoch": epoch, "seq": s, "received_at_ms": now_ms} for s in seqs]
    return len(conn.execute(stmt, rows).all())


def _fill_gaps(
    conn: Connection,
    gateway: str,
    epoch: int,
    seqs: list[int],
    now_ms: int,
    via: Via,
    account: Accounting,
) -> tuple[int, int]:
    """Numbers at or below the watermark: fill open gaps, the rest are duplicates.

    Returns ``(filled, duplicates)``; gaps that closed are added to ``account.closed``.
    """
    if not seqs:
        return 0, 0
    gaps = [
        _gap(row)
        for row in conn.execute(
            sa.select(TelemetryGapRow.__table__)
            .where(TelemetryGapRow.gateway == gateway, TelemetryGapRow.epoch == epoch)
            .where(TelemetryGapRow.closed_at_ms.is_(None))
            .where(TelemetryGapRow.first_seq <= seqs[-1], TelemetryGapRow.last_seq >= seqs[0])
            .order_by(TelemetryGapRow.first_seq)
        ).mappings()
    ]
    starts = [gap.first_seq for gap in gaps]
    inside: dict[int, list[int]] = defaultdict(list)
    for seq in seqs:
        at = bisect.bisect_right(starts, seq) - 1
        if at >= 0 and seq <= gaps[at].last_seq:
            inside[at].append(seq)
    filled = 0
    for at, members in inside.items():
        gap = gaps[at]
        new = _insert_seqs(conn, gateway, epoch, members, now_ms)
        if not new:
            continue
        filled += new
        missing = gap.missing - new
        # batches of two ingesters take their clocks before waiting for the source's lock
        closed_at = max(now_ms, gap.detected_at_ms) if missing == 0 else None
        column = "filled_by_backfill" if via == "backfill" else "filled_late"
        conn.execute(
            sa.update(TelemetryGapRow)
            .where(TelemetryGapRow.gap_id == gap.gap_id)
            .values({"missing": missing, "closed_at_ms": closed_at,
                     column: getattr(TelemetryGapRow, column) + new})
        )  # fmt: skip
        if closed_at is not None:
            conn.execute(
                sa.delete(TelemetrySeqRow).where(
                    TelemetrySeqRow.gateway == gateway, TelemetrySeqRow.epoch == epoch,
                    TelemetrySeqRow.seq.between(gap.first_seq, gap.last_seq),
                )
            )  # fmt: skip
            account.closed.append(_load_gap(conn, gap.gap_id))
    return filled, len(seqs) - filled


def _after_waiver(conn: Connection, gateway: str, epoch: int, seqs: list[int], now_ms: int) -> int:
    """Numbers of waived gaps that arrive after all: booked on their gap, each once.

    The numbers of a waived gap that had arrived stay on record, and so does each that
    arrives after, so a copy of any of them is a duplicate. Returns how many arrived for the
    first time (:func:`_fill_gaps` counted them among its duplicates: they lie in no open
    gap).
    """
    if not seqs:
        return 0
    gaps = conn.execute(
        sa.select(TelemetryGapRow.gap_id, TelemetryGapRow.first_seq, TelemetryGapRow.last_seq)
        .where(TelemetryGapRow.gateway == gateway, TelemetryGapRow.epoch == epoch)
        .where(TelemetryGapRow.waived_by.is_not(None))
        .where(TelemetryGapRow.first_seq <= seqs[-1], TelemetryGapRow.last_seq >= seqs[0])
        .order_by(TelemetryGapRow.first_seq)
    ).all()
    total = 0
    for gap_id, first, last in gaps:
        members = seqs[bisect.bisect_left(seqs, first) : bisect.bisect_right(seqs, last)]
        new = _insert_seqs(conn, gateway, epoch, members, now_ms)
        if new:
            conn.execute(
                sa.update(TelemetryGapRow)
                .where(TelemetryGapRow.gap_id == gap_id)
                .values(arrived_after_waiver=TelemetryGapRow.arrived_after_waiver + new)
            )
            total += new
    return total


def _advance(
    conn: Connection,
    gateway: str,
    epoch: int,
    through: int,
    now_ms: int,
    grace_ms: int,
    account: Accounting,
    announced: tuple[int, int] = (0, 0),
) -> int:
    """Move the watermark over received numbers and over holes older than the grace period.

    ``announced`` is the gateway's heartbeat ``(last number sent, when)``: it stands for a
    message received then, after every one that did arrive.
    """
    rows = conn.execute(
        sa.select(TelemetrySeqRow.seq, TelemetrySeqRow.received_at_ms)
        .where(TelemetrySeqRow.gateway == gateway, TelemetrySeqRow.epoch == epoch)
        .where(TelemetrySeqRow.seq > through)
        .order_by(TelemetrySeqRow.seq)
    ).all()
    # (number, when it arrived, whether it arrived): the heartbeat's number was sent, not
    # received, so a hole reaching it includes it
    marks = [(int(seq), int(at), True) for seq, at in rows]
    announced_seq, announced_at_ms = announced
    if announced_seq > (marks[-1][0] if marks else through):
        marks.append((announced_seq, announced_at_ms, False))
    moved = through
    for seq, received_at_ms, arrived in marks:
        last_missing = seq - 1 if arrived else seq
        if last_missing > moved:
            if received_at_ms > now_ms - grace_ms:
                break  # the hole may still fill by itself (another ingester, a redelivery)
            gap_id = conn.execute(
                sa.insert(TelemetryGapRow)
                .values(gateway=gateway, epoch=epoch, first_seq=moved + 1, last_seq=last_missing,
                        missing=last_missing - moved, filled_by_backfill=0, filled_late=0,
                        detected_at_ms=now_ms, closed_at_ms=None)
                .returning(TelemetryGapRow.gap_id)
            ).scalar_one()  # fmt: skip
            account.opened.append(_load_gap(conn, gap_id))
        moved = seq
    if moved != through:
        conn.execute(
            sa.delete(TelemetrySeqRow).where(
                TelemetrySeqRow.gateway == gateway, TelemetrySeqRow.epoch == epoch,
                TelemetrySeqRow.seq > through, TelemetrySeqRow.seq <= moved,
            )
        )  # fmt: skip
    return moved


def list_gaps(
    conn: Connection,
    *,
    gateway: str | None = None,
    epoch: int | None = None,
    state: Literal["open", "closed", "all"] = "open",
    limit: int = 100,
    offset: int = 0,
) -> list[Gap]:
    """Gaps on record, newest first (one source's, or all)."""
    query = sa.select(TelemetryGapRow.__table__).order_by(TelemetryGapRow.gap_id.desc())
    if gateway is not None:
        query = query.where(TelemetryGapRow.gateway == gateway)
    if epoch is not None:
        query = query.where(TelemetryGapRow.epoch == epoch)
    if state == "open":
        query = query.where(TelemetryGapRow.closed_at_ms.is_(None))
    elif state == "closed":
        query = query.where(TelemetryGapRow.closed_at_ms.is_not(None))
    return [_gap(row) for row in conn.execute(query.limit(limit).offset(offset)).mappings()]


def open_gap_totals(conn: Connection, gateways: Iterable[str]) -> dict[str, tuple[int, int]]:
    """Per source: how many gaps are open and how many messages they still miss."""
    rows = conn.execute(
        sa.select(TelemetryGapRow.gateway, sa.func.count(), sa.func.sum(TelemetryGapRow.missing))
        .where(TelemetryGapRow.gateway.in_(list(gateways)))
        .where(TelemetryGapRow.closed_at_ms.is_(None))
        .group_by(TelemetryGapRow.gateway)
    ).all()
    return {str(gateway): (int(count), int(missing)) for gateway, count, missing in rows}


def list_sources(conn: Connection, *, limit: int = 100, offset: int = 0) -> list[dict[str, Any]]:
    """Every numbered source's account with its open gaps, the most recently heard first."""
    gaps = (
        sa.select(
            TelemetryGapRow.gateway, TelemetryGapRow.epoch, sa.func.count().label("open_gaps"),
            sa.func.sum(TelemetryGapRow.missing).label("missing"),
        )
        .where(TelemetryGapRow.closed_at_ms.is_(None))
        .group_by(TelemetryGapRow.gateway, TelemetryGapRow.epoch)
        .subquery()
    )  # fmt: skip
    source = TelemetrySourceRow.__table__
    query = (
        sa.select(
            source,
            sa.func.coalesce(gaps.c.open_gaps, 0).label("open_gaps"),
            sa.func.coalesce(gaps.c.missing, 0).label("missing"),
        )
        .outerjoin(
            gaps, sa.and_(gaps.c.gateway == source.c.gateway, gaps.c.epoch == source.c.epoch)
        )
        .order_by(source.c.last_seen_ms.desc(), source.c.gateway, source.c.epoch)
        .limit(limit)
        .offset(offset)
    )
    return [dict(row) for row in conn.execute(query).mappings()]


def waive_gap(conn: Connection, gap_id: int, *, by: str, reason: str, now_ms: int) -> Gap:
    """Close an open gap as a known loss: who and why are kept, ``missing`` stays as it was.

    For what no backfill will bring (a gateway's buffer overwritten, a sensor swapped): the
    gap stops counting as open and its data-gap alarm can clear, and the record still says
    how many messages were lost. A message of the range that arrives later is stored like
    any reading and counted on the gap (``arrived_after_waiver``), a second copy of it as a
    duplicate; ``missing`` keeps what was lost when the gap was waived.

    Raises
    ------
    NotFoundError
        No gap with that id.
    ConflictError
        The gap is already closed (filled or waived).
    QueryError
        The reason is blank or longer than 500 characters.
    """
    text = reason.strip()
    if not text or len(text) > 500:  # noqa: PLR2004 - the column's width
        msg = "`reason`: say why the gap is a known loss (1-500 characters)"
        raise QueryError(msg, field="reason")
    row = conn.execute(
        sa.select(TelemetryGapRow.__table__).where(TelemetryGapRow.gap_id == gap_id)
    ).mappings().one_or_none()  # fmt: skip
    if row is None:
        msg = f"`gap_id`: no telemetry gap {gap_id}"
        raise NotFoundError(msg, field="gap_id")
    _lock_source(conn, row["gateway"], row["epoch"], now_ms)  # in step with fills and sweeps
    gap = _load_gap(conn, gap_id)
    if gap.closed_at_ms is not None:
        how = f"waived by {gap.waived_by}" if gap.waived_by else "filled"
        msg = f"telemetry gap {gap_id} is already closed ({how})"
        raise ConflictError(msg)
    conn.execute(
        sa.update(TelemetryGapRow)
        .where(TelemetryGapRow.gap_id == gap_id)
        .values(closed_at_ms=max(now_ms, gap.detected_at_ms), waived_by=by, waived_reason=text)
    )
    # the numbers of the gap that did arrive stay on record: a copy of one is a duplicate
    return _load_gap(conn, gap_id)


def _load_gap(conn: Connection, gap_id: int) -> Gap:
    query = sa.select(TelemetryGapRow.__table__).where(TelemetryGapRow.gap_id == gap_id)
    return _gap(conn.execute(query).mappings().one())


def _gap(row: sa.RowMapping) -> Gap:
    return Gap(**{name: row[name] for name in Gap.__dataclass_fields__})
