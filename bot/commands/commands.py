"""The rota command grammar shared by Slack `/rota`, Matrix `!rota`, the console and the CLI.

    now | show [role] [this|next|YYYY-MM-DD|YYYY-Www] | add @who role days HH:MM-HH:MM
    | remove <id> | cover @who role <date> HH:MM-HH:MM [for @other] | off @who role <date> HH:MM-HH:MM
    | close <date> [at branch] [reason...] | roles | gaps | feed [role] | take [number|role] | help [command]

``parse`` returns a command value or a ``UsageError`` (it never raises); the caller checks
``verb_of(text) in MUTATING_VERBS`` for permission before anything else.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time

from bot.commands import command_args as arg
from bot.commands.command_types import (
    Add,
    Close,
    Command,
    Cover,
    Feed,
    Gaps,
    Help,
    Now,
    Off,
    Remove,
    Roles,
    Show,
    Take,
)
from bot.commands.render import describe_entry, render_now, render_roles, render_week
from bot.rota.timespec import format_days, format_range, suggest

__all__ = [
    "MUTATING_VERBS",
    "Add",
    "Close",
    "Command",
    "Cover",
    "Feed",
    "Gaps",
    "Help",
    "Now",
    "Off",
    "Remove",
    "Roles",
    "Show",
    "Take",
    "UsageError",
    "check_branch",
    "check_roles",
    "describe_entry",
    "format_command",
    "help_text",
    "parse",
    "render_now",
    "render_roles",
    "render_week",
    "verb_of",
]


# verb -> (usage, what it does, example)
VERBS: dict[str, tuple[str, str, str]] = {
    "now": ("now", "who is on duty for each role right now", "now"),
    "show": (
        "show [role] [this|next|YYYY-MM-DD|YYYY-Www]",
        "a week of shifts, cover, time off and closures, each with its id",
        "show reference next",
    ),
    "add": (
        "add @who role days HH:MM-HH:MM",
        "a weekly shift; days like mon-fri, mon,wed,fri, sat or daily",
        "add @alice reference mon-fri 09:00-17:00",
    ),
    "remove": ("remove <id>", "delete a shift, cover, time off or closure by its id", "remove 12"),
    "cover": (
        "cover @who role <date> HH:MM-HH:MM [for @other]",
        "extra cover on one date; with for @other, instead of them",
        "cover @bob circulation tomorrow 09:00-13:00 for @alice",
    ),
    "off": (
        "off @who role <date> HH:MM-HH:MM",
        "time off from a role on one date",
        "off @alice reference fri 13:00-17:00",
    ),
    "close": (
        "close <date> [at branch] [reason...]",
        "closed all day: shifts do not apply (with at branch, only that branch's roles)",
        "close 2025-12-24 at harbor staff training",
    ),
    "roles": ("roles", "every role with its SLA and backup", "roles"),
    "gaps": ("gaps", "opening hours in the next two weeks with nobody on duty for a role", "gaps"),
    "feed": (
        "feed [role]",
        "the private address of your desk shifts as a calendar feed, or of one role's",
        "feed reference",
    ),
    "take": (
        "take [number|role]",
        "cover the rest of a shift whose person is not on desk (anyone who works that role)",
        "take 12",
    ),
    "help": ("help [command]", "this list, or one command in detail", "help cover"),
}
MUTATING_VERBS = frozenset({"add", "remove", "cover", "off", "close"})
_ALIASES = {"?": "help", "rm": "remove", "delete": "remove", "list": "show", "week": "show"}
_PREFIXES = ("rota", "/rota", "!rota")
NOTES = (
    "<date> is YYYY-MM-DD, today, tomorrow or a weekday name (the next one after today).",
    "Times are HH:MM wall-clock in the library's time zone (a role at a branch: the branch's, for its "
    "dates too); 22:00-06:00 ends the next day, "
    "24:00 is midnight at the end of the day and 00:00-24:00 is the whole day.",
    "Only managers can add, remove, cover, off and close.",
)


@dataclass(frozen=True, slots=True)
class UsageError:
    """Why a command line was not understood, how to write it, and an example."""

    problem: str
    usage: str
    example: str

    @property
    def message(self) -> str:
        """`<problem>. Usage: <usage>. Example: <example>`."""
        return f"{self.problem}. Usage: {self.usage}. Example: {self.example}"


def _tokens(text: str) -> list[str]:
    tokens = arg.TOKEN.findall(text)
    if tokens and tokens[0].lower() in _PREFIXES:
        tokens.pop(0)
    return tokens


def verb_of(text: str) -> str:
    """The canonical verb of a command line (`now` when empty); unknown verbs come back as typed."""
    tokens = _tokens(text)
    word = tokens[0].lower() if tokens else "now"
    return _ALIASES.get(word, word)


def _error(verb: str, problem: str) -> UsageError:
    if verb not in VERBS:
        return UsageError(problem, " | ".join(VERBS), "help add")
    usage, _, example = VERBS[verb]
    return UsageError(problem, usage, example)


def _dated(a: arg.Args, today: date) -> tuple[str, str, date, time, time]:
    who = a.take("a person (@who)", arg.person)
    role = a.take("a role", arg.role)
    day = a.take("a date (YYYY-MM-DD, today, tomorrow or a weekday)", lambda t: arg.day(t, today))
    start, end = a.take("a time range (HH:MM-HH:MM)", arg.hours)
    return who, role, day, start, end


def _add(a: arg.Args) -> Add:
    who = a.take("a person (@who)", arg.person)
    role = a.take("a role", arg.role)
    if not a.tokens:
        raise arg.Problem("missing the days (like mon-fri) after the role")
    *middle, last = a.tokens
    a.tokens = []
    if not any(ch.isdigit() for ch in last):
        raise arg.Problem("missing the time range (HH:MM-HH:MM) after the days")
    if not middle:
        raise arg.Problem("missing the days (like mon-fri) before the time range")
    days = arg.days(",".join(part.strip(",") for part in middle if part.strip(",")) or ",")
    start, end = arg.hours(last)
    return Add(who=who, role=role, days=days, start=start, end=end)


def _cover(a: arg.Args, today: date) -> Cover:
    who, role, day, start, end = _dated(a, today)
    for_who = None
    if a.tokens:
        word = a.take('"for"', str)
        if word.lower() != "for":
            raise arg.Problem(f'expected "for @other" after the time range, got "{word}"')
        for_who = a.take("the person covered (@other)", arg.person)
        if for_who == who:
            raise arg.Problem(f"{who} cannot cover for themselves")
    return Cover(who=who, role=role, day=day, start=start, end=end, for_who=for_who)


def _close(a: arg.Args, today: date) -> Close:
    day = a.take("a date (YYYY-MM-DD, today, tomorrow or a weekday)", lambda t: arg.day(t, today))
    branch = ""
    if a.tokens and a.tokens[0].lower() == "at":
        a.tokens.pop(0)
        branch = a.take("a branch after at (a key from the rules file's [branches])", arg.branch)
    reason, a.tokens = " ".join(a.tokens), []
    if len(reason) > 200:
        raise arg.Problem("the reason is too long (200 characters at most)")
    return Close(day=day, reason=reason, branch=branch)


def _show(a: arg.Args, today: date) -> Show:
    role: str | None = None
    week: date | None = None
    for token in list(a.tokens):
        a.tokens.pop(0)
        if arg.is_week(token):
            if week is not None:
                raise arg.Problem(f'two weeks given ("{token}")')
            week = arg.week(token, today)
        elif role is not None:
            raise arg.Problem(f'"{token}" is neither a week nor a second role (show takes one role)')
        else:
            role = arg.role(token)
    return Show(role=role, week=week or arg.week("this", today))


def _parse(verb: str, a: arg.Args, today: date) -> Command:
    if verb == "show":
        return _show(a, today)
    if verb == "add":
        return _add(a)
    if verb == "cover":
        return _cover(a, today)
    if verb == "remove":
        return Remove(a.take("an entry id (see show)", arg.entry_id))
    if verb == "off":
        who, role, day, start, end = _dated(a, today)
        return Off(who=who, role=role, day=day, start=start, end=end)
    if verb == "close":
        return _close(a, today)
    if verb == "help":
        topic = a.take("a command", str).lower() if a.tokens else None
        topic = _ALIASES.get(topic, topic) if topic else None
        if topic is not None and topic not in VERBS:
            raise arg.Problem(f'no command "{topic}"{suggest(topic, VERBS)}')
        return Help(topic)
    if verb == "gaps":
        return Gaps()
    if verb == "feed":
        return Feed(a.take("a role", arg.role) if a.tokens else None)
    if verb == "take":
        return Take(a.take("a number or a role", _which) if a.tokens else "")
    return Now() if verb == "now" else Roles()


def _which(token: str) -> str:
    """`take`'s argument: a check-in's number (`12`, `#12`) or a role."""
    digits = token.removeprefix("#")
    return str(arg.entry_id(token)) if digits.isascii() and digits.isdigit() else arg.role(token)


def parse(text: str, *, today: date) -> Command | UsageError:
    """Parse one command line (after `/rota`, `!rota` or `rota`; a leading `rota` is ignored).

    Args:
        text: the command line; empty means `now`.
        today: the library's local date, for `today`, `tomorrow`, weekday names and `this`/`next`.
    """
    tokens = _tokens(text)
    verb = verb_of(text)
    if verb not in VERBS:
        return _error(verb, f'unknown command "{verb}"{suggest(verb, VERBS)}')
    a = arg.Args(tokens[1:])
    try:
        command = _parse(verb, a, today)
        a.done()
    except arg.Problem as exc:
        return _error(verb, str(exc))
    return command


def format_command(cmd: Command) -> str:
    """The canonical command line for ``cmd``; ``parse`` reads it back to an equal command."""
    match cmd:
        case Show(role=role, week=week):
            return " ".join(["show", *([role] if role else []), week.isoformat()])
        case Add():
            return f"add {cmd.who} {cmd.role} {format_days(cmd.days)} {format_range(cmd.start, cmd.end)}"
        case Remove(id=entry):
            return f"remove {entry}"
        case Cover() | Off():
            verb = "cover" if isinstance(cmd, Cover) else "off"
            line = f"{verb} {cmd.who} {cmd.role} {cmd.day.isoformat()} {format_range(cmd.start, cmd.end)}"
            return f"{line} for {cmd.for_who}" if isinstance(cmd, Cover) and cmd.for_who else line
        case Close(day=day, reason=reason, branch=branch):
            return " ".join(["close", day.isoformat(), *(["at", branch] if branch else []), reason]).rstrip()
        case Help(verb=verb):
            return f"help {verb}" if verb else "help"
        case Roles():
            return "roles"
        case Gaps():
            return "gaps"
        case Feed(role=role):
            return f"feed {role}" if role else "feed"
        case Take(which=which):
            return f"take {which}".rstrip()
    return "now"


def check_branch(cmd: Command, known: set[str]) -> UsageError | None:
    """A ``UsageError`` when ``cmd`` closes a branch that is not in ``known`` (or there are none)."""
    branch = getattr(cmd, "branch", "")
    if not branch or branch in known:
        return None
    if not known:
        return _error(
            "close",
            'the rules file has no [branches]: close closes the whole library (no "at" before the reason)',
        )
    names = ", ".join(sorted(known))
    return _error("close", f'unknown branch "{branch}"{suggest(branch, known)}; branches: {names}')


def check_roles(cmd: Command, known: set[str]) -> UsageError | None:
    """A ``UsageError`` when ``cmd`` names a role that is not in ``known``."""
    role = getattr(cmd, "role", None)
    if role is None or role in known:
        return None
    verb = type(cmd).__name__.lower()
    return _error(verb, f'unknown role "{role}"{suggest(role, known)}; roles: {", ".join(sorted(known))}')


def help_text(verb: str | None = None) -> str:
    """The command list, or one command's usage, meaning and example. Plain text."""
    if verb is not None and verb in VERBS:
        usage, what, example = VERBS[verb]
        return "\n".join([f"{usage}", f"  {what}", f"  example: {example}", "", *NOTES])
    lines = ["Rota commands (after /rota, !rota or rota):"]
    lines += [f"  {usage}  - {what}" for usage, what, _ in VERBS.values()]
    return "\n".join([*lines, "", *NOTES])
