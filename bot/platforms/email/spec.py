"""Email as the registry sees it (light: IMAP and SMTP modules are imported only when built)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.platforms.base import PlatformSpec, lazy

if TYPE_CHECKING:
    from bot.config import Settings


def _describe(s: Settings) -> str:
    parts = []
    if s.EMAIL_IMAP_URL:
        parts.append(f"reads {_host(s.EMAIL_IMAP_URL)}")
    if s.EMAIL_SMTP_URL:
        parts.append(f"answers through {_host(s.EMAIL_SMTP_URL)} as {s.EMAIL_ADDRESS}")
    return f"email: on, {'; '.join(parts)}" if parts else "email: off"


def _host(url: str) -> str:
    """The server part of a URL without its credentials."""
    rest = url.split("://", 1)[-1]
    return rest.rsplit("@", 1)[-1].split("/", 1)[0]


SPEC = PlatformSpec(
    name="email",
    display="Email",
    settings_keys=(
        "EMAIL_ADDRESS",
        "EMAIL_IMAP_URL",
        "EMAIL_SMTP_URL",
        "EMAIL_CA_FILE",
        "EMAIL_POLL_SECONDS",
        "EMAIL_IDLE_SECONDS",
        "EMAIL_MAX_MESSAGE_MB",
    ),
    describe=_describe,
    source_on=lambda s: bool(s.EMAIL_IMAP_URL),
    build_source=lazy("bot.platforms.email.build", "build_source"),
    make_client=lazy("bot.platforms.email.build", "build_mailer"),
    client_on=lambda s: bool(s.EMAIL_SMTP_URL),
)
