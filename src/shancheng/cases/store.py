"""Where intake writes a planned case: one interface, an adapter per way of reaching the database.

The service (:mod:`~shancheng.cases.service`) plans a report (:func:`~shancheng.cases.intake.plan`),
asks a store for the open case it repeats, links it, and has the store write it. Two
interfaces carry the same two operations, one for code holding a session (the CLI, the REST
endpoints, sensor cases), one for the event loop (Open311 intake under load):

- :class:`SessionCaseStore`: the ORM, in the caller's transaction (any database);
- :class:`ThreadedCaseStore`: the same, each call in a worker thread with its own session and
  commit (any database; the embedded SQLite);
- :class:`~shancheng.cases.async_store.PostgresCaseStore`: psycopg's asynchronous pool and one
  statement per case with group commit (PostgreSQL).

All of them write the table's own columns (:mod:`~shancheng.cases.draft`) and find duplicates
with the one query of :mod:`~shancheng.cases.duplicates`; a test stores the same planned cases
through each and compares the rows.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from shancheng.cases import repository
from shancheng.cases.draft import draft_row

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy.orm import Session, sessionmaker

    from shancheng.cases.draft import CaseDraft
    from shancheng.cases.duplicates import DuplicateSearch, Nearby
    from shancheng.cases.intake import PlannedCase
    from shancheng.store.cases_tables import CaseRow

__all__ = [
    "AsyncCaseStore",
    "CaseStore",
    "SessionCaseStore",
    "Stored",
    "StoredRequest",
    "ThreadedCaseStore",
]


@dataclass(frozen=True, slots=True)
class Stored:
    """A stored report: its case, and the open case it was linked to if a duplicate."""

    case_id: int
    reference: str
    linked_to: int | None = None
    linked_reference: str | None = None


@dataclass(frozen=True, slots=True)
class StoredRequest:
    """A case read back by reference, with what its Open311 record shows besides its row."""

    case: CaseRow | CaseDraft
    parent_reference: str | None
    photo_sha256: str | None
    media_url: str | None


class CaseStore(Protocol):
    """Find duplicates and write planned cases inside the caller's transaction."""

    def find_duplicate(self, search: DuplicateSearch) -> Nearby | None:
        """Return the open case ``search`` finds, if any."""
        ...

    def insert(self, planned: PlannedCase, *, at: datetime) -> CaseRow:
        """Write ``planned`` (case, events, photos, the duplicate count); return its row."""
        ...


class AsyncCaseStore(Protocol):
    """Find duplicates, write planned cases (committed on return) and read them back."""

    async def find_duplicate(self, search: DuplicateSearch) -> Nearby | None:
        """Return the open case ``search`` finds, if any."""
        ...

    async def insert(self, planned: PlannedCase, *, at: datetime) -> Stored:
        """Write ``planned``, committed when this returns."""
        ...

    async def by_reference(self, reference: str) -> StoredRequest | None:
        """Return the case with this public reference, or ``None``."""
        ...

    async def close(self) -> None:
        """Release connections (the application's shutdown)."""
        ...


class SessionCaseStore:
    """The ORM adapter: reads and writes through ``session``; the caller commits."""

    def __init__(self, session: Session) -> None:
        """Use ``session`` (its transaction, its commit)."""
        self.session = session

    def find_duplicate(self, search: DuplicateSearch) -> Nearby | None:
        """Run the duplicate query in the session."""
        return repository.find_duplicate(self.session, search)

    def insert(self, planned: PlannedCase, *, at: datetime) -> CaseRow:
        """Add the case, its events, photos and links; count it on the case it repeats."""
        session = self.session
        row = draft_row(planned.row)
        session.add(row)
        session.flush()
        planned.row.id = row.id
        for seq, event in enumerate(planned.events, start=1):
            repository.append_event(session, row.id, event, seq=seq)
        for photo, mime in planned.photos:
            digest = repository.put_blob(session, photo.content, mime, at=at)
            repository.attach(session, row.id, at=at, event_seq=1, blob_sha256=digest)
        for url in planned.urls:
            repository.attach(session, row.id, at=at, event_seq=1, data={"media_url": url})
        if planned.master is not None:
            repository.count_duplicate(session, planned.master.id)
        return row

    def by_reference(self, reference: str) -> StoredRequest | None:
        """Return the case with this public reference, with its parent and first photo."""
        row = repository.find_by_reference(self.session, reference)
        if row is None:
            return None
        photos = repository.first_photos(self.session, [row.id])
        parents = repository.references_of(self.session, [row.parent_id] if row.parent_id else [])
        sha, url = photos.get(row.id, (None, None))
        return StoredRequest(row, parents.get(row.parent_id or 0), sha, url)


class ThreadedCaseStore:
    """The ORM adapter for the event loop: each call in a worker thread, with its own session.

    For databases without an asynchronous store (SQLite). A write commits before it returns.
    """

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        """Open sessions from ``sessions``."""
        self.sessions = sessions

    async def find_duplicate(self, search: DuplicateSearch) -> Nearby | None:
        """Run the duplicate query in a worker thread."""
        return await asyncio.to_thread(self._find, search)

    async def insert(self, planned: PlannedCase, *, at: datetime) -> Stored:
        """Write and commit ``planned`` in a worker thread."""
        return await asyncio.to_thread(self._insert, planned, at)

    async def by_reference(self, reference: str) -> StoredRequest | None:
        """Read the case back in a worker thread."""
        return await asyncio.to_thread(self._by_reference, reference)

    async def close(self) -> None:
        """Nothing to release: sessions are closed after each call."""

    def _find(self, search: DuplicateSearch) -> Nearby | None:
        with self.sessions() as session:
            return SessionCaseStore(session).find_duplicate(search)

    def _insert(self, planned: PlannedCase, at: datetime) -> Stored:
        with self.sessions() as session:
            try:
                row = SessionCaseStore(session).insert(planned, at=at)
                session.commit()
            except BaseException:
                session.rollback()
                raise
            master = planned.master
            return Stored(
                row.id,
                str(row.reference),
                master.id if master else None,
                master.reference if master else None,
            )

    def _by_reference(self, reference: str) -> StoredRequest | None:
        with self.sessions() as session:
            return SessionCaseStore(session).by_reference(reference)
