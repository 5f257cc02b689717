"""Per-channel pacing for chat.postMessage (about one message a second per channel), as pure decisions.

The relay hands posts over one at a time. A post that would wait longer than a moment is given a
reserved slot and told to come back then (``RateLimited`` with that ``retry_after``), so a burst
queues in the outbox in order instead of holding the relay worker, and the desk can see the burst
(the reserved keys) to summarise it in a digest. Time is passed in; nothing here sleeps.
"""

from __future__ import annotations

from dataclasses import dataclass, field

NEVER = float("-inf")


@dataclass(frozen=True, slots=True)
class Admission:
    """``go``: post after sleeping ``wait`` seconds; otherwise come back in ``wait`` seconds."""

    go: bool
    wait: float


@dataclass(slots=True)
class _Lane:
    next_free: float = NEVER
    blocked_until: float = NEVER
    tail: float = NEVER
    pending: dict[str, float] = field(default_factory=dict)  # key -> reserved slot, in order


class Pacer:
    """One lane per channel.

    Args:
        interval: seconds between two posts in one channel.
        inline: the longest wait a post may sleep through instead of being told to come back.
        stale: a reservation not claimed this long after its slot is dropped (its row went away).
    """

    def __init__(self, interval: float = 1.0, *, inline: float | None = None, stale: float = 120.0) -> None:
        self.interval = interval
        self.inline = min(0.25, interval / 4) if inline is None else inline
        self.stale = stale
        self._lanes: dict[str, _Lane] = {}

    def admit(self, channel: str, key: str, now: float) -> Admission:
        """May the post for ``key`` go now (after a short wait), or when should it come back?"""
        lane = self._lanes.setdefault(channel, _Lane())
        self._prune(lane, now)
        free_at = max(lane.next_free, lane.blocked_until, now)
        reserved = lane.pending.get(key)
        if reserved is None and not lane.pending and free_at - now <= self.inline:
            return self._go(lane, key, now, free_at)
        if reserved is None:
            reserved = max(lane.tail + self.interval, free_at)
            lane.pending[key] = lane.tail = reserved
            return Admission(False, reserved - now)
        if reserved - now > self.inline:
            return Admission(False, reserved - now)
        if free_at - now <= self.interval:  # its turn: it may wait out the one post ahead of it
            return self._go(lane, key, now, free_at)
        self._reflow(lane, self._queue(lane), free_at)  # its turn came but the lane is held: all shift
        return Admission(False, lane.pending[key] - now)

    def _go(self, lane: _Lane, key: str, now: float, free_at: float) -> Admission:
        lane.pending.pop(key, None)
        lane.next_free = free_at + self.interval
        return Admission(True, max(0.0, free_at - now))

    def _queue(self, lane: _Lane) -> list[str]:
        return sorted(lane.pending, key=lane.pending.__getitem__)  # stable: ties keep arrival order

    def _reflow(self, lane: _Lane, order: list[str], start: float) -> None:
        """Give ``order`` consecutive slots from ``start``, never earlier than each already had."""
        slot, pending = start - self.interval, dict[str, float]()
        for key in order:
            slot = max(lane.pending.get(key, start), slot + self.interval)
            pending[key] = slot
        lane.pending = pending
        lane.tail = max(lane.tail, slot)

    def _prune(self, lane: _Lane, now: float) -> None:
        for key in [k for k, slot in lane.pending.items() if slot < now - self.stale]:
            del lane.pending[key]

    def blocked(self, channel: str, key: str, now: float, seconds: float) -> None:
        """Slack said 429: hold the lane; ``key`` keeps a place at the front for when it lifts."""
        lane = self._lanes.setdefault(channel, _Lane())
        lane.blocked_until = max(lane.blocked_until, now + seconds)
        lane.pending.pop(key, None)
        lane.pending[key] = lane.blocked_until
        self._reflow(lane, [key, *[k for k in self._queue(lane) if k != key]], lane.blocked_until)

    def hold(self, channel: str, now: float, seconds: float) -> None:
        """Slack said 429 to a post outside the reservations (a digest): hold the lane all the same."""
        lane = self._lanes.setdefault(channel, _Lane())
        lane.blocked_until = max(lane.blocked_until, now + seconds)
        if lane.pending:
            self._reflow(lane, self._queue(lane), lane.blocked_until)

    def held_for(self, channel: str, now: float) -> float:
        """Seconds until a 429's hold on ``channel`` lifts (0 when it is not held)."""
        lane = self._lanes.get(channel)
        return 0.0 if lane is None else max(lane.blocked_until - now, 0.0)

    def used(self, channel: str, now: float) -> None:
        """A message outside the reservations (a digest) took a slot."""
        lane = self._lanes.setdefault(channel, _Lane())
        lane.next_free = max(lane.next_free, now) + self.interval
        if lane.pending:
            self._reflow(lane, self._queue(lane), lane.next_free)

    def forget(self, channel: str, key: str) -> None:
        """Drop a reservation (the post failed for good, or was found already posted)."""
        lane = self._lanes.get(channel)
        if lane is not None:
            lane.pending.pop(key, None)

    def pending(self, channel: str) -> list[str]:
        """Keys holding a reservation in ``channel``, earliest slot first."""
        lane = self._lanes.get(channel)
        return [] if lane is None else self._queue(lane)
