"""A loopback Graph API: a Facebook Page and an Instagram professional account, in Meta's wire format.

Shapes follow ../shared/reference-payloads (facebook_*, instagram_*): ``{"data": [...], "paging":
{"cursors": {"before", "after"}, "next"}}`` lists (``next`` only while more pages follow), times as
``2021-08-10T18:45:03+0000``, ids as digit strings (``{page}_{post}``, ``{post}_{comment}``), the error
envelope ``{"error": {"message", "type", "code", "error_subcode", "fbtrace_id"}}``, usage headers on
every answer. Faults: queued per route (``inject``), an expired token, usage percentages, malformed
bodies. ``signed_post`` delivers a webhook body signed like Meta does (computed here, independently).
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import re
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from aiohttp import web

from .loopback import RecordingServer, json_bytes, json_response

VERSION = "v22.0"
TOKEN = "test-page-token"
PAGE_ID = "1234567890321"
PAGE_NAME = "Riverside Public Library"
IG_ID = "17841400000000001"
IG_USERNAME = "riverside_library"
APP_SECRET = "test-app-secret"
VERIFY_TOKEN = "test-verify-token"
SCOPES = [
    "pages_read_engagement",
    "pages_manage_engagement",
    "pages_manage_metadata",
    "pages_messaging",
    "instagram_basic",
    "instagram_manage_comments",
]
_LOOKUP = re.compile(r"^(mentioned_comment)\.comment_id\((\d+)\)|^(mentioned_media)\.media_id\((\d+)\)")


def graph_time(when: datetime) -> str:
    """``2021-08-10T18:45:03+0000``, as the Graph API writes times."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


def error_body(code: int, message: str, *, subcode: int | None = None, kind: str = "OAuthException") -> bytes:
    """The Graph error envelope."""
    inner: dict[str, Any] = {"message": message, "type": kind, "code": code, "fbtrace_id": "AbCdEfGh123"}
    if subcode is not None:
        inner["error_subcode"] = subcode
    return json_bytes({"error": inner})


def sign(secret: str, body: bytes) -> str:
    """``X-Hub-Signature-256`` as Meta computes it."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


async def signed_post(url: str, payload: Any, *, secret: str = APP_SECRET) -> httpx.Response:
    """POST a webhook body with Meta's signature header."""
    body = payload if isinstance(payload, bytes) else json_bytes(payload)
    async with httpx.AsyncClient() as http:
        return await http.post(
            url,
            content=body,
            headers={"Content-Type": "application/json", "X-Hub-Signature-256": sign(secret, body)},
        )


@dataclass
class GraphState:
    posts: dict[str, dict[str, Any]] = field(default_factory=dict)
    comments: dict[str, dict[str, Any]] = field(default_factory=dict)  # Facebook, by id
    media: dict[str, dict[str, Any]] = field(default_factory=dict)
    ig_comments: dict[str, dict[str, Any]] = field(default_factory=dict)
    elsewhere: dict[str, dict[str, Any]] = field(default_factory=dict)  # mentions on others' media
    created: list[dict[str, Any]] = field(default_factory=list)  # every comment/reply the bot made
    messages: list[dict[str, Any]] = field(default_factory=list)  # private replies by Messenger
    tagged: list[dict[str, Any]] = field(default_factory=list)  # others' posts tagging the Page


