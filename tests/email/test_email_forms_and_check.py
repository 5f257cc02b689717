"""A web-form question with a reply address is answered by mail exactly once; without mail configured
(or without an address) it stays read-only. `check --connect` signs in to both servers and says so
when a login is refused. The SMTP client's errors: 4xx and outages are retried, 5xx is final."""

from __future__ import annotations

import json
import random
from pathlib import Path

import httpx
import pytest

from bot.app import PatronDesk
from bot.backoff import Backoff
from bot.config import Settings
from bot.errors import MalformedPayload, PermanentError, TransientError
from bot.models import Reply
from bot.platforms.email.build import build_mailer
from bot.platforms.email.compose import reply_message_id
from bot.platforms.email.urls import parse_server_url
from bot.platforms.webhook.source import parse_webhook, signed_headers
from bot.setup_check import check_setup
from tests.fakes.dovecot import Dovecot
from tests.fakes.mailservers import ADDRESS, TlsFiles
from tests.fakes.recording import RecordingDesk
from tests.fakes.smtp import SmtpServer
from tests.waiting import until

from .test_email_e2e import ALICE, RULES

SECRET = "form-secret"


def form_settings(tmp_path: Path, smtp: SmtpServer | None, tls: TlsFiles) -> Settings:
    rules = tmp_path / "rules.toml"
    rules.write_text(RULES)
    return Settings(
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/forms.db",
        RULES_FILE=rules,
        CONSOLE_DESK="off",
        HTTP_PORT=0,
        WEBHOOK_SECRET=SECRET,
        EMAIL_ADDRESS=ADDRESS if smtp else "",
        EMAIL_SMTP_URL=smtp.url() if smtp else "",
        EMAIL_CA_FILE=tls.cert,
    )


async def post_form(app: PatronDesk, body: dict[str, object]) -> httpx.Response:
    raw = json.dumps(body).encode()
    headers = signed_headers(SECRET, raw, timestamp=int(app.clock().timestamp()))
    async with httpx.AsyncClient() as http:
        return await http.post(f"http://127.0.0.1:{app.http_port}/webhook", content=raw, headers=headers)


async def test_a_form_question_with_an_address_is_answered_by_mail_once(
    tmp_path: Path, smtp: SmtpServer, tls: TlsFiles
) -> None:
    desk = RecordingDesk()
    async with PatronDesk(form_settings(tmp_path, smtp, tls), desks=[desk]) as app:
        app.relay.policy = Backoff(base=0.05, cap=0.2, rng=random.Random(1))
        form = {
            "id": "f-1",
            "text": "Do you have study rooms?",
            "reply_to": "pat@example.com",
            "subject": "Study rooms\r\nBcc: evil@example.com",
        }
        assert (await post_form(app, form)).status_code == 202
        plain = await post_form(app, {"id": "f-2", "text": "No address given"})
        assert plain.status_code == 202
        await until(lambda: len(desk.posts) == 2, within=20)
        with_address, without = sorted((view for _, view in desk.posts), key=lambda v: v.mention_id)
        assert with_address.can_reply and not without.can_reply
        smtp.handler.refuse_next = 1  # the first attempt is told "try later": retried, sent once
        assert (await app.service.handle(Reply(with_address.mention_id, ALICE, "Yes, book online."))).ok
        await until(lambda: len(smtp.received) == 1, within=30)
        await app.wait_idle(within=30)
        refused = await app.service.handle(Reply(without.mention_id, ALICE, "x"))
        assert not refused.ok
        await app.wait_idle(within=30)
    assert len(smtp.received) == 1
    sent = smtp.received[0].message
    assert sent["To"] == "pat@example.com" and sent["From"] == ADDRESS
    assert sent["Subject"] == "Re: Study rooms Bcc: evil@example.com"  # one line: no header added
    assert sent["Bcc"] is None and smtp.received[0].rcpt_tos == ["pat@example.com"]
    assert sent["In-Reply-To"] is None  # a form has no message to thread under
    assert str(sent["Message-ID"]).startswith("<pd.")


