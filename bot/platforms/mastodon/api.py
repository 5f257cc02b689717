"""The Mastodon REST client: bearer token, X-RateLimit pacing, errors translated, statuses posted."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

import httpx

from bot.crashpoints import reconcile_enabled
from bot.errors import AdapterConfigError, PermanentError, RateLimited, TransientError
from bot.models import ReplyRef
from bot.net.wire import Holds, JsonResponse, raise_for_status, request_json
from bot.platforms.mastodon.parse import InstanceInfo, parse_instance, rate_limit_pause

log = logging.getLogger(__name__)


class MastodonApi:
    """Paced REST calls: when ``X-RateLimit-Remaining`` runs low, later calls are spread out
    so the budget lasts until ``X-RateLimit-Reset`` instead of hitting 429."""

    def __init__(self, client: httpx.AsyncClient, *, clock: Callable[[], datetime]) -> None:
        self.client = client
        self._clock = clock
        self._not_before = 0.0
        self._holds = Holds(clock)

    async def call(self, method: str, path: str, *, at_open: bool = False, **kwargs: Any) -> JsonResponse:
        """One request; 429/5xx/timeouts/4xx become ``RateLimited``/``TransientError``/``PermanentError``."""
        loop = asyncio.get_running_loop()
        what = f"mastodon {method} {path}"
        self._holds.check(what)
        wait = self._not_before - loop.time()
        if wait > 0:
            log.info("mastodon: rate limit nearly used; pausing %.1fs", wait)
            await asyncio.sleep(wait)
        response = await request_json(self.client, method, path, what=what, **kwargs)
        self._not_before = loop.time() + rate_limit_pause(response.headers, now=self._clock())
        try:
            raise_for_status(response, what=what, now=self._clock(), at_open=at_open)
        except RateLimited as exc:
            self._holds.note(what, exc)
            raise
        return response

    async def verify(self) -> tuple[str, str]:
        """``verify_credentials``: the account's id and acct (``library``); a refused token is
        ``AdapterConfigError``."""
        creds = await self.call("GET", "/api/v1/accounts/verify_credentials", at_open=True)
        if not isinstance(creds.body, dict) or not creds.body.get("id"):
            raise AdapterConfigError("verify_credentials returned no account")
        return str(creds.body["id"]), str(creds.body.get("acct") or creds.body.get("username") or "")

    async def instance(self) -> InstanceInfo:
        """The character limit and streaming URL (v2, then v1, then the defaults)."""
        for path in ("/api/v2/instance", "/api/v1/instance"):
            try:
                return parse_instance((await self.call("GET", path)).body)
            except PermanentError:
                continue
            except TransientError as exc:
                log.warning("mastodon: instance info unavailable (%s); using defaults", exc)
                break
        return InstanceInfo()

    async def post_status(self, body: dict[str, str], *, idempotency_key: str) -> ReplyRef:
        """``POST /api/v1/statuses`` with an ``Idempotency-Key``; the new status's id and URL."""
        headers = {"Idempotency-Key": idempotency_key} if reconcile_enabled() else {}
        response = await self.call("POST", "/api/v1/statuses", json=body, headers=headers)
        status = response.body
        if not isinstance(status, dict) or not status.get("id"):
            raise TransientError("statuses: reply accepted without a status id")
        url = status.get("url")
        return ReplyRef(str(status["id"]), url if isinstance(url, str) else None)
