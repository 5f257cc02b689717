"""The rules TOML file: schema (``bot.domain.fields``), cross-checks, and one error line per problem."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Collection, Mapping
from dataclasses import asdict, dataclass, field
from typing import Annotated, Any

from bot.domain.fields import Limits, check, dotted, fields_of
from bot.domain.notes import DEFAULT_TAGS, TAG_LIMIT, normal_tag
from bot.errors import ConfigError
from bot.rota.branches import Branch, read_closures, read_hours, read_zone
from bot.rota.hours import parse_hours
from bot.rota.timespec import suggest
from bot.routing.keywords import phrase_key
from bot.routing.rules import RoleSpec, Rule, RuleSet, StaffSpec

KEY_PATTERN = r"^[a-z][a-z0-9_-]*$"
# words the rota grammar reads as a week or a date, so they cannot name a role
RESERVED_ROLES = frozenset({"this", "next", "today", "tomorrow", "for", "help"})
_LANG = re.compile(r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{1,8})*$")
_TOP = ("branches", "default_role", "roles", "rules", "staff", "tags")
_TAG = re.compile(rf"[\w-]{{1,{TAG_LIMIT}}}")
_CONDITIONS = ("platforms", "keywords", "regex", "languages", "authors")


# The tables' fields: TOML values are typed, so they are read strictly ("30" is not a number).
@dataclass(frozen=True, kw_only=True)
class _Role:
    sla_minutes: Annotated[int, Limits(ge=1, le=7 * 24 * 60)] = 30
    backup: str | None = None
    description: str = ""
    slack_channel: str = ""
    slack_usergroup: Annotated[str, Limits(pattern=r"^$|^@?[a-z0-9][a-z0-9._-]{0,79}$|^S[A-Z0-9]{6,}$")] = ""
    matrix_room: str = ""
    no_cover: str = ""
    calendar: Annotated[str, Limits(max_length=2000)] = ""
    approval: Annotated[str, Limits(max_length=128)] = ""
    branch: str = ""


@dataclass(frozen=True, kw_only=True)
class _Branch:
    timezone: str
    name: Annotated[str, Limits(max_length=200)] = ""
    opening_hours: str = ""
    closures: list[Any] = field(
        default_factory=list
    )  # dates or "YYYY-MM-DD[..] reason": read_closures checks
    hours_url: Annotated[str, Limits(max_length=2000)] = ""
    location: Annotated[str, Limits(max_length=200)] = ""


@dataclass(frozen=True, kw_only=True)
class _Rule:
    name: Annotated[str, Limits(min_length=1)]
    role: str
    platforms: list[str] = field(default_factory=list)
    keywords: list[str] = field(default_factory=list)
    regex: str | None = None
    languages: list[str] = field(default_factory=list)
    authors: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)


@dataclass(frozen=True, kw_only=True)
class _Staff:
    key: Annotated[str, Limits(pattern=r"^[a-z0-9][a-z0-9._-]*$")]
    name: str = ""
    slack_user_id: str = ""
    matrix_user_id: str = ""
    manager: bool = False
    email: Annotated[str, Limits(max_length=254)] = ""


def _validate(model: type[Any], raw: object, where: str, problems: list[str]) -> Any:
    """``raw`` as a ``model`` (one of the tables above), or None with a line per problem."""
    if not isinstance(raw, dict):
        problems.append(f"{where}: must be a table, got {type(raw).__name__}")
        return None
    values, found = check(model, raw, lax=False, forbid_extra=True)
    fields = tuple(fields_of(model))
    for problem in found:
        loc = dotted(problem.loc)
        if problem.kind == "extra":
            problems.append(f'{where}: unknown key "{loc}"{suggest(loc, fields)}')
        elif problem.kind == "missing":
            problems.append(f'{where}: missing "{loc}"')
        else:
            problems.append(f"{where}: {loc}: {problem.message}")
    return None if found else model(**values)


def _roles(raw: dict[str, Any], problems: list[str]) -> dict[str, RoleSpec]:
    roles: dict[str, RoleSpec] = {}
    for key, value in raw.items():
        where = f"roles.{key}"
        if not re.match(KEY_PATTERN, key) or key in RESERVED_ROLES:
            problems.append(f"{where}: a role key must be lowercase letters, digits, - or _ (not {key!r})")
        model = _validate(_Role, value, where, problems)
        if model is not None:
            fields = asdict(model)
            try:
                fields["no_cover"] = parse_hours(model.no_cover, name=f"{where}.no_cover")
            except ConfigError as exc:
                problems.extend(str(exc).splitlines())
                fields["no_cover"] = ()
            roles[key] = RoleSpec(key=key, **fields)
        else:  # still known, so rules and backups that name it are not reported twice
            backup = value.get("backup") if isinstance(value, dict) else None
            roles[key] = RoleSpec(key=key, backup=backup if isinstance(backup, str) else None)
    for spec in roles.values():
        if spec.backup is not None and spec.backup not in roles:
            hint = suggest(spec.backup, roles)
            problems.append(f'roles.{spec.key}: backup "{spec.backup}" is not a defined role{hint}')
    problems.extend(_cycles(roles))
    return roles


def _branches(raw: dict[str, Any], problems: list[str]) -> dict[str, Branch]:
    """``[branches.NAME]``: each checked on its own; one with a problem is left out (and reported)."""
    branches: dict[str, Branch] = {}
    for key, value in raw.items():
        where = f"branches.{key}"
        if not re.match(KEY_PATTERN, key):
            problems.append(f"{where}: a branch key must be lowercase letters, digits, - or _ (not {key!r})")
        model = _validate(_Branch, value, where, problems)
        if model is None:
            continue
        try:
            branches[key] = Branch(
                key=key,
                zone=read_zone(model.timezone, where=where),
                name=model.name,
                hours=read_hours(model.opening_hours, where=f"{where}.opening_hours"),
                closures=read_closures(model.closures, where=f"{where}.closures"),
                hours_url=model.hours_url,
                location=model.location,
            )
        except ConfigError as exc:
            problems.extend(str(exc).splitlines())
    return branches


def _branch_problems(roles: dict[str, RoleSpec], raw: Mapping[str, object]) -> list[str]:
    """Every role's ``branch`` names a branch (``raw``: all of them, bad ones too, reported once)."""
    return [
        f'roles.{spec.key}: branch "{spec.branch}" is not defined in [branches]{suggest(spec.branch, raw)}'
        for spec in roles.values()
        if spec.branch and spec.branch not in raw
    ]


