"""A loopback Slack: the Web API methods the bot uses, Socket Mode over a WebSocket, response URLs.

It validates tokens, required arguments and Block Kit limits (answering with Slack's own error names:
``not_authed``, ``invalid_auth``, ``channel_not_found``, ``invalid_blocks``, ``expired_trigger_id``...),
and can inject faults per method: a 429 with ``Retry-After``, an error, an HTTP status, or "commit the
post, then drop the connection". Socket Mode sends ``hello``, delivers envelopes
``{envelope_id, type, payload, accepts_response_payload}`` and records each ack.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
import uuid
from collections import deque
from dataclasses import dataclass
from typing import Any

from aiohttp import WSMsgType, web

from . import slack_payloads as P
from .loopback import LoopbackServer
from .slack_blockkit import check_blocks, check_view, units

# The bot token's scopes by default, and the scope each Web API method needs (unlisted: none here).
SCOPES = (
    "chat:write",
    "channels:history",
    "channels:read",
    "users:read",
    "usergroups:read",
    "usergroups:write",
)
NEEDS = {"usergroups.list": "usergroups:read", "usergroups.users.list": "usergroups:read"}
NEEDS |= {"usergroups.users.update": "usergroups:write"}
BOT_TOKEN, APP_TOKEN, SIGNING_SECRET = "xoxb-test-bot-token", "xapp-1-test-app-token", "test-signing-secret"
TRIGGER_TTL = 3.0


@dataclass
class Fault:
    """One injected failure: ``ratelimit`` (429), ``error`` (ok:false), ``http`` (status), ``drop``
    (commit, then close the connection unanswered), or ``pass`` (this call goes through)."""

    kind: str
    retry_after: str = "1"
    error: str = "internal_error"
    status: int = 500


class SlackEmulator(LoopbackServer):
    """State and server. ``await start()``; then point the bot at ``api_url``."""

    shutdown_timeout = 60.0  # aiohttp's default: close() waits for calls still being answered

    def __init__(self) -> None:
        super().__init__()
        self.channels: dict[str, list[dict[str, Any]]] = {}
        self.users: dict[str, dict[str, Any]] = {}
        self.usergroups: dict[str, list[str]] = {}
        self.handles: dict[str, str] = {}  # user group id -> its handle (usergroups.list)
        self.disabled_groups: set[str] = set()
        self.scopes: set[str] = set(SCOPES)  # the bot token's scopes (auth.test's x-oauth-scopes)
        self.group_edits = "everyone"  # workspace setting: who may edit user groups ("admins": bots may not)
        self.members: dict[str, list[str]] = {}  # channel -> its members (conversations.members)
        self.bot_left: set[str] = set()  # channels the bot is not in: posts answer not_in_channel
        self.archived: set[str] = set()
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.faults: dict[str, deque[Fault]] = {}
        self.ephemerals: list[dict[str, Any]] = []
        self.views: dict[str, dict[str, Any]] = {}
        self.responses: list[dict[str, Any]] = []
        self.acks: dict[str, dict[str, Any]] = {}
        self.posted_at: dict[str, float] = {}  # ts -> time.perf_counter() when the post was stored
        self.sockets: list[web.WebSocketResponse] = []
        self.connections = 0
        self._triggers: dict[str, float] = {}
        self._issued: set[str] = set()
        self._tickets: set[str] = set()
        self._waiters: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._clock = itertools.count(1)
        self._base = int(time.time())

    # --- lifecycle ------------------------------------------------------------------------------

    def web_routes(self) -> list[web.RouteDef]:
        return [
            web.route("*", "/api/{method}", self._api),
            web.get("/link/", self._socket),
            web.post("/respond/{rid}", self._respond),
        ]

    async def close(self) -> None:
        for ws in list(self.sockets):
            await ws.close()
        await super().close()

    @property
    def api_url(self) -> str:
        return f"{self.origin}/api/"

    def add_channel(self, channel: str) -> None:
        self.channels.setdefault(channel, [])

    def add_user(self, user: str, name: str, real_name: str = "") -> None:
        profile = {"display_name": name, "real_name": real_name or name.title()}
        self.users[user] = {
            "id": user,
            "team_id": P.TEAM,
            "name": name,
            "real_name": profile["real_name"],
            "profile": profile,
        }

    def fail(self, method: str, *faults: Fault) -> None:
        """Queue failures for the next calls of ``method``."""
        self.faults.setdefault(method, deque()).extend(faults)

    def response_url(self) -> str:
        return f"{self.origin}/respond/{uuid.uuid4().hex}"

    def new_ts(self) -> str:
        return f"{self._base}.{next(self._clock):06d}"

    # --- queries for tests ----------------------------------------------------------------------

    def top_level(self, channel: str) -> list[dict[str, Any]]:
        return [m for m in self.channels.get(channel, []) if m.get("thread_ts", m["ts"]) == m["ts"]]

    def message(self, channel: str, ts: str) -> dict[str, Any]:
        return next(m for m in self.channels[channel] if m["ts"] == ts)

    def count(self, method: str) -> int:
        return sum(1 for name, _ in self.calls if name == method)

    # --- Web API --------------------------------------------------------------------------------

    async def _args(self, request: web.Request) -> dict[str, Any]:
        args: dict[str, Any] = dict(request.query)
        if request.content_type == "application/json":
            args.update(await request.json())
        elif request.can_read_body:
            args.update(dict(await request.post()))
        for key in ("blocks", "metadata", "view"):
            if isinstance(args.get(key), str):
                with contextlib.suppress(ValueError):
                    args[key] = json.loads(args[key])
        return args

    async def _api(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        args = await self._args(request)
        auth = request.headers.get("Authorization", "")
        token = (
            auth.removeprefix("Bearer ").strip() if auth.startswith("Bearer ") else str(args.pop("token", ""))
        )
        self.calls.append((method, args))
        fault = self.faults.get(method, deque()).popleft() if self.faults.get(method) else None
        if fault and fault.kind == "ratelimit":
            return web.json_response(
                {"ok": False, "error": "ratelimited"}, status=429, headers={"Retry-After": fault.retry_after}
            )
        if fault and fault.kind == "error":
            return web.json_response({"ok": False, "error": fault.error})
        if fault and fault.kind == "http":
            return web.Response(status=fault.status, text="upstream trouble")
        handler = getattr(self, "m_" + method.replace(".", "_"), None)
        if handler is None:
            return web.json_response({"ok": False, "error": "unknown_method"})
        expected = APP_TOKEN if method == "apps.connections.open" else BOT_TOKEN
        if not token:
            return web.json_response({"ok": False, "error": "not_authed"})
        if token != expected:
            return web.json_response({"ok": False, "error": "invalid_auth"})
        needed = NEEDS.get(method)
        if needed and needed not in self.scopes:
            provided = ",".join(sorted(self.scopes))
            return web.json_response(
                {"ok": False, "error": "missing_scope", "needed": needed, "provided": provided}
            )
        result = handler(args)
        if fault and fault.kind == "drop" and result.get("ok"):
            assert request.transport is not None
            request.transport.abort()  # committed, but the caller never hears back
        headers = {"x-oauth-scopes": ",".join(sorted(self.scopes))} if method == "auth.test" else {}
        return web.json_response(result, headers=headers)

    @staticmethod
    def _missing(args: dict[str, Any], *names: str) -> dict[str, Any] | None:
        for name in names:
            if args.get(name) in (None, ""):
                return {
                    "ok": False,
                    "error": "invalid_arguments",
                    "response_metadata": {"messages": [f"[ERROR] missing required field: {name}"]},
                }
        return None

    def _blocks_error(self, args: dict[str, Any]) -> dict[str, Any] | None:
        if "blocks" not in args:
            return None
        errors = check_blocks(args["blocks"])
        return (
            {"ok": False, "error": "invalid_blocks", "response_metadata": {"messages": errors}}
            if errors
            else None
        )

    def m_auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "url": f"https://{P.TEAM_DOMAIN}.slack.com/",
            "team": "Patron Desk Test",
            "user": "patron-desk",
            "team_id": P.TEAM,
            "user_id": P.BOT_USER,
            "bot_id": P.BOT_ID,
            "is_enterprise_install": False,
        }

    def m_apps_connections_open(self, args: dict[str, Any]) -> dict[str, Any]:
        ticket = uuid.uuid4().hex
        self._tickets.add(ticket)
        return {"ok": True, "url": f"ws://127.0.0.1:{self.port}/link/?ticket={ticket}&app_id={P.APP_ID}"}

    def m_chat_postMessage(self, args: dict[str, Any]) -> dict[str, Any]:
        if error := self._missing(args, "channel"):
            return error
        channel = str(args["channel"])
        if channel in self.users:  # a user id: the app's direct message with them (Slack opens it)
            channel = self.dm(channel)
        if channel not in self.channels:
            return {"ok": False, "error": "channel_not_found"}
        if channel in self.archived:
            return {"ok": False, "error": "is_archived"}
        if channel in self.bot_left:
            return {"ok": False, "error": "not_in_channel"}
        if not args.get("text") and not args.get("blocks"):
            return {"ok": False, "error": "no_text"}
        if units(str(args.get("text") or "")) > 40_000:
            return {"ok": False, "error": "msg_too_long"}
        if error := self._blocks_error(args):
            return error
        meta = args.get("metadata")
        if meta is not None and not (
            isinstance(meta, dict)
            and isinstance(meta.get("event_type"), str)
            and isinstance(meta.get("event_payload"), dict)
        ):
            return {"ok": False, "error": "invalid_metadata_format"}
        thread = args.get("thread_ts")
        if thread and not any(m["ts"] == thread for m in self.channels[channel]):
            return {"ok": False, "error": "thread_not_found"}
        message = {
            "type": "message",
            "user": P.BOT_USER,
            "bot_id": P.BOT_ID,
            "app_id": P.APP_ID,
            "text": str(args.get("text") or ""),
            "ts": self.new_ts(),
            "team": P.TEAM,
            "edits": 0,
        }
        if args.get("blocks"):
            message["blocks"] = args["blocks"]
        if thread:
            message["thread_ts"] = str(thread)
        if meta is not None:
            message["metadata"] = meta
        self.channels[channel].append(message)
        self.posted_at[message["ts"]] = time.perf_counter()
        shown = {k: v for k, v in message.items() if k not in ("metadata", "edits")}
        return {"ok": True, "channel": channel, "ts": message["ts"], "message": shown}

    def m_chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        if error := self._missing(args, "channel", "ts"):
            return error
        if str(args["channel"]) not in self.channels:
            return {"ok": False, "error": "channel_not_found"}
        found = [m for m in self.channels[str(args["channel"])] if m["ts"] == str(args["ts"])]
        if not found:
            return {"ok": False, "error": "message_not_found"}
        if found[0].get("user") != P.BOT_USER:
            return {"ok": False, "error": "cant_update_message"}
        if error := self._blocks_error(args):
            return error
        found[0].update(text=str(args.get("text") or found[0]["text"]), edits=found[0]["edits"] + 1)
        if "blocks" in args:
            found[0]["blocks"] = args["blocks"]
        return {"ok": True, "channel": args["channel"], "ts": args["ts"], "text": found[0]["text"]}

    def m_chat_postEphemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        if error := self._missing(args, "channel", "user"):
            return error
        if str(args["channel"]) not in self.channels:
            return {"ok": False, "error": "channel_not_found"}
        if not args.get("text") and not args.get("blocks"):
            return {"ok": False, "error": "no_text"}
        self.ephemerals.append(
            {"channel": args["channel"], "user": args["user"], "text": args.get("text", "")}
        )
        return {"ok": True, "message_ts": self.new_ts()}

    def m_views_open(self, args: dict[str, Any]) -> dict[str, Any]:
        if error := self._missing(args, "trigger_id", "view"):
            return error
        issued = self._triggers.pop(str(args["trigger_id"]), None)
        if issued is None:
            return {"ok": False, "error": "invalid_trigger_id"}
        if time.monotonic() - issued > TRIGGER_TTL:
            return {"ok": False, "error": "expired_trigger_id"}
        if errors := check_view(args["view"]):
            return {"ok": False, "error": "invalid_arguments", "response_metadata": {"messages": errors}}
        view = self.store_view(args["view"])
        return {"ok": True, "view": view}

    def m_views_update(self, args: dict[str, Any]) -> dict[str, Any]:
        """Replace a view the app opened (Slack checks ``hash`` when it is given: a stale form loses)."""
        if error := self._missing(args, "view"):
            return error
        stored = self.views.get(str(args.get("view_id", "")))
        if stored is None:
            return {"ok": False, "error": "not_found"}
        if args.get("hash") and args["hash"] != stored["hash"]:
            return {"ok": False, "error": "hash_conflict"}
        if errors := check_view(args["view"]):
            return {"ok": False, "error": "invalid_arguments", "response_metadata": {"messages": errors}}
        stored.update(args["view"], hash=f"{time.time():.0f}.{len(self.views)}u")
        return {"ok": True, "view": stored}

    async def choose(
        self, user: str, view: dict[str, Any], block_id: str, action_id: str, value: str
    ) -> dict[str, Any]:
        """Choose option ``value`` of a static select in a modal (a ``block_actions`` from the view)."""
        payload = P.view_block_actions(
            user=user, view=view, block_id=block_id, action_id=action_id, value=value, label=value
        )
        return await self.send("interactive", payload)

    def store_view(self, view: dict[str, Any], *, root: str | None = None) -> dict[str, Any]:
        view_id = P.next_id("V0")
        stored = {
            "id": view_id,
            "team_id": P.TEAM,
            "state": {"values": {}},
            "hash": f"{time.time():.0f}.x",
            "private_metadata": "",
            "callback_id": "",
            "previous_view_id": None,
            "root_view_id": root or view_id,
            "app_id": P.APP_ID,
            "external_id": "",
            "app_installed_team_id": P.TEAM,
            "bot_id": P.BOT_ID,
            "clear_on_close": False,
            "notify_on_close": False,
            **view,
        }
        self.views[view_id] = stored
        return stored

    def m_conversations_history(self, args: dict[str, Any]) -> dict[str, Any]:
        if error := self._missing(args, "channel"):
            return error
        if str(args["channel"]) not in self.channels:
            return {"ok": False, "error": "channel_not_found"}
        newest_first = list(reversed(self.top_level(str(args["channel"]))))
        return self._page(newest_first, args)

    def m_conversations_replies(self, args: dict[str, Any]) -> dict[str, Any]:
        if error := self._missing(args, "channel", "ts"):
            return error
        messages = self.channels.get(str(args["channel"]))
        if messages is None:
            return {"ok": False, "error": "channel_not_found"}
        thread = [m for m in messages if m["ts"] == args["ts"] or m.get("thread_ts") == args["ts"]]
        if not thread:
            return {"ok": False, "error": "thread_not_found"}
        return self._page(thread, args)

    def _page(self, messages: list[dict[str, Any]], args: dict[str, Any]) -> dict[str, Any]:
        limit = max(1, min(int(args.get("limit") or 100), 999))
        start = int(args.get("cursor") or 0)
        page = messages[start : start + limit]
        with_meta = str(args.get("include_all_metadata", "")).lower() in ("1", "true")
        shown = [
            {k: v for k, v in m.items() if k != "edits" and (with_meta or k != "metadata")} for m in page
        ]
        more = start + limit < len(messages)
        return {
            "ok": True,
            "messages": shown,
            "has_more": more,
            "response_metadata": {"next_cursor": str(start + limit) if more else ""},
        }

    def dm(self, user: str) -> str:
        """The id of the app's direct-message channel with ``user`` (made on first use)."""
        channel = "D" + user[1:]
        self.channels.setdefault(channel, [])
        return channel

    def add_usergroup(self, group_id: str, handle: str, users: list[str] | None = None) -> None:
        self.usergroups[group_id] = list(users or [])
        self.handles[group_id] = handle

    def _usergroup(self, group_id: str, *, users: bool) -> dict[str, Any]:
        """A usergroup object as Slack gives it (``usergroups.list``, ``usergroups.users.update``)."""
        members = self.usergroups.get(group_id, [])
        handle = self.handles.get(group_id, group_id.lower())
        found: dict[str, Any] = {
            "id": group_id,
            "team_id": P.TEAM,
            "is_usergroup": True,
            "is_subteam": True,
            "name": handle.replace("-", " ").title(),
            "description": "",
            "handle": handle,
            "is_external": False,
            "date_create": self._base,
            "date_update": self._base,
            "date_delete": self._base if group_id in self.disabled_groups else 0,
            "auto_type": None,
            "auto_provision": False,
            "enterprise_subteam_id": "",
            "created_by": "U0CREATOR1",
            "updated_by": "U0CREATOR1",
            "deleted_by": None,
            "prefs": {"channels": [], "groups": []},
            "user_count": len(members),
        }
        if users:
            found["users"] = list(members)
        return found

    def m_usergroups_list(self, args: dict[str, Any]) -> dict[str, Any]:
        """Every user group (disabled ones with ``include_disabled``), users with ``include_users``."""
        disabled = str(args.get("include_disabled", "")).lower() in ("1", "true")
        users = str(args.get("include_users", "")).lower() in ("1", "true")
        groups = [g for g in self.usergroups if disabled or g not in self.disabled_groups]
        return {"ok": True, "usergroups": [self._usergroup(g, users=users) for g in groups]}

    def m_usergroups_users_update(self, args: dict[str, Any]) -> dict[str, Any]:
        """Replace a group's members, with Slack's refusals: an unknown group, an empty or unknown user
        list, a bot or guest, and workspaces where only admins edit groups."""
        if error := self._missing(args, "usergroup"):
            return error
        group = str(args["usergroup"])
        if group not in self.usergroups:
            return {"ok": False, "error": "no_such_subteam"}
        if self.group_edits != "everyone":
            return {"ok": False, "error": "permission_denied"}
        raw = args.get("users")
        if raw in (None, ""):
            return {"ok": False, "error": "no_users_provided"}
        users = [u.strip() for u in (raw if isinstance(raw, list) else str(raw).split(",")) if u.strip()]
        if not users or any(u not in self.users for u in users):
            return {"ok": False, "error": "invalid_users"}
        if any(u == P.BOT_USER for u in users):
            return {"ok": False, "error": "invalid_user"}
        self.usergroups[group] = users
        self.disabled_groups.discard(group)
        return {"ok": True, "usergroup": self._usergroup(group, users=True)}

    def m_usergroups_users_list(self, args: dict[str, Any]) -> dict[str, Any]:
        if error := self._missing(args, "usergroup"):
            return error
        if args["usergroup"] not in self.usergroups:
            return {"ok": False, "error": "no_such_subteam"}
        return {"ok": True, "users": list(self.usergroups[args["usergroup"]])}

    def m_conversations_members(self, args: dict[str, Any]) -> dict[str, Any]:
        """Cursor-paged member ids, as Slack answers (``response_metadata.next_cursor``, "" at the end)."""
        if error := self._missing(args, "channel"):
            return error
        if args["channel"] not in self.channels:
            return {"ok": False, "error": "channel_not_found"}
        members = self.members.get(args["channel"], [])
        try:
            start, limit = int(args.get("cursor") or 0), int(args.get("limit") or 100)
        except ValueError:
            return {"ok": False, "error": "invalid_cursor"}
        if not 0 < limit < 1000:
            return {"ok": False, "error": "invalid_limit"}
        more = start + limit < len(members)
        return {
            "ok": True,
            "members": members[start : start + limit],
            "response_metadata": {"next_cursor": str(start + limit) if more else ""},
        }

    def m_conversations_info(self, args: dict[str, Any]) -> dict[str, Any]:
        """A channel's facts as Slack gives them; ``is_member`` is the bot's own membership."""
        if error := self._missing(args, "channel"):
            return error
        channel = str(args["channel"])
        if channel not in self.channels:
            return {"ok": False, "error": "channel_not_found"}
        return {
            "ok": True,
            "channel": {
                "id": channel,
                "name": f"staff-{channel.lower()}",
                "is_channel": True,
                "is_private": False,
                "is_archived": channel in self.archived,
                "is_member": channel not in self.bot_left,
                "context_team_id": P.TEAM,
            },
        }

    def m_users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        if error := self._missing(args, "user"):
            return error
        user = self.users.get(str(args["user"]))
        return {"ok": True, "user": user} if user else {"ok": False, "error": "user_not_found"}

    async def _respond(self, request: web.Request) -> web.Response:
        self.responses.append({"url": str(request.url), **(await request.json())})
        return web.Response(text="ok")

    # --- Socket Mode ----------------------------------------------------------------------------

    async def _socket(self, request: web.Request) -> web.StreamResponse:
        ticket = request.query.get("ticket", "")
        if ticket not in self._tickets:
            return web.Response(status=401, text="invalid ticket")
        self._tickets.discard(ticket)
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.sockets.append(ws)
        self.connections += 1
        hello = {
            "type": "hello",
            "num_connections": len(self.sockets),
            "debug_info": {
                "host": "applink-emulator",
                "build_number": 1,
                "approximate_connection_time": 18060,
            },
            "connection_info": {"app_id": P.APP_ID},
        }
        await ws.send_json(hello)
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    self._ack(json.loads(msg.data))
        finally:
            self.sockets.remove(ws)
        return ws

    def _ack(self, data: dict[str, Any]) -> None:
        envelope = str(data.get("envelope_id", ""))
        self.acks[envelope] = data
        waiter = self._waiters.pop(envelope, None)
        if waiter is not None and not waiter.done():
            waiter.set_result(data)

    async def refresh(self) -> None:
        """Ask the bot to reconnect, as Slack does every few hours (``type: disconnect``)."""
        message = {
            "type": "disconnect",
            "reason": "refresh_requested",
            "debug_info": {"host": "applink-emulator"},
        }
        await self.sockets[-1].send_json(message)

    async def connected(self, within: float = 10.0) -> None:
        """Wait until the bot holds a Socket Mode connection."""
        async with asyncio.timeout(within):
            while True:
                if self.sockets:
                    return
                await asyncio.sleep(0.01)

    async def deliver(
        self,
        kind: str,
        payload: dict[str, Any],
        *,
        accepts_response_payload: bool = False,
        retry_attempt: int = 0,
    ) -> asyncio.Future[dict[str, Any]]:
        """Send one envelope; the future resolves with the bot's ack (``{envelope_id, payload?}``)."""
        envelope_id = str(uuid.uuid4())
        trigger = str(payload.get("trigger_id", ""))
        if kind in ("interactive", "slash_commands") and trigger not in self._issued:
            self._issued.add(trigger)  # each trigger id is issued once; a replay is a dead trigger
            self._triggers[trigger] = time.monotonic()
        envelope: dict[str, Any] = {
            "envelope_id": envelope_id,
            "payload": payload,
            "type": kind,
            "accepts_response_payload": accepts_response_payload,
        }
        if kind == "events_api":
            envelope |= {"retry_attempt": retry_attempt, "retry_reason": "timeout" if retry_attempt else ""}
        waiter: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiters[envelope_id] = waiter
        await self.sockets[-1].send_json(envelope)
        return waiter

    async def send(
        self,
        kind: str,
        payload: dict[str, Any],
        *,
        accepts: bool = False,
        within: float = 10.0,
        retry_attempt: int = 0,
    ) -> dict[str, Any]:
        """Deliver an envelope and wait for its ack."""
        waiter = await self.deliver(
            kind, payload, accepts_response_payload=accepts, retry_attempt=retry_attempt
        )
        async with asyncio.timeout(within):
            return await waiter

    # --- what a person does in the Slack client -------------------------------------------------

    def click_payload(
        self, user: str, channel: str, ts: str, action_id: str, *, index: int = 0
    ) -> dict[str, Any]:
        """The block_actions payload for pressing the ``index``-th button ``action_id`` of a message."""
        message = self.message(channel, ts)
        hits = []
        for block in message.get("blocks", []):
            elements = (
                block.get("elements", []) if block["type"] == "actions" else [block.get("accessory") or {}]
            )
            hits += [(block.get("block_id", ""), el) for el in elements if el.get("action_id") == action_id]
        if len(hits) <= index:
            raise LookupError(f"no {action_id} button on message {ts}")
        block_id, element = hits[index]
        return P.block_actions(
            user=user,
            message=message,
            channel=channel,
            action=element,
            block_id=block_id,
            response_url=self.response_url(),
        )

    async def click(
        self, user: str, channel: str, ts: str, action_id: str, *, index: int = 0
    ) -> dict[str, Any]:
        return await self.send("interactive", self.click_payload(user, channel, ts, action_id, index=index))

    async def submit(self, user: str, view: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
        """Submit a modal; the ack's payload carries any ``response_action``."""
        payload = P.view_submission(user=user, view=view, values=values)
        return await self.send("interactive", payload, accepts=True)

    async def command(self, user: str, command: str, text: str, channel: str) -> dict[str, Any]:
        payload = P.slash_command(
            user=user, command=command, text=text, channel=channel, response_url=self.response_url()
        )
        return await self.send("slash_commands", payload, accepts=True)

    async def post_event(
        self, event: dict[str, Any], *, event_id: str | None = None, retry_attempt: int = 0
    ) -> dict[str, Any]:
        """A person's message: stored in the channel, then delivered as an Events API envelope."""
        stored = self.channels.get(event["channel"])
        fresh = stored is not None and not any(m["ts"] == event["ts"] for m in stored)
        if event.get("type") == "message" and fresh and not event.get("subtype"):
            keep = ("type", "user", "text", "ts", "thread_ts", "team")
            self.channels[event["channel"]].append(
                {k: v for k, v in event.items() if k in keep} | {"edits": 0}
            )
        return await self.send(
            "events_api", P.event_callback(event, event_id=event_id), retry_attempt=retry_attempt
        )
