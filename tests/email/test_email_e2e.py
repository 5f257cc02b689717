"""End to end through the real app, a real Dovecot (IMAP) and a real aiosmtpd (SMTP) on loopback:
mail becomes a card, Claim and Reply send one threaded answer, the patron's answer joins the card,
automatic mail is skipped, a renumbered folder cards nothing twice, an SMTP outage loses nothing."""

from __future__ import annotations

import logging
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.app import PatronDesk
from bot.backoff import Backoff
from bot.config import Settings
from bot.models import Claim, Reply, StaffRef, Status
from bot.platforms.email.compose import reply_message_id
from bot.store import outbox
from bot.store.ingest_tables import CursorRow
from bot.store.mention_tables import MentionRow, MessageRow
from bot.views import TicketView
from tests.fakes.dovecot import Dovecot
from tests.fakes.mailservers import ADDRESS, TlsFiles
from tests.fakes.recording import RecordingDesk
from tests.fakes.smtp import SmtpServer
from tests.waiting import until

from .conftest import mail

RULES = """
default_role = "reference"

[roles.reference]
sla_minutes = 30

[[staff]]
key = "alice"
name = "Alice Archer"
manager = true
"""
ALICE = StaffRef("test", "U1", "Alice Archer")


def settings(
    tmp_path: Path, dovecot: Dovecot, folder: str, smtp: SmtpServer | None, **more: object
) -> Settings:
    rules = tmp_path / "rules.toml"
    rules.write_text(RULES)
    return Settings(
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/email.db",
        RULES_FILE=rules,
        CONSOLE_DESK="off",
        HTTP_PORT=0,
        EMAIL_ADDRESS=ADDRESS,
        EMAIL_IMAP_URL=dovecot.url(folder),
        EMAIL_SMTP_URL=smtp.url() if smtp else "",
        EMAIL_CA_FILE=dovecot.tls.cert,
        EMAIL_IDLE_SECONDS=30,
        **more,  # type: ignore[arg-type]
    )


@asynccontextmanager
async def running(config: Settings, desk: RecordingDesk) -> AsyncIterator[PatronDesk]:
    """The app with the email source built from settings; returns once the folder is marked."""
    async with PatronDesk(config, desks=[desk]) as app:
        app.relay.policy = Backoff(base=0.05, cap=0.2, rng=random.Random(5))
        await until_cursor(app)
        yield app


async def until_cursor(app: PatronDesk) -> None:
    async def stored() -> bool:
        async with app.db.transaction() as session:
            return (
                await session.execute(select(CursorRow).where(CursorRow.source == "email"))
            ).first() is not None

    for _ in range(3000):
        if await stored():
            return
        await _sleep()
    raise AssertionError("the email source never stored its cursor")


async def _sleep() -> None:
    import asyncio

    await asyncio.sleep(0.01)


def cards(desk: RecordingDesk) -> list[TicketView]:
    return [view for _, view in desk.posts]


async def count(app: PatronDesk, table: type) -> int:
    async with app.db.transaction() as session:
        return int((await session.execute(select(func.count()).select_from(table))).scalar_one())


