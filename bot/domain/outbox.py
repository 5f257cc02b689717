"""Outbox row kinds and the one builder of their dedupe keys (pure)."""

from __future__ import annotations

from enum import StrEnum


class OutboxKind(StrEnum):
    """What an outbox row asks the relay to do; the value is the ``kind`` column."""

    POST_CARD = "post_card"
    UPDATE_CARD = "update_card"
    REDACT_CARD = "redact_card"
    SEND_REPLY = "send_reply"
    SEND_ACK = "send_ack"
    NOTIFY = "notify"
    ANNOUNCE = "announce"


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


def is_acknowledgement(key: str) -> bool:
    """The key is a closed-hours acknowledgement's (an automatic answer, not a staff member's)."""
    return key.split(":", 1)[0] == _PREFIX[OutboxKind.SEND_ACK]
