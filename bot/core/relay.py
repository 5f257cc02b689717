"""The outbox relay: carries out side effects (cards, replies, notices), retried until they succeed.

One worker per target (each desk, each source), so a platform that is down or rate-limited delays
only its own rows. Rows are taken by lane (a staff action's card update, then new cards that can be
answered, then read-only items). A row is leased (its attempt counted and committed) before the
platform is called, so after a crash the next attempt knows it may be a retry and reconciles first.

Waiting is scheduling, not failure: a card whose channel is paced is asked about before it is taken
(``Paces``) and moved to its slot, and a row told ``NotYet`` gets its attempt back; neither backs off
nor logs above DEBUG. A 429 with a hint waits exactly the hint (at least ``RATE_LIMIT_FLOOR``, at most
``RETRY_AFTER_CAP``), once, and gets its attempt back: the platform said for sure it did nothing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from contextlib import suppress
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from bot import metrics
from bot.backoff import Backoff, Reconnector
from bot.core.effects import PARK, Effects
from bot.crashpoints import crash_point
from bot.errors import NotYet, PermanentError, RateLimited, TransientError
from bot.platforms.capabilities import SourceAdapter, StaffDesk
from bot.store import outbox
from bot.store.faults import DB_ERRORS

if TYPE_CHECKING:
    from bot.store.outbox_tables import OutboxRow

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=120)
RATE_LIMIT_FLOOR = 1.0  # seconds: the least a 429 waits, whatever its hint
TIMER_SLACK = 0.002  # seconds added to a wait for a due row: a timer that fires early finds nothing due
GATHER = 0.1  # seconds between two passes that only moved rows to their slots (a burst arriving)
BATCH = 100  # due rows read at once: a burst is queued (and its digest counted) in few passes


class Relay:
    """Runs the outbox for the desks and sources of this process."""

    def __init__(
        self,
        service: Any,
        *,
        desks: Mapping[str, StaffDesk],
        sources: Mapping[str, SourceAdapter],
        policy: Backoff | None = None,
        poll_seconds: float = 1.0,
        retry_after_cap: float = 900.0,
    ) -> None:
        self.service = service
        self.db = service.db
        self.desks = dict(desks)
        self.sources = dict(sources)
        self.effects = Effects(service, desks=self.desks, sources=self.sources)
        self.policy = policy or Backoff(base=1.0, cap=300.0)
        self.poll_seconds = poll_seconds
        self.retry_after_cap = retry_after_cap
        self._events: dict[str, asyncio.Event] = {}
        self._stopping = False
        self._busy = 0
        self._idle = asyncio.Event()
        self._stranded: dict[int, datetime] = {}  # rows leased when the database went away -> lease end
        self._only_moved: set[str] = set()  # targets whose last pass only moved rows to their slots
        self._soonest: dict[str, datetime] = {}  # target -> the earliest time a row was moved to

    @property
    def clock(self) -> Callable[[], datetime]:
        """The service's clock."""
        return self.service.clock

    def wake(self, target: str) -> None:
        """New work for ``target``: skip the rest of its poll interval."""
        self._events.setdefault(target, asyncio.Event()).set()

    @property
    def targets(self) -> list[str]:
        """Every desk and source this process carries out work for, one worker each."""
        return sorted({*self.desks, *self.sources})

    async def run(self) -> None:
        """One worker per target, until cancelled."""
        async with asyncio.TaskGroup() as group:
            for target in self.targets:
                group.create_task(self.work(target), name=f"relay:{target}")

    async def work(self, target: str) -> None:
        """The worker for one target, until cancelled (the app's supervisor runs one per target)."""
        await self._worker(target)

    async def _worker(self, target: str) -> None:
        event = self._events.setdefault(target, asyncio.Event())
        outage = Reconnector(policy=Backoff(base=0.5, cap=30.0))
        while True:
            event.clear()
            try:
                await self._release_stranded()
                if await self.drain(target):
                    if target in self._only_moved:  # a burst is queueing: gather it, not a pass per row
                        await asyncio.sleep(GATHER)
                    continue
            except DB_ERRORS as exc:  # a database restart delays the outbox; it never stops the bot
                wait = outage.failed()
                log.warning(
                    "outbox %s: database unavailable (%s); next try in %.1fs",
                    target,
                    type(exc).__name__,
                    wait,
                )
                await asyncio.sleep(wait)
                continue
            outage.attempt = 0
            pause = await self._pause(target)
            with suppress(TimeoutError):
                async with asyncio.timeout(pause):
                    await event.wait()

    async def drain(self, target: str) -> int:
        """Process the rows for ``target`` that are due now; return how many were attempted or moved
        to their slot.

        Each row is leased just before its attempt, so a stop leaves at most one row leased.
        """
        async with self.db.transaction() as session:
            due = await outbox.due(session, target=target, now=self.clock(), limit=BATCH)
        waits = await self.effects.turns(due)
        if waits:  # their channel is busy: each goes to its slot, no lease, no attempt
            now = self.clock()
            async with self.db.transaction() as session:
                moved = {i: now + timedelta(seconds=w) for i, w in waits.items()}
                await outbox.defer(session, moved, now=now)
            self._moved(target, now + timedelta(seconds=min(waits.values())))
        attempted = len(waits)
        self._only_moved.add(target)
        for row in (r for r in due if r.id not in waits):
            if self._stopping:
                break
            now = self.clock()
            try:
                async with self.db.transaction() as session:
                    if not await outbox.lease(session, row.id, now=now, until=now + LEASE):
                        continue  # another worker took it
            except DB_ERRORS:
                self._stranded[row.id] = now + LEASE  # the lease may have committed
                raise
            crash_point("after_lease")
            self._busy += 1
            self._idle.clear()
            try:
                await self._attempt(row)
            except DB_ERRORS:
                self._stranded[row.id] = now + LEASE  # leased, and what happened is not recorded
                raise
            finally:
                self._busy -= 1
                if self._busy == 0:
                    self._idle.set()
            attempted += 1
            self._only_moved.discard(target)
        return attempted

    async def _pause(self, target: str) -> float:
        """Seconds to wait for new work: the poll interval, or less when a row comes due sooner (a card
        moved to its slot is posted on time, not at the next poll)."""
        if not self._soonest.pop(target, None):
            return self.poll_seconds  # nothing was moved: rows come due by backoff, the poll will do
        try:
            async with self.db.transaction() as session:
                soonest = await outbox.next_due(session, target=target, now=self.clock())
        except DB_ERRORS:  # the database went away: the next pass finds out and waits for it
            return self.poll_seconds
        if soonest is None:
            return self.poll_seconds
        wait = (soonest - self.clock()).total_seconds()
        if 0 < wait < self.poll_seconds:
            self._soonest[target] = soonest  # look again after this wait: the next slot follows
        return min(max(wait, 0.0) + TIMER_SLACK, self.poll_seconds)

    def _moved(self, target: str, when: datetime) -> None:
        if target not in self._soonest or when < self._soonest[target]:
            self._soonest[target] = when

    async def _release_stranded(self) -> None:
        """The database is back: rows leased when it went away are retried now, not after LEASE.

        Their next attempt counts as a retry, so the desk or source reconciles before posting again.
        """
        if not self._stranded:
            return
        async with self.db.transaction() as session:
            for row_id, until in sorted(self._stranded.items()):
                await outbox.release(session, row_id, until=until)
        self._stranded.clear()

    async def stop(self, within: float = 10.0) -> None:
        """Take no new rows; wait (up to ``within`` seconds) for attempts under way to finish."""
        self._stopping = True
        if self._busy:
            with suppress(TimeoutError):
                async with asyncio.timeout(within):
                    await self._idle.wait()

    async def _attempt(self, row: OutboxRow) -> None:
        try:
            await self._process(row)
        except asyncio.CancelledError:
            raise
        except NotYet as exc:
            await self._later(row, exc.retry_after or 0.0)
        except RateLimited as exc:
            metrics.ERRORS.labels(row.target, type(exc).__name__).inc()
            if exc.retry_after is None:  # no usable hint: our own backoff decides
                await self._retry(row, type(exc).__name__)
            else:  # exactly the hint, capped; a storm of "0" still waits a moment between tries
                wait = min(max(exc.retry_after, RATE_LIMIT_FLOOR), self.retry_after_cap)
                log.info("outbox row %s: %s rate-limited it; next try in %.1fs", row.id, row.target, wait)
                await self._later(row, wait)
        except TransientError as exc:
            metrics.ERRORS.labels(row.target, type(exc).__name__).inc()
            await self._retry(row, f"{type(exc).__name__}", retry_after=exc.retry_after)
        except PermanentError as exc:
            metrics.ERRORS.labels(row.target, type(exc).__name__).inc()
            await self._permanent(row, exc)
        except Exception as exc:
            metrics.ERRORS.labels(row.target, "unexpected").inc()
            log.error(
                "outbox row %s (%s for %s) failed: %s", row.id, row.kind, row.target, type(exc).__name__
            )
            await self._retry(row, type(exc).__name__)

    async def _retry(self, row: OutboxRow, error: str, *, retry_after: float | None = None) -> None:
        wait = self.policy.delay(row.attempts, retry_after=retry_after)
        log.info("outbox row %s: %s; next attempt in %.1fs", row.id, error, wait)
        async with self.db.transaction() as session:
            await outbox.reschedule(
                session, row.id, when=self.clock() + timedelta(seconds=wait), error=error, failed=False
            )

    async def _later(self, row: OutboxRow, wait: float) -> None:
        """Not a failure: run the row again in ``wait`` seconds, with its attempt given back."""
        log.debug("outbox row %s waits %.1fs for its turn", row.id, wait)
        when = self.clock() + timedelta(seconds=wait)
        async with self.db.transaction() as session:
            await outbox.defer(session, {row.id: when}, now=self.clock(), leased=True)
        self._moved(row.target, when)

    async def _process(self, row: OutboxRow) -> None:
        await self.effects.carry_out(row)

    async def _finish(self, row: OutboxRow) -> None:
        async with self.db.transaction() as session:
            await outbox.finish(session, row.id, version=row.version)

    async def _permanent(self, row: OutboxRow, exc: PermanentError) -> None:
        error = type(exc).__name__
        if row.kind == "send_ack":  # an acknowledgement the platform refuses is not worth a retry
            log.info(
                "auto-acknowledgement for mention %s refused by %s (%s)", row.mention_id, row.target, error
            )
            await self._finish(row)
            return
        if row.kind != "send_reply":
            # A desk refusing a card is almost always configuration (channel, scopes): keep it and retry
            # slowly so it goes out once the admin fixes it; never drop a card.
            log.error("outbox row %s: %s refused %s (%s); will retry", row.id, row.target, row.kind, error)
            await self._retry(row, error, retry_after=PARK)
            return
        log.warning("reply for mention %s refused by %s (%s)", row.mention_id, row.target, error)
        await self.service.reply_failed(row, reason=str(exc)[:200] or error)
