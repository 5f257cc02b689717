"""Saved answers and the privacy guard end to end: the real app, the console desk, the loopback Mastodon.

A saved answer with variables is published once, filled in; a reply with a card number and a phone
number is held with a message saying what was found and how to confirm, and published once confirmed.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from bot.app import PatronDesk
from bot.models import Reply, Visibility
from tests.fakes import mastodon as mastodon_server
from tests.fakes.mastodon import FakeMastodon

from .conftest import wait_until
from .test_end_to_end import Console, settings

ANSWERS = """
[constants]
renew_url = "https://catalogue.example.org/account"

[answers.renewals]
text = "Hi {patron}, renew at {renew_url}. Open today {today_hours}, Saturday {hours:saturday}."
fr = "Bonjour {patron} : {renew_url}"
"""
ANSWERS += '[answers.long]\ntext = "{renew_url} ' + "x" * 480 + '"\n'
SUNDAY = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
CARD = r"\b2\d{13}\b"


def answers_settings(tmp_path: Path, mastodon: FakeMastodon) -> object:
    answers = tmp_path / "answers.toml"
    answers.write_text(ANSWERS)
    return settings(
        tmp_path,
        MASTODON_URL=mastodon.url,
        MASTODON_ACCESS_TOKEN=mastodon_server.TOKEN,
        ANSWERS_FILE=answers,
        CARD_NUMBER_PATTERN=CARD,
        OPENING_HOURS="mon-fri 09:00-19:00; sat 10:00-16:00",
    )


async def test_a_saved_answer_is_filled_in_and_published_once(tmp_path: Path, mastodon: FakeMastodon) -> None:
    console = Console()
    app = PatronDesk(answers_settings(tmp_path, mastodon), desks=[console.desk], clock=lambda: SUNDAY)  # type: ignore[arg-type]
    async with app:
        await wait_until(lambda: mastodon.live_streams == 1)
        mastodon.add_mention("Can I renew my books online?")
        await wait_until(lambda: "renew my books online" in console.printed)
        console.type("answers")
        await wait_until(lambda: "/renewals [fr]" in console.printed and "/long" in console.printed)
        console.type("reply 1 /long")  # over Mastodon's 500 characters once filled in
        await wait_until(lambda: "Shorten or fix the reply" in console.printed)
        console.type("reply 1 /renewls")
        await wait_until(lambda: "there is no saved answer" in console.printed)
        assert 'did you mean "renewals"' in console.printed
        console.type("reply 1 /renewals")
        await wait_until(lambda: mastodon.state.posted)
        await app.wait_idle()
    [posted] = mastodon.state.posted
    assert posted.body["status"] == (
        "@reader@social.example Hi Reader, renew at https://catalogue.example.org/account. "
        "Open today closed, Saturday 10:00-16:00."
    )


async def test_the_guard_holds_a_reply_with_a_card_and_a_phone_number_until_confirmed(
    tmp_path: Path, mastodon: FakeMastodon
) -> None:
    console = Console()
    risky = "Your card 21234567890123 is renewed; call us on +44 20 7946 0958."
    async with PatronDesk(answers_settings(tmp_path, mastodon), desks=[console.desk]) as app:  # type: ignore[arg-type]
        await wait_until(lambda: mastodon.live_streams == 1)
        mastodon.add_mention("Is my card still valid?")
        await wait_until(lambda: "Is my card still valid?" in console.printed)
        assert "🔒" not in console.printed  # nothing private in the patron's own post
        console.type(f"reply 1 {risky}")
        await wait_until(lambda: "Not sent yet" in console.printed)
        held = console.printed.rsplit("✗", 1)[-1]
        assert "the reply contains a library card number and a phone number" in held
        assert "reply! …" in held and "21234567890123" not in held  # kinds, never the data
        await app.wait_idle()
        assert mastodon.state.posted == []  # nothing was published
        console.type(f"reply! 1 {risky}")
        await wait_until(lambda: mastodon.state.posted)
        await app.wait_idle()
    [posted] = mastodon.state.posted
    assert posted.body["status"].endswith(risky)


async def test_a_direct_reply_is_the_private_path_and_the_card_shows_the_lock(
    tmp_path: Path, mastodon: FakeMastodon
) -> None:
    console = Console()
    async with PatronDesk(answers_settings(tmp_path, mastodon), desks=[console.desk]) as app:  # type: ignore[arg-type]
        await wait_until(lambda: mastodon.live_streams == 1)
        mastodon.add_mention("Call me on 07700 900123 about my hold please")
        await wait_until(lambda: "about my hold" in console.printed)
        assert "🔒 The post contains a phone number" in console.printed
        private = Reply(1, console.desk.me.ref, "We will call you.", visibility=Visibility.DIRECT)
        reply = await app.service.handle(private)
        assert reply.ok, reply.message
        await wait_until(lambda: mastodon.state.posted)
        await app.wait_idle()
    [posted] = mastodon.state.posted
    assert posted.body["visibility"] == "direct"
