"""The library's mailbox as a source: new mail over IMAP (IDLE, else polling) in, replies over SMTP out.

The cursor is ``<UIDVALIDITY>:<last UID>:<date>``, stored with each mention in the ingest
transaction. When the server renumbers the folder (a new UIDVALIDITY) the source reads again only the
mail that arrived since the day before ``date``: each message's id is its Message-ID, so what was
carded before is a repeat and nothing is carded twice. The first start only marks where the folder
stands (no old mail becomes a card).
"""

from __future__ import annotations

import asyncio
import imaplib
import json
import logging
from collections.abc import AsyncGenerator, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from bot.domain.outbox import is_acknowledgement
from bot.errors import PermanentError, ReplyNotSupported, TransientError
from bot.models import Mention, ReplyRef
from bot.net.wire import utc_now
from bot.platforms.email.imap import ImapSession
from bot.platforms.email.parse import SOURCE, parse_email, unreadable
from bot.platforms.email.smtp import SmtpMailer
from bot.platforms.email.urls import ServerUrl

log = logging.getLogger(__name__)
T = TypeVar("T")

MAX_MESSAGE_BYTES = 32 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Cursor:
    """Where the source stopped: the folder's UIDVALIDITY, the last UID taken, and the day it was."""

    uidvalidity: int
    uid: int
    day: str  # YYYY-MM-DD (UTC)

    def __str__(self) -> str:
        return f"{self.uidvalidity}:{self.uid}:{self.day}"

    @classmethod
    def parse(cls, value: str | None) -> Cursor | None:
        """The stored form back; None for no cursor or an unreadable one (then the source starts fresh)."""
        try:
            validity, uid, day = (value or "").split(":")
            datetime.strptime(day, "%Y-%m-%d")
            return cls(int(validity), int(uid), day)
        except ValueError:
            return None