def _approval_problems(roles: dict[str, RoleSpec], staff: list[StaffSpec]) -> list[str]:
    """An ``approval`` must name a staff key or a role (not the role itself: nobody else would check)."""
    keys = {s.key for s in staff}
    lines = []
    for spec in roles.values():
        name = spec.approval
        if not name:
            continue
        if name == spec.key:
            lines.append(f'roles.{spec.key}: approval "{name}" names the role itself; name someone else')
        elif name not in roles and name not in keys:
            hint = suggest(name, [*roles, *keys])
            lines.append(f'roles.{spec.key}: approval "{name}" is neither a staff key nor a role{hint}')
    return lines


def _cycles(roles: dict[str, RoleSpec]) -> list[str]:
    lines: list[str] = []
    reported: set[frozenset[str]] = set()
    for start in roles:
        path = [start]
        while (nxt := roles[path[-1]].backup) in roles and nxt is not None:
            if nxt in path:
                loop = path[path.index(nxt) :]
                if frozenset(loop) not in reported:
                    reported.add(frozenset(loop))
                    lines.append(f"roles.{nxt}: backup cycle {' → '.join([*loop, nxt])}")
                break
            path.append(nxt)
    return lines


def _rule_problems(rule: _Rule, roles: dict[str, RoleSpec], platforms: frozenset[str]) -> list[str]:
    lines = []
    if rule.role not in roles:
        lines.append(f'role "{rule.role}" is not defined in [roles]{suggest(rule.role, roles)}')
    if not any(getattr(rule, name) for name in _CONDITIONS):
        lines.append("no condition (give at least one of " + ", ".join(_CONDITIONS) + ")")
    for i, keyword in enumerate(rule.keywords):
        if not keyword.strip():
            lines.append(f"keywords[{i}] is empty")
        elif not phrase_key(keyword):
            lines.append(f'keywords[{i}] "{keyword}" has no letters or digits to match')
    for i, platform in enumerate(rule.platforms):
        if platform.casefold() not in platforms:
            hint = suggest(platform.casefold(), sorted(platforms))
            lines.append(f'platforms[{i}] "{platform}" is not a source platform{hint}')
    for i, lang in enumerate(rule.languages):
        if not _LANG.match(lang):
            lines.append(f'languages[{i}] "{lang}" is not a language code (like "en" or "fr-CA")')
    for i, author in enumerate(rule.authors):
        if not author.strip().removeprefix("@"):
            lines.append(f"authors[{i}] is empty")
    if rule.regex is not None:
        try:
            re.compile(rule.regex)
        except re.error as exc:
            lines.append(f"regex {rule.regex!r}: {exc}")
    return lines


