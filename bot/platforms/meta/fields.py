"""Pure helpers for reading Graph payload fields: ids, times, author objects, reply references."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from bot.domain.sanitize import UNKNOWN_TIME, from_unix, parse_timestamp
from bot.errors import MalformedPayload

_LONGEST_ID = 200


def graph_id(data: Mapping[str, Any], key: str, *, required: bool = True) -> str:
    """A Graph id (digits, maybe ``_``-joined): a string or a number; ``MalformedPayload`` if required."""
    value = data.get(key)
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        value = str(value)
    if isinstance(value, str) and 0 < len(value) <= _LONGEST_ID and value.strip():
        return value.strip()
    if required:
        raise MalformedPayload(f"{key}: missing or not an id")
    return ""


def graph_time(value: object) -> datetime:
    """A Graph time: ISO 8601 (``+0000``) in REST answers, unix seconds in webhooks; else ``UNKNOWN_TIME``
    (``safe_mention`` turns it into the receive time and marks the card)."""
    if isinstance(value, str) and value.strip().lstrip("-").replace(".", "", 1).isdigit():
        return from_unix(value) or UNKNOWN_TIME
    if isinstance(value, int | float) and not isinstance(value, bool):
        return from_unix(value) or UNKNOWN_TIME
    return parse_timestamp(value) or UNKNOWN_TIME


def text_of(data: Mapping[str, Any], key: str) -> str:
    """A text field; anything but a string reads as empty."""
    value = data.get(key)
    return value if isinstance(value, str) else ""


def person(data: Mapping[str, Any]) -> tuple[str, str]:
    """``(id, name)`` of ``from`` (or the older ``sender_id``/``sender_name``); empty when not shared."""
    who = data.get("from")
    if isinstance(who, Mapping):
        name = text_of(who, "name") or text_of(who, "username")
        return graph_id(who, "id", required=False), name
    return graph_id(data, "sender_id", required=False), text_of(data, "sender_name")


def dump_ref(**fields: object) -> str:
    """A ``Mention.reply_ref``."""
    return json.dumps(fields, sort_keys=True)


def load_ref(reply_ref: str) -> dict[str, Any]:
    """Read back a ``reply_ref``; ``ValueError`` when it is not one of ours."""
    try:
        data = json.loads(reply_ref)
    except (ValueError, RecursionError) as exc:
        raise ValueError("not a Graph reply reference") from exc
    if not isinstance(data, dict) or not isinstance(data.get("target"), str) or not data["target"]:
        raise ValueError("not a Graph reply reference")
    return data