class EmailSource:
    """IMAP in, SMTP out; the IMAP connection lives in one worker thread of its own."""

    source = SOURCE

    def __init__(
        self,
        server: ServerUrl,
        *,
        address: str,
        mailer: SmtpMailer | None,
        ca_file: Path | None = None,
        poll_seconds: float = 60.0,
        idle_seconds: float = 600.0,
        max_bytes: int = MAX_MESSAGE_BYTES,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.server = server
        self.address = address
        self.mailer = mailer
        self._ca_file = ca_file
        self._poll = poll_seconds
        self._idle = idle_seconds
        self._max_bytes = max_bytes
        self._clock = clock
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="imap")
        self._session: ImapSession | None = None

    async def _run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run blocking IMAP work in the source's thread; a dropped connection is a ``TransientError``."""
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._thread, lambda: fn(*args, **kwargs))
        except (imaplib.IMAP4.abort, OSError, EOFError) as exc:
            raise TransientError(f"IMAP connection lost ({type(exc).__name__})") from None
        except imaplib.IMAP4.error as exc:
            raise TransientError(f"IMAP command failed ({type(exc).__name__})") from None

    async def _connect(self) -> ImapSession:
        session = ImapSession(self.server, ca_file=self._ca_file)
        await self._run(session.connect)
        self._session = session
        return session

    async def open(self) -> None:
        """Log in once to check the settings (``AdapterConfigError`` when they are refused)."""
        session = await self._connect()
        await self._run(session.select)
        self._close(session)

    async def check(self) -> str:
        """`check --connect`: log in to the IMAP server, and to the SMTP server when one is set."""
        session = await self._connect()
        box = await self._run(session.select)
        self._close(session)
        line = f"IMAP {self.server.where} {self.server.mailbox}: signed in as {self.server.user}"
        line += f" (UIDVALIDITY {box.uidvalidity})"
        if self.mailer is not None:
            line += "; " + await self.mailer.check()
        return line

    async def mentions(self, cursor: str | None) -> AsyncGenerator[tuple[Mention | None, str | None], None]:
        """New mail, each message with the cursor after it; waits with IDLE (or polls) between."""
        session = await self._connect()
        try:
            at = Cursor.parse(cursor)
            while True:
                box = await self._run(session.select)
                if at is None:  # first start: mark where the folder stands
                    at = Cursor(box.uidvalidity, box.uidnext - 1, self._day())
                    yield None, str(at)
                    continue
                renumbered = at.uidvalidity != box.uidvalidity
                if renumbered:
                    log.warning("email: folder renumbered (new UIDVALIDITY); reading recent mail again")
                    uids = await self._run(session.search, "SINCE", _imap_date(at.day))
                    at = Cursor(box.uidvalidity, 0, at.day)
                else:
                    uids = await self._run(session.uids_after, at.uid)
                for uid in uids:
                    mention = await self._read(session, uid)
                    at = Cursor(at.uidvalidity, max(at.uid, uid), self._day())
                    yield mention, str(at)
                if renumbered:  # older mail of the renumbered folder was read before: step past it
                    at = Cursor(at.uidvalidity, max(at.uid, box.uidnext - 1), self._day())
                    yield None, str(at)
                elif not uids:
                    await self._wait(session)
        finally:
            self._close(session)

    async def _read(self, session: ImapSession, uid: int) -> Mention | None:
        fetched = await self._run(session.fetch, uid, cap=self._max_bytes)
        if fetched is None:
            return None
        note = ""
        if fetched.size > len(fetched.raw):
            note = f"Only the first {self._max_bytes // 1_000_000} MB of this message were read."
        now = self._clock()
        try:  # parsing a large message takes CPU time: it runs in the worker thread, not the event loop
            return await self._run(parse_email, fetched.raw, library=self.address, now=now, note=note)
        except TransientError:
            raise
        except Exception as exc:  # a parser bug must not stop the mailbox: card it as unreadable
            log.error("email: a message could not be read (%s); carded as unreadable", type(exc).__name__)
            return unreadable(fetched.raw, now=now)

    async def _wait(self, session: ImapSession) -> None:
        if await self._run(lambda: session.can_idle):
            await self._run(session.idle, self._idle)
        else:
            await asyncio.sleep(self._poll)
            await self._run(session.noop)

    def _day(self) -> str:
        return self._clock().strftime("%Y-%m-%d")

    def _close(self, session: ImapSession) -> None:
        session.abort()  # from the event loop's thread: unblocks the worker if it waits in IDLE
        if self._session is session:
            self._session = None

    async def reply(self, to: Mention, text: str, *, idempotency_key: str) -> ReplyRef:
        """Send the answer by SMTP, threaded under the patron's message."""
        if self.mailer is None:
            raise ReplyNotSupported("no SMTP server is set (EMAIL_SMTP_URL)")
        try:
            ref = json.loads(to.reply_ref or "{}")
        except ValueError:
            ref = {}
        if not isinstance(ref, dict) or not isinstance(ref.get("to"), str) or not ref["to"]:
            raise PermanentError("this mail has no address to answer")
        references = [r for r in ref.get("references") or [] if isinstance(r, str)]
        return await self.mailer.send_reply(
            to=ref["to"],
            subject=str(ref.get("subject") or ""),
            text=text,
            idempotency_key=idempotency_key,
            in_reply_to=str(ref.get("message_id") or ""),
            references=references,
            automatic=is_acknowledgement(idempotency_key),
        )

    async def aclose(self) -> None:
        """Close the connection and the worker thread."""
        if self._session is not None:
            self._close(self._session)
        self._thread.shutdown(wait=False, cancel_futures=True)


def _imap_date(day: str) -> str:
    """The day before ``day`` in IMAP's form (``05-Dec-2026``): a renumbered folder is read from there."""
    when = datetime.strptime(day, "%Y-%m-%d") - timedelta(days=1)
    return f"{when.day:02d}-{_MONTHS[when.month - 1]}-{when.year}"  # English names, whatever the locale


_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