async def test_mail_to_card_claim_reply_and_follow_up(
    tmp_path: Path, dovecot: Dovecot, folder: str, smtp: SmtpServer
) -> None:
    desk = RecordingDesk()
    dovecot.append(mail("Old mail from before the bot started", msgid="<old@example.com>"), folder)
    async with running(settings(tmp_path, dovecot, folder, smtp), desk) as app:
        first = mail(
            "Can I renew my books online?\n\n-- \nPat Example\nPhone 555",
            msgid="<q1@example.com>",
            subject="Renewals",
        )
        dovecot.append(first, folder)
        await until(lambda: len(desk.posts) == 1, within=30)
        card = cards(desk)[0]
        assert card.source == "email" and card.can_reply
        assert card.text.startswith("Renewals\n\nCan I renew my books online?")
        assert "Phone 555" not in card.text  # the signature is trimmed for the card
        assert card.author_handle == "pat@example.com" and card.author_name == "Pat Example"

        assert (await app.service.handle(Claim(card.mention_id, ALICE))).ok
        result = await app.service.handle(Reply(card.mention_id, ALICE, "Yes: sign in at the catalogue."))
        assert result.ok, result.message
        await until(lambda: len(smtp.received) == 1, within=30)
        await app.wait_idle(within=30)
        sent = smtp.received[0].message
        assert smtp.received[0].rcpt_tos == ["pat@example.com"]
        assert sent["From"] == ADDRESS and sent["To"] == "pat@example.com"
        assert sent["Subject"] == "Re: Renewals"
        assert sent["In-Reply-To"] == "<q1@example.com>"
        assert sent["References"] == "<q1@example.com>"
        assert sent["Auto-Submitted"] is None  # a person wrote it
        assert str(sent["Message-ID"]).endswith("@library.example>")
        assert sent.get_body(("plain",)).get_content().strip() == "Yes: sign in at the catalogue."
        assert "Yes: sign in at the catalogue." in sent.get_body(("html",)).get_content()

        # the patron answers our reply: the same card, a new message, back to Alice
        follow = mail(
            "Thanks! And can I renew twice?\n\nOn Mon, Pat wrote:\n> Yes: sign in",
            msgid="<q2@example.com>",
            subject="Re: Renewals",
            in_reply_to=str(sent["Message-ID"]),
            references=f"<q1@example.com> {sent['Message-ID']}",
        )
        dovecot.append(follow, folder)
        await until(lambda: any("renew twice" in view.text for _, view in desk.updates), within=30)
        assert len(desk.posts) == 1  # no new card
        async with app.db.transaction() as session:
            row = (await session.execute(select(MentionRow))).scalar_one()
        assert row.status == Status.CLAIMED.value and row.assignee is not None
        assert "renew twice" in row.text and "> Yes: sign in" not in row.text
        assert "> Yes: sign in" in row.full_text
        assert await count(app, MessageRow) == 2  # our answer (its Message-ID) and the patron's follow-up

        # the second answer threads under the follow-up
        assert (await app.service.handle(Reply(card.mention_id, ALICE, "Yes, twice."))).ok
        await until(lambda: len(smtp.received) == 2, within=30)
        second = smtp.received[1].message
        assert second["In-Reply-To"] == "<q2@example.com>"
        assert "<q1@example.com>" in second["References"] and "<q2@example.com>" in second["References"]
        assert second["Message-ID"] != sent["Message-ID"]
    assert all("before the bot started" not in view.text for view in cards(desk))


async def test_automatic_mail_is_not_carded(tmp_path: Path, dovecot: Dovecot, folder: str) -> None:
    desk = RecordingDesk()
    async with running(settings(tmp_path, dovecot, folder, None), desk) as app:
        robots = [
            mail("I am away", headers={"Auto-Submitted": "auto-replied"}),
            mail("Weekly news", headers={"Precedence": "bulk"}),
            mail("List post", headers={"List-Id": "<readers.lists.example.com>"}),
            mail("Undeliverable", headers={"Return-Path": "<>"}),
            mail("Our own note", sender=f"Library <{ADDRESS}>"),
        ]
        for raw in robots:
            dovecot.append(raw, folder)
        dovecot.append(mail("A real question", msgid="<real@example.com>"), folder)
        await until(lambda: len(desk.posts) == 1, within=30)
        await app.wait_idle(within=30)
        assert await count(app, MentionRow) == 1
    assert "A real question" in cards(desk)[0].text


async def test_a_renumbered_folder_cards_nothing_twice(tmp_path: Path, dovecot: Dovecot, folder: str) -> None:
    desk = RecordingDesk()
    config = settings(tmp_path, dovecot, folder, None)
    kept = [mail(f"Question {n}", msgid=f"<renum{n}@example.com>") for n in range(3)]
    before = dovecot.uidvalidity(folder)
    async with running(config, desk):
        for raw in kept:
            dovecot.append(raw, folder)
        await until(lambda: len(desk.posts) == 3, within=30)
    # while the bot is down the folder is re-created: new UIDVALIDITY, the same three plus one new
    dovecot.renumber(folder, [*kept, mail("Question 3", msgid="<renum3@example.com>")])
    assert dovecot.uidvalidity(folder) != before
    async with running(config, desk) as app:
        await until(lambda: len(desk.posts) == 4, within=30)
        await app.wait_idle(within=30)
        async with app.db.transaction() as session:
            cursor = (
                await session.execute(select(CursorRow.value).where(CursorRow.source == "email"))
            ).scalar_one()
        assert cursor.startswith(f"{dovecot.uidvalidity(folder)}:4:")
        assert await count(app, MentionRow) == 4
    assert sorted(view.text.split("\n\n")[-1] for view in cards(desk)) == [f"Question {n}" for n in range(4)]


