"""Slack payloads in their real shapes (see ../shared/reference-payloads) and HTTP-mode signing."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
from typing import Any
from urllib.parse import urlencode

TEAM, TEAM_DOMAIN, APP_ID = "T0PATRON1", "patron-desk-test", "A0PATRON1"
BOT_USER, BOT_ID = "U0BOTUSER1", "B0BOTID01"
VERIFICATION_TOKEN = "here-comes-some-token"  # deprecated field, still present in real payloads

_ids = itertools.count(1)


def next_id(prefix: str) -> str:
    """A unique Slack-looking id (Ev…, V…, trigger numbers)."""
    return f"{prefix}{next(_ids):08d}"


def event_callback(event: dict[str, Any], *, event_id: str | None = None) -> dict[str, Any]:
    """The Events API envelope (``type: event_callback``) around one event."""
    return {
        "token": VERIFICATION_TOKEN,
        "team_id": TEAM,
        "api_app_id": APP_ID,
        "event": event,
        "type": "event_callback",
        "event_id": event_id or next_id("Ev0"),
        "event_time": int(float(event.get("event_ts") or event.get("ts") or time.time())),
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": TEAM,
                "user_id": BOT_USER,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
        "event_context": f"1-message-{TEAM}-{event.get('channel', '')}",
    }


def message_event(
    channel: str,
    user: str,
    text: str,
    *,
    ts: str,
    thread_ts: str | None = None,
    subtype: str | None = None,
    bot_id: str | None = None,
    kind: str = "message",
) -> dict[str, Any]:
    """A ``message`` (or ``app_mention``) event as Slack sends it, rich_text block included."""
    event: dict[str, Any] = {
        "client_msg_id": next_id("msg-"),
        "type": kind,
        "text": text,
        "user": user,
        "ts": ts,
        "team": TEAM,
        "blocks": [
            {
                "type": "rich_text",
                "block_id": next_id("b"),
                "elements": [{"type": "rich_text_section", "elements": [{"type": "text", "text": text}]}],
            }
        ],
        "channel": channel,
        "event_ts": ts,
    }
    if kind == "message":
        event["channel_type"] = "channel"
    if thread_ts:
        event["thread_ts"] = thread_ts
    if subtype:
        event["subtype"] = subtype
    if bot_id:
        event["bot_id"] = bot_id
    return event


def user_obj(user: str, name: str | None = None) -> dict[str, Any]:
    """The ``user`` of an interaction payload."""
    name = name or user.lower()
    return {"id": user, "username": name, "name": name, "team_id": TEAM}


def block_actions(
    *,
    user: str,
    message: dict[str, Any],
    channel: str,
    action: dict[str, Any],
    block_id: str,
    response_url: str,
) -> dict[str, Any]:
    """A ``block_actions`` payload for a click on ``action`` (an element of the stored message)."""
    pressed = {
        "action_id": action["action_id"],
        "block_id": block_id,
        "text": action.get("text"),
        "type": action.get("type", "button"),
        "action_ts": f"{time.time():.6f}",
    }
    if "value" in action:
        pressed["value"] = action["value"]
    return {
        "type": "block_actions",
        "user": user_obj(user),
        "api_app_id": APP_ID,
        "token": VERIFICATION_TOKEN,
        "container": {
            "type": "message",
            "message_ts": message["ts"],
            "channel_id": channel,
            "is_ephemeral": False,
        },
        "trigger_id": next_id("1785900466016.1761091294307."),
        "team": {"id": TEAM, "domain": TEAM_DOMAIN},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel, "name": "staff"},
        "message": {k: v for k, v in message.items() if k != "metadata"},
        "state": {"values": {}},
        "response_url": response_url,
        "actions": [pressed],
    }


def view_submission(*, user: str, view: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """A ``view_submission`` payload for ``view`` (as Slack stored it) with ``values`` typed in."""
    stored = dict(view)
    stored["state"] = {"values": values}
    return {
        "type": "view_submission",
        "team": {"id": TEAM, "domain": TEAM_DOMAIN},
        "user": user_obj(user),
        "api_app_id": APP_ID,
        "token": VERIFICATION_TOKEN,
        "trigger_id": next_id("1835952449765.1761091294307."),
        "view": stored,
        "response_urls": [],
        "is_enterprise_install": False,
        "enterprise": None,
    }


def view_block_actions(
    *, user: str, view: dict[str, Any], block_id: str, action_id: str, value: str, label: str
) -> dict[str, Any]:
    """A ``block_actions`` payload for choosing option ``value`` of a static select inside a modal."""
    option = {"text": {"type": "plain_text", "text": label, "emoji": True}, "value": value}
    return {
        "type": "block_actions",
        "user": user_obj(user),
        "api_app_id": APP_ID,
        "token": VERIFICATION_TOKEN,
        "container": {"type": "view", "view_id": view["id"]},
        "trigger_id": next_id("1785900466016.1761091294307."),
        "team": {"id": TEAM, "domain": TEAM_DOMAIN},
        "enterprise": None,
        "is_enterprise_install": False,
        "view": view,
        "actions": [
            {
                "type": "static_select",
                "action_id": action_id,
                "block_id": block_id,
                "selected_option": option,
                "placeholder": {"type": "plain_text", "text": "…", "emoji": True},
                "action_ts": f"{time.time():.6f}",
            }
        ],
    }


def slash_command(
    *, user: str, command: str, text: str, channel: str, response_url: str, user_name: str | None = None
) -> dict[str, str]:
    """A slash command's form fields (Socket Mode sends the same fields as a JSON object)."""
    return {
        "token": VERIFICATION_TOKEN,
        "team_id": TEAM,
        "team_domain": TEAM_DOMAIN,
        "channel_id": channel,
        "channel_name": "staff",
        "user_id": user,
        "user_name": user_name or user.lower(),
        "command": command,
        "text": text,
        "api_app_id": APP_ID,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": next_id("2093168434705.1761091294307."),
    }


def http_body(kind: str, payload: dict[str, Any]) -> tuple[bytes, str]:
    """The HTTP-mode body and content type: events are JSON, interactions ``payload=``, commands a form."""
    if kind == "events":
        return json.dumps(payload).encode(), "application/json"
    if kind == "interactive":
        return urlencode({"payload": json.dumps(payload)}).encode(), "application/x-www-form-urlencoded"
    return urlencode(payload).encode(), "application/x-www-form-urlencoded"


def sign(secret: str, body: bytes, timestamp: str) -> str:
    """Slack's v0 signature."""
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def signed_headers(secret: str, body: bytes, content_type: str, *, at: float | None = None) -> dict[str, str]:
    """Headers of a request Slack signed ``at`` (default now)."""
    stamp = str(int(time.time() if at is None else at))
    return {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": sign(secret, body, stamp),
    }
