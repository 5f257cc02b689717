"""Who is who on the Slack desk: managers, the staff group, staff-channel members, and where commands work.

Group and channel member lists are read from the Web API (``usergroups.users.list``,
``conversations.members``) and kept for ``TTL`` seconds; a failed lookup is not cached and counts as
"unknown", which the gate (``bot/core/authz.py``) treats as no.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable

from bot.core.authz import Facts, Place
from bot.errors import PatronDeskError
from bot.platforms.slack.client import SlackClient

log = logging.getLogger(__name__)

TTL = 60.0
NAME_TIMEOUT = 2.0  # users.info for a display name; past this the payload's user name is used
NAMES_KEPT = 5000
MEMBER_PAGES, MEMBER_PAGE_SIZE = 50, 200  # at most 10,000 members of the staff channel


class SlackRoster:
    """The Slack desk's roster (see ``bot.core.authz.Roster``).

    Args:
        client: the shared Slack client.
        staff_channel: the staff channel id.
        role_channels: roles' own card channels (commands work there too).
        managers, manager_group: SLACK_MANAGERS and SLACK_MANAGER_GROUP.
        staff_group: SLACK_STAFF_GROUP.
    """

    desk = "slack"

    def __init__(
        self,
        client: SlackClient,
        *,
        staff_channel: str,
        role_channels: Iterable[str] = (),
        managers: Iterable[str] = (),
        manager_group: str = "",
        staff_group: str = "",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.staff_channel = staff_channel
        self.role_channels = frozenset(role_channels)
        self.managers = frozenset(managers)
        self.manager_group = manager_group
        self.staff_group = staff_group
        self.clock = clock
        self.where = "the staff channel"  # answers are escaped (notice_text): a <#C…> link would not show
        self._cache: dict[str, tuple[float, frozenset[str]]] = {}
        self._names: dict[str, str] = {}

    def place(self, channel: str) -> Place:
        """The staff or a role's channel; a direct message (ids start with D); anywhere else."""
        if channel and (channel == self.staff_channel or channel in self.role_channels):
            return Place.STAFF
        if channel.startswith("D"):
            return Place.DIRECT
        return Place.ELSEWHERE

    async def facts(self, user_id: str, *, need_room: bool) -> Facts:
        """Manager, staff-group and (when asked) staff-channel membership of ``user_id``."""
        in_group = None
        if self.staff_group:
            group = await self._members("group", self.staff_group)
            in_group = None if group is None else user_id in group
        in_room = None
        if need_room and not self.staff_group and self.staff_channel:
            channel = await self._members("channel", self.staff_channel)
            in_room = None if channel is None else user_id in channel
        manager = bool(await self.is_manager(user_id))
        return Facts(manager=manager, group=bool(self.staff_group), in_group=in_group, in_room=in_room)

    async def is_manager(self, user_id: str) -> bool | None:
        """True for SLACK_MANAGERS and SLACK_MANAGER_GROUP members; otherwise None, so the service
        falls back to the staff table's manager flag (and denies when the caller is unknown)."""
        if user_id in self.managers:
            return True
        if not self.manager_group:
            return None
        group = await self._members("group", self.manager_group)
        return True if group is not None and user_id in group else None

    async def _members(self, kind: str, ident: str) -> frozenset[str] | None:
        """A user group's or channel's members, cached for TTL; None when Slack would not say."""
        now, key = self.clock(), f"{kind}:{ident}"
        cached = self._cache.get(key)
        if cached is not None and now - cached[0] <= TTL:
            return cached[1]
        try:
            found = await (self._group(ident) if kind == "group" else self._channel(ident))
        except PatronDeskError as exc:
            log.warning("slack %s lookup failed (%s): nobody is let in by it", kind, type(exc).__name__)
            return None
        self._cache[key] = (now, found)
        return found

    async def _group(self, group: str) -> frozenset[str]:
        data = await self.client.call("usergroups_users_list", usergroup=group)
        return frozenset(str(u) for u in data.get("users") or ())

    async def _channel(self, channel: str) -> frozenset[str]:
        members: set[str] = set()
        cursor: str | None = None
        for _ in range(MEMBER_PAGES):
            data = await self.client.call(
                "conversations_members", channel=channel, limit=MEMBER_PAGE_SIZE, cursor=cursor
            )
            members.update(str(u) for u in data.get("members") or ())
            cursor = (data.get("response_metadata") or {}).get("next_cursor") or None
            if not cursor:
                break
        return frozenset(members)

    async def display_name(self, user_id: str, fallback: str) -> str:
        """The person's Slack display name (else real name) from users.info, kept for the process;
        ``fallback`` (the payload's user name) when Slack is slow or says no."""
        if user_id not in self._names:
            try:
                async with asyncio.timeout(NAME_TIMEOUT):  # wait_for can swallow a cancel (3.11)
                    data = await self.client.call("users_info", user=user_id)
            except (PatronDeskError, TimeoutError):
                return fallback
            info = data.get("user") or {}
            profile = info.get("profile") or {}
            name = profile.get("display_name") or profile.get("real_name") or info.get("real_name")
            if len(self._names) >= NAMES_KEPT:
                self._names.clear()
            self._names[user_id] = str(name or fallback)[:80]
        return self._names[user_id]