@pytest.mark.slow
async def test_smtp_outage_delays_the_reply_and_loses_nothing(
    tmp_path: Path, dovecot: Dovecot, folder: str, smtp: SmtpServer
) -> None:
    desk = RecordingDesk()
    async with running(settings(tmp_path, dovecot, folder, smtp), desk) as app:
        dovecot.append(mail("Is the library open on Sunday?", msgid="<sun@example.com>"), folder)
        await until(lambda: len(desk.posts) == 1, within=30)
        card = cards(desk)[0]
        smtp.stop()  # the server is away
        smtp.handler.refuse_next = 1  # and says "try later" once it is back
        assert (await app.service.handle(Reply(card.mention_id, ALICE, "Yes, 12 to 4."))).ok

        async def attempts() -> int:
            async with app.db.transaction() as session:
                rows = await outbox.due(session, target="email", now=app.clock().replace(year=2100), limit=5)
            return max((row.attempts for row in rows), default=0)

        for _ in range(3000):
            if await attempts() >= 2:
                break
            await _sleep()
        assert smtp.received == []
        smtp.start()
        await until(lambda: len(smtp.received) == 1, within=60)
        await app.wait_idle(within=30)
        key = f"reply:{card.mention_id}:"
        sent = smtp.received[0].message
        assert str(sent["Message-ID"]).startswith("<pd.")
        async with app.db.transaction() as session:
            row = (await session.execute(select(MentionRow))).scalar_one()
        # the Message-ID is the one the outbox key gives, whichever attempt got through
        assert sent["Message-ID"] in {
            reply_message_id(f"{key}{v}", sender=ADDRESS) for v in range(row.version)
        }
    assert len(smtp.received) == 1


async def test_a_server_without_idle_is_polled_and_an_outage_is_waited_out(
    tmp_path: Path, tls: TlsFiles, dovecot_installed: None
) -> None:
    server = Dovecot(tls, idle=False).start()
    try:
        server.create("Ask")
        desk = RecordingDesk()
        config = settings(tmp_path, server, "Ask", None, EMAIL_POLL_SECONDS=0.2)
        async with running(config, desk) as app:
            source = app.sources["email"]
            server.append(mail("Polled question", msgid="<polled@example.com>"), "Ask")
            await until(lambda: len(desk.posts) == 1, within=30)
            server.restart()  # every connection drops; the source reconnects and resumes from its cursor
            server.append(mail("After the outage", msgid="<after@example.com>"), "Ask")
            await until(lambda: len(desk.posts) == 2, within=60)
            assert app.sources["email"] is source
            await app.wait_idle(within=30)
            assert await count(app, MentionRow) == 2
    finally:
        server.stop()
    assert [view.text.split("\n\n")[-1] for view in cards(desk)] == ["Polled question", "After the outage"]


