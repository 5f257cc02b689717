"""Meta webhooks, written once for both platforms: the subscribe handshake and signed event POSTs.

GET ``hub.mode=subscribe&hub.verify_token=…&hub.challenge=…`` answers the challenge when the token
matches. A POST is accepted only with ``X-Hub-Signature-256: sha256=<HMAC-SHA256 of the raw body with
the app secret>`` (constant-time compare); anything unsigned, signed with SHA-1 only or wrong gets
401 and nothing is stored. Accepted bodies go to the platform's ``deliver``; a failure to store
answers 503, so Meta delivers the event again later.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from bot.errors import TransientError

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Hub-Signature-256"
MAX_BODY = 256 * 1024
_CHALLENGE = re.compile(r"[A-Za-z0-9_.-]{1,200}")  # Meta sends a number; nothing else is echoed
_REMEMBERED = 2048  # digests of recently accepted bodies: a replay is answered without being applied


def signature(secret: str, body: bytes) -> str:
    """``sha256=`` + the hex HMAC-SHA256 of the raw body with the app secret."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def verify(secret: str, header: str | None, body: bytes) -> str | None:
    """None when ``header`` signs ``body`` with ``secret``, else why the request is refused."""
    if not secret:
        return "no app secret configured"
    if not header:
        return "missing signature"
    offered = header.strip()
    if not offered.startswith("sha256="):
        return "not a sha256 signature"
    if not hmac.compare_digest(signature(secret, body).encode(), offered.encode("utf-8", "replace")):
        return "signature does not match"
    return None


def handshake(query: Mapping[str, str], verify_token: str) -> tuple[int, str]:
    """The subscribe handshake: ``(200, challenge)`` when the verify token matches, else ``(403, "")``."""
    mode, token = query.get("hub.mode", ""), query.get("hub.verify_token", "")
    challenge = query.get("hub.challenge", "")
    if mode != "subscribe" or not verify_token or not _CHALLENGE.fullmatch(challenge):
        return 403, ""
    if not hmac.compare_digest(token.encode("utf-8", "replace"), verify_token.encode("utf-8")):
        return 403, ""
    return 200, challenge


@dataclass(frozen=True, slots=True)
class Change:
    """One ``entry[].changes[]`` item (or a Messenger-style ``messaging`` item is ignored)."""

    entry_id: str
    time: object  # the entry's unix time, as sent
    field: str
    value: Mapping[str, Any]


def changes(payload: Any, *, object_kind: str) -> Iterator[Change]:
    """The changes of a webhook body for ``object_kind`` ("page", "instagram"); odd parts are skipped."""
    if not isinstance(payload, Mapping) or payload.get("object") != object_kind:
        return
    entries = payload.get("entry")
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, Mapping):
            continue
        items = entry.get("changes")
        for item in items if isinstance(items, list) else []:
            if isinstance(item, Mapping) and isinstance(item.get("value"), Mapping):
                field = item.get("field")
                entry_id = entry.get("id")
                yield Change(
                    entry_id=str(entry_id) if isinstance(entry_id, str | int) else "",
                    time=entry.get("time"),
                    field=field if isinstance(field, str) else "",
                    value=item["value"],
                )


Deliver = Callable[[Any], Awaitable[None]]


class WebhookEndpoint:
    """The two routes of one platform's webhook on the shared HTTP server."""

    def __init__(self, *, path: str, secret: str, verify_token: str, deliver: Deliver, label: str) -> None:
        self.path = path
        self._secret = secret
        self._verify_token = verify_token
        self._deliver = deliver
        self._label = label
        self._seen: OrderedDict[bytes, None] = OrderedDict()

    def routes(self) -> list[tuple[str, str, Callable[[web.Request], Any]]]:
        """``GET`` for the handshake, ``POST`` for events."""
        return [("GET", self.path, self.subscribe), ("POST", self.path, self.receive)]

    async def subscribe(self, request: web.Request) -> web.Response:
        """Answer Meta's verification request."""
        status, challenge = handshake(request.query, self._verify_token)
        if status != 200:
            log.warning("%s webhook: subscribe handshake refused", self._label)
        return web.Response(status=status, text=challenge)

    async def receive(self, request: web.Request) -> web.Response:
        """Verify the signature over the raw body, then deliver; 401/400/413 change nothing."""
        body = await _read_capped(request)
        if body is None:
            return web.Response(status=413, text="body too large")
        refused = verify(self._secret, request.headers.get(SIGNATURE_HEADER), body)
        if refused is not None:
            log.warning("%s webhook: request refused (%s)", self._label, refused)
            return web.Response(status=401, text=refused)
        digest = hashlib.sha256(body).digest()
        if digest in self._seen:
            log.info("%s webhook: repeated delivery acknowledged", self._label)
            return web.Response(status=200, text="ok")
        try:
            payload = json.loads(body.decode("utf-8"))
        except (ValueError, RecursionError):
            log.warning("%s webhook: signed body is not JSON; ignored", self._label)
            return web.Response(status=400, text="body is not JSON")
        try:
            await self._deliver(payload)
        except TransientError as exc:
            log.warning("%s webhook: not stored yet (%s); Meta will deliver again", self._label, exc)
            return web.Response(status=503, text="retry later")
        except Exception as exc:
            log.error("%s webhook: not stored (%s); Meta will deliver again", self._label, type(exc).__name__)
            return web.Response(status=503, text="retry later")
        self._seen[digest] = None
        if len(self._seen) > _REMEMBERED:
            self._seen.popitem(last=False)
        return web.Response(status=200, text="ok")


async def _read_capped(request: web.Request) -> bytes | None:
    """The whole raw body, or None once it passes ``MAX_BODY`` (declared or actual)."""
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
