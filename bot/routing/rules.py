"""Ordered first-match routing rules: which role answers a mention, and why.

A rule holds up to five conditions (platforms, keywords, regex, languages, authors); every
condition it gives must hold and any item within a list may match. Rules are tried in file order
and the first match wins; no match gives the default role. ``load_rules`` reads the TOML format
documented at the top of ``examples/rules.toml``.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

from bot.domain.notes import DEFAULT_TAGS
from bot.models import Mention
from bot.rota.branches import Branch, Places
from bot.rota.hours import Opening
from bot.routing.keywords import KeywordIndex, gateable, gates, phrase_key


@dataclass(frozen=True, slots=True)
class RoleSpec:
    """A staff role: its SLA, the role that covers it when nobody is on duty, where its cards go."""

    key: str
    sla_minutes: int = 30
    backup: str | None = None
    description: str = ""
    slack_channel: str = ""
    slack_usergroup: str = ""  # a Slack user group (handle or S... id) kept to whoever holds the role
    matrix_room: str = ""
    no_cover: tuple[Opening, ...] = ()  # weekly times nobody needs to hold the role (not gaps)
    calendar: str = ""  # an iCalendar URL or file whose events are this role's shifts
    approval: str = ""  # a staff key or a role whose holder approves this role's replies ("" = none)
    branch: str = ""  # the branch whose zone and hours the role keeps ("" = the library's)


@dataclass(frozen=True, slots=True)
class StaffSpec:
    """A staff member named in the rules file; ``key`` is the name used in the rota."""

    key: str
    name: str = ""
    slack_user_id: str = ""
    matrix_user_id: str = ""
    manager: bool = False
    email: str = ""  # matches calendar events (attendee or organizer) to this person


def _plain(value: str) -> str:
    return value.strip().removeprefix("@").casefold()


def _lang(value: str) -> str:
    return value.strip().replace("_", "-").casefold()


@dataclass(frozen=True, slots=True)
class Rule:
    """One routing rule. Conditions left empty (or ``None``) are not checked."""

    name: str
    role: str
    platforms: frozenset[str] = frozenset()
    keywords: tuple[str, ...] = ()
    regex: re.Pattern[str] | None = None
    languages: frozenset[str] = frozenset()
    authors: frozenset[str] = frozenset()
    tags: tuple[str, ...] = ()  # set on the mentions this rule matches
    keys: tuple[str, ...] = field(init=False, repr=False, compare=False)
    _index: KeywordIndex = field(init=False, repr=False, compare=False)
    _platforms: frozenset[str] = field(init=False, repr=False, compare=False)
    _languages: tuple[str, ...] = field(init=False, repr=False, compare=False)
    _authors: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "keys", tuple(phrase_key(k) for k in self.keywords))
        object.__setattr__(self, "_index", KeywordIndex(self.keys))
        object.__setattr__(self, "_platforms", frozenset(p.strip().casefold() for p in self.platforms))
        object.__setattr__(self, "_languages", tuple(sorted(_lang(v) for v in self.languages)))
        object.__setattr__(self, "_authors", frozenset(_plain(a) for a in self.authors))

    def matches(self, mention: Mention) -> bool:
        """True when every condition this rule gives holds for ``mention``."""
        return self.explain(mention) is not None

    def explain(self, mention: Mention, found: set[str] | None = None) -> str | None:
        """Why the rule matches (e.g. 'keyword "renew"'), or None when it does not.

        Args:
            mention: the mention to test.
            found: the phrase keys already found in the mention's text, when the caller has them.
        """
        why: list[str] = []
        if self.keys:
            if found is None:
                found = self._index.found(_text(mention))
            hit = next((kw for kw, key in zip(self.keywords, self.keys, strict=True) if key in found), None)
            if hit is None:
                return None
            why.append(f'keyword "{hit}"')
        if self.regex is not None:
            if self.regex.search(_text(mention)) is None:
                return None
            why.append("pattern")
        if self._platforms:
            if mention.source.casefold() not in self._platforms:
                return None
            why.append(f"platform {mention.source}")
        if self._languages:
            lang = _lang(mention.lang or "")
            code = next((c for c in self._languages if lang == c or lang.startswith(c + "-")), None)
            if code is None:
                return None
            why.append(f"language {code}")
        if self._authors:
            if not {_plain(mention.author_handle), _plain(mention.author_id)} & self._authors:
                return None
            why.append("listed author")
        return ", ".join(why)


def _text(mention: Mention) -> str:
    if mention.content_warning:
        return f"{mention.content_warning}\n{mention.text}"
    return mention.text


@dataclass(frozen=True, slots=True)
class RuleSet:
    """The rules in order, the default role, every role and the staff named in the file."""

    rules: tuple[Rule, ...]
    default_role: str
    roles: Mapping[str, RoleSpec]
    staff: tuple[StaffSpec, ...] = ()
    tags: tuple[str, ...] = DEFAULT_TAGS  # the tags staff may set (the rules file's ``tags``)
    branches: Mapping[str, Branch] = field(default_factory=dict)  # [branches.NAME]; {} = one library
    _index: KeywordIndex = field(init=False, repr=False, compare=False)
    _by_key: dict[str, tuple[int, ...]] = field(init=False, repr=False, compare=False)
    _always: frozenset[int] = field(init=False, repr=False, compare=False)
    _gated: frozenset[int] = field(init=False, repr=False, compare=False)
    _gates: tuple[re.Pattern[str], ...] = field(init=False, repr=False, compare=False)

    def rule_tags(self, name: str) -> tuple[str, ...]:
        """The tags the rule called ``name`` sets (none for the default)."""
        for rule in self.rules:
            if rule.name == name:
                return rule.tags
        return ()

    def __post_init__(self) -> None:
        by_key: dict[str, list[int]] = {}
        for i, rule in enumerate(self.rules):
            for key in set(rule.keys):
                by_key.setdefault(key, []).append(i)
        object.__setattr__(self, "_index", KeywordIndex(by_key))
        object.__setattr__(self, "_by_key", {k: tuple(v) for k, v in by_key.items()})
        # rules without keywords are always candidates, except that regex rules are first ruled
        # out together by one combined search (the gate) when their patterns allow it
        gated = {i: r.regex for i, r in enumerate(self.rules) if not r.keys and r.regex and gateable(r.regex)}
        always = {i for i, r in enumerate(self.rules) if not r.keys} - gated.keys()
        object.__setattr__(self, "_always", frozenset(always))
        object.__setattr__(self, "_gated", frozenset(gated))
        object.__setattr__(self, "_gates", gates(gated.values()))

    def match(self, mention: Mention) -> tuple[str, str, str]:
        """``(role, rule_name, why)`` of the first matching rule, or the default role.

        Only rules whose keywords occur in the text (and rules without keywords) are tried, in
        file order, so the cost does not grow with the number of keyword rules.
        """
        text = _text(mention)
        found = self._index.found(text)
        candidates = set(self._always)
        if any(g.search(text) for g in self._gates):
            candidates |= self._gated
        for key in found:
            candidates.update(self._by_key.get(key, ()))
        for i in sorted(candidates):
            rule = self.rules[i]
            why = rule.explain(mention, found)
            if why is not None:
                return rule.role, rule.name, why
        return self.default_role, "default", "no rule matched"

    def backup_chain(self, role: str) -> tuple[str, ...]:
        """The backups of ``role`` in order (``role`` excluded), stopping before any repeat."""
        chain: list[str] = []
        seen = {role}
        spec = self.roles.get(role)
        while spec is not None and spec.backup and spec.backup not in seen:
            chain.append(spec.backup)
            seen.add(spec.backup)
            spec = self.roles.get(spec.backup)
        return tuple(chain)

    def branch_of(self, role: str) -> Branch | None:
        """The branch ``role`` belongs to (None: the library's zone and hours)."""
        spec = self.roles.get(role)
        return self.branches.get(spec.branch) if spec is not None and spec.branch else None

    def places(self) -> Places:
        """Each role's zone and closed days, for the rota (empty without branches)."""
        return Places.of(self.branches, {key: spec.branch for key, spec in self.roles.items() if spec.branch})

    def names(self) -> dict[str, str]:
        """Staff key -> display name (the key when the file gives no name)."""
        return {s.key: s.name or s.key for s in self.staff}


def default_rules() -> RuleSet:
    """Used when no RULES_FILE is set: every mention goes to one `social-media` role."""
    role = RoleSpec(key="social-media", description="Everything, until a rules file says otherwise")
    return RuleSet(rules=(), default_role=role.key, roles={role.key: role})


def load_rules(text: str, *, platforms: Collection[str]) -> RuleSet:
    """Parse and validate a rules TOML document; ``platforms`` are the source platforms a rule may name
    (the caller reads them from the platform registry: routing itself knows no platform).

    Raises:
        bot.errors.ConfigError: one line per problem, naming the rule (index and name) and field.
    """
    from bot.routing.rules_file import parse_rules  # the schema module builds the types above

    return parse_rules(text, platforms=platforms)
