"""Items that cannot be stored: set aside with the cursor moved on, staff told once, retried or dropped.

One bad item must never stop the items after it (DESIGN.md invariant 9). Staff hear about a source's
quarantined items at most once per ``QUIET`` period, whatever the size of the burst.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta

from bot import metrics
from bot.core.context import Context
from bot.models import Mention
from bot.platforms import display_name
from bot.store import cursors
from bot.store import quarantine as store
from bot.store.quarantine import Held

log = logging.getLogger(__name__)

QUIET = timedelta(hours=1)


def notice(source: str) -> str:
    """What the staff channel is told (no patron text: staff look with the CLI)."""
    label = display_name(source)
    return (
        f"An item from {label} could not be stored and was set aside, with any more from {label} "
        "this hour. `patron-desk quarantine list` shows them; `patron-desk quarantine retry --all` "
        "tries them again."
    )


async def set_aside(
    ctx: Context,
    source: str,
    mention: Mention,
    cursor: str | None,
    *,
    stream: str,
    reason: str,
    tell: bool = True,
) -> bool:
    """Quarantine the item and move the cursor on, in one transaction; True when the item is new here."""
    now = ctx.clock()
    async with ctx.db.transaction() as session:
        row_id, new = await store.hold(
            session, source=source, mention=mention, reason=reason, cursor=cursor, stream=stream, now=now
        )
        if cursor is not None:
            await cursors.save_in(session, source, stream, cursor, now=now)
        if tell and await store.claim_telling(session, source=source, now=now, quiet=QUIET):
            await store.told(session, row_id, now=now)
            await ctx.announce(session, notice(source), now=now)
    metrics.QUARANTINED.labels(source, reason).inc()
    log.warning("source %s: item set aside as quarantine #%d (%s)", source, row_id, reason)
    return new


async def listing(ctx: Context) -> list[Held]:
    """Every quarantined item, oldest first."""
    async with ctx.db.transaction() as session:
        return await store.listing(session)


# ``DeskService.store``: a mention stored again, True new, False a repeat, None set aside (again)
Store = Callable[..., Awaitable[bool | None]]


async def retry(ctx: Context, row_id: int, *, store_again: Store) -> str:
    """Ingest the item again with ``store_again``: "stored" (it left quarantine), "held" (it failed
    again) or "missing"."""
    async with ctx.db.transaction() as session:
        row = await store.get(session, row_id)
        if row is None:
            return "missing"
        source, stream, raw = row.source, row.stream, row.payload
    try:
        mention = store.mention_of(raw)
    except (ValueError, TypeError, KeyError):
        return "held"  # the payload itself is unreadable: only drop can clear it
    outcome = await store_again(source, mention, None, stream=stream, tell=False)
    if outcome is None:
        return "held"
    async with ctx.db.transaction() as session:
        await store.remove(session, [row_id])
    return "stored"


async def drop(ctx: Context, row_ids: list[int]) -> int:
    """Delete quarantined items; how many there were."""
    async with ctx.db.transaction() as session:
        return await store.remove(session, row_ids)


async def all_ids(ctx: Context) -> list[int]:
    """The ids of every quarantined item."""
    async with ctx.db.transaction() as session:
        return await store.ids(session)
