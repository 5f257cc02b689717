"""The shell of a small form about one card ("<Verb> #N") and the card and channel in its metadata."""

from __future__ import annotations

import json
from typing import Any

from slack_sdk.models.views import View

from bot.models import MAX_ID


def card_modal(
    callback_id: str, verb: str, mention_id: int, channel: str, blocks: list[Any]
) -> dict[str, Any]:
    """A small form about one card: "<Verb> #N" with Cancel; the card and channel ride in its metadata."""
    meta = json.dumps({"m": mention_id, "c": channel}, separators=(",", ":"))
    view = View(
        type="modal",
        callback_id=callback_id,
        title=f"{verb} #{mention_id}"[:24],
        submit=verb,
        close="Cancel",
        blocks=blocks,
        private_metadata=meta,
    )
    return view.to_dict()


def _meta(view: dict[str, Any]) -> dict[str, Any] | None:
    try:
        data = json.loads(str(view.get("private_metadata") or ""))
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    mention_id, channel = data.get("m"), data.get("c", "")
    if not isinstance(mention_id, int) or isinstance(mention_id, bool) or not 0 < mention_id <= MAX_ID:
        return None
    return data if isinstance(channel, str) else None


def read_card_meta(view: dict[str, Any]) -> dict[str, Any] | None:
    """The card (``m``) and channel (``c``) a small form was opened for; None when out of date or forged."""
    return _meta(view)
