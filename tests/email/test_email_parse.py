"""The pure parts: an e-mail as a mention (shapes of real Apple Mail and Chatwoot fixtures), automatic
mail, trimming, attachments, HTML, charsets; the reply's headers; the server URLs."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from email import message_from_bytes, policy

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.domain.sanitize import safe_mention
from bot.errors import AdapterConfigError
from bot.platforms.email.compose import compose_reply, reply_message_id, reply_subject
from bot.platforms.email.parse import not_a_mention, parse_email
from bot.platforms.email.trim import trim
from bot.platforms.email.urls import parse_server_url

from .conftest import mail

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
LIBRARY = "ask@library.example"

# Shaped after an Apple Mail 8.2 reply (mailgun/talon fixture, see shared SOURCES.txt): folded
# Content-Type, In-Reply-To equal to References, "> On ..., X wrote:" quote, Message-Id spelled so.
APPLE_REPLY = (
    b"Content-Type: text/plain;\r\n\tcharset=us-ascii\r\n"
    b"Mime-Version: 1.0 (Mac OS X Mail 8.2 \\(2104\\))\r\n"
    b"Subject: Re: Interlibrary loan\r\n"
    b"From: Robin Reader <robin@example.org>\r\n"
    b"In-Reply-To: <CAFAKE1111@mail.gmail.com>\r\n"
    b"Date: Sat, 22 Aug 2015 19:22:20 +0200\r\n"
    b"Content-Transfer-Encoding: 7bit\r\n"
    b"Message-Id: <11111111-2222@example.org>\r\n"
    b"References: <CAFAKE1111@mail.gmail.com>\r\n"
    b"To: Library <ask@library.example>\r\n"
    b"\r\n"
    b"Thank you, that works\r\n"
    b"> On 22 Aug 2015, at 19:21, Library <ask@library.example> wrote:\r\n"
    b">\r\n"
    b"> We can order it for you.\r\n"
)

# Shaped after Chatwoot's mail_with_references.eml: two-id References, multipart/alternative whose
# closing boundary never comes, no trailing newline.
CHATWOOT_SHAPE = (
    b"From: Sam Patron <sam@example.net>\r\n"
    b"To: ask@library.example\r\n"
    b'Content-Type: multipart/alternative; boundary="Apple-Mail=_33A0"\r\n'
    b"Subject: Discussion: room booking\r\n"
    b"Date: Tue, 20 Apr 2020 04:20:20 -0400\r\n"
    b"In-Reply-To: <4e6e35f5@small-app-01.mail>\r\n"
    b"References: <4e6e35f5@small-app-01.mail> <test-reference-id>\r\n"
    b"Message-Id: <0000000F@example.net>\r\n"
    b"\r\n"
    b"--Apple-Mail=_33A0\r\n"
    b"Content-Transfer-Encoding: quoted-printable\r\n"
    b"Content-Type: text/plain;\r\n  charset=utf-8\r\n\r\n"
    b"Can I book the group room on Friday=3F\r\n\r\n"
    b"--Apple-Mail=_33A0\r\n"
    b"Content-Type: text/html; charset=utf-8\r\n\r\n"
    b"<p>Can I book the group room on Friday?</p>"
)


def test_apple_mail_reply_is_trimmed_and_threaded() -> None:
    mention = parse_email(APPLE_REPLY, library=LIBRARY, now=NOW)
    assert mention is not None
    assert mention.external_id == "11111111-2222@example.org"
    assert mention.text == "Re: Interlibrary loan\n\nThank you, that works"
    assert "We can order it for you." in mention.full_text
    assert mention.follows == ("CAFAKE1111@mail.gmail.com",)
    assert mention.author_id == "robin@example.org" and mention.author_name == "Robin Reader"
    assert mention.created_at == datetime(2015, 8, 22, 17, 22, 20, tzinfo=UTC)
    ref = json.loads(mention.reply_ref)
    assert ref == {
        "to": "robin@example.org",
        "subject": "Re: Interlibrary loan",
        "message_id": "11111111-2222@example.org",
        "references": ["CAFAKE1111@mail.gmail.com"],
    }


def test_unclosed_multipart_prefers_plain_text_and_keeps_both_references() -> None:
    mention = parse_email(CHATWOOT_SHAPE, library=LIBRARY, now=NOW)
    assert mention is not None
    assert mention.text == "Discussion: room booking\n\nCan I book the group room on Friday?"
    assert mention.follows == ("4e6e35f5@small-app-01.mail", "test-reference-id")
    assert mention.created_at == datetime(2020, 4, 20, 8, 20, 20, tzinfo=UTC)


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({"Auto-Submitted": "auto-replied (vacation)"}, "auto-submitted"),
        ({"Auto-Submitted": "auto-generated"}, "auto-submitted"),
        ({"Precedence": "bulk"}, "bulk"),
        ({"Precedence": "list"}, "bulk"),
        ({"Precedence": "junk"}, "bulk"),
        ({"List-Id": "Readers <readers.lists.example.com>"}, "mailing list"),
        ({"Return-Path": "<>"}, "bounce"),
        ({"X-Autoreply": "yes"}, "auto-reply"),
    ],
)
def test_automatic_mail_is_not_a_mention(headers: dict[str, str], reason: str) -> None:
    raw = mail(headers=headers)
    assert parse_email(raw, library=LIBRARY, now=NOW) is None
    assert not_a_mention(message_from_bytes(raw, policy=policy.default), library=LIBRARY) == reason


def test_header_names_are_matched_whatever_their_case() -> None:
    for name, value in (("LIST-ID", "<x.lists.example.com>"), ("auto-submitted", "auto-replied")):
        raw = b"From: pat@example.com\r\n" + f"{name}: {value}".encode() + b"\r\nSubject: s\r\n\r\nbody\r\n"
        assert parse_email(raw, library=LIBRARY, now=NOW) is None, name


def test_auto_submitted_no_and_a_return_path_are_patrons() -> None:
    raw = mail(headers={"Auto-Submitted": "no", "Return-Path": "<pat@example.com>"})
    assert parse_email(raw, library=LIBRARY, now=NOW) is not None


def test_bounces_and_own_mail_are_not_mentions() -> None:
    assert parse_email(mail(sender="MAILER-DAEMON@mx.example.com"), library=LIBRARY, now=NOW) is None
    assert parse_email(mail(sender=f"Library <{LIBRARY.upper()}>"), library=LIBRARY, now=NOW) is None
    report = (
        b"From: postmaster@mx.example.com\r\nSubject: Undelivered\r\n"
        b'Content-Type: multipart/report; report-type=delivery-status; boundary="R"\r\n\r\n'
        b"--R\r\nContent-Type: text/plain\r\n\r\nSorry\r\n--R--\r\n"
    )
    assert parse_email(report, library=LIBRARY, now=NOW) is None


def test_html_only_mail_becomes_safe_text() -> None:
    html = (
        "<html><head><style>p{color:red}</style><script>alert('x')</script></head>"
        "<body><p>Hello <b>library</b></p><img src=x onerror=alert(1)><a href='javascript:evil()'>link</a>"
        "<iframe src='https://evil.example'>frame</iframe></body></html>"
    )
    raw = (
        b"From: pat@example.com\r\nSubject: HTML\r\nMessage-ID: <h@example.com>\r\n"
        b"Content-Type: text/html; charset=utf-8\r\n\r\n" + html.encode()
    )
    mention = parse_email(raw, library=LIBRARY, now=NOW)
    assert mention is not None
    assert "Hello library" in mention.text
    for bad in ("alert", "script", "<", "onerror", "color:red", "frame"):
        assert bad not in mention.text


def test_text_plain_is_preferred_over_html() -> None:
    raw = mail("Plain words", html="<p>HTML words</p>")
    mention = parse_email(raw, library=LIBRARY, now=NOW)
    assert mention is not None and "Plain words" in mention.text and "HTML words" not in mention.text


def test_unknown_and_broken_charsets_decode_with_replacements() -> None:
    raw = (
        b"From: pat@example.com\r\nSubject: =?x-unknown?q?caf=E9?=\r\nMessage-ID: <c@example.com>\r\n"
        b"Content-Type: text/plain; charset=x-no-such-charset\r\n"
        b"Content-Transfer-Encoding: quoted-printable\r\n\r\ncaf=E9 =FF=FE ok\r\n"
    )
    mention = parse_email(raw, library=LIBRARY, now=NOW)
    assert mention is not None
    assert "ok" in mention.text and "\ufffd" in mention.text
    assert mention == safe_mention(mention, now=NOW)


def test_attachments_are_listed_never_kept() -> None:
    from email.message import EmailMessage

    msg = EmailMessage()
    msg["From"], msg["Subject"], msg["Message-ID"] = "pat@example.com", "Scan", "<a@example.com>"
    msg.set_content("See the attached scan.")
    msg.add_attachment(b"%PDF" + b"x" * 2_500_000, maintype="application", subtype="pdf", filename="scan.pdf")
    msg.add_attachment(b"\x89PNG" * 100, maintype="image", subtype="png", filename="photo   .png")
    mention = parse_email(msg.as_bytes(), library=LIBRARY, now=NOW)
    assert mention is not None
    assert "scan.pdf (2.5 MB)" in mention.note and "photo .png (" in mention.note
    assert "PDF" not in mention.text and "xxxx" not in mention.full_text


def test_without_message_id_the_id_is_a_digest_of_the_bytes() -> None:
    raw = b"From: pat@example.com\r\nSubject: no id\r\n\r\nhello\r\n"
    first = parse_email(raw, library=LIBRARY, now=NOW)
    assert first is not None and first.external_id.startswith("sha256:")
    assert parse_email(raw, library=LIBRARY, now=NOW) == first


@pytest.mark.parametrize(
    ("body", "kept"),
    [
        ("Hi\n\nOn Tue, 3 Mar 2026, Library <a@b.c> wrote:\n> old\n> text", "Hi"),
        ("Hi\n-----Original Message-----\nFrom: x\nSent: y\n\nold", "Hi"),
        ("Hi there\n\n-- \nPat\n555 1234", "Hi there"),
        ("Hi\n\nSent from my iPhone", "Hi"),
        ("> only a quote", "> only a quote"),  # never empty
        ("Question?\n> quoted in the middle\nMore words", "Question?\n> quoted in the middle\nMore words"),
    ],
)
def test_trim(body: str, kept: str) -> None:
    assert trim(body) == kept


def test_reply_headers_and_stable_message_id() -> None:
    args = {
        "sender": LIBRARY,
        "to": "pat@example.com",
        "subject": "Re: RE: Renewals",
        "text": "Yes.\n\nBest wishes",
        "idempotency_key": "reply:7:3",
        "now": NOW,
        "in_reply_to": "q2@example.com",
        "references": ["q1@example.com", "bad id with spaces", "q2@example.com"],
    }
    first, again = compose_reply(**args), compose_reply(**args)  # type: ignore[arg-type]
    assert first["Message-ID"] == again["Message-ID"] == reply_message_id("reply:7:3", sender=LIBRARY)
    assert first["Subject"] == "Re: Renewals"
    assert first["In-Reply-To"] == "<q2@example.com>"
    assert first["References"] == "<q1@example.com> <q2@example.com>"
    other = compose_reply(**{**args, "idempotency_key": "reply:7:4"})  # type: ignore[arg-type]
    assert other["Message-ID"] != first["Message-ID"]


@given(st.text(max_size=300))
def test_reply_subject_never_adds_a_header(subject: str) -> None:
    msg = compose_reply(
        sender=LIBRARY, to="pat@example.com", subject=subject, text="x", idempotency_key="k", now=NOW
    )
    raw = msg.as_bytes()
    head = raw.split(b"\n\n", 1)[0]
    names = [line.split(b":", 1)[0] for line in head.splitlines() if line and not line[:1].isspace()]
    assert sorted(set(names)) == sorted(
        {b"From", b"To", b"Subject", b"Date", b"Message-ID", b"MIME-Version", b"Content-Type"}
    )
    assert "\n" not in reply_subject(subject) and "\r" not in reply_subject(subject)


def test_header_injection_in_subject_is_flattened() -> None:
    msg = compose_reply(
        sender=LIBRARY,
        to="pat@example.com",
        subject="Hello\r\nBcc: victim@example.com\nX-Evil: 1",
        text="x",
        idempotency_key="k",
        now=NOW,
    )
    assert msg["Bcc"] is None and msg["X-Evil"] is None
    assert msg["Subject"] == "Re: Hello Bcc: victim@example.com X-Evil: 1"


@pytest.mark.parametrize("to", ["a@b.c, evil@x.y", "a@b.c\r\nBcc: x@y.z", "no-at-sign", "a@b@c", ""])
def test_reply_to_a_bad_address_is_refused(to: str) -> None:
    with pytest.raises(ValueError, match="plain e-mail address"):
        compose_reply(sender=LIBRARY, to=to, subject="s", text="x", idempotency_key="k", now=NOW)


def test_server_urls() -> None:
    imap = parse_server_url("imaps://ask%40library.example:p%40ss%2Fw@mail.example.org/Ask%20us", kind="imap")
    assert (imap.host, imap.port, imap.security) == ("mail.example.org", 993, "tls")
    assert (imap.user, imap.password, imap.mailbox) == ("ask@library.example", "p@ss/w", "Ask us")
    assert "p@ss" not in repr(imap)
    assert parse_server_url("imap://u:p@h", kind="imap").security == "starttls"
    assert parse_server_url("smtp://u:p@h", kind="smtp").port == 587
    assert parse_server_url("smtp+plain://127.0.0.1:25", kind="smtp").security == "plain"
    for bad, kind in [
        ("smtp+plain://mail.example.org", "smtp"),  # no TLS off the machine
        ("http://h", "imap"),
        ("imaps://", "imap"),
        ('imaps://u:p@h/a"b', "imap"),
    ]:
        with pytest.raises(AdapterConfigError):
            parse_server_url(bad, kind=kind)  # type: ignore[arg-type]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=4000))
def test_any_bytes_make_a_safe_mention_or_none(raw: bytes) -> None:
    mention = parse_email(raw, library=LIBRARY, now=NOW)
    if mention is not None:
        assert mention == safe_mention(mention, now=NOW)
        assert mention.text.strip()


_HEADER_VALUES = st.text(
    alphabet=st.characters(max_codepoint=0x3000, blacklist_categories=("Cs",)), max_size=200
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    subject=_HEADER_VALUES,
    sender=_HEADER_VALUES,
    refs=_HEADER_VALUES,
    body=st.binary(max_size=2000),
    charset=st.sampled_from(["utf-8", "latin-1", "x-bogus", "utf-7", "shift_jis", ""]),
    encoding=st.sampled_from(["7bit", "base64", "quoted-printable", "x-uuencode", "bogus"]),
)
def test_hostile_headers_and_bodies_never_raise(
    subject: str, sender: str, refs: str, body: bytes, charset: str, encoding: str
) -> None:
    def line(name: str, value: str) -> bytes:
        return f"{name}: {value}".encode("utf-8", "surrogatepass").replace(b"\r", b" ").replace(b"\n", b" ")

    raw = b"\r\n".join(
        [
            line("From", sender),
            line("Subject", subject),
            line("References", refs),
            line("In-Reply-To", refs),
            f"Content-Type: text/plain; charset={charset}".encode(),
            f"Content-Transfer-Encoding: {encoding}".encode(),
            b"",
            body,
        ]
    )
    mention = parse_email(raw, library=LIBRARY, now=NOW)
    if mention is not None:
        assert mention == safe_mention(mention, now=NOW)
        assert all(" " not in ref and "<" not in ref for ref in mention.follows)


def test_cursor_form() -> None:
    from bot.platforms.email.source import Cursor, _imap_date

    cursor = Cursor(1796559280, 42, "2026-03-01")
    assert Cursor.parse(str(cursor)) == cursor
    for bad in (None, "", "1:2", "a:b:c", "1:2:2026-13-01", "1:2:2026-03-01:x"):
        assert Cursor.parse(bad) is None  # an unreadable cursor starts fresh instead of failing forever
    assert _imap_date("2026-03-01") == "28-Feb-2026"  # the day before, in IMAP's English form


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from(["Hi", "> quoted", "", "-- ", "On Mon, Pat wrote:", "text", "Sent from my phone"]),
        max_size=12,
    )
)
def test_trim_keeps_a_prefix_and_never_empties(lines: list[str]) -> None:
    body = "\n".join(lines)
    kept = trim(body)
    if body.strip():
        assert kept.strip()
    assert body.strip().startswith(kept) or kept == body.strip()  # only ever cuts the end off
