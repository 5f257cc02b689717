"""The read-only iCalendar feeds ("my desk shifts"): one per person and one per role.

A feed's address carries a token, HMAC-SHA256(installation key, "person\\0alice") cut to 32 hex
digits: unguessable without the key, stable across restarts, and the same in every process. The key
is made once and kept in ``meta`` (as the retention key is, bot/store/pseudonyms.py). A wrong token
and an unknown name get the same 404, so the feed tells nothing about who is staff.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING

from aiohttp import web

from bot.rota.ical_out import rota_feed
from bot.store.rota_repo import ensure_secret

if TYPE_CHECKING:
    from bot.core.context import Context

FEED_KEY = "rota_feed_key"
KINDS = ("person", "role")
PATH = "/rota/{kind}/{name}/{token}.ics"
PAST_DAYS, DAYS = 7, 63


def feed_token(key: bytes, kind: str, name: str) -> str:
    """The token in the address of ``kind`` (person or role) ``name``'s feed."""
    return hmac.new(key, f"{kind}\x00{name}".encode(), hashlib.sha256).hexdigest()[:32]


class Feeds:
    """Builds feed addresses and serves the feeds for one service."""

    def __init__(self, service: Context, *, public_url: str = "") -> None:
        self.service = service
        self.public_url = public_url.rstrip("/")
        self._key: bytes | None = None

    async def key(self) -> bytes:
        """The installation's feed key (made on first use)."""
        if self._key is None:
            async with self.service.db.transaction() as session:
                self._key = await ensure_secret(session, FEED_KEY)
        return self._key

    async def address(self, kind: str, name: str) -> str:
        """The feed's URL (or path, when PUBLIC_URL is not set)."""
        token = feed_token(await self.key(), kind, name)
        return f"{self.public_url}/rota/{kind}/{name}/{token}.ics"

    def routes(self) -> list[tuple[str, str, object]]:
        """The one GET route, for the app's HTTP server."""
        return [("GET", PATH, self.handle)]

    async def handle(self, request: web.Request) -> web.Response:
        """Serve one feed, or 404."""
        kind, name, token = (request.match_info[k] for k in ("kind", "name", "token"))
        service = self.service
        known = name in service.rules.roles if kind == "role" else name in service.directory.rows
        expected = feed_token(await self.key(), kind, name) if kind in KINDS else ""
        if not (known and hmac.compare_digest(expected.encode(), token.encode())):
            raise web.HTTPNotFound(text="No such feed.")
        await service.refresh()  # another process may have changed the rota
        now = service.clock()
        zone = service.rota.zone
        start = datetime.combine(
            now.astimezone(zone).date() - timedelta(days=PAST_DAYS), time(0), tzinfo=zone
        )
        names = {key: service.directory.name(key) for key in service.directory.rows}
        body = rota_feed(
            service.rota,
            roles=[name] if kind == "role" else list(service.rules.roles),
            start=start,
            days=DAYS,
            stamp=now,
            names=names,
            title=f"Desk shifts: {names.get(name, name)}" if kind == "person" else f"Desk shifts: {name}",
            person=name if kind == "person" else None,
        )
        return web.Response(
            body=body,
            content_type="text/calendar",
            charset="utf-8",
            headers={"Cache-Control": "private, max-age=300", "X-Robots-Tag": "noindex"},
        )
