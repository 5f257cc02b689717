"""Email benchmark: what reading one message costs, ordinary and hostile, and IMAP throughput.

Run: .venv/bin/python -m bench.email [--mails N] [--no-imap]
Parse figures: ``parse_email`` per ordinary message (median), and once each for a 20 MB attachment, a
10 MB body, 10,000 parts and 3,000 nested parts. Goals: an ordinary message well under 5 ms; none of
the hostile ones over 3 s (the source reads them in its own thread, so the event loop never waits).
With Dovecot installed, ``--mails`` messages are appended to a fresh folder of a loopback Dovecot and
read back by the source's IMAP session (search, fetch, parse): messages per second.
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import UTC, datetime
from pathlib import Path
from tempfile import mkdtemp

from bot.platforms.email.parse import parse_email

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
LIBRARY = "ask@library.example"


def ordinary(n: int) -> bytes:
    return (
        f"From: Pat Example <pat{n}@example.com>\r\nTo: {LIBRARY}\r\nSubject: Renewals {n}\r\n"
        f"Date: Sun, 06 Dec 2026 11:00:00 +0000\r\nMessage-ID: <m{n}@example.com>\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\n"
        "Hello, can I renew my books online? I have three out until Friday.\r\n\r\n"
        "On Sat, 5 Dec 2026, Library wrote:\r\n> Thanks for your message.\r\n\r\n-- \r\nPat\r\n"
    ).encode()


def hostile() -> dict[str, bytes]:
    from tests.email.test_email_poison import big_attachment, deep, wide

    body = ordinary(0).replace(b"Hello, can I", b"x" * (10 * 1024 * 1024) + b" can I")
    return {
        "20 MB attachment": big_attachment(20),
        "10 MB body": body,
        "10,000 parts": wide(10_000),
        "3,000 nested parts": deep(3000),
    }


def time_parse(raw: bytes) -> float:
    started = time.perf_counter()
    parse_email(raw, library=LIBRARY, now=NOW)
    return time.perf_counter() - started


def imap_rate(count: int) -> float | None:
    from bot.platforms.email.imap import ImapSession
    from bot.platforms.email.urls import parse_server_url
    from tests.fakes.dovecot import Dovecot, dovecot_binary
    from tests.fakes.mailservers import TlsFiles

    if dovecot_binary() is None:
        return None
    server = Dovecot(TlsFiles.make(Path(mkdtemp()))).start()
    try:
        server.create("Bench")
        imap = server.client()
        for n in range(count):
            imap.append('"Bench"', None, None, ordinary(n))
        imap.logout()
        session = ImapSession(parse_server_url(server.url("Bench"), kind="imap"), ca_file=server.tls.cert)
        started = time.perf_counter()
        session.connect()
        session.select()
        for uid in session.uids_after(0):
            fetched = session.fetch(uid, cap=32 * 1024 * 1024)
            assert fetched is not None
            parse_email(fetched.raw, library=LIBRARY, now=NOW)
        elapsed = time.perf_counter() - started
        session.logout()
        return count / elapsed
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mails", type=int, default=500)
    parser.add_argument("--no-imap", action="store_true")
    args = parser.parse_args()
    times = [time_parse(ordinary(n)) for n in range(2000)]
    print(
        f"parse, ordinary message: median {statistics.median(times) * 1e3:.3f} ms, "
        f"p99 {sorted(times)[int(len(times) * 0.99)] * 1e3:.3f} ms"
    )
    for name, raw in hostile().items():
        print(f"parse, {name} ({len(raw) / 1e6:.1f} MB): {time_parse(raw):.3f} s")
    if not args.no_imap:
        rate = imap_rate(args.mails)
        print(
            "imap: dovecot not installed"
            if rate is None
            else f"imap, {args.mails} messages searched, fetched and parsed: {rate:.0f} messages/s"
        )


if __name__ == "__main__":
    main()
