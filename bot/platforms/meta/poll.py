"""Polling Graph comment edges: the cursor (a time watermark) and newest-first paging.

The Graph API has no "comments since id" for a Page or an account, so the cursor is the time of the
newest comment handed over, less an overlap that covers comments written while a poll was walking
other posts. A repeat is a no-op in ingest (unique per source and id), so the overlap costs nothing.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from bot.domain.sanitize import EARLIEST, parse_timestamp
from bot.errors import TransientError
from bot.platforms.meta.graph import GraphClient


def load_cursor(cursor: str | None) -> tuple[bool, datetime | None]:
    """``(valid, since)`` from a stored cursor; ``since`` None means "every comment is new" (backfill)."""
    if cursor is None:
        return False, None
    try:
        data = json.loads(cursor)
    except (ValueError, RecursionError):
        return False, None
    if not isinstance(data, dict) or "since" not in data:
        return False, None
    if data["since"] is None:
        return True, None
    since = parse_timestamp(data["since"])
    return (since is not None), since


def dump_cursor(since: datetime | None) -> str:
    """The stored cursor."""
    return json.dumps({"since": since.isoformat() if since else None})


def advanced(since: datetime | None, created: datetime, overlap: timedelta) -> datetime:
    """The watermark after handing over a comment made at ``created`` (never moves back)."""
    candidate = created - overlap
    return candidate if since is None or candidate > since else since


def is_old(item: Any, since: datetime | None, time_key: str) -> bool:
    """Whether a comment was made before ``since``; an unreadable time, or one before 2000, is not
    old: the comment is delivered (its card marked) rather than lost."""
    if since is None or not isinstance(item, Mapping):
        return False
    when = parse_timestamp(item.get(time_key))
    return when is not None and EARLIEST <= when < since


def _after(body: Mapping[str, Any]) -> str | None:
    """The ``after`` cursor when there is a next page (``paging.next`` present)."""
    paging = body.get("paging")
    if not isinstance(paging, Mapping) or not paging.get("next"):
        return None
    cursors = paging.get("cursors")
    after = cursors.get("after") if isinstance(cursors, Mapping) else None
    return after if isinstance(after, str) and 0 < len(after) <= 2048 else None


async def newest_first(
    client: GraphClient,
    path: str,
    params: Mapping[str, Any],
    *,
    stop: Callable[[Any], bool],
    page_limit: int,
    max_pages: int,
) -> AsyncIterator[Any]:
    """Items of a newest-first edge, page by page (``after`` cursors, never the ``next`` URL, which
    could name another host), until a page holds an item for which ``stop`` is true."""
    after: str | None = None
    for _ in range(max_pages):
        query = {**params, "limit": page_limit, **({"after": after} if after else {})}
        body = await client.get(path, **query)
        data = body.get("data") if isinstance(body, Mapping) else None
        if not isinstance(data, list):
            raise TransientError(f"{client.label} {path}: expected a data list")
        done = False
        for item in data:
            done = done or stop(item)
            yield item
        following = _after(body)
        if done or following is None or following == after:
            return
        after = following