class FakeGraph(RecordingServer):
    """Routes under ``/{version}/``: nodes, edges, ``debug_token``; route names for ``inject`` are
    page, posts, comments, comment_create, messages, media, ig_comments, replies, mentions, lookup."""

    def __init__(self, *, clock: Any = None) -> None:
        super().__init__()
        self.state = GraphState()
        self.clock = clock or (lambda: datetime.now(UTC))
        self.token_expired = False
        self.usage: dict[str, str] = {}  # header name -> JSON value, added to every answer
        self.scopes = list(SCOPES)
        self.lose_create_response = 0  # publish, then answer 502 as if the response was lost
        self._ids = itertools.count(900000000000100)

    def web_routes(self) -> list[web.RouteDef]:
        return [
            web.get(f"/{VERSION}/debug_token", self._debug_token),
            web.get(f"/{VERSION}/{{node}}", self._node),
            web.get(f"/{VERSION}/{{node}}/{{edge}}", self._edge),
            web.post(f"/{VERSION}/{{node}}/{{edge}}", self._create),
        ]

    @property
    def base(self) -> str:
        return self.origin

    # --- test controls ----------------------------------------------------------------------

    def new_id(self) -> str:
        return str(next(self._ids))

    def add_post(self, message: str = "Our summer reading programme starts Monday!") -> dict[str, Any]:
        post_id = f"{PAGE_ID}_{self.new_id()}"
        post = {"id": post_id, "message": message, "created_time": self.clock(), "updated_time": self.clock()}
        self.state.posts[post_id] = post
        return post

    def add_comment(
        self,
        post_id: str,
        message: str = "Are you open on Monday?",
        *,
        author: dict[str, str] | None = None,
        parent_id: str | None = None,
        created: datetime | None = None,
    ) -> dict[str, Any]:
        """A patron's comment (or a reply to ``parent_id``) on a Page post."""
        comment_id = f"{post_id.split('_')[-1]}_{self.new_id()}"
        comment = {
            "id": comment_id,
            "post_id": post_id,
            "parent_id": parent_id,
            "message": message,
            "from": author if author is not None else {"id": "5550001", "name": "Pat Reader"},
            "created_time": created or self.clock(),
        }
        self.state.comments[comment_id] = comment
        self.state.posts[post_id]["updated_time"] = self.clock()
        return comment

    def feed_webhook(
        self, comment: dict[str, Any], verb: str = "add", *, field: str = "feed"
    ) -> dict[str, Any]:
        """The ``object: page`` webhook body for a comment (current shape: ``from{id,name}``)."""
        value: dict[str, Any] = {
            "item": "comment",
            "verb": verb,
            "comment_id": comment["id"],
            "post_id": comment["post_id"],
            "parent_id": comment["parent_id"] or comment["post_id"],
            "created_time": int(comment["created_time"].timestamp()),
        }
        if comment.get("from") is not None:
            value["from"] = comment["from"]
        if verb in ("add", "edited"):
            value["message"] = comment["message"]
        stamp = int(self.clock().timestamp())
        return {
            "object": "page",
            "entry": [{"id": PAGE_ID, "time": stamp, "changes": [{"field": field, "value": value}]}],
        }

    def add_tagged(self, message: str, *, author: dict[str, str] | None = None) -> dict[str, Any]:
        """Someone else's post that tags the Page (``GET /{page-id}/tagged``)."""
        owner = self.new_id()
        post = {
            "id": f"{owner}_{self.new_id()}",
            "message": message,
            "created_time": self.clock(),
            "from": author or {"id": owner, "name": "Friends of the Library"},
        }
        self.state.tagged.append(post)
        return post

    def _tagged_post(self, post: dict[str, Any]) -> dict[str, Any]:
        owner, _, number = post["id"].partition("_")
        when = post["created_time"]
        return {
            "id": post["id"],
            "message": post["message"],
            "created_time": graph_time(when) if isinstance(when, datetime) else when,
            "from": post["from"],
            "permalink_url": f"https://www.facebook.com/{owner}/posts/{number}",
        }

    def add_media(self, caption: str = "New books this week") -> dict[str, Any]:
        media_id = self.new_id()
        media = {
            "id": media_id,
            "caption": caption,
            "timestamp": self.clock(),
            "permalink": f"https://www.instagram.com/p/{media_id}/",
        }
        self.state.media[media_id] = media
        return media

    def add_ig_comment(
        self,
        media_id: str,
        text: str = "Do you have this in large print?",
        *,
        username: str = "reader_pat",
        parent_id: str | None = None,
    ) -> dict[str, Any]:
        comment_id = self.new_id()
        comment = {
            "id": comment_id,
            "media_id": media_id,
            "parent_id": parent_id,
            "text": text,
            "username": username,
            "from": {"id": f"99{zlib.crc32(username.encode()) % 10**8}", "username": username},
            "timestamp": self.clock(),
        }
        self.state.ig_comments[comment_id] = comment
        return comment

    def ig_webhook(self, comment: dict[str, Any]) -> dict[str, Any]:
        """The ``object: instagram`` ``comments`` webhook body (no timestamp in the value, as recorded)."""
        value: dict[str, Any] = {
            "id": comment["id"],
            "text": comment["text"],
            "from": comment["from"],
            "media": {"id": comment["media_id"], "media_product_type": "FEED"},
        }
        if comment["parent_id"]:
            value["parent_id"] = comment["parent_id"]
        return {
            "object": "instagram",
            "entry": [
                {
                    "id": IG_ID,
                    "time": int(self.clock().timestamp()),
                    "changes": [{"field": "comments", "value": value}],
                }
            ],
        }

    def add_elsewhere(
        self, text: str, *, caption: bool = False, username: str = "someone_else"
    ) -> dict[str, Any]:
        """A comment (or a caption) on another account's media that @mentions the library."""
        media_id, comment_id = self.new_id(), self.new_id()
        item = {
            "media_id": media_id,
            "comment_id": None if caption else comment_id,
            "text": text,
            "username": username,
            "timestamp": self.clock(),
        }
        self.state.elsewhere[media_id if caption else comment_id] = item
        return item

    def mentions_webhook(self, item: dict[str, Any]) -> dict[str, Any]:
        value = {"media_id": item["media_id"]}
        if item["comment_id"]:
            value["comment_id"] = item["comment_id"]
        return {
            "object": "instagram",
            "entry": [
                {
                    "id": IG_ID,
                    "time": int(self.clock().timestamp()),
                    "changes": [{"field": "mentions", "value": value}],
                }
            ],
        }

    # --- handlers ---------------------------------------------------------------------------

    def _refusal(self, request: web.Request) -> web.Response | None:
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return self._json_error(400, 190, "Invalid OAuth access token - Cannot parse access token")
        if self.token_expired:
            return self._json_error(
                400, 190, "Error validating access token: Session has expired on Friday.", subcode=463
            )
        return None

    def _json_error(
        self, status: int, code: int, message: str, *, subcode: int | None = None
    ) -> web.Response:
        return web.Response(
            status=status,
            body=error_body(code, message, subcode=subcode),
            content_type="application/json",
            headers=self.usage,
        )

    def _answer(self, payload: Any) -> web.Response:
        return json_response(payload, headers=dict(self.usage))

    def _guard(self, route: str, request: web.Request) -> web.Response | None:
        fault = self.record(route, request)
        if fault is not None:
            return fault
        return self._refusal(request)

    async def _debug_token(self, request: web.Request) -> web.Response:
        if (early := self._guard("debug_token", request)) is not None:
            return early
        valid = request.query.get("input_token") == TOKEN and not self.token_expired
        return self._answer(
            {
                "data": {
                    "app_id": "100000000000001",
                    "type": "PAGE",
                    "application": "Patron Desk",
                    "is_valid": valid,
                    "profile_id": PAGE_ID,
                    "scopes": self.scopes,
                }
            }
        )

    async def _node(self, request: web.Request) -> web.Response:
        node = request.match_info["node"]
        fields = request.query.get("fields", "")
        found = _LOOKUP.match(fields)
        if (early := self._guard("lookup" if found else "page", request)) is not None:
            return early
        if node == PAGE_ID:
            return self._answer({"id": PAGE_ID, "name": PAGE_NAME})
        if node != IG_ID:
            return self._json_error(400, 100, "Unsupported get request. Object does not exist", subcode=33)
        if not found:
            return self._answer({"id": IG_ID, "username": IG_USERNAME})
        key = found.group(2) or found.group(4)
        item = self.state.elsewhere.get(key)
        if item is None:
            return self._json_error(400, 100, "Invalid parameter")
        if found.group(1):
            body = {
                "id": item["comment_id"],
                "like_count": 0,
                "text": item["text"],
                "timestamp": graph_time(item["timestamp"]),
                "username": item["username"],
            }
            return self._answer({"mentioned_comment": body, "id": IG_ID})
        media = {
            "caption": item["text"],
            "comments_count": 0,
            "id": item["media_id"],
            "like_count": 0,
            "media_type": "IMAGE",
            "timestamp": graph_time(item["timestamp"]),
            "username": item["username"],
            "permalink": f"https://www.instagram.com/p/{item['media_id']}/",
        }
        return self._answer({"mentioned_media": media, "id": IG_ID})

    async def _edge(self, request: web.Request) -> web.Response:
        node, edge = request.match_info["node"], request.match_info["edge"]
        edges = {
            "posts": "posts",
            "feed": "posts",
            "media": "media",
            "replies": "replies",
            "tagged": "tagged",
        }
        route = edges.get(edge, "comments")
        if edge == "comments" and node in self.state.media:
            route = "ig_comments"
        if (early := self._guard(route, request)) is not None:
            return early
        if route == "posts" and node == PAGE_ID:
            posts = sorted(self.state.posts.values(), key=lambda p: p["created_time"], reverse=True)
            items = [
                {
                    "id": p["id"],
                    "updated_time": graph_time(p["updated_time"]),
                    "created_time": graph_time(p["created_time"]),
                }
                for p in posts
            ]
            return self._page(request, items)
        if route == "tagged" and node == PAGE_ID:
            return self._page(request, [self._tagged_post(t) for t in reversed(self.state.tagged)])
        if route == "media" and node == IG_ID:
            media = sorted(self.state.media.values(), key=lambda m: m["timestamp"], reverse=True)
            return self._page(
                request,
                [
                    {"id": m["id"], "timestamp": graph_time(m["timestamp"]), "permalink": m["permalink"]}
                    for m in media
                ],
            )
        if route == "ig_comments":
            top = [c for c in self.state.ig_comments.values() if c["media_id"] == node and not c["parent_id"]]
            top.reverse()  # newest first
            return self._page(request, [self._ig_comment(c, replies=True) for c in top])
        if route == "replies":
            replies = [c for c in self.state.ig_comments.values() if c["parent_id"] == node]
            return self._page(request, [self._ig_comment(c) for c in replies])
        return self._fb_comments(request, node)

    def _fb_comments(self, request: web.Request, node: str) -> web.Response:
        stream = request.query.get("filter") == "stream"
        if node in self.state.posts:
            found = [
                c
                for c in self.state.comments.values()
                if c["post_id"] == node and (stream or not c["parent_id"])
            ]
        elif node in self.state.comments:
            found = [c for c in self.state.comments.values() if c["parent_id"] == node]
        else:
            return self._json_error(400, 100, "Unsupported get request. Object does not exist", subcode=33)
        if request.query.get("order") == "reverse_chronological":  # insertion order is creation order
            found.reverse()
        return self._page(request, [self._fb_comment(c) for c in found])

    def _fb_comment(self, c: dict[str, Any]) -> dict[str, Any]:
        post, _, cid = c["id"].partition("_")
        item: dict[str, Any] = {
            "id": c["id"],
            "message": c["message"],
            "created_time": graph_time(c["created_time"])
            if isinstance(c["created_time"], datetime)
            else c["created_time"],
            "permalink_url": f"https://www.facebook.com/{PAGE_ID}/posts/{post}/?comment_id={cid}",
        }
        if c.get("from") is not None:
            item["from"] = c["from"]
        if c["parent_id"]:
            item["parent"] = {"id": c["parent_id"]}
        return item

    def _ig_comment(self, c: dict[str, Any], *, replies: bool = False) -> dict[str, Any]:
        item: dict[str, Any] = {
            "id": c["id"],
            "text": c["text"],
            "timestamp": graph_time(c["timestamp"])
            if isinstance(c["timestamp"], datetime)
            else c["timestamp"],
            "username": c["username"],
            "from": c["from"],
        }
        if replies:
            nested = [
                self._ig_comment(r) for r in self.state.ig_comments.values() if r["parent_id"] == c["id"]
            ]
            if nested:
                item["replies"] = {"data": nested}
        return item

    def _page(self, request: web.Request, items: list[dict[str, Any]]) -> web.Response:
        """One page: ``limit`` items from the ``after`` cursor, ``paging.next`` while more follow."""
        limit = max(1, min(int(request.query.get("limit", "25")), 100))
        start = _cursor_index(request.query.get("after"))
        chunk = items[start : start + limit]
        body: dict[str, Any] = {"data": chunk}
        if chunk:
            paging: dict[str, Any] = {
                "cursors": {"before": _cursor(start), "after": _cursor(start + len(chunk))}
            }
            if start + len(chunk) < len(items):
                query = dict(request.query) | {"after": _cursor(start + len(chunk))}
                paging["next"] = str(request.url.with_query(query))
            body["paging"] = paging
        return self._answer(body)

    async def _create(self, request: web.Request) -> web.Response:
        node, edge = request.match_info["node"], request.match_info["edge"]
        route = {
            "comments": "comment_create",
            "messages": "messages",
            "replies": "replies",
            "mentions": "mentions",
        }.get(edge, edge)
        if (early := self._guard(route, request)) is not None:
            return early
        body = await request.json()
        answer = self._created(route, node, body)
        if self.lose_create_response and answer.status == 200:
            self.lose_create_response -= 1
            return web.Response(status=502, text="Bad Gateway")
        return answer

    def _created(self, route: str, node: str, body: dict[str, Any]) -> web.Response:
        if route == "comment_create":
            return self._fb_reply(node, body)
        if route == "messages":
            return self._private_reply(node, body)
        if route == "replies":
            parent = self.state.ig_comments.get(node)
            if parent is None or parent["parent_id"]:
                return self._json_error(400, 100, "Invalid parameter", subcode=2534023)
            new = self.new_id()
            self.state.created.append(
                {"id": new, "edge": "replies", "parent": node, "message": body.get("message")}
            )
            return self._answer({"id": new})
        if route == "mentions" and node == IG_ID:
            new = self.new_id()
            self.state.created.append({"id": new, "edge": "mentions", **body})
            return self._answer({"id": new})
        return self._json_error(400, 100, "Unsupported post request")

    def _fb_reply(self, node: str, body: dict[str, Any]) -> web.Response:
        target = self.state.comments.get(node)
        if any(t["id"] == node for t in self.state.tagged):  # a comment under someone else's post
            new = f"{node.split('_')[-1]}_{self.new_id()}"
            self.state.created.append(
                {"id": new, "edge": "comments", "parent": node, "message": body.get("message")}
            )
            return self._answer({"id": new})
        if target is None and node not in self.state.posts:
            return self._json_error(400, 100, "Unsupported post request. Object does not exist", subcode=33)
        post_id = target["post_id"] if target else node
        parent = (target["parent_id"] or node) if target else None  # a reply to a reply joins its thread
        comment = self.add_comment(
            post_id, body.get("message", ""), author={"id": PAGE_ID, "name": PAGE_NAME}, parent_id=parent
        )
        self.state.created.append(
            {"id": comment["id"], "edge": "comments", "parent": node, "message": comment["message"]}
        )
        return self._answer({"id": comment["id"]})

    def _private_reply(self, node: str, body: dict[str, Any]) -> web.Response:
        recipient = body.get("recipient") or {}
        cid = recipient.get("comment_id") or recipient.get("post_id")
        if node != PAGE_ID or cid not in {*self.state.comments, *self.state.posts}:
            return self._json_error(400, 100, "(#100) Invalid recipient")
        if any(m["recipient"] == recipient for m in self.state.messages):
            return self._json_error(400, 10900, "(#10900) Activity already replied to")
        self.state.messages.append({"recipient": recipient, "message": body.get("message")})
        return self._answer({"recipient_id": "5550001000", "message_id": f"m_{self.new_id()}"})


def _cursor(index: int) -> str:
    return json.dumps(index).encode().hex()


def _cursor_index(value: str | None) -> int:
    if not value:
        return 0
    try:
        return max(int(bytes.fromhex(value).decode()), 0)
    except ValueError:
        return 0
