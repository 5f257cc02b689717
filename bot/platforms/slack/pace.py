"""Per-channel pacing for chat.postMessage (about one message a second per channel), as pure decisions.

The relay hands posts over one at a time. A post that would wait longer than a moment is given a
slot and told when to come back (``Admission.go`` False), which the relay treats as scheduling, not
as a failed attempt. Slots are handed out by lane (``bot/domain/outbox.py``: a lower lane goes
first) and then in arrival order, so a patron's question takes the next slot ahead of a feed
backlog; the desk sees the queue (the reserved keys) to summarise a burst in a digest. A 429 holds
one channel for exactly its hint. Time is passed in; nothing here sleeps.
"""

from __future__ import annotations

import bisect
import itertools
from dataclasses import dataclass, field

NEVER = float("-inf")
FRONT = -1  # the lane of a post that Slack refused with a 429: first once the hold lifts


@dataclass(frozen=True, slots=True)
class Admission:
    """``go``: post after sleeping ``wait`` seconds; otherwise come back in ``wait`` seconds."""

    go: bool
    wait: float


@dataclass(slots=True)
class _Lane:
    next_free: float = NEVER
    blocked_until: float = NEVER
    slots: dict[str, float] = field(default_factory=dict)  # key -> reserved slot
    order: list[tuple[int, int, str]] = field(default_factory=list)  # (lane, arrival, key), sorted

    def free_at(self, now: float) -> float:
        return max(self.next_free, self.blocked_until, now)

    def drop(self, key: str) -> None:
        if self.slots.pop(key, None) is None:
            return
        if self.order[0][2] == key:  # the usual case: the head of the queue went
            del self.order[0]
        else:
            self.order = [entry for entry in self.order if entry[2] != key]


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
        self._arrival = itertools.count()

    def reserve(self, channel: str, key: str, now: float, *, lane: int = 1) -> float:
        """Seconds until ``key``'s turn in ``channel`` (reserving its slot); 0 or less: its turn."""
        state = self._lanes.setdefault(channel, _Lane())
        self._prune(state, now)
        slot = state.slots.get(key)
        if slot is None:
            slot = self._insert(state, key, lane, now)
        return slot - now

    def admit(self, channel: str, key: str, now: float, *, lane: int = 1) -> Admission:
        """May the post for ``key`` go now (after a short wait), or when should it come back?"""
        state = self._lanes.setdefault(channel, _Lane())
        self._prune(state, now)
        free_at = state.free_at(now)
        if key not in state.slots and not state.slots and free_at - now <= self.inline:
            return self._go(state, key, now, free_at)
        wait = self.reserve(channel, key, now, lane=lane)
        if wait > self.inline:
            return Admission(False, wait)
        if free_at - now <= self.inline:
            return self._go(state, key, now, free_at)
        self._reflow(state, 0, free_at)  # its turn came but the channel is still busy: all shift
        return Admission(False, state.slots[key] - now)

    def _insert(self, state: _Lane, key: str, lane: int, now: float) -> float:
        entry = (lane, next(self._arrival), key)
        at = bisect.bisect_right(state.order, entry)
        state.order.insert(at, entry)
        start = state.free_at(now)
        if at > 0:
            start = max(start, state.slots[state.order[at - 1][2]] + self.interval)
        state.slots[key] = start
        if at + 1 < len(state.order):  # it went ahead of others: they move back one slot each
            self._reflow(state, at + 1, start + self.interval)
        return start

    def _go(self, state: _Lane, key: str, now: float, free_at: float) -> Admission:
        state.drop(key)
        state.next_free = free_at + self.interval
        return Admission(True, max(0.0, free_at - now))

    def _reflow(self, state: _Lane, start_at: int, start: float) -> None:
        """Give ``order[start_at:]`` consecutive slots from ``start``, never earlier than each had."""
        slot = start - self.interval
        for _, _, key in state.order[start_at:]:
            previous = state.slots[key]
            slot = max(previous, slot + self.interval)
            if slot == previous and start_at > 0:
                break  # the rest already sit later: nothing moves
            state.slots[key] = slot

    def _prune(self, state: _Lane, now: float) -> None:
        if state.order and state.slots[state.order[0][2]] < now - self.stale:
            stale = {key for key, slot in state.slots.items() if slot < now - self.stale}
            state.order = [entry for entry in state.order if entry[2] not in stale]
            for key in stale:
                del state.slots[key]

    def blocked(self, channel: str, key: str, now: float, seconds: float) -> None:
        """Slack said 429: hold the channel; ``key`` is first when the hold lifts."""
        state = self._lanes.setdefault(channel, _Lane())
        state.blocked_until = max(state.blocked_until, now + seconds)
        state.drop(key)
        state.order.insert(0, (FRONT, next(self._arrival), key))
        state.slots[key] = state.blocked_until
        self._reflow(state, 0, state.blocked_until)

    def hold(self, channel: str, now: float, seconds: float) -> None:
        """Slack said 429 to a post outside the reservations (a digest): hold the channel all the same."""
        state = self._lanes.setdefault(channel, _Lane())
        state.blocked_until = max(state.blocked_until, now + seconds)
        self._reflow(state, 0, state.blocked_until)

    def held_for(self, channel: str, now: float) -> float:
        """Seconds until a 429's hold on ``channel`` lifts (0 when it is not held)."""
        state = self._lanes.get(channel)
        return 0.0 if state is None else max(state.blocked_until - now, 0.0)

    def used(self, channel: str, now: float) -> None:
        """A message outside the reservations (a digest) took a slot."""
        state = self._lanes.setdefault(channel, _Lane())
        state.next_free = max(state.next_free, now) + self.interval
        self._reflow(state, 0, state.next_free)

    def forget(self, channel: str, key: str) -> None:
        """Drop a reservation (the post failed for good, or was found already posted)."""
        state = self._lanes.get(channel)
        if state is not None:
            state.drop(key)

    def pending(self, channel: str) -> list[str]:
        """Keys holding a reservation in ``channel``, in the order they will go."""
        state = self._lanes.get(channel)
        return [] if state is None else [key for _, _, key in state.order]

    def jumps(self, channel: str, lane: int) -> bool:
        """Whether a post of ``lane`` goes ahead of others waiting (a question before a feed backlog)."""
        state = self._lanes.get(channel)
        return state is not None and bool(state.order) and state.order[-1][0] > lane

    def count(self, channel: str) -> int:
        """How many keys hold a reservation in ``channel``."""
        state = self._lanes.get(channel)
        return 0 if state is None else len(state.slots)
