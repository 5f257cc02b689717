"""One IMAP connection (the standard library's imaplib, blocking: the source runs it in its own thread).

Why imaplib in a thread: it speaks IMAPS and STARTTLS, caps line lengths and has decades of use; the
asyncio client considered (aioimaplib 2.0) has no STARTTLS. IDLE (RFC 2177), which imaplib lacks before
Python 3.14, is the small ``idle`` below; a server without IDLE is polled.
"""

from __future__ import annotations

import contextlib
import imaplib
import re
import socket
import ssl
from dataclasses import dataclass
from pathlib import Path

from bot.errors import AdapterConfigError, TransientError
from bot.platforms.email.urls import ServerUrl, tls_context

TIMEOUT = 60.0
_SIZE = re.compile(rb"RFC822\.SIZE (\d+)")


@dataclass(frozen=True, slots=True)
class Mailbox:
    """The selected folder: its UIDVALIDITY and the UID the next message will get."""

    uidvalidity: int
    uidnext: int


@dataclass(frozen=True, slots=True)
class Fetched:
    """One message's bytes (at most the cap) and its full size."""

    uid: int
    raw: bytes
    size: int


class ImapSession:
    """Connect, log in, select; then search, fetch and idle. Every method blocks."""

    def __init__(self, server: ServerUrl, *, ca_file: Path | None = None, timeout: float = TIMEOUT) -> None:
        self.server = server
        self._ca_file = ca_file
        self._timeout = timeout
        self._imap: imaplib.IMAP4 | None = None

    def connect(self) -> None:
        """Open the connection (TLS or STARTTLS as the URL says) and log in."""
        server = self.server
        try:
            if server.security == "tls":
                imap: imaplib.IMAP4 = imaplib.IMAP4_SSL(
                    server.host, server.port, ssl_context=tls_context(self._ca_file), timeout=self._timeout
                )
            else:
                imap = imaplib.IMAP4(server.host, server.port, timeout=self._timeout)
                if server.security == "starttls":
                    if "STARTTLS" not in imap.capabilities:
                        imap.shutdown()
                        raise AdapterConfigError("the IMAP server does not offer STARTTLS")
                    imap.starttls(ssl_context=tls_context(self._ca_file))
            self._imap = imap
            imap.login(server.user, server.password)
            _refresh_capabilities(imap)  # they may change after login (RFC 3501 7.2.1)
        except ssl.SSLCertVerificationError:
            self.abort()
            raise AdapterConfigError("IMAP server certificate not trusted (see EMAIL_CA_FILE)") from None
        except imaplib.IMAP4.abort as exc:
            self.abort()
            raise TransientError(f"IMAP connection lost ({type(exc).__name__})") from None
        except imaplib.IMAP4.error:
            self.abort()
            raise AdapterConfigError("the IMAP server refused the login; check EMAIL_IMAP_URL") from None
        except (OSError, EOFError) as exc:
            self.abort()
            raise TransientError(f"IMAP server unreachable ({type(exc).__name__})") from None

    @property
    def imap(self) -> imaplib.IMAP4:
        """The open connection."""
        if self._imap is None:
            raise TransientError("IMAP not connected")
        return self._imap

    @property
    def can_idle(self) -> bool:
        """The server offers IDLE."""
        return "IDLE" in self.imap.capabilities

    def select(self) -> Mailbox:
        """Select the watched folder (read-only) and say where it stands."""
        imap = self.imap
        status, _ = imap.select(_quoted(self.server.mailbox), readonly=True)
        if status != "OK":
            raise AdapterConfigError("the IMAP folder in EMAIL_IMAP_URL cannot be opened")
        validity = imap.response("UIDVALIDITY")[1]
        uidnext = imap.response("UIDNEXT")[1]
        if not validity or validity[0] is None:
            raise TransientError("the IMAP server sent no UIDVALIDITY")
        after = int(uidnext[0]) if uidnext and uidnext[0] is not None else self._last_uid() + 1
        return Mailbox(uidvalidity=int(validity[0]), uidnext=after)

    def _last_uid(self) -> int:
        found = self.search("ALL")
        return found[-1] if found else 0

    def search(self, *criteria: str) -> list[int]:
        """UIDs matching ``criteria``, ascending."""
        status, data = self.imap.uid("SEARCH", *criteria)
        if status != "OK":
            raise TransientError("IMAP search failed")
        return sorted(int(uid) for uid in (data[0] or b"").split() if uid.isdigit())

    def uids_after(self, last: int) -> list[int]:
        """UIDs greater than ``last`` (``N:*`` also matches the highest UID when it is below N)."""
        return [uid for uid in self.search("UID", f"{last + 1}:*") if uid > last]

    def fetch(self, uid: int, *, cap: int) -> Fetched | None:
        """The message's first ``cap`` bytes and its size; None when it is gone (expunged meanwhile)."""
        status, data = self.imap.uid("FETCH", str(uid), f"(RFC822.SIZE BODY.PEEK[]<0.{cap}>)")
        if status != "OK":
            raise TransientError("IMAP fetch failed")
        for item in data:
            if isinstance(item, tuple) and len(item) == 2:
                found = _SIZE.search(item[0])
                size = int(found.group(1)) if found else len(item[1])
                return Fetched(uid=uid, raw=bytes(item[1]), size=size)
        return None

    def idle(self, seconds: float) -> None:
        """Wait up to ``seconds`` for the server to announce a change (IDLE), then end the IDLE."""
        imap = self.imap
        # news the server sent with an earlier answer (mail that came while we searched) is not sent again
        news = any(key in imap.untagged_responses for key in ("EXISTS", "RECENT"))
        imap.untagged_responses.clear()
        if news:
            return
        tag = imap._new_tag()
        imap.send(tag + b" IDLE\r\n")
        line = imap.readline()
        if not line.startswith(b"+"):
            raise TransientError("the IMAP server refused IDLE")
        # wait for one line of news with the socket's timeout (a select() on the socket would miss news
        # that arrived in the same packet as "+ idling" and already sits in imaplib's buffered reader)
        sock = imap.sock
        sock.settimeout(seconds)
        try:
            if not imap.readline():
                raise TransientError("IMAP connection closed during IDLE")
        except TimeoutError:  # no news: the timed-out reader refuses further reads, so make a new one
            imap.file = sock.makefile("rb")
        finally:
            sock.settimeout(self._timeout)
        imap.send(b"DONE\r\n")
        while True:  # untagged news (EXISTS, EXPUNGE) is dropped: a search follows every wake-up
            line = imap.readline()
            if not line:
                raise TransientError("IMAP connection closed during IDLE")
            if line.startswith(tag):
                if b" OK" not in line[: len(tag) + 4]:
                    raise TransientError("IDLE ended with an error")
                return

    def noop(self) -> None:
        """Keep the connection alive and let the server report news."""
        self.imap.noop()

    def abort(self) -> None:
        """Close at once without a goodbye (unblocks a thread waiting in ``idle``)."""
        imap, self._imap = self._imap, None
        if imap is None:
            return
        with contextlib.suppress(OSError):
            imap.sock.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(OSError):
            imap.sock.close()

    def logout(self) -> None:
        """Say goodbye and close."""
        imap = self._imap
        if imap is not None:
            with contextlib.suppress(imaplib.IMAP4.error, OSError):
                imap.logout()
        self.abort()


def _refresh_capabilities(imap: imaplib.IMAP4) -> None:
    status, data = imap.capability()
    if status == "OK" and data and isinstance(data[-1], bytes):
        imap.capabilities = tuple(data[-1].decode("ascii", "replace").upper().split())


def _quoted(mailbox: str) -> str:
    return '"' + mailbox + '"'
