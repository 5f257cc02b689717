"""Saved answers: named replies from the library's TOML file, with variables filled per mention (pure).

    [constants]
    renew_url = "https://catalogue.example.org/account"

    [answers.renewals]
    text = "Hi {patron}, you can renew at {renew_url}. We are open today {today_hours}."
    fr = "Bonjour {patron}, ..."          # optional: the same answer in another language

Variables: ``{patron}``, ``{today_hours}``, ``{hours:<date>}`` (``YYYY-MM-DD``, ``today``, ``tomorrow``
or a weekday), and every constant of ``[constants]`` (``renew_url`` is one). ``{{``/``}}`` are braces.
An unknown variable is an error when the file is loaded, never when a patron is waiting.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date

from bot.commands.command_args import Problem, day
from bot.errors import ConfigError
from bot.rota.timespec import suggest

BUILT_IN = ("patron", "today_hours")
NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
LANG = re.compile(r"^[a-z]{2,3}(?:-[a-z0-9]{2,8})?$")
TEXT_LIMIT = 5000
_PIECE = re.compile(r"\{\{|\}\}|\{([^{}\n]{0,60})\}|[{}]")
_CHECK_DAY = date(2000, 1, 3)  # any Monday: `{hours:<date>}` is checked for its shape at load


@dataclass(frozen=True, slots=True)
class SavedAnswer:
    """One named answer: its default text and its texts by language (``fr``, ``pt-br``)."""

    name: str
    text: str
    by_lang: Mapping[str, str] = field(default_factory=dict)

    def text_for(self, lang: str | None) -> str:
        """The text in ``lang`` (or its base language), else the default."""
        key = (lang or "").lower()
        return self.by_lang.get(key) or self.by_lang.get(key.split("-")[0]) or self.text


@dataclass(frozen=True, slots=True)
class AnswerBook:
    """Every saved answer by name, and the library's constants."""

    answers: Mapping[str, SavedAnswer] = field(default_factory=dict)
    constants: Mapping[str, str] = field(default_factory=dict)
    warning: str = ""  # for staff: the file was edited and did not read (bot/core/answers_file.py)

    @property
    def names(self) -> tuple[str, ...]:
        """The answers' names, sorted."""
        return tuple(sorted(self.answers))

    def listing(self) -> str:
        """`/name — first words` per answer, for `answers` / `!answers`."""
        warned = [f"⚠️ {self.warning}"] if self.warning else []
        if not self.answers:
            return "\n".join([*warned, "No saved answers. Set ANSWERS_FILE (see docs/answers.md)."])
        lines = [*warned, "Saved answers (reply N /name, or /name:lang for another language):"]
        for name in self.names:
            answer = self.answers[name]
            langs = f" [{', '.join(sorted(answer.by_lang))}]" if answer.by_lang else ""
            first = " ".join(answer.text.split())
            lines.append(f"  /{name}{langs} — {first[:70]}{'…' if len(first) > 70 else ''}")
        return "\n".join(lines)


