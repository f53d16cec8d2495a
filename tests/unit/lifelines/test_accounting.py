"""Message accounting: hand-worked sequences, a model check, and two ingesters on PostgreSQL."""

from __future__ import annotations

import random
import threading

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shancheng.lifelines.accounting import (
    Stamp,
    account_messages,
    list_gaps,
    list_sources,
    open_gap_totals,
    parse_stamp,
    sweep_gaps,
)
from shancheng.store import create_db_engine

GRACE = 5_000
T0 = 1_800_000_000_000


def _stamps(seqs, gateway="GW1", epoch=1):
    return [Stamp(gateway, epoch, s) for s in seqs]


def _book(engine, seqs, now, *, via="mqtt", gateway="GW1", epoch=1):
    with engine.begin() as conn:
        return account_messages(
            conn, _stamps(seqs, gateway, epoch), now_ms=now, via=via, grace_ms=GRACE
        )


def _sweep(engine, now):
    with engine.begin() as conn:
        return sweep_gaps(conn, now_ms=now, grace_ms=GRACE)


def _source(engine, gateway="GW1"):
    with engine.connect() as conn:
        (row,) = [r for r in list_sources(conn) if r["gateway"] == gateway]
        pending = conn.execute(sa.text("select count(*) from lifelines_telemetry_seqs")).scalar()
    return row, pending


def _clear(engine):
    with engine.begin() as conn:
        for table in ("sources", "seqs", "gaps"):
            conn.execute(sa.text(f"delete from lifelines_telemetry_{table}"))


@pytest.fixture
def engine(db_url):
    engine = create_db_engine(db_url)
    _clear(engine)
    yield engine
    engine.dispose()


def test_messages_in_order_leave_nothing_pending(engine):
    account = _book(engine, [1, 2, 3], T0)
    account2 = _book(engine, [4, 5], T0 + 10)
    assert (account.received, account2.received, account.duplicates) == (3, 2, 0)
    row, pending = _source(engine)
    assert (row["accounted_through"], row["highest_seq"], row["messages"]) == (5, 5, 5)
    assert pending == 0  # nothing waits: every number is under the watermark


def test_a_hole_waits_for_the_grace_period_then_is_on_record(engine):
    _book(engine, [1, 2, 5, 6], T0)
    row, pending = _source(engine)
    assert (row["accounted_through"], pending) == (2, 2)  # 5 and 6 wait above the hole
    assert _sweep(engine, T0 + GRACE - 1).opened == []  # too early: may still arrive
    opened = _sweep(engine, T0 + GRACE).opened
    assert [(g.first_seq, g.last_seq, g.missing) for g in opened] == [(3, 4, 2)]
    row, pending = _source(engine)
    assert (row["accounted_through"], pending) == (6, 0)


def test_a_late_message_inside_the_grace_period_is_no_gap(engine):
    _book(engine, [1, 3], T0)
    _book(engine, [2], T0 + 1_000)  # another ingester's share, a moment later
    assert _sweep(engine, T0 + 60_000).opened == []
    row, pending = _source(engine)
    assert (row["accounted_through"], row["messages"], pending) == (3, 3, 0)


def test_backfill_closes_the_gap_and_duplicates_are_counted(engine):
    _book(engine, [1, 2, 3], T0)
    account = _book(engine, [7, 8], T0 + GRACE + 1)
    _book(engine, [9], T0 + 2 * GRACE + 2)  # the next batch sees the waiting hole: on record
    with engine.connect() as conn:
        (gap,) = list_gaps(conn)
        assert open_gap_totals(conn, ["GW1"]) == {"GW1": (1, 3)}
    assert (gap.first_seq, gap.last_seq, gap.missing, account.opened) == (4, 6, 3, [])
    part = _book(engine, [4, 6], T0 + 20_000, via="backfill")
    assert (part.filled, part.closed) == (2, [])
    rest = _book(engine, [5, 5, 2], T0 + 21_000, via="mqtt")  # one fill, two duplicates
    assert (rest.filled, rest.duplicates) == (1, 2)
    (closed,) = rest.closed
    assert (closed.missing, closed.filled_by_backfill, closed.filled_late) == (0, 2, 1)
    assert closed.closed_at_ms == T0 + 21_000
    again = _book(engine, [4], T0 + 22_000, via="backfill")
    assert (again.filled, again.duplicates) == (0, 1)
    row, pending = _source(engine)
    assert (row["messages"], row["duplicates"], pending) == (9, 3, 0)
    with engine.connect() as conn:
        assert open_gap_totals(conn, ["GW1"]) == {}