async def test_a_parser_failure_cards_the_message_as_unreadable_and_goes_on(
    tmp_path: Path, dovecot: Dovecot, folder: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.platforms.email import source as email_source

    real = email_source.parse_email

    def flaky(raw: bytes, **kwargs: Any) -> Any:  # stands in for a parser bug on one message
        if b"CRASH-ME" in raw:
            raise ValueError("a bug")
        return real(raw, **kwargs)

    monkeypatch.setattr(email_source, "parse_email", flaky)
    desk = RecordingDesk()
    async with running(settings(tmp_path, dovecot, folder, None), desk) as app:
        dovecot.append(mail("CRASH-ME please", msgid="<crash@example.com>"), folder)
        dovecot.append(mail("The next question", msgid="<next@example.com>"), folder)
        await until(lambda: len(desk.posts) == 2, within=30)
        await app.wait_idle(within=30)
    first, second = cards(desk)
    assert "could not be read" in first.text and "CRASH-ME" not in first.text and not first.can_reply
    assert "The next question" in second.text


async def test_the_closed_hours_acknowledgement_is_marked_automatic(
    tmp_path: Path, dovecot: Dovecot, folder: str, smtp: SmtpServer
) -> None:
    desk = RecordingDesk()
    config = settings(tmp_path, dovecot, folder, smtp, AUTO_ACK_TEXT="Thanks, we answer when we open.")
    async with running(config, desk) as app:  # no rota: nobody is on duty, the mention is queued
        dovecot.append(mail("Late question", msgid="<late@example.com>", subject="Hours"), folder)
        await until(lambda: len(smtp.received) == 1, within=30)
        await app.wait_idle(within=30)
    ack = smtp.received[0].message
    assert ack["Auto-Submitted"] == "auto-replied"  # RFC 3834: auto-responders do not answer it
    assert ack["In-Reply-To"] == "<late@example.com>" and ack["Subject"] == "Re: Hours"
    assert ack.get_body(("plain",)).get_content().strip() == "Thanks, we answer when we open."
    assert cards(desk)[0].status.value == "queued"


async def test_patron_text_never_reaches_the_logs(
    tmp_path: Path, dovecot: Dovecot, folder: str, smtp: SmtpServer, caplog: pytest.LogCaptureFixture
) -> None:
    canary = "CANARY-7f3a"
    caplog.set_level(logging.DEBUG)
    desk = RecordingDesk()
    async with running(settings(tmp_path, dovecot, folder, smtp), desk) as app:
        dovecot.append(
            mail(
                f"My card number is {canary}-body",
                subject=f"Subject {canary}",
                sender=f"{canary} Name <pat@example.com>",
                msgid=f"<{canary}@example.com>",
            ),
            folder,
        )
        await until(lambda: len(desk.posts) == 1, within=30)
        card = cards(desk)[0]
        assert (await app.service.handle(Reply(card.mention_id, ALICE, f"Answer {canary}"))).ok
        await until(lambda: len(smtp.received) == 1, within=30)
        await app.wait_idle(within=30)
    ours = [record for record in caplog.records if record.name.startswith("bot")]
    assert ours and not any(canary in record.getMessage() for record in ours)


async def test_a_message_over_the_size_cap_is_carded_from_its_start(
    tmp_path: Path, dovecot: Dovecot, folder: str
) -> None:
    desk = RecordingDesk()
    async with running(settings(tmp_path, dovecot, folder, None, EMAIL_MAX_MESSAGE_MB=1), desk) as app:
        big = mail("Start of a long letter. " + "y" * (3 * 1024 * 1024), msgid="<long@example.com>")
        dovecot.append(big, folder)
        dovecot.append(mail("Short one", msgid="<short@example.com>"), folder)
        await until(lambda: len(desk.posts) == 2, within=30)
        await app.wait_idle(within=30)
        async with app.db.transaction() as session:
            long_row = (
                await session.execute(select(MentionRow).where(MentionRow.external_id == "long@example.com"))
            ).scalar_one()
    assert "Only the first 1 MB" in long_row.note
    assert long_row.text.startswith("Renewals\n\nStart of a long letter.")
    assert len(long_row.text) <= 40_000  # the column's cap holds


async def test_a_renumbered_folder_steps_over_old_mail(tmp_path: Path, dovecot: Dovecot, folder: str) -> None:
    desk = RecordingDesk()
    config = settings(tmp_path, dovecot, folder, None)
    async with running(config, desk):
        dovecot.append(mail("Recent", msgid="<recent@example.com>"), folder)
        await until(lambda: len(desk.posts) == 1, within=30)
    # restored from an old backup: two messages from before Patron Desk, never carded, nothing recent
    old = [mail(f"Old {n}", msgid=f"<old{n}@example.com>") for n in range(2)]
    dovecot.renumber(folder, old, arrived=1_600_000_000)  # September 2020
    validity = dovecot.uidvalidity(folder)
    async with running(config, desk) as app:

        async def cursor() -> str:
            async with app.db.transaction() as session:
                found = await session.execute(select(CursorRow.value).where(CursorRow.source == "email"))
                return str(found.scalar_one())

        for _ in range(3000):
            if (await cursor()).startswith(f"{validity}:2:"):
                break
            await _sleep()
        assert (await cursor()).startswith(f"{validity}:2:")  # stepped past the old mail
        dovecot.append(mail("New after the restore", msgid="<new@example.com>"), folder)
        await until(lambda: len(desk.posts) == 2, within=30)
        assert await count(app, MentionRow) == 2  # the old mail was never read
    assert "New after the restore" in cards(desk)[-1].text


async def test_a_send_retried_after_a_lost_answer_is_the_same_message(
    tmp_path: Path, dovecot: Dovecot, folder: str, smtp: SmtpServer
) -> None:
    desk = RecordingDesk()
    async with running(settings(tmp_path, dovecot, folder, smtp), desk) as app:
        dovecot.append(mail("Can I print in colour?", msgid="<colour@example.com>"), folder)
        await until(lambda: len(desk.posts) == 1, within=30)
        smtp.handler.lose_answer_next = 1  # the server keeps the mail, but we never hear its 250
        assert (await app.service.handle(Reply(cards(desk)[0].mention_id, ALICE, "Yes, 20p a page."))).ok
        await until(lambda: len(smtp.received) == 2, within=30)
        await app.wait_idle(within=30)
        async with app.db.transaction() as session:
            row = (await session.execute(select(MentionRow))).scalar_one()
    first, second = (received.message for received in smtp.received)
    # SMTP cannot be asked whether a message landed; the copy carries the same Message-ID, so the
    # patron's mail client and any archive show it once
    assert first["Message-ID"] == second["Message-ID"]
    assert first.get_body(("plain",)).get_content() == second.get_body(("plain",)).get_content()
    assert row.status == Status.REPLIED.value and row.replied_at is not None
