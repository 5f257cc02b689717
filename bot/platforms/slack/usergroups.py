"""Slack user groups that follow the rota: ``usergroups.users.update`` with whoever holds a role.

A role's ``slack_usergroup`` is a handle (``reference-desk``) or an id (``S0614TZR7``); handles are
looked up once with ``usergroups.list``. Errors are logged with what to do (never with anyone's
messages) and raised for the outbox, which retries: a 429 after its ``Retry-After``, a refusal
(``missing_scope``, ``no_such_subteam``, ``permission_denied``, ``invalid_users``) slowly, so the
group follows again once the admin has fixed it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence

from bot.errors import PermanentError, RateLimited
from bot.platforms.slack.client import SlackClient

log = logging.getLogger(__name__)

SCOPE = "usergroups:write"
GROUP_ID = re.compile(r"^S[A-Z0-9]{6,}$")
HINTS = {
    "missing_scope": f"the app lacks the {SCOPE} scope (usergroups:read for handles): add it and reinstall",
    "no_such_subteam": "no such user group: check the role's slack_usergroup (a handle or an S... id)",
    "permission_denied": "the workspace lets only admins edit user groups: allow everyone in its settings",
    "invalid_users": "a person on duty has a Slack id that cannot join a group (a guest or bot?)",
    "invalid_user": "a person on duty has a Slack id that cannot join a group (a guest or bot?)",
    "plan_upgrade_required": "user groups need a paid Slack plan",
}


def _code(exc: Exception) -> str:
    """Slack's error name from a translated error (``slack usergroups_users_update: missing_scope``)."""
    return str(exc).rsplit(": ", 1)[-1].strip()


class DutyGroups:
    """Sets user groups for the Slack desk (``SyncsDutyGroups``)."""

    def __init__(self, client: SlackClient) -> None:
        self.client = client
        self._ids: dict[str, str] = {}  # handle -> id

    async def group_id(self, group: str) -> str:
        """The id of ``group`` (a handle or an id); ``PermanentError`` when no group has that handle."""
        group = group.removeprefix("@")
        if GROUP_ID.match(group):
            return group
        if group not in self._ids:
            data = await self.client.call("usergroups_list")
            for found in data.get("usergroups") or []:
                if isinstance(found, dict) and isinstance(found.get("handle"), str):
                    self._ids[found["handle"]] = str(found.get("id", ""))
        if not self._ids.get(group):
            raise PermanentError("slack usergroups_list: no_such_subteam")
        return self._ids[group]

    async def set(self, group: str, users: Sequence[str]) -> None:
        """Make ``users`` the whole membership of ``group`` (never empty: Slack refuses that)."""
        if not users:
            return
        try:
            group_id = await self.group_id(group)
            await self.client.call("usergroups_users_update", usergroup=group_id, users=",".join(users))
        except RateLimited:
            raise  # the outbox waits for Retry-After and tries again
        except PermanentError as exc:
            code = _code(exc)
            log.error(
                "Slack user group %s not updated (%s): %s", group, code, HINTS.get(code, "see Slack's answer")
            )
            raise
        log.info("Slack user group %s now has %d member(s) on duty", group, len(users))


async def scope_verdict(client: SlackClient, groups: Sequence[str]) -> str:
    """ "" when no role follows a group or the scope is there; else what ``check --connect`` should say."""
    if not groups:
        return ""
    scopes = await client.scopes()
    if scopes is None or SCOPE in scopes:
        return ""
    names = ", ".join(groups)
    return f"user groups {names} cannot follow the rota: the app lacks the {SCOPE} scope (add it, reinstall)"
