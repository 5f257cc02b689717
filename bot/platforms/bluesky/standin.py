"""The demo's Bluesky stand-in: the XRPC methods the adapter uses, on loopback.

Not a test fake: `patron-desk run --demo` points the real adapter at it (``settings()``), scripted
patrons mention the library through it, and the replies staff type become the library's posts.
Shapes follow the atproto lexicons: ``createSession`` tokens, ``listNotifications`` newest first
with an opaque cursor, mention facets in UTF-8 byte offsets, ``createRecord`` with a TID record key.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import count
from typing import Any

from aiohttp import web

from bot.demo.loopback import LoopbackServer, json_answer
from bot.demo.standin import OnPublish, Patron, Published

PLATFORM = "bluesky"
HANDLE = "riversidelibrary.demo"
PASSWORD = "demo-demo-demo-demo"
POST = "app.bsky.feed.post"
_S32 = "234567abcdefghijklmnopqrstuvwxyz"
_TID = re.compile(r"^[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}$")


def did_for(handle: str) -> str:
    """A stable did:plc for a handle."""
    digest = hashlib.sha256(handle.encode()).digest()
    return "did:plc:" + "".join(_S32[b % 32] for b in digest[:24])


def cid_for(data: str) -> str:
    """A CID-shaped string for a record."""
    digest = hashlib.sha256(data.encode()).digest()
    return "bafyrei" + "".join(_S32[b % 32] for b in digest[:52])


DID = did_for(HANDLE)


def _stamp(when: datetime) -> str:
    return when.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class _State:
    notifications: list[dict[str, Any]] = field(default_factory=list)  # oldest first
    posts: dict[str, dict[str, Any]] = field(default_factory=dict)  # every post by URI (patrons' too)
    ours: list[str] = field(default_factory=list)  # the library's post URIs, oldest first
    access: set[str] = field(default_factory=set)
    refresh: set[str] = field(default_factory=set)
    handles: dict[str, str] = field(default_factory=lambda: {HANDLE: DID})


class BlueskyStandIn(LoopbackServer):
    """createSession, refreshSession, listNotifications, resolveHandle, createRecord, getRecord and
    getAuthorFeed."""

    platform = PLATFORM

    def __init__(self, *, clock: Any = None) -> None:
        super().__init__()
        self.on_publish: OnPublish | None = None
        self._state = _State()
        self._clock = clock or (lambda: datetime.now(UTC))
        self._tokens = count(1)
        self._rkeys = count(1)
        self._last: datetime | None = None

    def web_routes(self) -> list[web.RouteDef]:
        """The XRPC methods the Bluesky adapter calls, plus the library's author feed."""
        x = "/xrpc/"
        return [
            web.post(x + "com.atproto.server.createSession", self._create_session),
            web.post(x + "com.atproto.server.refreshSession", self._refresh_session),
            web.get(x + "app.bsky.notification.listNotifications", self._list),
            web.get(x + "com.atproto.identity.resolveHandle", self._resolve),
            web.post(x + "com.atproto.repo.createRecord", self._create_record),
            web.get(x + "com.atproto.repo.getRecord", self._get_record),
            web.get(x + "app.bsky.feed.getAuthorFeed", self._author_feed),
        ]

    def settings(self) -> dict[str, Any]:
        """The real adapter, pointed here."""
        return {
            "BLUESKY_SERVICE": self.origin,
            "BLUESKY_HANDLE": HANDLE,
            "BLUESKY_APP_PASSWORD": PASSWORD,
            "BLUESKY_POLL_SECONDS": 3.0,
            "BLUESKY_BACKFILL": True,
        }

    # --- the demo's side ------------------------------------------------------------------

    def post(self, patron: Patron) -> None:
        """A post that mentions the library (a mention facet in byte offsets), and its notification."""
        handle = f"{patron.user.replace('_', '-')}.social.demo"
        did = did_for(handle)
        self._state.handles[handle] = did
        stamp = _stamp(self._next_time())
        rkey = self._tid()
        uri = f"at://{did}/{POST}/{rkey}"
        prefix = f"@{HANDLE}"
        text = f"{prefix} {patron.text}"
        record = {
            "$type": POST,
            "text": text,
            "langs": ["en"],
            "createdAt": stamp,
            "facets": [
                {
                    "index": {"byteStart": 0, "byteEnd": len(prefix.encode())},
                    "features": [{"$type": "app.bsky.richtext.facet#mention", "did": DID}],
                }
            ],
        }
        author = {"did": did, "handle": handle, "displayName": patron.name, "labels": []}
        cid = cid_for(uri + text)
        self._state.posts[uri] = {"uri": uri, "cid": cid, "value": record, "author": author}
        self._state.notifications.append(
            {
                "uri": uri,
                "cid": cid,
                "author": author,
                "reason": "mention",
                "record": record,
                "isRead": False,
                "indexedAt": stamp,
                "labels": [],
            }
        )

    def timeline(self) -> list[Published]:
        """The library's posts, oldest first."""
        return [self._published(self._state.posts[uri]) for uri in self._state.ours]

    # --- handlers --------------------------------------------------------------------------

    def _next_time(self) -> datetime:
        """Now, but always a millisecond after the last post: the cursor is the indexedAt of a page's end."""
        now = self._clock()
        now = now.replace(microsecond=now.microsecond // 1000 * 1000)  # the stamp's precision
        if self._last is not None and now <= self._last:
            now = self._last + timedelta(milliseconds=1)
        self._last = now
        return now

    def _tid(self) -> str:
        """A record key in TID form, increasing."""
        n = int(self._clock().timestamp() * 1_000_000) * 1024 + next(self._rkeys) % 1024
        out = ""
        for _ in range(13):
            out = _S32[n % 32] + out
            n //= 32
        return out

    def _issue(self) -> dict[str, Any]:
        n = next(self._tokens)
        self._state.access.add(f"demo-access-{n}")
        self._state.refresh.add(f"demo-refresh-{n}")
        return {
            "accessJwt": f"demo-access-{n}",
            "refreshJwt": f"demo-refresh-{n}",
            "handle": HANDLE,
            "did": DID,
            "active": True,
        }

    def _refused(self, request: web.Request) -> web.Response | None:
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if token not in self._state.access:
            return json_answer({"error": "AuthenticationRequired", "message": "Invalid token"}, status=401)
        return None

    async def _json(self, request: web.Request) -> dict[str, Any] | None:
        try:
            body = await request.json()
        except ValueError:
            return None
        return body if isinstance(body, dict) else None

    async def _create_session(self, request: web.Request) -> web.Response:
        body = await self._json(request) or {}
        if body.get("identifier") not in (HANDLE, DID) or body.get("password") != PASSWORD:
            return json_answer(
                {"error": "AuthenticationRequired", "message": "Invalid identifier or password"}, status=401
            )
        return json_answer(self._issue())

    async def _refresh_session(self, request: web.Request) -> web.Response:
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if token not in self._state.refresh:
            return json_answer({"error": "ExpiredToken", "message": "Token has been revoked"}, status=400)
        self._state.refresh.discard(token)
        return json_answer(self._issue())

    async def _list(self, request: web.Request) -> web.Response:
        refused = self._refused(request)
        if refused:
            return refused
        query = request.query
        reasons = query.getall("reasons", [])
        items = [n for n in reversed(self._state.notifications) if not reasons or n["reason"] in reasons]
        if "cursor" in query:
            items = [n for n in items if n["indexedAt"] < query["cursor"]]
        try:
            size = min(max(int(query.get("limit", "50")), 1), 100)
        except ValueError:
            return json_answer({"error": "InvalidRequest", "message": "limit must be an integer"}, status=400)
        page = items[:size]
        body: dict[str, Any] = {"notifications": page, "priority": query.get("priority") == "true"}
        if len(items) > len(page):
            body["cursor"] = page[-1]["indexedAt"]
        return json_answer(body)

    async def _resolve(self, request: web.Request) -> web.Response:
        did = self._state.handles.get(request.query.get("handle", ""))
        if did is None:
            return json_answer({"error": "InvalidRequest", "message": "Unable to resolve handle"}, status=400)
        return json_answer({"did": did})

    async def _create_record(self, request: web.Request) -> web.Response:
        refused = self._refused(request)
        if refused:
            return refused
        body = await self._json(request)
        problem = _invalid(body, self._state.posts)
        if body is None or problem:
            return json_answer({"error": "InvalidRequest", "message": problem or "Invalid JSON"}, status=400)
        uri = f"at://{DID}/{POST}/{body['rkey']}"
        if uri in self._state.posts:  # the real PDS answers 500 for a record key in use
            return json_answer(
                {"error": "InternalServerError", "message": "Internal Server Error"}, status=500
            )
        record = body["record"]
        cid = cid_for(uri + record["text"])
        author = {"did": DID, "handle": HANDLE, "displayName": "Riverside Library", "labels": []}
        self._state.posts[uri] = {"uri": uri, "cid": cid, "value": record, "author": author}
        self._state.ours.append(uri)
        if self.on_publish is not None:
            self.on_publish(self._published(self._state.posts[uri]))
        return json_answer({"uri": uri, "cid": cid, "validationStatus": "valid"})

    async def _get_record(self, request: web.Request) -> web.Response:
        refused = self._refused(request)
        if refused:
            return refused
        query = request.query
        found = self._state.posts.get(
            f"at://{query.get('repo', '')}/{query.get('collection', '')}/{query.get('rkey', '')}"
        )
        if found is None:
            return json_answer({"error": "RecordNotFound", "message": "Could not locate record"}, status=400)
        return json_answer({"uri": found["uri"], "cid": found["cid"], "value": found["value"]})

    async def _author_feed(self, request: web.Request) -> web.Response:
        if request.query.get("actor") not in (HANDLE, DID):
            return json_answer({"error": "InvalidRequest", "message": "Profile not found"}, status=400)
        feed = [
            {
                "post": {
                    "uri": p["uri"],
                    "cid": p["cid"],
                    "author": p["author"],
                    "record": p["value"],
                    "indexedAt": p["value"]["createdAt"],
                }
            }
            for p in (self._state.posts[uri] for uri in reversed(self._state.ours))
        ]
        return json_answer({"feed": feed})

    def _published(self, post: dict[str, Any]) -> Published:
        rkey = post["uri"].rsplit("/", 1)[-1]
        parent = ((post["value"].get("reply") or {}).get("parent") or {}).get("uri", "")
        return Published(
            PLATFORM, post["value"]["text"], f"{self.origin}/profile/{HANDLE}/post/{rkey}", parent
        )


def _invalid(body: dict[str, Any] | None, posts: dict[str, dict[str, Any]]) -> str:
    """What the PDS's lexicon validation would refuse, or ""."""
    if body is None:
        return ""
    record = body.get("record")
    if (
        body.get("repo") not in (DID, HANDLE)
        or body.get("collection") != POST
        or not isinstance(record, dict)
    ):
        return "repo, collection or record"
    if not _TID.match(str(body.get("rkey", ""))):
        return "Invalid record key for app.bsky.feed.post: must be a valid TID"
    text = record.get("text")
    if not isinstance(text, str) or len(text.encode()) > 3000:
        return "Invalid app.bsky.feed.post record: record/text must be a string of at most 300 graphemes"
    reply = record.get("reply")
    if reply is not None:
        for part in ("root", "parent"):
            ref = reply.get(part) if isinstance(reply, dict) else None
            if (
                not isinstance(ref, dict)
                or ref.get("uri") not in posts
                or ref.get("cid") != posts[ref["uri"]]["cid"]
            ):
                return f"Invalid app.bsky.feed.post record: record/reply/{part} must be a strongRef to a post"
    return ""


def build() -> BlueskyStandIn:
    """The stand-in the demo starts (named by the spec's ``build_standin``)."""
    return BlueskyStandIn()
