"""A loopback Mastodon: notifications (min_id/max_id paging, Link headers), SSE streaming, statuses.

Shapes follow the recorded mastodon.social / Mastodon.py cassettes: notifications newest first,
``status`` null for deleted posts, X-RateLimit-* headers on every REST answer, ``:thump``
heartbeats on the stream. Ids are numeric strings that cross a digit boundary ("98", "99",
"100"), so a client comparing them as strings or assuming a length breaks.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from html import escape
from typing import Any

from aiohttp import web

from .loopback import RecordingServer, json_bytes, json_response

TOKEN = "test-mastodon-token"
LIBRARY = {"id": "109000000000000001", "username": "library", "acct": "library", "display_name": "Library"}


@dataclass
class Posted:
    """A status the bot published, with the request that made it."""

    body: dict[str, Any]
    idempotency_key: str | None
    status: dict[str, Any]


@dataclass
class MastodonState:
    notifications: list[dict[str, Any]] = field(default_factory=list)  # oldest first
    posted: list[Posted] = field(default_factory=list)
    by_key: dict[str, dict[str, Any]] = field(default_factory=dict)
    next_notification: int = 98
    next_status: int = 113000000000000000


class FakeMastodon(RecordingServer):
    """Routes: verify_credentials, v2 instance, notifications, statuses, streaming (SSE)."""

    def __init__(self, *, heartbeat: float = 0.05, max_characters: int = 500, streaming: bool = True) -> None:
        super().__init__()
        self.state = MastodonState()
        self.heartbeat = heartbeat
        self.max_characters = max_characters
        self.streaming = streaming
        self.stall = False  # live streams stop sending anything (no events, no heartbeats)
        self.stream_connects = 0
        self.lose_reply_response = 0  # publish the status, then answer 502 as if the response was lost
        self.ratelimit_remaining: int | None = None  # None: always 300 left
        self.ratelimit_reset_in = 300.0
        self._streams: list[asyncio.Queue[bytes | None]] = []

    def web_routes(self) -> list[web.RouteDef]:
        return [
            web.get("/api/v1/accounts/verify_credentials", self._verify),
            web.get("/api/v2/instance", self._instance),
            web.get("/api/v1/notifications", self._notifications),
            web.post("/api/v1/statuses", self._post_status),
            web.get("/api/v1/streaming/user", self._stream),  # SSE names the stream in the path
            web.get("/api/v1/streaming/user/notification", self._stream),
        ]

    # --- test controls --------------------------------------------------------------------

    def add_mention(
        self,
        text: str = "Is the library open on Sunday?",
        *,
        acct: str = "reader@social.example",
        visibility: str = "public",
        spoiler_text: str = "",
        deleted: bool = False,
        html: str | None = None,
        kind: str = "mention",
        push: bool = True,
    ) -> dict[str, Any]:
        """A new notification (newest); pushed to live streams unless ``push`` is False."""
        s = self.state
        nid, sid = str(s.next_notification), str(s.next_status)
        s.next_notification += 1
        s.next_status += 1
        account = _account(acct)
        created = (datetime(2026, 3, 1, 12, 0, tzinfo=UTC) + timedelta(seconds=int(nid))).isoformat()
        status = {
            "id": sid,
            "created_at": created.replace("+00:00", ".000Z"),
            "in_reply_to_id": None,
            "sensitive": bool(spoiler_text),
            "spoiler_text": spoiler_text,
            "visibility": visibility,
            "language": "en",
            "uri": f"https://{_host(acct)}/users/{account['username']}/statuses/{sid}",
            "url": f"https://{_host(acct)}/@{account['username']}/{sid}",
            "content": html if html is not None else _content(text),
            "account": account,
            "mentions": [{"id": LIBRARY["id"], "username": "library", "acct": "library", "url": ""}],
        }
        notification = {
            "id": nid,
            "type": kind,
            "created_at": status["created_at"],
            "group_key": f"ungrouped-{nid}",
            "account": account,
            "status": None if deleted else status,
        }
        s.notifications.append(notification)
        if push:
            self.push("notification", json_bytes(notification))
        return notification

    def push(self, event: str, data: bytes) -> None:
        """Send one event to every live stream."""
        for queue in self._streams:
            queue.put_nowait(b"event: " + event.encode() + b"\ndata: " + data + b"\n\n")

    def drop_streams(self) -> None:
        """Close every live stream cleanly (the server went away)."""
        for queue in self._streams:
            queue.put_nowait(None)

    @property
    def live_streams(self) -> int:
        return len(self._streams)

    @property
    def newest_id(self) -> str:
        return self.state.notifications[-1]["id"]

    # --- handlers --------------------------------------------------------------------------

    def _headers(self) -> dict[str, str]:
        remaining = 300 if self.ratelimit_remaining is None else self.ratelimit_remaining
        if self.ratelimit_remaining is not None:
            self.ratelimit_remaining = max(self.ratelimit_remaining - 1, 0)
        reset = datetime.now(UTC) + timedelta(seconds=self.ratelimit_reset_in)
        return {
            "X-RateLimit-Limit": "300",
            "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Reset": reset.isoformat().replace("+00:00", "Z"),
        }

    def _gate(self, route: str, request: web.Request) -> web.Response | None:
        fault = self.record(route, request)
        if fault is not None:
            return fault
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return json_response({"error": "The access token is invalid"}, status=401)
        return None

    async def _verify(self, request: web.Request) -> web.Response:
        refused = self._gate("verify", request)
        return refused or json_response({**LIBRARY, "url": f"{self.url}/@library"}, headers=self._headers())

    async def _instance(self, request: web.Request) -> web.Response:
        refused = self.record("instance", request)
        config = {
            "urls": {"streaming": f"ws://127.0.0.1:{self.port}"},
            "statuses": {"max_characters": self.max_characters, "characters_reserved_per_url": 23},
        }
        return refused or json_response({"domain": "127.0.0.1", "configuration": config})

    async def _notifications(self, request: web.Request) -> web.Response:
        refused = self._gate("notifications", request)
        if refused:
            return refused
        q = request.query
        types = q.getall("types[]", [])
        items = [n for n in self.state.notifications if not types or n["type"] in types]
        limit = min(int(q.get("limit", "40")), 80)
        if "min_id" in q:  # the page just above min_id, still served newest first
            page = [n for n in items if int(n["id"]) > int(q["min_id"])][:limit][::-1]
        else:
            older = [n for n in items if "max_id" not in q or int(n["id"]) < int(q["max_id"])]
            page = older[-limit:][::-1]
        headers = self._headers()
        if page:
            base = f"{self.url}/api/v1/notifications?types%5B%5D=mention"
            headers["Link"] = (
                f'<{base}&max_id={page[-1]["id"]}>; rel="next", <{base}&min_id={page[0]["id"]}>; rel="prev"'
            )
        return web.Response(body=json_bytes(page), content_type="application/json", headers=headers)

    async def _post_status(self, request: web.Request) -> web.Response:
        refused = self._gate("statuses", request)
        if refused:
            return refused
        body = await request.json()
        key = request.headers.get("Idempotency-Key")
        if key and key in self.state.by_key:
            return json_response(self.state.by_key[key], headers=self._headers())
        if len(body.get("status", "")) + len(body.get("spoiler_text", "")) > self.max_characters:
            limit = self.max_characters
            return json_response(
                {"error": f"Validation failed: Text character limit of {limit} exceeded"}, status=422
            )
        known = {n["status"]["id"] for n in self.state.notifications if n["status"]}
        if body.get("in_reply_to_id") not in known:
            return json_response({"error": "Record not found"}, status=404)
        status = self._publish(body)
        self.state.posted.append(Posted(body, key, status))
        if key:
            self.state.by_key[key] = status
        if self.lose_reply_response:
            self.lose_reply_response -= 1
            return json_response({"error": "Bad gateway"}, status=502)
        return json_response(status, headers=self._headers())

    def _publish(self, body: dict[str, Any]) -> dict[str, Any]:
        sid = str(self.state.next_status)
        self.state.next_status += 1
        return {
            "id": sid,
            "url": f"{self.url}/@library/{sid}",
            "in_reply_to_id": body.get("in_reply_to_id"),
            "visibility": body.get("visibility", "public"),
            "spoiler_text": body.get("spoiler_text", ""),
            "content": f"<p>{escape(body.get('status', ''))}</p>",
            "account": LIBRARY,
        }

    async def _stream(self, request: web.Request) -> web.StreamResponse:
        refused = self._gate("stream", request)
        if refused:
            return refused
        if not self.streaming:
            return json_response({"error": "Not found"}, status=404)
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store"}
        )
        await response.prepare(request)
        await response.write(b":)\n")
        queue: asyncio.Queue[bytes | None] = asyncio.Queue()
        self._streams.append(queue)
        self.stream_connects += 1
        try:
            while request.transport is not None and not request.transport.is_closing():
                try:
                    async with asyncio.timeout(self.heartbeat):  # wait_for can swallow a cancel (3.11)
                        item = await queue.get()
                except TimeoutError:
                    if not self.stall:
                        await response.write(b":thump\n")
                    continue
                if item is None:
                    break
                if self.stall:
                    continue  # a stalled stream delivers nothing; the event is lost with it
                await response.write(item)
        except ConnectionResetError:
            pass
        finally:
            self._streams.remove(queue)
        return response


def _host(acct: str) -> str:
    return acct.split("@", 1)[1] if "@" in acct else "127.0.0.1"


def _account(acct: str) -> dict[str, Any]:
    username = acct.split("@", 1)[0]
    return {
        "id": str(100000 + sum(map(ord, acct))),
        "username": username,
        "acct": acct,
        "display_name": username.title(),
        "url": f"https://{_host(acct)}/@{username}",
        "bot": False,
    }


def _content(text: str) -> str:
    mention = (
        '<span class="h-card" translate="no"><a href="https://127.0.0.1/@library" class="u-url mention">'
        "@<span>library</span></a></span>"
    )
    return f"<p>{mention} {escape(text)}</p>"
