"""aiosmtpd on loopback for the email tests: STARTTLS and a login required, messages kept, outages and
4xx/5xx answers on demand."""

from __future__ import annotations

from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from tests.fakes.loopback import free_port
from tests.fakes.mailservers import PASSWORD, USER, TlsFiles


@dataclass
class Received:
    """One message the SMTP server accepted."""

    mail_from: str
    rcpt_tos: list[str]
    raw: bytes

    @property
    def message(self) -> EmailMessage:
        parsed = message_from_bytes(self.raw, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


@dataclass
class _Handler:
    received: list[Received] = field(default_factory=list)
    refuse_next: int = 0  # answer this many DATA commands with 421 (try later)
    reject_next: int = 0  # answer this many with 554 (refused for good)
    lose_answer_next: int = 0  # keep this many messages but answer 421, as if the 250 was lost on the way

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.refuse_next:
            self.refuse_next -= 1
            return "421 4.3.2 try again later"
        if self.reject_next:
            self.reject_next -= 1
            return "554 5.7.1 refused"
        content = envelope.original_content or envelope.content or b""
        raw = content if isinstance(content, bytes) else content.encode()
        self.received.append(Received(envelope.mail_from or "", list(envelope.rcpt_tos), raw))
        if self.lose_answer_next:
            self.lose_answer_next -= 1
            return "421 4.4.2 connection dropped"
        return "250 OK"


def _authenticator(
    server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
) -> AuthResult:
    ok = (
        isinstance(data, LoginPassword) and data.login == USER.encode() and data.password == PASSWORD.encode()
    )
    return AuthResult(success=ok, handled=False)  # not handled: the server answers 535 itself


class SmtpServer:
    """aiosmtpd on a free loopback port: STARTTLS and a login required, messages kept in ``received``.

    ``stop()``/``start()`` make an outage on the same port; ``refuse_next``/``reject_next`` make
    the server answer 421 or 554.
    """

    def __init__(self, tls: TlsFiles) -> None:
        self.tls = tls
        self.port = free_port()
        self.handler = _Handler()
        self._controller: Controller | None = None

    @property
    def received(self) -> list[Received]:
        return self.handler.received

    def url(self, *, password: str = PASSWORD) -> str:
        from urllib.parse import quote

        return f"smtp://{quote(USER, safe='')}:{quote(password, safe='')}@127.0.0.1:{self.port}"

    def start(self) -> SmtpServer:
        self._controller = Controller(
            self.handler,
            hostname="127.0.0.1",
            port=self.port,
            tls_context=self.tls.server_context(),
            require_starttls=True,
            auth_required=True,
            authenticator=_authenticator,
            ready_timeout=10,
        )
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None
