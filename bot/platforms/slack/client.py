"""The one Slack connection shared by the staff desk and the Slack source: web client, bolt app, mode.

Socket Mode when ``SLACK_APP_TOKEN`` is set, otherwise HTTP mode (``POST /slack/events`` on the one
HTTP server, signature checked here before bolt sees the request). Both modes run bolt with
``process_before_response=True``: a listener finishes before Slack is acknowledged, so an event is
stored before the ack, and a listener that fails leaves the event un-acked for Slack to resend.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import Settings
from bot.errors import AdapterConfigError, PatronDeskError, PermanentError, RateLimited, TransientError
from bot.net.http_json import StatusRules, status_error
from bot.platforms.slack.pace import Pacer

log = logging.getLogger(__name__)

# The SDKs log whole payloads (patron text) at DEBUG: their loggers never go below INFO/ERROR.
SDK_LOG = logging.getLogger("bot.slack.sdk")
SDK_LOG.setLevel(logging.INFO)
BOLT_LOG = logging.getLogger("bot.slack.bolt")
BOLT_LOG.setLevel(logging.ERROR)

EVENTS_PATH = "/slack/events"
MAX_SKEW = 300
AUTH_ERRORS = frozenset({"invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired"})
TRANSIENT_ERRORS = frozenset({"internal_error", "fatal_error", "service_unavailable", "request_timeout"})
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True, slots=True)
class BotIdentity:
    """Who the bot is (auth.test): to ignore its own messages and build permalinks."""

    user_id: str
    bot_id: str
    team_id: str
    url: str
    name: str = ""  # the bot's user name (auth.test ``user``)


def verify_signature(secret: str, body: bytes, timestamp: str, signature: str, *, now: float) -> bool:
    """Slack's v0 request signature, checked without ever raising on malformed headers."""
    if not secret or not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
        return False
    if abs(now - int(timestamp)) > MAX_SKEW or not signature.startswith("v0="):
        return False
    base = b"v0:" + timestamp.encode() + b":" + body
    expected = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), signature.encode("utf-8", "surrogateescape"))


# Slack's own statuses: 408 is not retried, a 5xx carries no wait, and a refused token answers
# 200 with an error string (AUTH_ERRORS), so no status means "settings refused".
SLACK_STATUS = StatusRules(also_transient=frozenset(), hint_on_5xx=False)


def translate(exc: Exception, method: str) -> PatronDeskError:
    """A Slack SDK or transport error as a domain error (429 keeps Slack's Retry-After)."""
    if isinstance(exc, SlackApiError):
        status = getattr(exc.response, "status_code", 0)
        error = str(exc.response.get("error") or f"http {status}")
        headers = getattr(exc.response, "headers", None) or {}
        value = headers.get("Retry-After")
        value = value[0] if isinstance(value, list) else value
        limited = status == 429 or error == "ratelimited"
        mapped = status_error(
            429 if limited else status,
            label=f"slack {method}: {'ratelimited' if limited else error}",
            now=_now(),
            rules=SLACK_STATUS,
            retry_after=value,
        )
        if type(mapped) is PermanentError and error in TRANSIENT_ERRORS:
            return TransientError(f"slack {method}: {error}")
        return mapped
    return TransientError(f"slack {method}: {type(exc).__name__}")


def _now() -> datetime:
    return datetime.now(UTC)