def _rules(
    raw: list[Any], roles: dict[str, RoleSpec], platforms: frozenset[str], problems: list[str]
) -> list[Rule]:
    rules: list[Rule] = []
    first_use: dict[str, int] = {}
    for i, item in enumerate(raw):
        name = item.get("name") if isinstance(item, dict) else None
        where = f'rules[{i}] "{name}"' if isinstance(name, str) else f"rules[{i}]"
        model = _validate(_Rule, item, where, problems)
        if model is None:
            continue
        lines = _rule_problems(model, roles, platforms)
        if model.name in first_use:
            lines.append(f"duplicate rule name (first used by rules[{first_use[model.name]}])")
        first_use.setdefault(model.name, i)
        problems.extend(f"{where}: {line}" for line in lines)
        if not lines:
            rules.append(_to_rule(model))
    return rules


def _to_rule(model: _Rule) -> Rule:
    return Rule(
        name=model.name,
        role=model.role,
        platforms=frozenset(model.platforms),
        keywords=tuple(model.keywords),
        regex=re.compile(model.regex, re.IGNORECASE) if model.regex is not None else None,
        languages=frozenset(model.languages),
        authors=frozenset(model.authors),
        tags=tuple(dict.fromkeys(normal_tag(tag) for tag in model.tags)),
    )


def _staff(raw: list[Any], problems: list[str]) -> list[StaffSpec]:
    staff: list[StaffSpec] = []
    seen: dict[tuple[str, str], int] = {}
    for i, item in enumerate(raw):
        key = item.get("key") if isinstance(item, dict) else None
        where = f'staff[{i}] "{key}"' if isinstance(key, str) else f"staff[{i}]"
        model = _validate(_Staff, item, where, problems)
        if model is None:
            continue
        for attr in ("key", "slack_user_id", "matrix_user_id"):
            value = getattr(model, attr)
            if value and (attr, value) in seen:
                problems.append(f"{where}: duplicate {attr} {value!r} (also staff[{seen[attr, value]}])")
            seen.setdefault((attr, value), i)
        staff.append(StaffSpec(**asdict(model)))
    return staff


def _table(data: dict[str, Any], key: str, kind: type, problems: list[str]) -> Any:
    value = data.get(key, kind())
    if not isinstance(value, kind):
        shape = f"a table [{key}.<key>]" if kind is dict else f"an array of tables [[{key}]]"
        problems.append(f"{key}: must be {shape}")
        return kind()
    return value


def parse_rules(text: str, *, platforms: Collection[str]) -> RuleSet:
    """Parse and validate a rules TOML document (see ``bot.routing.rules.load_rules``); a rule's
    ``platforms`` may only name one of ``platforms``."""
    known = frozenset(name.casefold() for name in platforms)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"rules file is not valid TOML: {exc}") from None
    problems = [f'unknown top-level key "{k}"{suggest(k, _TOP)}' for k in data if k not in _TOP]
    raw_branches = _table(data, "branches", dict, problems)
    branches = _branches(raw_branches, problems)
    roles = _roles(_table(data, "roles", dict, problems), problems)
    problems.extend(_branch_problems(roles, raw_branches))
    default = data.get("default_role")
    if not isinstance(default, str):
        problems.append("default_role: missing (the role for mentions no rule matches)")
    elif default not in roles:
        problems.append(f'default_role: "{default}" is not defined in [roles]{suggest(default, roles)}')
    rules = _rules(_table(data, "rules", list, problems), roles, known, problems)
    staff = _staff(_table(data, "staff", list, problems), problems)
    problems.extend(_approval_problems(roles, staff))
    tags = _tags(data.get("tags", DEFAULT_TAGS), problems)
    for rule in rules:
        problems.extend(
            f'rules "{rule.name}": tag "{tag}" is not in the tags list{suggest(tag, tags)}'
            for tag in rule.tags
            if tag not in tags
        )
    if problems:
        raise ConfigError("\n".join(problems))
    assert isinstance(default, str)
    return RuleSet(
        rules=tuple(rules),
        default_role=default,
        roles=roles,
        staff=tuple(staff),
        tags=tags,
        branches=branches,
    )


def _tags(raw: object, problems: list[str]) -> tuple[str, ...]:
    """The top-level ``tags = [...]``: short names of letters, digits, - and _ (stored lower case)."""
    if not isinstance(raw, (list, tuple)) or not all(isinstance(t, str) for t in raw):
        problems.append('tags: must be a list of names, e.g. tags = ["question", "complaint"]')
        return ()
    tags = tuple(dict.fromkeys(normal_tag(t) for t in raw))
    for tag in tags:
        if not _TAG.fullmatch(tag):
            problems.append(f"tags: {tag[:TAG_LIMIT]!r} must be 1-{TAG_LIMIT} letters, digits, - or _")
    return tags
