"""Saved answers (pure): the file's checks at load, variables filled per mention, hostile files refused."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.__main__ import cli
from bot.config import Settings
from bot.domain.answers import AnswerBook, Fill, expand, parse_answers, render
from bot.domain.fields import Invalid as ValidationError
from bot.errors import ConfigError
from tests.cli_runner import CliRunner

GOOD = """
[constants]
renew_url = "https://catalogue.example.org/account"

[answers.renewals]
text = "Hi {patron}: {renew_url}. Today {today_hours}; Monday {hours:monday}; {{braces}}."
pt-br = "Olá {patron}"
"""
SUNDAY = date(2026, 12, 6)
FILL = Fill(
    patron="Pat", local_date=SUNDAY, hours_on=lambda day: "closed" if day.weekday() == 6 else "09:00-17:00"
)


def test_variables_are_filled_and_languages_chosen() -> None:
    book = parse_answers(GOOD)
    text = expand("/renewals", book, FILL, lang=None)
    assert (
        text == "Hi Pat: https://catalogue.example.org/account. Today closed; Monday 09:00-17:00; {braces}."
    )
    assert expand("/renewals", book, FILL, lang="pt-BR") == "Olá Pat"
    assert expand("/renewals:pt-br", book, FILL, lang="en") == "Olá Pat"
    assert expand("/renewals", book, FILL, lang="fr") == text  # no French: the default
    assert expand("Thanks, see /renewals", book, FILL, lang=None) is None  # ordinary text is left alone
    with pytest.raises(ValueError, match='did you mean "renewals"'):
        expand("/renewal", book, FILL, lang=None)


def test_unknown_variables_and_stray_braces_are_found_at_load() -> None:
    bad = (
        '[constants]\nrenew_url = "x"\n'
        '[answers.a]\ntext = "{renw_url} {hours:someday} {patron"\nxx-yy-zz = 1\n'
    )
    with pytest.raises(ConfigError) as caught:
        parse_answers(bad)
    problems = str(caught.value).splitlines()
    assert any('unknown variable {renw_url} (did you mean "renew_url"?)' in p for p in problems)
    assert any("{hours:someday}" in p and "not a date" in p for p in problems)
    assert any('a lone "{"' in p for p in problems)
    assert any('"xx-yy-zz" is not a language code' in p for p in problems)
    for text in ("[answers]\nx = 1", "[answers.BAD!]\ntext='x'", "[oops]\n", "not toml ["):
        with pytest.raises(ConfigError):
            parse_answers(text)


def test_settings_refuse_a_bad_answers_file_and_a_bad_card_pattern(tmp_path: Path) -> None:
    answers = tmp_path / "answers.toml"
    answers.write_text('[answers.hi]\ntext = "Hello {patorn}"\n')
    with pytest.raises(ValidationError, match=r"answers.toml: answer \"hi\": unknown variable \{patorn\}"):
        Settings(ANSWERS_FILE=answers)
    for pattern in ("[0-9", ".*"):
        with pytest.raises(ValidationError, match="CARD_NUMBER_PATTERN"):
            Settings(CARD_NUMBER_PATTERN=pattern)
    answers.write_text(GOOD)
    ok = Settings(ANSWERS_FILE=answers, CARD_NUMBER_PATTERN=r"\b2\d{13}\b")
    assert ok.answers.names == ("renewals",) and ok.guard.card is not None
    assert "/renewals [pt-br]" in ok.answers.listing()
    assert "No saved answers" in AnswerBook().listing()


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=400))
def test_any_answers_file_loads_or_says_why(text: str) -> None:
    try:
        book = parse_answers(text)
    except ConfigError as exc:
        problem = str(exc)
        book = AnswerBook()
    else:
        problem = "none"
    assert problem
    for name in book.names:
        assert isinstance(expand(f"/{name}", book, FILL, lang=None), str)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300), st.text(max_size=50))
def test_rendering_any_template_never_raises(template: str, patron: str) -> None:
    out = render(template, {"renew_url": "u"}, Fill(patron=patron, local_date=SUNDAY, hours_on=lambda d: "x"))
    assert isinstance(out, str)


def test_check_lists_the_saved_answers_and_names_an_unknown_variable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    answers = tmp_path / "answers.toml"
    answers.write_text(GOOD)
    monkeypatch.setenv("ANSWERS_FILE", str(answers))
    shown = CliRunner().invoke(cli, ["check"])
    assert "saved answers: 1 (/renewals)" in shown.output and shown.exit_code == 0
    answers.write_text('[answers.hi]\ntext = "Hello {patorn}"\n')
    shown = CliRunner().invoke(cli, ["check"])
    assert shown.exit_code != 0
    assert 'answer "hi": unknown variable {patorn} (did you mean "patron"?)' in shown.output
