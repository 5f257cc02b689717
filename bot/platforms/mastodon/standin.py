"""The demo's Mastodon stand-in: the REST and streaming endpoints the adapter uses, on loopback.

Not a test fake: `patron-desk run --demo` points the real adapter at it (``settings()``), scripted
patrons mention the library through it, and the replies staff type land in its public timeline.
Shapes follow Mastodon 4: notifications newest first with ``Link`` paging, ``X-RateLimit-*``
headers, server-sent events with ``:thump`` heartbeats, an ``Idempotency-Key`` on statuses.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from bot.demo.loopback import LoopbackServer, json_answer, json_body
from bot.demo.standin import OnPublish, Patron, Published

PLATFORM = "mastodon"
TOKEN = "demo-mastodon-token"
DOMAIN = "library.demo"  # the library's instance, as its statuses name it
LIBRARY = {"id": "1", "username": "library", "acct": "library", "display_name": "Riverside Library"}
MAX_CHARACTERS = 500
_TAG = re.compile(r"<[^>]+>")


def _stamp(when: datetime) -> str:
    return when.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def plain(content: str) -> str:
    """A status's HTML content as plain text."""
    return html.unescape(_TAG.sub("", content.replace("</p><p>", "\n\n").replace("<br>", "\n")))


@dataclass
class _State:
    notifications: list[dict[str, Any]] = field(default_factory=list)  # oldest first
    statuses: dict[str, dict[str, Any]] = field(default_factory=dict)  # every status by id
    timeline: list[dict[str, Any]] = field(default_factory=list)  # the library's public posts, oldest first
    by_key: dict[str, dict[str, Any]] = field(default_factory=dict)  # Idempotency-Key -> status
    next_id: int = 100


