"""Did-you-mean for settings: a name that looks like one of ours (our prefix, or close to a setting) but
is not one gets a line saying so, and the setting it was probably meant to be."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from bot.config import Settings

# A name with one of these prefixes is meant for us: unknown ones are typos, not someone else's variable.
OUR_PREFIXES = (
    "LIBRARY_",
    "SLACK_",
    "MATRIX_",
    "MASTODON_",
    "FACEBOOK_",
    "INSTAGRAM_",
    "BLUESKY_",
    "FEED",
    "WEBHOOK_",
    "CONSOLE_",
    "EMAIL_",
)
# A name is a likely typo of a setting when it is this similar (difflib ratio) and at most two letters
# longer or shorter: FEADS is 0.8 from FEEDS; HTTP_PROXY is 0.74 from HTTP_PORT, and
# TEST_DATABASE_URL (0.83 from DATABASE_URL) is five letters longer, so both are someone else's.
CLOSE_ENOUGH = 0.78


# Names people reach for that live elsewhere: the setting line says where.
ELSEWHERE = {
    "SLACK_USERGROUPS": 'a role\'s user group is set in the rules file: slack_usergroup = "reference-desk"',
    "SLACK_USERGROUP": 'a role\'s user group is set in the rules file: slack_usergroup = "reference-desk"',
}


def unknown_settings(names: Iterable[str], where: str) -> list[str]:
    """One line per name that looks like one of ours (our prefix, or close to a setting) but is not."""
    known = set(Settings.names())
    found = []
    for name in sorted(set(names)):
        upper = name.upper()
        if upper in known:
            continue
        if upper in ELSEWHERE:
            found.append(f"unknown setting {name} {where}: {ELSEWHERE[upper]}")
            continue
        close = _closest(upper, known)
        if close:
            found.append(f"unknown setting {name} {where} — did you mean {close}?")
        elif upper.startswith(OUR_PREFIXES):
            found.append(f"unknown setting {name} {where}: no such setting (see .env.example)")
    return found


def _closest(name: str, known: Iterable[str]) -> str | None:
    scored = [
        (difflib.SequenceMatcher(None, name, other).ratio(), other)
        for other in known
        if abs(len(other) - len(name)) <= 2
    ]
    best = max(scored, default=(0.0, ""))
    return best[1] if best[0] >= CLOSE_ENOUGH else None
