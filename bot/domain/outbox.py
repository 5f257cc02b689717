"""Outbox row kinds, the one builder of their dedupe keys, and the typed payload of each kind (pure)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import MISSING, dataclass, fields
from enum import IntEnum, StrEnum
from typing import Any, TypeVar

from bot.models import Visibility


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
    HISTORY = "history"
    CHECKIN = (
        "checkin"  # ask one person to check in for their shift (buttons or reactions where the desk has them)
    )
    DUTY_GROUP = "duty_group"  # set a chat user group to whoever holds a role now


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


class PayloadError(ValueError):
    """A stored outbox row whose kind or payload this version cannot read (says what, never the text)."""


@dataclass(frozen=True, slots=True)
class NoPayload:
    """Card kinds (post, update, redact): everything comes from the mention row."""


@dataclass(frozen=True, slots=True)
class TextPayload:
    """An acknowledgement (``send_ack``) or a message to a desk's staff channel (``announce``)."""

    text: str


@dataclass(frozen=True, slots=True)
class ReplyPayload:
    """A staff reply to publish: the text, the staff key of who wrote it, a narrower audience if chosen."""

    text: str
    by: str
    visibility: Visibility | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class NotifyPayload:
    """A private notice to one staff member on one desk (``display``: their name, may be empty)."""

    user_id: str
    display: str = ""
    text: str


@dataclass(frozen=True, slots=True)
class FoldPayload:
    """A summary card to post or refresh: the fold's id."""

    fold: int


@dataclass(frozen=True, slots=True, kw_only=True)
class HistoryPayload:
    """One line of a card's history, for its thread (``ping``: the chat id of whom it concerns, if any)."""

    line: str
    ping: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckinPayload:
    """A check-in question to one staff member on one desk (``checkin``: the check-in's id)."""

    user_id: str
    display: str = ""
    text: str
    checkin: int


@dataclass(frozen=True, slots=True, kw_only=True)
class DutyPayload:
    """Set the user group ``group`` to whoever holds ``role`` when the row runs (read then, so a late
    retry never puts back an earlier shift's people)."""

    role: str
    group: str


Payload = (
    NoPayload
    | TextPayload
    | ReplyPayload
    | NotifyPayload
    | FoldPayload
    | HistoryPayload
    | CheckinPayload
    | DutyPayload
)
P = TypeVar(
    "P",
    NoPayload,
    TextPayload,
    ReplyPayload,
    NotifyPayload,
    FoldPayload,
    HistoryPayload,
    CheckinPayload,
    DutyPayload,
)

PAYLOADS: dict[OutboxKind, type[Payload]] = {
    OutboxKind.POST_CARD: NoPayload,
    OutboxKind.UPDATE_CARD: NoPayload,
    OutboxKind.REDACT_CARD: NoPayload,
    OutboxKind.SEND_REPLY: ReplyPayload,
    OutboxKind.SEND_ACK: TextPayload,
    OutboxKind.NOTIFY: NotifyPayload,
    OutboxKind.ANNOUNCE: TextPayload,
    OutboxKind.SHOW_FOLD: FoldPayload,
    OutboxKind.HISTORY: HistoryPayload,
    OutboxKind.CHECKIN: CheckinPayload,
    OutboxKind.DUTY_GROUP: DutyPayload,
}
"""The payload each kind carries; producers build these and ``payload_of`` reads them back."""


def encode(payload: Payload) -> dict[str, Any]:
    """The JSON object stored for ``payload`` (the shape rows already stored have: unset fields left out)."""
    out: dict[str, Any] = {}
    for field in fields(payload):
        value = getattr(payload, field.name)
        if value is None:
            continue
        out[field.name] = value.value if isinstance(value, StrEnum) else value
    return out


def kind_of(value: str) -> OutboxKind:
    """The kind of a stored row; PayloadError for one this version does not know."""
    try:
        return OutboxKind(value)
    except ValueError:
        raise PayloadError(f"unknown outbox kind {value[:40]!r}") from None


def payload_of(kind: OutboxKind | str, raw: str) -> Payload:
    """Read a stored row's payload as its kind's type: PayloadError, naming the field, when it is not
    a JSON object, lacks a field, or holds a value of the wrong type (extra keys are ignored)."""
    cls = PAYLOADS[kind_of(kind)]
    try:
        data = json.loads(raw or "{}")
    except (ValueError, RecursionError):
        raise PayloadError(f"{kind} payload is not JSON") from None
    if not isinstance(data, dict):
        raise PayloadError(f"{kind} payload is not a JSON object")
    values: dict[str, Any] = {}
    for field in fields(cls):
        if field.name not in data:
            if field.default is MISSING:
                raise PayloadError(f"{kind} payload lacks {field.name!r}")
            continue
        values[field.name] = _field(kind, field.name, data[field.name])
    return cls(**values)


def _field(kind: OutboxKind | str, name: str, value: Any) -> Any:
    if name == "visibility":
        if value is None or value == "":  # unset, as rows stored before staff could choose have it
            return None
        try:
            return Visibility(value)
        except ValueError:
            raise PayloadError(f"{kind} payload has an unknown visibility") from None
    if name in ("fold", "checkin"):
        if not isinstance(value, int) or isinstance(value, bool):
            raise PayloadError(f"{kind} payload field {name!r} is not a number")
        return value
    if not isinstance(value, str):
        raise PayloadError(f"{kind} payload field {name!r} is not text")
    return value


def payload_as(cls: type[P], kind: OutboxKind | str, raw: str) -> P:
    """``payload_of`` for a handler expecting ``cls`` (PayloadError when the row's kind carries another)."""
    payload = payload_of(kind, raw)
    if not isinstance(payload, cls):
        raise PayloadError(f"{kind} rows carry no {cls.__name__}")
    return payload


def is_acknowledgement(key: str) -> bool:
    """The key is a closed-hours acknowledgement's (an automatic answer, not a staff member's)."""
    return key.split(":", 1)[0] == _PREFIX[OutboxKind.SEND_ACK]


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
    if kind in (OutboxKind.REDACT_CARD, OutboxKind.SHOW_FOLD, OutboxKind.HISTORY):
        return Lane.READ  # background; a history line also follows its card's post, which is never later
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
            "payload": encode(FoldPayload(fold_id)),
        }
        for desk in desks
    ]