class MastodonStandIn(LoopbackServer):
    """verify_credentials, instance (v1 and v2), notifications, statuses, public timeline, streaming."""

    platform = PLATFORM

    def __init__(self, *, heartbeat: float = 10.0, clock: Any = None) -> None:
        super().__init__()
        self.on_publish: OnPublish | None = None
        self._state = _State()
        self._heartbeat = heartbeat
        self._clock = clock or (lambda: datetime.now(UTC))
        self._streams: list[asyncio.Queue[bytes | None]] = []

    def web_routes(self) -> list[web.RouteDef]:
        """The endpoints the Mastodon adapter calls, plus the public timeline."""
        return [
            web.get("/api/v1/accounts/verify_credentials", self._verify),
            web.get("/api/v1/instance", self._instance_v1),
            web.get("/api/v2/instance", self._instance_v2),
            web.get("/api/v1/notifications", self._notifications),
            web.post("/api/v1/statuses", self._post_status),
            web.get("/api/v1/timelines/public", self._public),
            web.get("/api/v1/streaming/user", self._stream),
            web.get("/api/v1/streaming/user/notification", self._stream),
        ]

    def settings(self) -> dict[str, Any]:
        """The real adapter, pointed here."""
        return {
            "MASTODON_URL": self.origin,
            "MASTODON_ACCESS_TOKEN": TOKEN,
            "MASTODON_STREAMING": True,
            "MASTODON_POLL_SECONDS": 5.0,
            "MASTODON_BACKFILL": True,
        }

    async def close(self) -> None:
        """End the live streams, then stop."""
        for queue in self._streams:
            queue.put_nowait(None)
        await super().close()

    # --- the demo's side ------------------------------------------------------------------

    def post(self, patron: Patron) -> None:
        """A public status mentioning @library, and its notification (pushed to live streams)."""
        now = self._clock()
        account = _account(patron)
        status_id = self._new_id()
        mention = (
            f'<span class="h-card"><a href="{self.origin}/@library" class="u-url mention">'
            "@<span>library</span></a></span>"
        )
        status = {
            "id": status_id,
            "created_at": _stamp(now),
            "in_reply_to_id": None,
            "in_reply_to_account_id": None,
            "sensitive": False,
            "spoiler_text": "",
            "visibility": "public",
            "language": "en",
            "uri": f"https://social.demo/users/{patron.user}/statuses/{status_id}",
            "url": f"https://social.demo/@{patron.user}/{status_id}",
            "content": f"<p>{mention} {html.escape(patron.text)}</p>",
            "account": account,
            "mentions": [{"id": LIBRARY["id"], "username": "library", "acct": "library", "url": ""}],
        }
        notification = {
            "id": self._new_id(),
            "type": "mention",
            "created_at": status["created_at"],
            "group_key": f"ungrouped-{status_id}",
            "account": account,
            "status": status,
        }
        self._state.statuses[status_id] = status
        self._state.notifications.append(notification)
        for queue in self._streams:
            queue.put_nowait(b"event: notification\ndata: " + json_body(notification) + b"\n\n")

    def timeline(self) -> list[Published]:
        """The library's published statuses, oldest first."""
        return [self._published(status) for status in self._state.timeline]

    # --- handlers --------------------------------------------------------------------------

    def _new_id(self) -> str:
        self._state.next_id += 1
        return str(self._state.next_id)

    def _headers(self) -> dict[str, str]:
        reset = self._clock() + timedelta(minutes=5)
        return {
            "X-RateLimit-Limit": "300",
            "X-RateLimit-Remaining": "299",
            "X-RateLimit-Reset": _stamp(reset),
        }

    def _refused(self, request: web.Request) -> web.Response | None:
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return json_answer({"error": "The access token is invalid"}, status=401)
        return None

    async def _verify(self, request: web.Request) -> web.Response:
        return self._refused(request) or json_answer(
            {**LIBRARY, "url": f"{self.origin}/@library", "bot": True}, headers=self._headers()
        )

    async def _instance_v1(self, request: web.Request) -> web.Response:
        return json_answer(
            {
                "uri": DOMAIN,
                "title": "Riverside Library (demo)",
                "urls": {"streaming_api": f"ws://127.0.0.1:{self.port}"},
                "configuration": {
                    "statuses": {"max_characters": MAX_CHARACTERS, "characters_reserved_per_url": 23}
                },
            }
        )

    async def _instance_v2(self, request: web.Request) -> web.Response:
        return json_answer(
            {
                "domain": DOMAIN,
                "title": "Riverside Library (demo)",
                "configuration": {
                    "urls": {"streaming": f"ws://127.0.0.1:{self.port}"},
                    "statuses": {"max_characters": MAX_CHARACTERS, "characters_reserved_per_url": 23},
                },
            }
        )

    async def _notifications(self, request: web.Request) -> web.Response:
        refused = self._refused(request)
        if refused:
            return refused
        query = request.query
        types = query.getall("types[]", [])
        items = [n for n in self._state.notifications if not types or n["type"] in types]
        try:
            limit = min(max(int(query.get("limit", "40")), 1), 80)
            min_id, max_id = (int(query[k]) if k in query else None for k in ("min_id", "max_id"))
        except ValueError:
            return json_answer({"error": "Invalid parameter"}, status=422)
        if min_id is not None:  # the page just above min_id, still newest first
            page = [n for n in items if int(n["id"]) > min_id][:limit][::-1]
        else:
            older = [n for n in items if max_id is None or int(n["id"]) < max_id]
            page = older[-limit:][::-1]
        headers = self._headers()
        if page:
            base = f"{self.origin}/api/v1/notifications?types%5B%5D=mention"
            newest, oldest = page[0]["id"], page[-1]["id"]
            headers["Link"] = f'<{base}&max_id={oldest}>; rel="next", <{base}&min_id={newest}>; rel="prev"'
        return json_answer(page, headers=headers)

    async def _post_status(self, request: web.Request) -> web.Response:
        refused = self._refused(request)
        if refused:
            return refused
        try:
            body = await request.json()
        except ValueError:
            return json_answer({"error": "Invalid JSON"}, status=400)
        if (
            not isinstance(body, dict)
            or not isinstance(body.get("status"), str)
            or not body["status"].strip()
        ):
            return json_answer({"error": "Validation failed: Text can't be blank"}, status=422)
        key = request.headers.get("Idempotency-Key")
        if key and key in self._state.by_key:
            return json_answer(self._state.by_key[key], headers=self._headers())
        if len(body["status"]) + len(str(body.get("spoiler_text") or "")) > MAX_CHARACTERS:
            return json_answer(
                {"error": f"Validation failed: Text character limit of {MAX_CHARACTERS} exceeded"}, status=422
            )
        parent = body.get("in_reply_to_id")
        if parent is not None and parent not in self._state.statuses:
            return json_answer({"error": "Record not found"}, status=404)
        status = self._publish(body)
        if key:
            self._state.by_key[key] = status
        if self.on_publish is not None:
            self.on_publish(self._published(status))
        return json_answer(status, headers=self._headers())

    def _publish(self, body: dict[str, Any]) -> dict[str, Any]:
        status_id = self._new_id()
        visibility = (
            body.get("visibility")
            if body.get("visibility") in ("public", "unlisted", "private", "direct")
            else "public"
        )
        status: dict[str, Any] = {
            "id": status_id,
            "created_at": _stamp(self._clock()),
            "in_reply_to_id": body.get("in_reply_to_id"),
            "visibility": visibility,
            "spoiler_text": str(body.get("spoiler_text") or ""),
            "url": f"{self.origin}/@library/{status_id}",
            "uri": f"{self.origin}/users/library/statuses/{status_id}",
            "content": "<p>" + html.escape(body["status"]).replace("\n", "<br>") + "</p>",
            "account": {**LIBRARY, "url": f"{self.origin}/@library"},
            "mentions": [],
        }
        self._state.statuses[status_id] = status
        self._state.timeline.append(status)
        return status

    async def _public(self, request: web.Request) -> web.Response:
        shown = [s for s in self._state.timeline if s["visibility"] == "public"]
        return json_answer(shown[::-1][:40], headers=self._headers())

    def _published(self, status: dict[str, Any]) -> Published:
        return Published(PLATFORM, plain(status["content"]), status["url"], status["in_reply_to_id"] or "")

    async def _stream(self, request: web.Request) -> web.StreamResponse:
        refused = self._refused(request)
        if refused:
            return refused
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store"}
        )
        await response.prepare(request)
        queue: asyncio.Queue[bytes | None] = asyncio.Queue()
        self._streams.append(queue)
        try:
            with contextlib.suppress(ConnectionResetError):
                await response.write(b":)\n")
                while True:
                    try:
                        async with asyncio.timeout(self._heartbeat):  # wait_for can swallow a cancel (3.11)
                            item = await queue.get()
                    except TimeoutError:
                        await response.write(b":thump\n")
                        continue
                    if item is None:
                        break
                    await response.write(item)
        finally:
            self._streams.remove(queue)
        return response


def _account(patron: Patron) -> dict[str, Any]:
    return {
        "id": str(10_000 + sum(map(ord, patron.user))),
        "username": patron.user,
        "acct": f"{patron.user}@social.demo",
        "display_name": patron.name,
        "url": f"https://social.demo/@{patron.user}",
        "bot": False,
    }


def build() -> MastodonStandIn:
    """The stand-in the demo starts (named by the spec's ``build_standin``)."""
    return MastodonStandIn()