class SlackClient:
    """The shared Slack objects (``AdapterDeps.clients["slack"]``) and their lifecycle.

    Args:
        bot_token: ``xoxb-`` token for the Web API.
        app_token: ``xapp-`` token; turns on Socket Mode.
        signing_secret: HTTP mode's secret (used when there is no app token).
        api_url: Web API base (GovSlack and the test emulator use another host).
        pace: seconds between two posts in one channel (the pacer works on ``time.monotonic``).
        timeout: seconds per Web API call.
        clock: wall-clock seconds, for the five-minute window of HTTP-mode signatures.
        retry_after_cap: the longest 429 hint honoured (``RETRY_AFTER_CAP``); longer ones are cut.
    """

    def __init__(
        self,
        *,
        bot_token: str,
        app_token: str = "",
        signing_secret: str = "",
        api_url: str = "https://slack.com/api/",
        pace: float = 1.0,
        timeout: float = 10.0,
        clock: Callable[[], float] = time.time,
        retry_after_cap: float = 900.0,
    ) -> None:
        # retry_handlers=[]: the SDK's own retry on a dropped connection would post a card twice;
        # retries belong to the outbox, which reconciles first.
        self.web = AsyncWebClient(
            token=bot_token, base_url=api_url, timeout=int(timeout), logger=SDK_LOG, retry_handlers=[]
        )
        self.socket_mode = bool(app_token)
        self.app = AsyncApp(
            client=self.web,
            signing_secret=signing_secret,
            request_verification_enabled=bool(signing_secret) and not self.socket_mode,
            process_before_response=True,
            logger=BOLT_LOG,
            name="patron-desk",
        )
        self.pacer = Pacer(pace)
        self.retry_after_cap = retry_after_cap
        self.clock = clock
        self.timeout = timeout
        self._app_token = app_token
        self._secret = signing_secret
        self._identity: BotIdentity | None = None
        self._handler: AsyncSocketModeHandler | None = None
        self._session: aiohttp.ClientSession | None = None
        self._lock = asyncio.Lock()
        self._routes_given = False
        self.card_channels: set[str] = set()  # where the desk posts cards: never a patron source

    def _ensure_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()
            self.web.session = self._session
        return self._session

    async def call(self, method: str, **kwargs: Any) -> dict[str, Any]:
        """Call a Web API method by its SDK name (``chat_postMessage``); errors become domain errors."""
        self._ensure_session()
        try:
            response = await getattr(self.web, method)(**kwargs)
        except asyncio.CancelledError:
            raise
        except (SlackApiError, aiohttp.ClientError, TimeoutError, OSError) as exc:
            error = translate(exc, method)
            if isinstance(error, RateLimited) and (error.retry_after or 0.0) > self.retry_after_cap:
                error = RateLimited(str(error), retry_after=self.retry_after_cap)
            raise error from None
        return dict(response.data) if isinstance(response.data, dict) else {}

    async def scopes(self) -> frozenset[str] | None:
        """The bot token's OAuth scopes (auth.test's ``x-oauth-scopes`` header); None when not said."""
        self._ensure_session()
        try:
            response = await self.web.auth_test()
        except asyncio.CancelledError:
            raise
        except (SlackApiError, aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise translate(exc, "auth_test") from None
        headers = {str(k).lower(): v for k, v in (response.headers or {}).items()}
        value = headers.get("x-oauth-scopes")
        value = value[0] if isinstance(value, list) and value else value
        if not isinstance(value, str):
            return None
        return frozenset(part.strip() for part in value.split(",") if part.strip())

    async def identity(self) -> BotIdentity:
        """auth.test once; a refused token is ``AdapterConfigError``."""
        async with self._lock:
            if self._identity is None:
                try:
                    data = await self.call("auth_test")
                except PermanentError as exc:
                    raise AdapterConfigError(f"Slack refused SLACK_BOT_TOKEN ({exc})") from None
                self._identity = BotIdentity(
                    user_id=str(data.get("user_id", "")),
                    bot_id=str(data.get("bot_id", "")),
                    team_id=str(data.get("team_id", "")),
                    url=str(data.get("url", "")),
                    name=str(data.get("user", "")),
                )
            return self._identity

    async def start(self) -> None:
        """Connect Socket Mode (once; the SDK keeps it connected). HTTP mode has nothing to start."""
        await self.identity()
        async with self._lock:
            if not self.socket_mode or self._handler is not None:
                return
            try:
                opened = await self.web.apps_connections_open(app_token=self._app_token)
            except SlackApiError as exc:
                if exc.response.get("error") in AUTH_ERRORS:
                    raise AdapterConfigError(
                        "Slack refused SLACK_APP_TOKEN (needs connections:write)"
                    ) from None
                raise translate(exc, "apps.connections.open") from None
            except (aiohttp.ClientError, TimeoutError, OSError) as exc:
                raise translate(exc, "apps.connections.open") from None
            handler = AsyncSocketModeHandler(
                self.app, app_token=self._app_token, logger=SDK_LOG, web_client=self.web
            )
            handler.client.wss_uri = str(opened["url"])
            await handler.connect_async()
            self._handler = handler
            log.info("Slack Socket Mode connected")

    async def respond(self, url: str, payload: dict[str, Any]) -> None:
        """POST an answer to an interaction's ``response_url``."""
        session = self._ensure_session()
        try:
            async with session.post(
                url, json=payload, timeout=aiohttp.ClientTimeout(total=self.timeout)
            ) as resp:
                status = resp.status
                retry_after = resp.headers.get("Retry-After")
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise translate(exc, "response_url") from None
        if status >= 400:
            what = "429" if status == 429 else f"http {status}"
            raise status_error(
                status,
                label=f"slack response_url: {what}",
                now=_now(),
                rules=SLACK_STATUS,
                retry_after=retry_after,
            )

    def http_routes(self) -> list[tuple[str, str, Handler]]:
        """``POST /slack/events`` in HTTP mode, given once (desk and source share one route)."""
        if self.socket_mode or not self._secret or self._routes_given:
            return []
        self._routes_given = True
        return [("POST", EVENTS_PATH, self.handle_http)]

    async def handle_http(self, request: web.Request) -> web.StreamResponse:
        """Check the signature (401 on anything wrong, never 5xx), then hand the request to bolt."""
        body = await request.read()
        stamp = request.headers.get("X-Slack-Request-Timestamp", "")
        signature = request.headers.get("X-Slack-Signature", "")
        if not verify_signature(self._secret, body, stamp, signature, now=self.clock()):
            return web.json_response({"error": "invalid request"}, status=401)
        try:
            bolt_request = AsyncBoltRequest(
                body=body.decode("utf-8"), query=request.query_string, headers=dict(request.headers)
            )
        except (ValueError, TypeError, KeyError):
            return web.json_response({"error": "malformed body"}, status=400)
        return await to_aiohttp_response(await self.app.async_dispatch(bolt_request))

    async def aclose(self) -> None:
        """Disconnect Socket Mode and close HTTP sessions."""
        if self._handler is not None:
            await self._handler.close_async()
            self._handler = None
        if self._session is not None:
            await self._session.close()
            self._session = None


async def make_client(settings: Settings) -> SlackClient:
    """The shared client for ``AdapterDeps.clients["slack"]`` (built once by the app)."""
    return SlackClient(
        bot_token=settings.SLACK_BOT_TOKEN,
        app_token=settings.SLACK_APP_TOKEN,
        signing_secret=settings.SLACK_SIGNING_SECRET,
        api_url=settings.SLACK_API_URL,
        retry_after_cap=settings.RETRY_AFTER_CAP,
    )


def shared_client(settings: Settings, clients: Any) -> SlackClient:
    """The app's shared client, or a new one when the caller gave none (tests, single parts)."""
    client = clients.get("slack") if clients else None
    if isinstance(client, SlackClient):
        return client
    return SlackClient(
        bot_token=settings.SLACK_BOT_TOKEN,
        app_token=settings.SLACK_APP_TOKEN,
        signing_secret=settings.SLACK_SIGNING_SECRET,
        api_url=settings.SLACK_API_URL,
        retry_after_cap=settings.RETRY_AFTER_CAP,
    )
