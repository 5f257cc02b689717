"""Outbox row kinds and the one builder of their dedupe keys (pure)."""

from __future__ import annotations

from collections.abc import Iterable
from enum import IntEnum, StrEnum
from typing import Any


class OutboxKind(StrEnum):
    """What an outbox row asks the relay to do; the value is the ``kind`` column."""

    POST_CARD = "post_card"
    UPDATE_CARD = "update_card"
    REDACT_CARD = "redact_card"
    SEND_REPLY = "send_reply"
    SEND_ACK = "send_ack"
    NOTIFY = "notify"
    ANNOUNCE = "announce"
    SHOW_FOLD = "show_fold"  # post or refresh a summary card (payload: {"fold": id})


# Keys already stored in databases must keep matching: a reply and an acknowledgement were keyed
# by a shorter word and without their target (a mention has one source), every other kind by both.
_PREFIX = {OutboxKind.SEND_REPLY: "reply", OutboxKind.SEND_ACK: "ack"}
_WITHOUT_TARGET = frozenset({OutboxKind.SEND_REPLY, OutboxKind.SEND_ACK})


def dedupe_key(kind: OutboxKind, target: str, mention_id: int | None, *extra: object) -> str:
    """The unique key of one outbox row, e.g. ``post_card:slack:42`` or ``reply:42:3``."""
    parts = [_PREFIX.get(kind, kind.value)]
    if kind not in _WITHOUT_TARGET:
        parts.append(target)
    if mention_id is not None:
        parts.append(str(mention_id))
    parts += [str(part) for part in extra]
    return ":".join(parts)


class Lane(IntEnum):
    """Which rows of one target go first (the ``lane`` column; lower goes first).

    A staff member waiting to see their own action (claim, reply, resolve) beats a new card; a
    patron who can be answered beats a read-only item (a feed entry), which can wait.
    """

    UPDATE = 0  # card updates, replies, notices: the result of a staff action
    ANSWER = 1  # a new card for a mention someone can answer
    READ = 2  # a new card for a read-only item (feeds), and background work such as redactions


def lane_for(kind: OutboxKind, *, answerable: bool = True) -> Lane:
    """The lane of a row: new cards by whether their mention can be answered, the rest by kind."""
    if kind is OutboxKind.POST_CARD:
        return Lane.ANSWER if answerable else Lane.READ
    if kind in (OutboxKind.REDACT_CARD, OutboxKind.SHOW_FOLD):
        return Lane.READ
    return Lane.UPDATE


def fold_rows(fold_id: int, desks: Iterable[str], *, lane: Lane) -> list[dict[str, Any]]:
    """The outbox rows that post or refresh a summary card on every desk (one row per desk, coalesced)."""
    return [
        {
            "kind": OutboxKind.SHOW_FOLD,
            "lane": lane,
            "target": desk,
            "mention_id": None,
            "dedupe_key": dedupe_key(OutboxKind.SHOW_FOLD, desk, None, fold_id),
            "payload": {"fold": fold_id},
        }
        for desk in desks
    ]
