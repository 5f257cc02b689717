"""Storm machinery: a gate that serves 429 storms and keeps the books, a clock tests can move forward.

A ``Gate`` stands in front of one platform's endpoint (in a loopback server or proxy). It answers
429 to the requests a test plans (``storm``), to every request during a ``blackout``, and to any
request over the platform's published limit, and it records every request: when it came, on which
lane (a Slack channel, a route), whether it came before the Retry-After it was given had run out
("early"), or over the limit. Those books are the figures the storm tests assert and print.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

from sqlalchemy import select

from bot.backoff import MAX_RETRY_AFTER
from bot.store.db import Database
from bot.store.outbox_tables import OutboxRow

TOLERANCE = 0.1  # seconds: timer granularity between the client's wait and the gate's clock
KINDS = ("0", "1", "30", "date", "garbage", "-5", "huge")  # the Retry-After values of a storm
SHORT = ("0", "1", "date", "garbage", "-5")  # honoured in real time by the end-to-end storms
LONG = ("30", "huge")
PASS = "pass"  # in a storm plan: let this request through


@dataclass(frozen=True, slots=True)
class Wait:
    """One 429 answer: what the server says, and the least a well-behaved client waits."""

    kind: str
    header: str | None  # the Retry-After header ("" or None: none sent)
    millis: Any  # Matrix's retry_after_ms (None: left out of the body)
    expected: float  # seconds before which a request on this lane counts as early


def wait_for_kind(kind: str, *, wall: datetime) -> Wait:
    """The 429 for one storm value. An HTTP date is set 2 s ahead of the wall clock, in whole seconds."""
    if kind == "date":
        when = (wall + timedelta(seconds=2)).replace(microsecond=0)
        return Wait(kind, format_datetime(when, usegmt=True), None, (when - wall).total_seconds())
    if kind == "garbage":
        return Wait(kind, "soon-ish", "soon-ish", 0.0)  # no usable hint: the client's own backoff
    if kind == "huge":
        return Wait(kind, "1000000000", 10**12, MAX_RETRY_AFTER)  # 10^9 s: honoured up to the cap
    seconds = float(kind)
    return Wait(kind, kind, int(seconds * 1000), min(max(seconds, 0.0), MAX_RETRY_AFTER))


@dataclass(slots=True)
class Request:
    """One request the gate saw."""

    at: float
    lane: str
    limited: Wait | None  # the 429 it got, if any
    early: bool  # came before the Retry-After of an earlier 429 on its lane ran out
    over: bool  # came with the lane's window already full
    real: float  # time.monotonic() when it came (the gate's clock may be skewed)


@dataclass
class Gate:
    """A rate limit of ``limit`` requests per ``window`` seconds per lane, and 429 storms on demand.

    Args:
        name: the platform, for the report.
        limit, window: the platform's published rate (scaled down for tests); limit 0: none.
        clock: monotonic seconds (a ``SkewClock`` when the test moves time forward).
        wall: the wall clock HTTP dates are written against.
    """

    name: str
    limit: int
    window: float
    clock: Callable[[], float] = time.monotonic
    wall: Callable[[], datetime] = lambda: datetime.now(UTC)
    requests: list[Request] = field(default_factory=list)
    plan: deque[str] = field(default_factory=deque)
    blackout_kind: str = ""
    blackout_until: float = -math.inf
    quiet_until: dict[str, float] = field(default_factory=dict)
    served: set[str] = field(default_factory=set)
    strict: bool = True  # refuse early requests (False: only book them)

    def storm(self, *kinds: str) -> None:
        """Answer the next requests (one per kind, in order) with 429 and these Retry-After values
        (``PASS``: let that one through)."""
        self.plan.extend(kinds)

    def blackout(self, kind: str, seconds: float) -> None:
        """Answer every request with 429 (Retry-After ``kind``) for ``seconds`` from now."""
        self.blackout_kind, self.blackout_until = kind, self.clock() + seconds

    def check(self, lane: str = "") -> Wait | None:
        """Book one request; the 429 to answer with, or None to let it through."""
        now = self.clock()
        early = now < self.quiet_until.get(lane, -math.inf) - TOLERANCE
        in_window = [r for r in self.requests if r.lane == lane and r.at > now - self.window]
        over = 0 < self.limit <= len(in_window)
        wait: Wait | None = None
        if early and self.strict:  # a real server refuses it again, saying how long is left
            left = math.ceil(self.quiet_until[lane] - now)
            wait = Wait("early", str(left), left * 1000, float(left))
        elif self.plan:
            kind = self.plan.popleft()
            wait = None if kind == PASS else wait_for_kind(kind, wall=self.wall())
        elif now < self.blackout_until:
            wait = wait_for_kind(self.blackout_kind, wall=self.wall())
        elif over:
            left = math.ceil(in_window[0].at + self.window - now)
            wait = Wait("over", str(left), left * 1000, float(left))
        self.requests.append(Request(now, lane, wait, early, over, time.monotonic()))
        if wait is not None:
            self.served.add(wait.kind)
            self.quiet_until[lane] = max(self.quiet_until.get(lane, -math.inf), now + wait.expected)
        return wait

    # --- the books --------------------------------------------------------------------------

    def reset(self) -> None:
        """New books (a new phase); a restarted bot also starts with the platform's window passed."""
        self.requests.clear()
        self.served.clear()
        self.quiet_until.clear()

    @property
    def limited(self) -> list[Request]:
        """Requests answered 429."""
        return [r for r in self.requests if r.limited is not None]

    @property
    def early(self) -> int:
        """Requests that ignored a Retry-After."""
        return sum(r.early for r in self.requests)

    @property
    def over(self) -> int:
        """Requests over the published limit."""
        return sum(r.over for r in self.requests)

    def max_in_window(self) -> int:
        """The most requests any lane saw within one ``window`` (a sliding window)."""
        best = 0
        for lane in {r.lane for r in self.requests}:
            times = sorted(r.at for r in self.requests if r.lane == lane)
            start = 0
            for end, at in enumerate(times):
                while times[start] <= at - self.window:
                    start += 1
                best = max(best, end - start + 1)
        return best

    def clear_at(self) -> float:
        """When the platform's last requested wait ended (the gate's clock): from then on it was clear."""
        found = self.limited
        if not found:
            return -math.inf
        return max(found[-1].at, *self.quiet_until.values())

    def headers(self, wait: Wait) -> dict[str, str]:
        """The HTTP headers of a 429."""
        return {"Retry-After": wait.header} if wait.header else {}


