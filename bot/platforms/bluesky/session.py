"""A Bluesky XRPC client holding one app-password session: created once, refreshed on expiry."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from bot.errors import AdapterConfigError, RateLimited, TransientError
from bot.net.wire import Holds, JsonResponse, raise_for_status, request_json, text_field

log = logging.getLogger(__name__)

_EXPIRED = ("ExpiredToken", "InvalidToken")
_LOGIN_REFUSED = ("AuthFactorTokenRequired", "AccountTakedown", "AuthenticationRequired")


@dataclass(frozen=True, slots=True)
class Session:
    """The tokens and identity ``createSession``/``refreshSession`` return."""

    access: str
    refresh: str
    did: str
    handle: str


class XrpcSession:
    """Authenticated XRPC calls with one session (``createSession`` allows only 30 per 5 minutes).

    The session is created on first use and reused; an ``ExpiredToken`` answer refreshes it
    with ``refreshSession`` and retries the call once; only a dead refresh token logs in again.
    """

    def __init__(
        self,
        client: httpx.AsyncClient,
        identifier: str,
        password: str,
        *,
        clock: Callable[[], datetime],
    ) -> None:
        self._client = client
        self._identifier = identifier
        self._password = password
        self._clock = clock
        self._session: Session | None = None
        self._lock = asyncio.Lock()
        self._holds = Holds(clock)
        self.logins = 0
        self.refreshes = 0

    @property
    def did(self) -> str:
        """The account's DID (empty before the first login)."""
        return self._session.did if self._session else ""

    @property
    def handle(self) -> str:
        """The account's handle (empty before the first login)."""
        return self._session.handle if self._session else ""

    async def ensure(self) -> Session:
        """The current session, logging in the first time."""
        async with self._lock:
            if self._session is None:
                await self._login()
            assert self._session is not None
            return self._session

    async def call(self, method: str, nsid: str, **kwargs: Any) -> JsonResponse:
        """One XRPC call; errors become domain errors (see ``wire.raise_for_status``)."""
        what = f"bluesky {nsid}"
        self._holds.check(what)
        for attempt in range(2):
            token = (await self.ensure()).access
            headers = {"Authorization": f"Bearer {token}"}
            response = await request_json(
                self._client, method, f"/xrpc/{nsid}", what=what, headers=headers, **kwargs
            )
            if attempt == 0 and response.status in (400, 401) and response.error_code in _EXPIRED:
                await self._renew(token)
                continue
            try:
                raise_for_status(response, what=what, now=self._clock())
            except RateLimited as exc:
                self._holds.note(what, exc)
                raise
            return response
        raise TransientError(f"{what}: session expired twice in a row")

    async def _login(self) -> None:
        what = "bluesky createSession"
        body = {"identifier": self._identifier, "password": self._password}
        response = await request_json(
            self._client, "POST", "/xrpc/com.atproto.server.createSession", what=what, json=body
        )
        self.logins += 1
        if response.status == 401 or (response.status == 400 and response.error_code in _LOGIN_REFUSED):
            raise AdapterConfigError(
                f"Bluesky refused the handle or app password (HTTP {response.status} {response.error_code})"
            )
        raise_for_status(response, what=what, now=self._clock(), at_open=True)
        self._session = _session_from(response.body)
        log.info("bluesky: session created for %s", self._session.did)

    async def _renew(self, stale: str) -> None:
        """Refresh once, even when several calls saw the same token expire."""
        async with self._lock:
            if self._session is None or self._session.access != stale:
                return
            what = "bluesky refreshSession"
            headers = {"Authorization": f"Bearer {self._session.refresh}"}
            path = "/xrpc/com.atproto.server.refreshSession"
            response = await request_json(self._client, "POST", path, what=what, headers=headers)
            self.refreshes += 1
            if response.status in (400, 401) and response.error_code in _EXPIRED:
                log.info("bluesky: refresh token expired; creating a new session")
                await self._login()
                return
            raise_for_status(response, what=what, now=self._clock())
            self._session = _session_from(response.body)


def _session_from(body: Any) -> Session:
    if not isinstance(body, dict):
        raise TransientError("bluesky session: unexpected body")
    access, refresh, did, handle = (
        text_field(body, key) for key in ("accessJwt", "refreshJwt", "did", "handle")
    )
    if not (access and refresh and did):
        raise TransientError("bluesky session: tokens missing")
    return Session(access, refresh, did, handle)
