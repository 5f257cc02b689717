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


def _problems(s: Settings) -> list[str]:
    found = []
    if (s.EMAIL_IMAP_URL or s.EMAIL_SMTP_URL) and "@" not in s.EMAIL_ADDRESS:
        found.append("EMAIL_IMAP_URL or EMAIL_SMTP_URL is set but EMAIL_ADDRESS (the library's) is not")
    for key, url, schemes in (
        ("EMAIL_IMAP_URL", s.EMAIL_IMAP_URL, ("imaps://", "imap://", "imap+plain://")),
        ("EMAIL_SMTP_URL", s.EMAIL_SMTP_URL, ("smtps://", "smtp://", "smtp+starttls://", "smtp+plain://")),
    ):
        if url and not url.startswith(schemes):
            found.append(f"{key} must start with one of {', '.join(schemes)}")
    return found


SPEC = PlatformSpec(
    name="email",
    display="Email",
    private_replies=True,
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
    problems=_problems,
    source_on=lambda s: bool(s.EMAIL_IMAP_URL),
    build_source=lazy("bot.platforms.email.build", "build_source"),
    make_client=lazy("bot.platforms.email.build", "build_mailer"),
    client_on=lambda s: bool(s.EMAIL_SMTP_URL),
)