def parse_answers(text: str) -> AnswerBook:
    """The answers file validated; ``ConfigError`` naming every problem (one per line)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"not valid TOML: {exc}") from None
    problems: list[str] = []
    constants = _constants(data.get("constants", {}), problems)
    answers: dict[str, SavedAnswer] = {}
    table = data.get("answers", {})
    if not isinstance(table, dict):
        problems.append("[answers] must be a table of answers")
        table = {}
    for name, body in table.items():
        answer = _answer(name, body, problems)
        if answer is not None:
            for lang, words in (("", answer.text), *answer.by_lang.items()):
                where = f'answer "{name}"' + (f" ({lang})" if lang else "")
                problems += [f"{where}: {p}" for p in template_problems(words, constants)]
            answers[name] = answer
    unknown = sorted(set(data) - {"constants", "answers"})
    if unknown:
        problems.append(f"unknown section(s) {', '.join(unknown)}: use [constants] and [answers.NAME]")
    if problems:
        raise ConfigError("\n".join(problems))
    return AnswerBook(answers, constants)


def _constants(raw: object, problems: list[str]) -> dict[str, str]:
    if not isinstance(raw, dict):
        problems.append('[constants] must be a table of name = "text"')
        return {}
    out = {}
    for key, value in raw.items():
        if not NAME.match(key) or key in BUILT_IN or key.startswith("hours"):
            problems.append(f'constant "{key[:40]}": use a-z, 0-9, _ and -, and not a built-in name')
        elif not isinstance(value, str) or len(value) > TEXT_LIMIT:
            problems.append(f'constant "{key}" must be text (at most {TEXT_LIMIT} characters)')
        else:
            out[key] = value
    return out


def _answer(name: str, body: object, problems: list[str]) -> SavedAnswer | None:
    if not NAME.match(name):
        problems.append(f'answer "{name[:40]}": names use a-z, 0-9, _ and - (at most 40)')
        return None
    if not isinstance(body, dict) or not isinstance(body.get("text"), str) or not body["text"].strip():
        problems.append(f'answer "{name}" needs text = "..."')
        return None
    by_lang = {}
    for key, value in body.items():
        if key == "text":
            continue
        if not LANG.match(key) or not isinstance(value, str) or not value.strip():
            problems.append(f'answer "{name}": "{key[:20]}" is not a language code with a text: fr = "..."')
        else:
            by_lang[key] = value
    too_long = [k or "text" for k, v in (("", body["text"]), *by_lang.items()) if len(v) > TEXT_LIMIT]
    if too_long:
        problems.append(f'answer "{name}": {too_long[0]} is over {TEXT_LIMIT} characters')
        return None
    return SavedAnswer(name, body["text"].strip(), {k: v.strip() for k, v in by_lang.items()})


def template_problems(template: str, constants: Mapping[str, str]) -> list[str]:
    """Unknown variables and stray braces in one answer's text (``[]`` when it is fine)."""
    problems = []
    known = (*BUILT_IN, "hours:<date>", *constants)
    for match in _PIECE.finditer(template):
        piece, variable = match.group(), match.group(1)
        if piece in ("{{", "}}"):
            continue
        if variable is None:
            problems.append(f'a lone "{piece}" (write {piece}{piece} for a brace)')
        elif variable.startswith("hours:"):
            try:
                day(variable.removeprefix("hours:").strip(), _CHECK_DAY)
            except Problem as exc:
                problems.append(f"{{{variable}}}: {exc}")
        elif variable not in BUILT_IN and variable not in constants:
            hint = suggest(variable, known)
            problems.append(f"unknown variable {{{variable}}}{hint}; known: {', '.join(known)}")
    return problems


@dataclass(frozen=True, slots=True)
class Fill:
    """What a saved answer's variables are filled with for one mention."""

    patron: str
    local_date: date  # the library's date when the answer is sent
    hours_on: Callable[[date], str]  # `09:00-17:00`, `closed`


def render(template: str, constants: Mapping[str, str], fill: Fill) -> str:
    """The answer's text with its variables filled (checked at load, so nothing here is unknown)."""

    def value(match: re.Match[str]) -> str:
        piece, variable = match.group(), match.group(1)
        if piece in ("{{", "}}"):
            return piece[0]
        if variable is None:
            return piece
        if variable == "patron":
            return fill.patron
        if variable == "today_hours":
            return fill.hours_on(fill.local_date)
        if variable.startswith("hours:"):
            try:
                return fill.hours_on(day(variable.removeprefix("hours:").strip(), fill.local_date))
            except Problem:
                return piece
        return constants.get(variable, piece)

    return _PIECE.sub(value, template)


def expand(text: str, book: AnswerBook, fill: Fill, *, lang: str | None) -> str | None:
    """The filled answer when ``text`` is exactly ``/name`` or ``/name:lang``; None when it is no
    saved answer's call (ordinary text); ``ValueError`` naming the answers when the name is unknown."""
    call = text.strip()
    if not call.startswith("/") or " " in call or "\n" in call:
        return None
    name, _, chosen = call[1:].partition(":")
    answer = book.answers.get(name.lower())
    if answer is None:
        known = ", ".join(f"/{n}" for n in book.names) or "none (set ANSWERS_FILE)"
        warned = f" ({book.warning})" if book.warning else ""
        raise ValueError(
            f"there is no saved answer {call[:41]!r}{suggest(name, book.names)}; saved: {known}{warned}"
        )
    return render(answer.text_for(chosen or lang), book.constants, fill)
