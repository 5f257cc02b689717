"""Signed webhook source: web forms, email bridges and other tools POST mentions as JSON."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import re
import socket
from collections.abc import AsyncGenerator, Callable, Mapping
from datetime import datetime
from typing import Any

from aiohttp import web

from bot.config import Settings
from bot.domain.outbox import is_acknowledgement
from bot.domain.sanitize import safe_mention
from bot.errors import MalformedPayload, ReplyNotSupported
from bot.models import Mention, ReplyRef, Visibility
from bot.net.wire import parse_time, utc_now
from bot.platforms.base import AdapterDeps, Ingest
from bot.platforms.capabilities import Mailer

log = logging.getLogger(__name__)

PATH = "/webhook"
TIMESTAMP_HEADER = "X-Patron-Desk-Timestamp"
SIGNATURE_HEADER = "X-Patron-Desk-Signature"
WINDOW_SECONDS = 300
MAX_BODY = 64 * 1024
MAX_TEXT = 20_000
_TIMESTAMP = re.compile(r"^\d{1,12}$")
_SOURCE_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,40}$")
_VISIBILITY = {v.value: v for v in Visibility}
# one plain address: no spaces, quotes, brackets or a second "@" (nothing a mail header could misread)
_ADDRESS = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$"
)


def signature(secret: str, body: bytes, timestamp: int | str) -> str:
    """``"v1=" + hex(HMAC-SHA256(secret, "v1:{timestamp}:" + body))``."""
    message = f"v1:{timestamp}:".encode() + body
    return "v1=" + hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def signed_headers(secret: str, body: bytes, *, timestamp: int) -> dict[str, str]:
    """The two headers a sender adds (for clients and tests)."""
    return {TIMESTAMP_HEADER: str(timestamp), SIGNATURE_HEADER: signature(secret, body, timestamp)}


def verify(
    secret: str,
    *,
    timestamp: str | None,
    signed: str | None,
    body: bytes,
    now: datetime,
    window: int = WINDOW_SECONDS,
) -> str | None:
    """Check a request's signature; ``None`` when valid, else the reason it is refused.

    The timestamp must be unix seconds within ``window`` of ``now`` (replays of old requests
    are refused); the signature header may list several ``v1=`` values (comma-separated);
    the comparison is constant-time.
    """
    if not timestamp or not signed:
        return "missing signature headers"
    if not _TIMESTAMP.match(timestamp.strip()):
        return "timestamp is not unix seconds"
    if abs(now.timestamp() - int(timestamp.strip())) > window:
        return "timestamp outside the allowed window"
    expected = signature(secret, body, timestamp.strip()).encode()
    offered = [part.strip().encode() for part in signed.split(",")]
    if not any(hmac.compare_digest(expected, value) for value in offered):
        return "signature does not match"
    return None


def parse_webhook(payload: Any, *, now: datetime, can_mail: bool = False) -> Mention:
    """Validate a webhook body and turn it into a ``Mention``.

    Read-only unless it carries ``reply_to`` (one plain e-mail address) and ``can_mail`` (a mail
    client is configured): then staff answer it by mail, with ``subject`` (optional) after "Re:".
    Raises ``MalformedPayload`` naming the offending field (never echoing its content). Odd but
    readable values are repaired (``domain.sanitize``): a ``created_at`` outside 2000..now+1 day
    becomes ``now``, marked on the card.
    """
    if not isinstance(payload, Mapping):
        raise MalformedPayload("body must be a JSON object")
    ident = payload.get("id")
    if isinstance(ident, bool) or not isinstance(ident, str | int) or not 0 < len(str(ident)) <= 200:
        raise MalformedPayload("id: required, a string of 1-200 characters")
    text = payload.get("text")
    if not isinstance(text, str) or not text.strip() or len(text) > MAX_TEXT:
        raise MalformedPayload(f"text: required, a non-empty string of at most {MAX_TEXT} characters")
    author = payload.get("author", {})
    if not isinstance(author, Mapping):
        raise MalformedPayload("author: must be an object")
    origin = _optional(payload, "source_name", 40)
    if origin and not _SOURCE_NAME.match(origin):
        raise MalformedPayload("source_name: letters, digits, '.', '_' or '-' only")
    url = _optional(payload, "url", 2000)
    if url and not url.startswith(("https://", "http://")):
        raise MalformedPayload("url: must be an http(s) URL")
    created = now
    if payload.get("created_at") is not None:
        created = parse_time(payload.get("created_at")) or _bad("created_at: must be an ISO 8601 time")
    visibility = _VISIBILITY.get(_optional(payload, "visibility", 10) or "private")
    if visibility is None:
        raise MalformedPayload("visibility: public, unlisted, private or direct")
    reply_to = _optional(payload, "reply_to", 254)
    if reply_to and not _ADDRESS.match(reply_to):
        raise MalformedPayload("reply_to: must be one plain e-mail address")
    subject = " ".join(_optional(payload, "subject", 200).split())
    ref: dict[str, str] = {"source_name": origin} if origin else {}
    if reply_to:
        ref |= {"reply_to": reply_to, "subject": subject}
    mention = Mention(
        source="webhook",
        external_id=f"{origin}:{ident}" if origin else str(ident),
        text=text.strip(),
        created_at=created,
        url=url or None,
        author_id=_optional(author, "id", 200),
        author_handle=_optional(author, "handle", 200),
        author_name=_optional(author, "name", 200),
        lang=_optional(payload, "lang", 35) or None,
        visibility=visibility,
        can_reply=bool(reply_to and can_mail),
        reply_ref=json.dumps(ref) if ref else "",
    )
    return safe_mention(mention, now=now)


def _optional(data: Mapping[str, Any], key: str, longest: int) -> str:
    value = data.get(key)
    if value is None:
        return ""
    if not isinstance(value, str | int) or isinstance(value, bool) or len(str(value)) > longest:
        raise MalformedPayload(f"{key}: must be a string of at most {longest} characters")
    return str(value).strip()


def _bad(message: str) -> datetime:
    raise MalformedPayload(message)


class WebhookSource:
    """A push source: each accepted request is ingested before it is acknowledged.

    Webhook mentions are read-only (``can_reply`` is False): the sender owns the conversation, so
    staff answer there and mark the card handled; except a form question with a ``reply_to``
    address while a `Mailer` is configured, which staff answer by mail from the card.
    """

    source = "webhook"
    push = True

    def __init__(
        self,
        secret: str,
        ingest: Ingest,
        *,
        clock: Callable[[], datetime] = utc_now,
        window: int = WINDOW_SECONDS,
        address: tuple[str, int] = ("127.0.0.1", 8080),
        mailer: Mailer | None = None,
    ) -> None:
        self._address = address
        self._mailer = mailer
        self._secret = secret
        self._ingest = ingest
        self._clock = clock
        self._window = window

    def http_routes(self) -> list[tuple[str, str, Callable[[web.Request], Any]]]:
        """Mounted by the app on the one HTTP server."""
        return [("POST", PATH, self.handle)]

    async def handle(self, request: web.Request) -> web.Response:
        """Verify, validate, ingest; 401/400/413 change nothing, 202 new, 200 duplicate."""
        body = await _read_capped(request)
        if body is None:
            return _answer(413, error="body too large")
        headers = request.headers
        refused = verify(
            self._secret,
            timestamp=headers.get(TIMESTAMP_HEADER),
            signed=headers.get(SIGNATURE_HEADER),
            body=body,
            now=self._clock(),
            window=self._window,
        )
        if refused is not None:
            log.warning("webhook: request refused (%s)", refused)
            return _answer(401, error=refused)
        try:
            data = json.loads(body.decode("utf-8"))
            mention = parse_webhook(data, now=self._clock(), can_mail=self._mailer is not None)
        except UnicodeDecodeError:
            return _answer(400, error="body is not UTF-8")
        except RecursionError:  # json.loads of JSON nested deeper than the interpreter's stack
            log.warning("webhook: request rejected (JSON nested too deeply)")
            return _answer(400, error="body is nested too deeply")
        except ValueError as exc:  # JSONDecodeError included
            reason = "body is not JSON" if isinstance(exc, json.JSONDecodeError) else str(exc)
            log.warning("webhook: request rejected (%s)", reason)
            return _answer(400, error=reason)
        try:
            new = await self._ingest(mention, None)
        except Exception as exc:
            log.error("webhook: could not store the mention (%s); sender should retry", type(exc).__name__)
            return _answer(503, error="not stored; retry later")
        log.info("webhook: %s mention accepted", "new" if new else "repeated")
        if new:
            return _answer(202, accepted=True, id=mention.external_id)
        return _answer(200, duplicate=True, id=mention.external_id)

    async def open(self) -> None:
        """Nothing to connect: the app mounts ``http_routes``."""

    async def mentions(self, cursor: str | None) -> AsyncGenerator[tuple[Mention | None, str | None], None]:
        """A push source yields nothing; this waits until cancelled."""
        await asyncio.Event().wait()
        return
        yield  # pragma: no cover - makes this an async generator

    async def reply(self, to: Mention, text: str, *, idempotency_key: str) -> ReplyRef:
        """Answer by mail when the form gave an address and a mail client is configured."""
        try:
            ref = json.loads(to.reply_ref or "{}")
        except ValueError:
            ref = {}
        address = ref.get("reply_to") if isinstance(ref, dict) else None
        if not isinstance(address, str) or not _ADDRESS.match(address):
            raise ReplyNotSupported("webhook mentions are answered where they came from")
        if self._mailer is None:
            raise ReplyNotSupported("no mail server is configured to answer by mail")
        return await self._mailer.send_reply(
            to=address,
            subject=str(ref.get("subject") or ""),
            text=text,
            idempotency_key=idempotency_key,
            automatic=is_acknowledgement(idempotency_key),
        )

    async def check(self) -> str:
        """Where requests are taken (``check --connect``): nothing to sign in to; the port is tried."""
        host, port = self._address
        url = f"POST http://{host}:{port}{PATH}, signed with WEBHOOK_SECRET"
        if await asyncio.to_thread(port_free, host, port):
            return f"ready: {url}"
        return (
            f"ready: {url}; the port is in use now (Patron Desk already running? "
            "a second worker needs its own HTTP_PORT)"
        )

    async def aclose(self) -> None:
        """Nothing to release."""


async def _read_capped(request: web.Request) -> bytes | None:
    """The whole body, or None once it passes ``MAX_BODY`` (declared or actual)."""
    if (request.content_length or 0) > MAX_BODY:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.content.iter_chunked(16 * 1024):
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _answer(status: int, **fields: Any) -> web.Response:
    return web.json_response(fields, status=status)


def build(settings: Settings, deps: AdapterDeps) -> WebhookSource | None:
    """The webhook source when ``WEBHOOK_SECRET`` is set (it needs the app's ingest callback)."""
    if not settings.WEBHOOK_SECRET:
        return None
    if deps.ingest is None:
        log.error("webhook: no ingest callback given; the webhook source is off")
        return None
    return WebhookSource(
        settings.WEBHOOK_SECRET,
        deps.ingest,
        address=(settings.HTTP_HOST, settings.HTTP_PORT),
        mailer=deps.mailer,
    )


def port_free(host: str, port: int) -> bool:
    """Whether a server could listen on ``host:port`` now (port 0 always can)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True