class SkewClock:
    """Real time plus an offset the test can push forward, so a 30 s or 15 min wait passes at once.

    Only code that takes its time from this clock (the app's outbox, a desk's pacer, the gate) sees
    the jump; ``asyncio`` timers keep real time.
    """

    def __init__(self) -> None:
        self.offset = 0.0

    def monotonic(self) -> float:
        """Monotonic seconds, skewed."""
        return time.monotonic() + self.offset

    def now(self) -> datetime:
        """An aware UTC datetime, skewed."""
        return datetime.now(UTC) + timedelta(seconds=self.offset)

    def advance(self, seconds: float) -> None:
        """Move time forward."""
        self.offset += max(seconds, 0.0)


class FastForward:
    """While running, moves a ``SkewClock`` past waits once the client has stayed quiet through them.

    Two kinds of wait are skipped, each only after ``quiet`` real seconds without a request (real
    evidence that the wait is honoured: a client that ignored it would have been booked as early):
    a long Retry-After still running on a gate's lane, and, when ``outbox`` is given (the app's
    database) and no Retry-After is running, the outbox's own backoff until its next due row. The
    time skipped is time a real deployment would spend, so recovery is measured on the skewed clock.
    """

    def __init__(
        self,
        gates: list[Gate],
        clock: SkewClock,
        *,
        outbox: Database | None = None,
        quiet: float = 0.3,
        beyond: float = 0.5,
        on_skip: Callable[[], None] = lambda: None,
    ) -> None:
        self.gates = gates
        self.clock = clock
        self.outbox = outbox
        self.quiet = quiet
        self.beyond = beyond
        self.on_skip = on_skip
        self.skipped = 0.0
        self.task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> FastForward:
        self.task = asyncio.create_task(self._run())
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.task is not None
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)

    def _skip(self, seconds: float) -> None:
        self.clock.advance(seconds)
        self.skipped += seconds
        self.on_skip()

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(0.05)
            now = self.clock.monotonic()
            last = max((r.at for g in self.gates for r in g.requests), default=-math.inf)
            ahead = [until - now for g in self.gates for until in g.quiet_until.values() if until > now]
            if ahead:  # a platform's wait: skipped only once the client has shown it keeps it
                if max(ahead) > self.beyond and now - last >= self.quiet:
                    self._skip(max(ahead) + 0.01)
                continue
            due = await self._next_due()  # the outbox's own backoff: nothing to prove, skip it
            if due is not None and due > 0.1 and now - last >= 0.1:
                self._skip(due + 0.01)

    async def _next_due(self) -> float | None:
        """Seconds until the outbox's next pending row is due, if it has one waiting."""
        if self.outbox is None:
            return None
        now = self.clock.now()
        free = (OutboxRow.leased_until.is_(None)) | (OutboxRow.leased_until < now)
        query = (
            select(OutboxRow.next_attempt_at)
            .where(OutboxRow.state == "pending", free)
            .order_by(OutboxRow.next_attempt_at)
            .limit(1)
        )
        async with self.outbox.transaction() as session:
            found = (await session.execute(query)).scalar_one_or_none()
        return None if found is None else (found - now).total_seconds()