def test_epochs_and_gateways_are_separate_sources(engine):
    _book(engine, [1, 2], T0)
    _book(engine, [1], T0, epoch=2)  # the gateway restarted and counts from 1 again
    _book(engine, [1, 2, 3], T0, gateway="GW2")
    with engine.connect() as conn:
        sources = {(r["gateway"], r["epoch"]): r["messages"] for r in list_sources(conn)}
    assert sources == {("GW1", 1): 2, ("GW1", 2): 1, ("GW2", 1): 3}


def test_stamps_from_user_properties():
    assert parse_stamp([("other", "x")]) is None
    assert parse_stamp([("gateway", "G"), ("epoch", "1"), ("seq", "0")]) == (
        "user property `seq` must be a whole number from 1 to 2^53, got '0'"
    )
    assert "`epoch` must be a whole number" in parse_stamp(
        [("gateway", "G"), ("epoch", "-3"), ("seq", "1")]
    )
    assert parse_stamp([("gateway", ""), ("epoch", "1"), ("seq", "1")]) == (
        "user property `gateway` must be 1-64 printable characters"
    )


@st.composite
def _deliveries(draw):
    """A gateway's 1..n, with drops, duplicates, reordering, batches and clock steps."""
    n = draw(st.integers(1, 60))
    dropped = draw(st.sets(st.integers(1, n), max_size=n // 2))
    copies = draw(st.lists(st.integers(1, n), max_size=10))
    sent = [s for s in range(1, n + 1) if s not in dropped] + [
        c for c in copies if c not in dropped
    ]
    order = draw(st.permutations(sent))
    cuts = sorted(draw(st.lists(st.integers(0, len(order)), max_size=6)))
    batches = [order[a:b] for a, b in zip([0, *cuts], [*cuts, len(order)], strict=True)]
    steps = draw(st.lists(st.integers(0, 2 * GRACE), min_size=len(batches), max_size=len(batches)))
    return n, dropped, copies, batches, steps


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(case=_deliveries())
def test_the_account_matches_a_model_of_what_was_sent(sqlite_url, case):
    """Gaps on record are exactly the dropped numbers below the highest received, duplicates
    exactly the extra copies; backfilling the dropped numbers closes every gap."""
    n, dropped, copies, batches, steps = case
    engine = create_db_engine(sqlite_url)
    _clear(engine)
    now = T0
    for batch, step in zip(batches, steps, strict=True):
        now += step
        if batch:
            _book(engine, batch, now)
    now += GRACE + 1
    _sweep(engine, now)
    received = set(range(1, n + 1)) - dropped
    with engine.connect() as conn:
        gaps = list_gaps(conn)
    lost = {s for s in dropped if s < max(received, default=0)}
    on_record = {s for g in gaps for s in range(g.first_seq, g.last_seq + 1)}
    assert lost <= on_record  # every lost number lies in a gap on record ...
    assert sum(g.missing for g in gaps) == len(lost)  # ... and only those are missing
    if received:
        row, pending = _source(engine)
        filled_in_open_gaps = sum(g.size - g.missing for g in gaps)
        assert (row["messages"], row["accounted_through"], pending) == (
            len(received),
            max(received),
            filled_in_open_gaps,
        )
        assert row["duplicates"] == sum(1 for c in copies if c not in dropped)
    if lost:
        account = _book(engine, sorted(on_record), now + 1, via="backfill")
        assert (account.filled, account.duplicates) == (len(lost), len(on_record - lost))
        assert len(account.closed) == len(gaps)
        with engine.connect() as conn:
            assert list_gaps(conn) == []
    engine.dispose()


@pytest.mark.services
def test_two_ingesters_sharing_a_source_on_postgresql(postgres_url):
    """Two writers take alternate shares of one gateway's messages: no false gap, exact counts."""
    engine = create_db_engine(postgres_url)
    _clear(engine)
    n = 4_000
    order = list(range(1, n + 1))
    shares = [order[0::2], order[1::2]]
    rng = random.Random(7)
    errors = []

    def writer(share):
        try:
            for start in range(0, len(share), 50):
                batch = share[start : start + 50]
                rng.shuffle(batch)
                _book(engine, batch + batch[:3], T0 + start)  # redelivery: three duplicates
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(share,)) for share in shares]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    _sweep(engine, T0 + 10 * GRACE)
    row, pending = _source(engine)
    batches = sum(len(range(0, len(s), 50)) for s in shares)
    assert (row["messages"], row["accounted_through"], pending) == (n, n, 0)
    assert row["duplicates"] == 3 * batches
    with engine.connect() as conn:
        assert list_gaps(conn, state="all") == []
    engine.dispose()


