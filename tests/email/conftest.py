"""Fixtures for the email tests: one Dovecot per module (a fresh folder per test), aiosmtpd per test."""

from __future__ import annotations

import itertools
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

import pytest

from tests.fakes.dovecot import Dovecot, dovecot_binary
from tests.fakes.mailservers import TlsFiles
from tests.fakes.smtp import SmtpServer

_folders = itertools.count(1)


@pytest.fixture(scope="session")
def dovecot_installed() -> None:
    """Skip where Debian's Dovecot package is missing (`.ci/run` installs it)."""
    if dovecot_binary() is None:
        pytest.skip("dovecot is not installed (apt-get install -y dovecot-imapd)")


@pytest.fixture(scope="module")
def dovecot(tls: TlsFiles, dovecot_installed: None) -> Iterator[Dovecot]:
    """A running Dovecot on its own loopback ports, for the module."""
    server = Dovecot(tls).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def folder(dovecot: Dovecot) -> str:
    """A new, empty IMAP folder for this test."""
    name = f"Ask{next(_folders)}"
    dovecot.create(name)
    return name


@pytest.fixture(scope="module")
def tls() -> Iterator[TlsFiles]:
    root = Path(tempfile.mkdtemp(prefix="pd-tls-"))
    try:
        yield TlsFiles.make(root)
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
async def smtp(tls: TlsFiles) -> AsyncIterator[SmtpServer]:
    server = SmtpServer(tls).start()
    try:
        yield server
    finally:
        server.stop()


def mail(
    text: str = "Can I renew my books online?",
    *,
    subject: str = "Renewals",
    sender: str = "Pat Example <pat@example.com>",
    to: str = "ask@library.example",
    msgid: str | None = None,
    in_reply_to: str | None = None,
    references: str | None = None,
    headers: dict[str, str] | None = None,
    html: str | None = None,
) -> bytes:
    """A patron's message as a mail client writes it."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(datetime.now(UTC))
    msg["Message-ID"] = msgid or make_msgid(domain="example.com")
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
    if references:
        msg["References"] = references
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(text)
    if html is not None:
        msg.add_alternative(html, subtype="html")
    return msg.as_bytes()
