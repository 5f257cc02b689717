"""The one status table: every transition, the actions a card offers, and the outbox keys."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from bot.domain import transitions as t
from bot.domain.outbox import OutboxKind, dedupe_key
from bot.domain.transitions import Action, Transition, available_actions
from bot.models import Status

ROOT = Path(__file__).resolve().parents[2]
OPEN = (Status.ROUTED, Status.POSTED, Status.QUEUED, Status.ESCALATED)
HELD = (Status.CLAIMED, Status.REPLIED, Status.SNOOZED, Status.APPROVAL)

# Written out by hand (not derived from the table): the status pairs the code relies on.
EXPECTED: dict[Transition, dict[Status, Status]] = {
    Transition.POSTED: {Status.ROUTED: Status.POSTED},
    Transition.CLAIM: {s: Status.CLAIMED for s in OPEN},
    Transition.RELEASE: {s: Status.POSTED for s in HELD},
    # a reply held for approval is approved or rejected, not replaced by a published one
    Transition.REPLY: {s: Status.REPLIED for s in (*OPEN, Status.CLAIMED, Status.REPLIED, Status.SNOOZED)},
    Transition.REPLY_FAILED: {Status.REPLIED: Status.CLAIMED},
    Transition.PUBLISHED: {s: s for s in Status},
    Transition.RESOLVE: {s: Status.RESOLVED for s in (*OPEN, *HELD)},
    Transition.IGNORE: {s: Status.IGNORED for s in (*OPEN, *HELD)},
    Transition.REASSIGN: {s: Status.POSTED for s in (*OPEN, *HELD)},
    Transition.REASSIGN_PERSON: {s: Status.CLAIMED for s in (*OPEN, *HELD)},
    Transition.REASSIGN_QUEUED: {s: Status.QUEUED for s in (*OPEN, *HELD)},
    Transition.DEQUEUE: {Status.QUEUED: Status.POSTED},
    Transition.ESCALATE: {s: Status.ESCALATED for s in (Status.ROUTED, Status.POSTED, Status.ESCALATED)},
    Transition.REMIND: {Status.CLAIMED: Status.CLAIMED},
    Transition.AUTO_RESOLVE: {Status.REPLIED: Status.RESOLVED},
    Transition.EXPIRE: {s: Status.IGNORED for s in Status if s not in (Status.RESOLVED, Status.IGNORED)},
    Transition.EDIT: {s: s for s in Status},
    Transition.WITHDRAW: {
        **{s: Status.IGNORED for s in (*OPEN, Status.CLAIMED, Status.SNOOZED, Status.APPROVAL)},
        Status.NEW: Status.NEW,
        Status.IGNORED: Status.IGNORED,
    },
    # the patron wrote again: an answered or snoozed mention goes back to its claimer; open ones and a
    # reply held for approval stay as they are
    Transition.FOLLOW_UP: {
        **{s: s for s in (*OPEN, Status.CLAIMED, Status.APPROVAL)},
        Status.REPLIED: Status.CLAIMED,
        Status.SNOOZED: Status.CLAIMED,
    },
    Transition.SNOOZE: {Status.CLAIMED: Status.SNOOZED, Status.REPLIED: Status.SNOOZED},
    Transition.WAKE: {Status.SNOOZED: Status.CLAIMED},
    Transition.HOLD_REPLY: {s: Status.APPROVAL for s in (*OPEN, *HELD)},
    Transition.APPROVE: {Status.APPROVAL: Status.REPLIED},
    Transition.REJECT: {Status.APPROVAL: Status.CLAIMED},
}


@pytest.mark.parametrize("transition", list(Transition))
@pytest.mark.parametrize("status", list(Status))
def test_every_status_pair_is_in_the_table(transition: Transition, status: Status) -> None:
    expected = EXPECTED[transition].get(status)
    if expected is None:
        assert status not in t.allowed_from(transition)
        with pytest.raises(ValueError, match="may not start"):
            t.status_after(transition, status)
    else:
        assert status in t.allowed_from(transition)
        assert t.status_after(transition, status) is expected


def test_only_the_target_may_be_written() -> None:
    for transition in Transition:
        written = {s for s in Status if t.writes(transition, s)}
        moved = set(EXPECTED[transition].values()) - set(EXPECTED[transition])
        assert written <= {t.TABLE[transition].to}
        assert moved <= written  # every status it leads to is one it may write


HELD_ACTIONS = (Action.RESOLVE, Action.SNOOZE, Action.RELEASE, Action.REASSIGN, Action.IGNORE)
SET_ASIDE = (Action.RESOLVE, Action.RELEASE, Action.REASSIGN, Action.IGNORE)  # no second snooze
ACTIONS: dict[tuple[Status, bool], tuple[Action, ...]] = {
    **{(s, True): (Action.CLAIM, Action.REPLY, Action.REASSIGN, Action.IGNORE) for s in OPEN},
    **{
        (s, False): (Action.CLAIM, Action.OPEN_LINK, Action.RESOLVE, Action.REASSIGN, Action.IGNORE)
        for s in OPEN
    },
    **{(s, True): (Action.REPLY, *HELD_ACTIONS) for s in (Status.CLAIMED, Status.REPLIED)},
    **{(s, False): (Action.OPEN_LINK, *HELD_ACTIONS) for s in (Status.CLAIMED, Status.REPLIED)},
    (Status.SNOOZED, True): (Action.WAKE, Action.REPLY, *SET_ASIDE),
    (Status.SNOOZED, False): (Action.WAKE, Action.OPEN_LINK, *SET_ASIDE),
    # the approver decides; the writer does not reply again over a held reply from the card
    **{(Status.APPROVAL, c): (Action.APPROVE, Action.REJECT, *SET_ASIDE) for c in (True, False)},
}
VIA = {
    Action.CLAIM: Transition.CLAIM,
    Action.REPLY: Transition.REPLY,
    Action.OPEN_LINK: Transition.REPLY,
    Action.RESOLVE: Transition.RESOLVE,
    Action.RELEASE: Transition.RELEASE,
    Action.REASSIGN: Transition.REASSIGN,
    Action.IGNORE: Transition.IGNORE,
    Action.SNOOZE: Transition.SNOOZE,
    Action.WAKE: Transition.WAKE,
    Action.APPROVE: Transition.APPROVE,
    Action.REJECT: Transition.REJECT,
}


@pytest.mark.parametrize("can_reply", [True, False])
@pytest.mark.parametrize("status", list(Status))
def test_available_actions_per_status(status: Status, can_reply: bool) -> None:
    offered = available_actions(status, can_reply)
    assert offered == ACTIONS.get((status, can_reply), ())  # NEW, RESOLVED, IGNORED: nothing
    for action in offered:  # never a button the service refuses
        assert status in t.allowed_from(VIA[action])


def test_every_status_change_names_a_transition() -> None:
    """Every ``mentions.transition(...)`` call in bot/ names a ``Transition`` (never a status set)."""
    calls = 0
    for path in sorted((ROOT / "bot").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name != "transition":
                continue
            calls += 1
            # the third argument is typed ``Transition`` (mypy checks the type, the store the status)
            assert len(node.args) == 3, f"{path}:{node.lineno}: name the transition"
            assert "allowed_from" not in {k.arg for k in node.keywords}, f"{path}:{node.lineno}"
    assert calls >= 10  # staff actions 3, posted, reply failed, published, author changes, timers 3


def test_outbox_keys_keep_their_stored_form() -> None:
    """Rows already in databases must still match: these are the strings written before the enum."""
    assert dedupe_key(OutboxKind.POST_CARD, "slack", 42) == "post_card:slack:42"
    assert dedupe_key(OutboxKind.UPDATE_CARD, "matrix", 7) == "update_card:matrix:7"
    assert dedupe_key(OutboxKind.REDACT_CARD, "slack", 7) == "redact_card:slack:7"
    assert dedupe_key(OutboxKind.SEND_REPLY, "mastodon", 42, 3) == "reply:42:3"
    assert dedupe_key(OutboxKind.SEND_ACK, "bluesky", 42) == "ack:42"
    assert dedupe_key(OutboxKind.NOTIFY, "console", None, "remind:5") == "notify:console:remind:5"
    assert dedupe_key(OutboxKind.ANNOUNCE, "slack", None, "ab12") == "announce:slack:ab12"
    assert dedupe_key(OutboxKind.SHOW_FOLD, "slack", None, 12).startswith("show_fold:slack")
    assert dedupe_key(OutboxKind.HISTORY, "slack", 7, "ab12") == "history:slack:7:ab12"
    assert dedupe_key(OutboxKind.CHECKIN, "slack", None, 4) == "checkin:slack:4"
    assert {k.value for k in OutboxKind} == {
        "history",
        "post_card",
        "update_card",
        "redact_card",
        "send_reply",
        "send_ack",
        "notify",
        "announce",
        "show_fold",
        "checkin",
        "duty_group",
    }