def test_reply_to_is_validated_and_read_only_without_mail() -> None:
    from datetime import UTC, datetime

    now = datetime(2026, 12, 6, tzinfo=UTC)
    for bad in ["pat@example.com, eve@example.com", "pat", "a b@example.com", "x" * 250 + "@e.com", 7]:
        with pytest.raises(MalformedPayload, match="reply_to"):
            parse_webhook({"id": "1", "text": "t", "reply_to": bad}, now=now, can_mail=True)
    mention = parse_webhook({"id": "1", "text": "t", "reply_to": "pat@example.com"}, now=now, can_mail=False)
    assert not mention.can_reply  # no mail server: the card stays read-only
    assert json.loads(mention.reply_ref)["reply_to"] == "pat@example.com"


async def test_check_connect_signs_in_to_both_servers(
    tmp_path: Path, dovecot: Dovecot, folder: str, smtp: SmtpServer
) -> None:
    base = {
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/check.db",
        "EMAIL_ADDRESS": ADDRESS,
        "EMAIL_CA_FILE": dovecot.tls.cert,
        "CONSOLE_DESK": "off",
    }
    good = Settings(**base, EMAIL_IMAP_URL=dovecot.url(folder), EMAIL_SMTP_URL=smtp.url())
    lines, ok = await check_setup(good, connect=True)
    line = next(text for text in lines if text.startswith("email: connected"))
    assert ok and f"IMAP 127.0.0.1:{dovecot.port} {folder}: signed in as library" in line
    assert f"SMTP 127.0.0.1:{smtp.port}: signed in as library" in line

    bad = Settings(**base, EMAIL_IMAP_URL=dovecot.url(folder, password="wrong"))
    lines, ok = await check_setup(bad, connect=True)
    assert not ok and any("email: cannot connect" in text and "refused the login" in text for text in lines)
    assert not any("wrong" in text for text in lines)  # the password is never printed

    smtp_only = Settings(**base, EMAIL_SMTP_URL=smtp.url(password="wrong"))
    lines, ok = await check_setup(smtp_only, connect=True)
    assert not ok and any("email: cannot connect: the SMTP server refused the login" in t for t in lines)


async def test_smtp_errors_are_classified(smtp: SmtpServer, tls: TlsFiles) -> None:
    settings = Settings(
        EMAIL_ADDRESS=ADDRESS,
        EMAIL_SMTP_URL=smtp.url(),
        EMAIL_CA_FILE=tls.cert,
    )
    mailer = build_mailer(settings)
    assert mailer is not None
    send = {"to": "pat@example.com", "subject": "s", "text": "t", "idempotency_key": "reply:1:1"}
    smtp.handler.refuse_next = 1
    with pytest.raises(TransientError):
        await mailer.send_reply(**send)  # type: ignore[arg-type]
    smtp.handler.reject_next = 1
    with pytest.raises(PermanentError):
        await mailer.send_reply(**send)  # type: ignore[arg-type]
    first = await mailer.send_reply(**send)  # type: ignore[arg-type]
    again = await mailer.send_reply(**send)  # type: ignore[arg-type]
    assert first.external_id == again.external_id == reply_message_id("reply:1:1", sender=ADDRESS)
    assert [r.message["Message-ID"] for r in smtp.received] == [first.external_id] * 2
    smtp.stop()
    with pytest.raises(TransientError):
        await mailer.send_reply(**send)  # type: ignore[arg-type]
    insecure = parse_server_url(smtp.url(), kind="smtp")
    assert insecure.security == "starttls"


async def test_an_unusable_smtp_url_turns_answering_off_and_the_bot_runs(
    tmp_path: Path, dovecot: Dovecot, folder: str, caplog: pytest.LogCaptureFixture
) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text(RULES)
    config = Settings(
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/off.db",
        RULES_FILE=rules,
        CONSOLE_DESK="off",
        HTTP_PORT=0,
        EMAIL_ADDRESS=ADDRESS,
        EMAIL_IMAP_URL=dovecot.url(folder),
        EMAIL_SMTP_URL="smtp+plain://relay.example.org:25",  # no TLS off this machine: refused
        EMAIL_CA_FILE=dovecot.tls.cert,
    )
    desk = RecordingDesk()
    async with PatronDesk(config, desks=[desk]) as app:
        assert "email" in app.sources and "answering by mail is off" in caplog.text
        assert app.sources["email"].mailer is None  # type: ignore[attr-defined]
