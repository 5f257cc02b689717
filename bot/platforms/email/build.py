"""Building the email parts from settings: the SMTP mailer (the platform's shared client) and the source."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from bot.errors import AdapterConfigError
from bot.platforms.email.smtp import SmtpMailer
from bot.platforms.email.source import EmailSource
from bot.platforms.email.urls import parse_server_url

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.platforms.base import AdapterDeps

log = logging.getLogger(__name__)

NAME = "email"


def build_mailer(settings: Settings) -> SmtpMailer | None:
    """The SMTP client when ``EMAIL_SMTP_URL`` is set; a URL it cannot use turns answering by mail off,
    loudly, and leaves the rest of the bot running."""
    if not settings.EMAIL_SMTP_URL:
        return None
    try:
        server = parse_server_url(settings.EMAIL_SMTP_URL, kind="smtp")
    except AdapterConfigError as exc:
        log.error("email: answering by mail is off: %s", exc)
        return None
    return SmtpMailer(server, sender=settings.EMAIL_ADDRESS, ca_file=settings.EMAIL_CA_FILE)


def build_source(settings: Settings, deps: AdapterDeps) -> Any:
    """The IMAP source when ``EMAIL_IMAP_URL`` is set (with only SMTP set, `check --connect` checks the
    mailer, the platform's client, on its own)."""
    mailer = deps.clients.get(NAME) or build_mailer(settings)
    if not settings.EMAIL_IMAP_URL:
        return None
    return EmailSource(
        parse_server_url(settings.EMAIL_IMAP_URL, kind="imap"),
        address=settings.EMAIL_ADDRESS,
        mailer=mailer,
        ca_file=settings.EMAIL_CA_FILE,
        poll_seconds=settings.EMAIL_POLL_SECONDS,
        idle_seconds=settings.EMAIL_IDLE_SECONDS,
        max_bytes=settings.EMAIL_MAX_MESSAGE_MB * 1024 * 1024,
    )
