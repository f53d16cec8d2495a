"""The server's group commit of supports: concurrent requests written in one transaction.

Each request thread hands its support to the :class:`SupportCollector` and waits. One writer
thread per process takes everything that is waiting, in arrival order, and writes it: the
supports in a row with :func:`~shancheng.ideas.batch.support_many` (one transaction), a
withdrawal on its own, after the supports that arrived before it and before those that arrived
after it, so one person's support and withdrawal keep their order. While the writer commits a
batch, the next one gathers: no request waits for a timer, and under load the batches grow.

Each request gets back exactly what :func:`~shancheng.ideas.supports.support` or
:func:`~shancheng.ideas.supports.withdraw` would have given it (its result, or its own error);
an error of the database fails the requests of the batch it hit.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from concurrent.futures import Future
from dataclasses import dataclass
from typing import TYPE_CHECKING

from shancheng.ideas.batch import Outcome, SupportRequest, support_many
from shancheng.ideas.supports import SupportResult, withdraw

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sqlalchemy.orm import Session, sessionmaker

    from shancheng.cases.center import Center
    from shancheng.ideas.verification import Verifier

logger = logging.getLogger(__name__)
MAX_BATCH = 500
"""At most this many requests are written in one transaction."""


@dataclass(frozen=True, slots=True)
class _Job:
    request: SupportRequest
    center: Center
    withdraw: bool
    answer: Future[SupportResult]


class SupportCollector:
    """Gather concurrent supports and withdrawals and write them in few transactions.

    Parameters
    ----------
    sessions
        The session factory of the writer thread.
    verifier
        Who counts as a verified resident.
    max_batch
        At most this many requests per transaction.
    """

    def __init__(
        self, sessions: sessionmaker[Session], verifier: Verifier, *, max_batch: int = MAX_BATCH
    ) -> None:
        self._sessions = sessions
        self._verifier = verifier
        self._max_batch = max_batch
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._writer: threading.Thread | None = None
        self._start = threading.Lock()
        self._closed = False

    def support(self, center: Center, request: SupportRequest) -> SupportResult:
        """Support an idea (as :func:`~shancheng.ideas.supports.support`); wait for the commit."""
        return self._submit(center, request, withdraw=False).result()

    def withdraw(self, center: Center, request: SupportRequest) -> SupportResult:
        """Withdraw a support (as :func:`~shancheng.ideas.supports.withdraw`), in arrival order."""
        return self._submit(center, request, withdraw=True).result()

    async def support_async(self, center: Center, request: SupportRequest) -> SupportResult:
        """:meth:`support` for the event loop: no worker thread waits for the commit."""
        return await asyncio.wrap_future(self._submit(center, request, withdraw=False))

    async def withdraw_async(self, center: Center, request: SupportRequest) -> SupportResult:
        """:meth:`withdraw` for the event loop."""
        return await asyncio.wrap_future(self._submit(center, request, withdraw=True))

    def close(self) -> None:
        """Write what is waiting, then stop the writer thread (new requests are refused)."""
        with self._start:
            self._closed = True
            writer = self._writer
        if writer is not None:
            self._jobs.put(None)
            writer.join()

    def _submit(
        self, center: Center, request: SupportRequest, *, withdraw: bool
    ) -> Future[SupportResult]:
        job = _Job(request, center, withdraw=withdraw, answer=Future())
        with self._start:
            if self._closed:
                msg = "the support collector is closed (the server is shutting down)"
                raise RuntimeError(msg)
            if self._writer is None:
                self._writer = threading.Thread(
                    target=self._run, name="ideas-support-writer", daemon=True
                )
                self._writer.start()
            self._jobs.put(job)
        return job.answer

    def _run(self) -> None:
        while True:
            first = self._jobs.get()
            if first is None:
                return
            jobs = [first]
            stop = False
            while len(jobs) < self._max_batch:
                try:
                    nxt = self._jobs.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    stop = True
                    break
                jobs.append(nxt)
            self._write(jobs)
            if stop:
                return

    def _write(self, jobs: list[_Job]) -> None:
        """Write ``jobs`` in order: runs of supports as one batch, each withdrawal alone."""
        run: list[_Job] = []
        for job in jobs:
            if job.withdraw:
                self._answer(run, self._supports(run))
                run = []
                self._answer([job], self._withdrawal(job))
            else:
                run.append(job)
        self._answer(run, self._supports(run))

    def _supports(self, run: Sequence[_Job]) -> list[Outcome] | BaseException:
        if not run:
            return []
        try:
            with self._sessions() as session:
                return support_many(
                    session, run[-1].center, [j.request for j in run], verifier=self._verifier
                )
        except Exception as exc:  # handed to every request of the batch
            logger.exception("a batch of %d supports failed", len(run))
            return exc

    def _withdrawal(self, job: _Job) -> list[Outcome] | BaseException:
        r = job.request
        try:
            with self._sessions() as session:
                return [withdraw(session, r.idea_id, actor=r.actor, at=r.at)]
        except Exception as exc:  # noqa: BLE001 - handed to the request
            return exc

    @staticmethod
    def _answer(run: Sequence[_Job], outcomes: list[Outcome] | BaseException) -> None:
        for k, job in enumerate(run):
            got = outcomes if isinstance(outcomes, BaseException) else outcomes[k]
            if isinstance(got, BaseException):
                job.answer.set_exception(got)
            else:
                job.answer.set_result(got)
