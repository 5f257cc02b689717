"""A loopback Bluesky PDS/AppView (XRPC): sessions, listNotifications, resolveHandle, records.

Shapes follow the recorded listNotifications extracts and the atproto lexicons: notifications
newest first with an opaque cursor, ``ExpiredToken`` (HTTP 400) for an expired access token,
and, like the real PDS today, HTTP 500 when createRecord hits a record key that already exists.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import count
from typing import Any

import grapheme
from aiohttp import web

from .loopback import RecordingServer, json_bytes, json_response

HANDLE = "library.example.org"
DID = "did:plc:libraryaaaaaaaaaaaaaaaaa"
PASSWORD = "abcd-efgh-ijkl-mnop"
POST = "app.bsky.feed.post"
TID = re.compile(r"^[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}$")
_S32 = "234567abcdefghijklmnopqrstuvwxyz"


def did_for(handle: str) -> str:
    digest = hashlib.sha256(handle.encode()).digest()
    return "did:plc:" + "".join(_S32[b % 32] for b in digest[:24])


def cid_for(data: str) -> str:
    digest = hashlib.sha256(data.encode()).digest()
    return "bafyrei" + "".join(_S32[b % 32] for b in digest[:52])


@dataclass
class BlueskyState:
    notifications: list[dict[str, Any]] = field(default_factory=list)  # oldest first
    records: dict[str, dict[str, Any]] = field(default_factory=dict)  # our posts by rkey
    creates: list[dict[str, Any]] = field(default_factory=list)  # every createRecord body
    access: set[str] = field(default_factory=set)
    expired: set[str] = field(default_factory=set)
    refresh: set[str] = field(default_factory=set)
    handles: dict[str, str] = field(default_factory=dict)
    sessions: int = 0
    refreshes: int = 0


class FakeBluesky(RecordingServer):
    """Routes under /xrpc/: createSession, refreshSession, listNotifications, resolveHandle,
    createRecord, getRecord."""

    def __init__(self) -> None:
        super().__init__()
        self.state = BlueskyState()
        self.page_cap: int | None = None  # serve at most this many per page, whatever the limit
        self.short_pages = False  # pages of 0, 1, 2, 0, 1, 2 ... items while a cursor remains
        self.filter_reasons = True  # False: ignore `reasons` like an older AppView
        self.lose_create_response = 0  # store the record, then answer 502
        self.password = PASSWORD  # change it to revoke the app password
        self._tokens = count(1)
        self._clock = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
        self._rkeys = count(1)

    def web_routes(self) -> list[web.RouteDef]:
        x = "/xrpc/"
        return [
            web.post(x + "com.atproto.server.createSession", self._create_session),
            web.post(x + "com.atproto.server.refreshSession", self._refresh_session),
            web.get(x + "app.bsky.notification.listNotifications", self._list),
            web.get(x + "com.atproto.identity.resolveHandle", self._resolve),
            web.post(x + "com.atproto.repo.createRecord", self._create_record),
            web.get(x + "com.atproto.repo.getRecord", self._get_record),
        ]

    # --- test controls --------------------------------------------------------------------

    def add_post(
        self,
        text: str = "@library.example.org is the library open on Sunday?",
        *,
        handle: str = "reader.example.net",
        reason: str = "mention",
        facets: list[dict[str, Any]] | None = None,
        reply: dict[str, Any] | None = None,
        record: dict[str, Any] | None = None,
        labels: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """A new notification (newest first in listings)."""
        self._clock += timedelta(seconds=7)
        did = did_for(handle)
        self.state.handles[handle] = did
        rkey = (
            f"3l{next(self._rkeys):011d}".replace("0", "a")
            .replace("1", "b")
            .replace("8", "c")
            .replace("9", "d")
        )
        uri = f"at://{did}/{POST}/{rkey}"
        stamp = self._clock.isoformat().replace("+00:00", ".000Z")
        body: dict[str, Any] = record or {"$type": POST, "text": text, "langs": ["en"], "createdAt": stamp}
        if facets is not None:
            body["facets"] = facets
        if reply is not None:
            body["reply"] = reply
        notification = {
            "uri": uri,
            "cid": cid_for(uri),
            "author": {
                "did": did,
                "handle": handle,
                "displayName": handle.split(".")[0].title(),
                "labels": [],
            },
            "reason": reason,
            "record": body,
            "isRead": False,
            "indexedAt": stamp,
            "labels": labels or [],
        }
        self.state.notifications.append(notification)
        return notification

    def expire_access(self) -> None:
        """Every access token issued so far has expired."""
        self.state.expired |= self.state.access
        self.state.access.clear()

    def expire_refresh(self) -> None:
        """Every refresh token has expired too (the next refresh must fail)."""
        self.expire_access()
        self.state.refresh.clear()

    # --- handlers --------------------------------------------------------------------------

    def _issue(self) -> dict[str, Any]:
        n = next(self._tokens)
        self.state.access.add(f"access-{n}")
        self.state.refresh.add(f"refresh-{n}")
        return {
            "accessJwt": f"access-{n}",
            "refreshJwt": f"refresh-{n}",
            "handle": HANDLE,
            "did": DID,
            "active": True,
        }

    def _auth(self, route: str, request: web.Request) -> web.Response | None:
        fault = self.record(route, request)
        if fault is not None:
            return fault
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if token in self.state.expired:
            return json_response({"error": "ExpiredToken", "message": "Token has expired"}, status=400)
        if token not in self.state.access:
            return json_response({"error": "AuthenticationRequired", "message": "Invalid token"}, status=401)
        return None

    async def _create_session(self, request: web.Request) -> web.Response:
        fault = self.record("createSession", request)
        if fault is not None:
            return fault
        body = await request.json()
        if body.get("identifier") not in (HANDLE, DID) or body.get("password") != self.password:
            return json_response(
                {"error": "AuthenticationRequired", "message": "Invalid identifier or password"}, status=401
            )
        self.state.sessions += 1
        return json_response(self._issue())

    async def _refresh_session(self, request: web.Request) -> web.Response:
        fault = self.record("refreshSession", request)
        if fault is not None:
            return fault
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if token not in self.state.refresh:
            return json_response({"error": "ExpiredToken", "message": "Token has been revoked"}, status=400)
        self.state.refresh.discard(token)
        self.state.refreshes += 1
        return json_response(self._issue())

    async def _list(self, request: web.Request) -> web.Response:
        refused = self._auth("listNotifications", request)
        if refused:
            return refused
        q = request.query
        reasons = q.getall("reasons", [])
        items = [
            n for n in reversed(self.state.notifications) if not self.filter_reasons or n["reason"] in reasons
        ]
        if "cursor" in q:
            items = [n for n in items if n["indexedAt"] < q["cursor"]]
        size = int(q.get("limit", "50"))
        if self.page_cap is not None:
            size = min(size, self.page_cap)
        if self.short_pages:
            size = min(size, len(self.hits_for("listNotifications")) % 3)
        page = items[:size]
        body: dict[str, Any] = {"notifications": page, "priority": q.get("priority") == "true"}
        if len(items) > len(page):
            body["cursor"] = page[-1]["indexedAt"] if page else q.get("cursor", "9999")
        return web.Response(body=json_bytes(body), content_type="application/json")

    async def _resolve(self, request: web.Request) -> web.Response:
        refused = self._auth("resolveHandle", request)
        if refused:
            return refused
        did = self.state.handles.get(request.query.get("handle", ""))
        if did is None:
            return json_response(
                {"error": "InvalidRequest", "message": "Unable to resolve handle"}, status=400
            )
        return json_response({"did": did})

    async def _create_record(self, request: web.Request) -> web.Response:
        refused = self._auth("createRecord", request)
        if refused:
            return refused
        body = await request.json()
        self.state.creates.append(body)
        problem = _invalid(body)
        if problem:
            return json_response({"error": "InvalidRequest", "message": problem}, status=400)
        rkey = body["rkey"]
        if rkey in self.state.records:  # the real PDS answers 500 here (atproto issue #3718)
            return json_response(
                {"error": "InternalServerError", "message": "Internal Server Error"}, status=500
            )
        uri = f"at://{DID}/{POST}/{rkey}"
        self.state.records[rkey] = {
            "uri": uri,
            "cid": cid_for(uri + body["record"]["text"]),
            "value": body["record"],
        }
        if self.lose_create_response:
            self.lose_create_response -= 1
            return json_response({"error": "UpstreamFailure"}, status=502)
        found = self.state.records[rkey]
        return json_response({"uri": uri, "cid": found["cid"], "validationStatus": "valid"})

    async def _get_record(self, request: web.Request) -> web.Response:
        refused = self._auth("getRecord", request)
        if refused:
            return refused
        found = self.state.records.get(request.query.get("rkey", ""))
        if request.query.get("repo") != DID or found is None:
            return json_response(
                {"error": "RecordNotFound", "message": "Could not locate record"}, status=400
            )
        return json_response(found)


def _invalid(body: dict[str, Any]) -> str:
    """What the PDS's lexicon validation would refuse, or ""."""
    record = body.get("record") or {}
    text = record.get("text", "")
    if body.get("repo") != DID or body.get("collection") != POST:
        return "repo or collection"
    if not TID.match(body.get("rkey", "")):
        return "Invalid record key for app.bsky.feed.post: must be a valid TID"
    if grapheme.length(text) > 300 or len(text.encode()) > 3000:
        return "Invalid app.bsky.feed.post record: record/text must not be longer than 300 graphemes"
    reply = record.get("reply") or {}
    for part in ("root", "parent"):
        ref = reply.get(part) or {}
        if not (str(ref.get("uri", "")).startswith("at://") and ref.get("cid")):
            return f"Invalid app.bsky.feed.post record: record/reply/{part} must be a strongRef"
    size = len(text.encode())
    for facet in record.get("facets", []):
        index = facet["index"]
        if not 0 <= index["byteStart"] < index["byteEnd"] <= size:
            return "Invalid app.bsky.feed.post record: facet out of range"
    return ""