def test_a_heartbeat_puts_a_loss_at_the_end_of_the_stream_on_record(engine):
    from shancheng.lifelines.accounting import announce

    _book(engine, [1, 2, 3], T0)  # 4-6 were sent and lost; nothing follows them
    with engine.begin() as conn:
        assert announce(conn, Stamp("GW1", 1, 6), now_ms=T0 + 10, grace_ms=GRACE).opened == []
    assert _sweep(engine, T0 + GRACE).opened == []  # 5 s after the heartbeat: not yet
    (gap,) = _sweep(engine, T0 + 10 + GRACE).opened
    assert (gap.first_seq, gap.last_seq, gap.missing) == (4, 6, 3)  # the announced one included
    row, pending = _source(engine)
    assert (row["accounted_through"], row["announced_seq"], pending) == (6, 6, 0)
    with engine.begin() as conn:  # a replayed, older heartbeat changes nothing
        assert announce(conn, Stamp("GW1", 1, 2), now_ms=T0 + 99_000, grace_ms=GRACE).opened == []
    late = _book(engine, [6, 7], T0 + 100_000)  # the last one turns up after all; then more
    assert (late.filled, late.received, late.opened) == (1, 2, [])
    row, _ = _source(engine)
    assert row["accounted_through"] == 7


def test_a_heartbeat_for_messages_that_did_arrive_opens_nothing(engine):
    from shancheng.lifelines.accounting import announce

    _book(engine, [1, 2, 3], T0)
    with engine.begin() as conn:
        announce(conn, Stamp("GW1", 1, 3), now_ms=T0, grace_ms=GRACE)
    assert _sweep(engine, T0 + 60_000).opened == []
    _book(engine, [4], T0 + 61_000)
    assert _source(engine)[0]["accounted_through"] == 4


def test_messages_of_a_waived_gap_that_arrive_after_all_are_counted_once(engine):
    """A waived gap keeps what was lost; what comes after all is booked on it, not as a duplicate."""
    from shancheng.lifelines.accounting import waive_gap

    _book(engine, [1, 2, 3], T0)
    _book(engine, [8], T0 + 1)
    _book(engine, [9], T0 + GRACE + 2)  # the hole 4..7 goes on record
    _book(engine, [5], T0 + GRACE + 3, via="backfill")  # one number filled before the waiver
    with engine.begin() as conn:
        (gap,) = list_gaps(conn)
        waived = waive_gap(conn, gap.gap_id, by="sup", reason="buffer overwritten", now_ms=T0 + 9)
    assert (waived.missing, waived.arrived_after_waiver) == (3, 0)
    late = _book(engine, [4, 6, 6, 5, 2], T0 + 20_000)  # 4 and 6 new; 6 twice, 5 and 2 seen
    assert (late.received, late.after_waiver, late.filled, late.duplicates) == (2, 2, 0, 3)
    again = _book(engine, [4, 7], T0 + 21_000)
    assert (again.after_waiver, again.duplicates) == (1, 1)
    with engine.connect() as conn:
        (closed,) = list_gaps(conn, state="closed")
        assert open_gap_totals(conn, ["GW1"]) == {}  # stays closed
    assert (closed.missing, closed.arrived_after_waiver, closed.waived_by) == (3, 3, "sup")
    row, _ = _source(engine)
    assert (row["messages"], row["duplicates"]) == (9, 4)  # every number once; 4 copies
