"""SMTP out (aiosmtplib): the library's replies, with server errors translated to the domain's.

A connection problem, a timeout or a 4xx answer is a ``TransientError`` (the outbox retries; the same
idempotency key gives the same Message-ID, so a retry after a lost answer is recognisably the same
mail); a 5xx answer is a ``PermanentError``. A refused login is retried slowly, never dropped.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from email.message import EmailMessage
from pathlib import Path

import aiosmtplib

from bot.errors import AdapterConfigError, PermanentError, TransientError
from bot.models import ReplyRef
from bot.net.wire import utc_now
from bot.platforms.email.compose import compose_reply
from bot.platforms.email.urls import ServerUrl, tls_context

log = logging.getLogger(__name__)

TIMEOUT = 30.0
LOGIN_RETRY = 300.0  # seconds before retrying after the server refused our login


class SmtpMailer:
    """Sends replies from ``sender`` through one SMTP server; a new connection per message."""

    def __init__(
        self,
        server: ServerUrl,
        *,
        sender: str,
        ca_file: Path | None = None,
        clock: Callable[[], datetime] = utc_now,
        timeout: float = TIMEOUT,
    ) -> None:
        self.server = server
        self.sender = sender
        self._ca_file = ca_file
        self._clock = clock
        self._timeout = timeout

    async def send_reply(
        self,
        *,
        to: str,
        subject: str,
        text: str,
        idempotency_key: str,
        in_reply_to: str = "",
        references: Sequence[str] = (),
        automatic: bool = False,
    ) -> ReplyRef:
        """Compose and send one reply; its Message-ID is the returned ref's id."""
        try:
            message = compose_reply(
                sender=self.sender,
                to=to,
                subject=subject,
                text=text,
                idempotency_key=idempotency_key,
                now=self._clock(),
                in_reply_to=in_reply_to,
                references=references,
                automatic=automatic,
            )
        except ValueError:
            raise PermanentError("the reply address is not a plain e-mail address") from None
        await self.send(message)
        return ReplyRef(external_id=str(message["Message-ID"]))

    async def send(self, message: EmailMessage) -> None:
        """Hand one message to the server."""
        try:
            async with self._connect() as client:
                await client.send_message(message)
        except aiosmtplib.SMTPAuthenticationError:
            log.error("email: the SMTP server refused the login; check EMAIL_SMTP_URL")
            raise TransientError("SMTP login refused", retry_after=LOGIN_RETRY) from None
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [refusal.code for refusal in exc.recipients]
            raise _by_code(min(codes) if codes else 550, "recipient refused") from None
        except aiosmtplib.SMTPResponseException as exc:
            raise _by_code(exc.code, "message refused") from None
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise TransientError(f"SMTP server unreachable ({type(exc).__name__})") from None
        log.info("email: reply sent")

    async def check(self) -> str:
        """Log in and out (``patron-desk check --connect``)."""
        try:
            async with self._connect():
                pass
        except aiosmtplib.SMTPAuthenticationError:
            raise AdapterConfigError("the SMTP server refused the login") from None
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise TransientError(f"SMTP server unreachable ({type(exc).__name__})") from None
        return f"SMTP {self.server.where}: signed in as {self.server.user or '(no login)'}"

    def _connect(self) -> aiosmtplib.SMTP:
        server = self.server
        secure = server.security != "plain"
        return aiosmtplib.SMTP(
            hostname=server.host,
            port=server.port,
            username=server.user or None,
            password=server.password or None,
            use_tls=server.security == "tls",
            start_tls=server.security == "starttls",
            tls_context=tls_context(self._ca_file) if secure else None,
            timeout=self._timeout,
        )

    async def aclose(self) -> None:
        """Nothing held between messages."""


def _by_code(code: int, what: str) -> Exception:
    if 400 <= code < 500:
        return TransientError(f"SMTP {code}: {what} for now")
    return PermanentError(f"SMTP {code}: {what}")
