"""The two server settings as values: ``EMAIL_IMAP_URL`` and ``EMAIL_SMTP_URL`` (credentials in the URL).

``imaps://`` / ``smtps://`` speak TLS from the first byte; ``imap://`` / ``smtp://`` (and
``smtp+starttls://``) must upgrade with STARTTLS, and a server that does not offer it is refused.
``+plain`` (``imap+plain://``, ``smtp+plain://``) sends without TLS and is accepted for a loopback
host only (a relay on the same machine). User and password are percent-encoded in the URL.
"""

from __future__ import annotations

import ipaddress
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import unquote, urlsplit

from bot.errors import AdapterConfigError

Security = Literal["tls", "starttls", "plain"]

_IMAP = {"imaps": ("tls", 993), "imap": ("starttls", 143), "imap+plain": ("plain", 143)}
_SMTP = {
    "smtps": ("tls", 465),
    "smtp": ("starttls", 587),
    "smtp+starttls": ("starttls", 587),
    "smtp+plain": ("plain", 25),
}


@dataclass(frozen=True, slots=True)
class ServerUrl:
    """One mail server: where, how secured, who logs in; ``mailbox`` is the IMAP folder watched."""

    scheme: str
    host: str
    port: int
    security: Security
    user: str = ""
    password: str = ""
    mailbox: str = "INBOX"

    def __repr__(self) -> str:  # never shows the password
        return f"ServerUrl({self.scheme}://{self.user}@{self.host}:{self.port})"

    @property
    def where(self) -> str:
        """``host:port`` for logs and `check`."""
        return f"{self.host}:{self.port}"


def parse_server_url(url: str, *, kind: Literal["imap", "smtp"]) -> ServerUrl:
    """Read one setting; ``AdapterConfigError`` names what is wrong (never the password)."""
    schemes = _IMAP if kind == "imap" else _SMTP
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise AdapterConfigError(f"EMAIL_{kind.upper()}_URL is not a URL") from None
    if parts.scheme not in schemes:
        raise AdapterConfigError(f"EMAIL_{kind.upper()}_URL must start with one of {sorted(schemes)}")
    security, default_port = schemes[parts.scheme]
    host = parts.hostname or ""
    if not host:
        raise AdapterConfigError(f"EMAIL_{kind.upper()}_URL has no host")
    if security == "plain" and not _loopback(host):
        raise AdapterConfigError(f"EMAIL_{kind.upper()}_URL: +plain (no TLS) is for a loopback host only")
    mailbox = unquote(parts.path.lstrip("/")) or "INBOX"
    if any(ch in mailbox for ch in '\r\n"\\') or len(mailbox) > 200:
        raise AdapterConfigError("EMAIL_IMAP_URL: the folder name has characters IMAP cannot take")
    return ServerUrl(
        scheme=parts.scheme,
        host=host,
        port=port or default_port,
        security=security,  # type: ignore[arg-type]
        user=unquote(parts.username or ""),
        password=unquote(parts.password or ""),
        mailbox=mailbox,
    )


def tls_context(ca_file: Path | None) -> ssl.SSLContext:
    """Certificate and host name checked; ``EMAIL_CA_FILE`` adds a private CA (self-hosted servers)."""
    context = ssl.create_default_context()
    if ca_file is not None:
        context.load_verify_locations(cafile=str(ca_file))
    return context


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
