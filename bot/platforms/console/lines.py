"""What the console operator types, as staff actions (pure): the command grammar and the help."""

from __future__ import annotations

from bot.domain.notes import resolve_words as read_words
from bot.models import (
    MAX_ID,
    AddNote,
    Approve,
    CheckIn,
    Claim,
    DeskQuery,
    Ignore,
    Reassign,
    Reject,
    Release,
    Reply,
    Resolve,
    RotaCommand,
    SetTag,
    Snooze,
    StaffAction,
    StaffRef,
    Wake,
)

HELP = """Commands:
  queue              open mentions, with a line of each patron's text
  show N             card #N again, as it stands now
  claim N            take mention #N
  reply N <text>     answer #N on the patron's platform; reply N /name sends a saved answer
  reply! N <text>    publish although the privacy guard warned (card numbers, phone numbers, ...)
  answers            the saved answers; answers N /name shows one filled in for #N
  resolve N [read=1-6] [directional|reference]   mark #N handled, with its READ Scale level
  release N          give #N back
  note N <text>      an internal note on #N (staff only, never sent to the patron)
  tag N <tag>        tag #N (the rules file's tags); untag N <tag> takes one off
  ignore N           no answer needed       reassign N <role|@person>
  snooze N <when>    set #N aside: 2h, tomorrow 09:00, or patron (until they write)   wake N
  approve N [text]   publish a held reply (with text: your edited version)   reject N <reason>
  desk fold N        list summary card N (desk fold N claim / desk fold N handled: all its items)
  rota <command>     the rota (try: rota help, rota now, rota show); rota take N covers an open shift
  checkin / needcover   answer your shift's check-in: on desk, or ask for cover
  iam NAME           act as staff member NAME with their rights; `iam` alone: back to the operator
  whoami             who you act as
  help               this list"""

# The console's default user is the operator at the server's terminal: whoever can type here can already
# run `patron-desk rota edit` and read the database, so the gate (bot/core/authz.py) takes them as
# staff and manager. The console is never reachable from the network.
ME = StaffRef("console", "console", "console")
VERBS: dict[str, type[Claim] | type[Release] | type[Resolve] | type[Ignore]] = {
    "claim": Claim,
    "release": Release,
    "resolve": Resolve,
    "ignore": Ignore,
}
NUMBERED = (
    *VERBS,
    "reply",
    "reassign",
    "show",
    "snooze",
    "wake",
    "approve",
    "reject",
    "note",
    "tag",
    "untag",
)


def parse_line(line: str, me: StaffRef = ME, *, manager: bool | None = True) -> StaffAction | str:
    """A typed console line as a staff action, or a message for the operator.

    ``manager`` is what a rota command may do: True for the operator, None to let the service
    look up ``me``'s rights (someone the operator acts as with `iam`).
    """
    line = line.strip()
    verb, _, rest = line.partition(" ")
    verb = verb.lower()
    if verb in ("help", "?", ""):
        return HELP
    if verb == "rota":
        return RotaCommand(me, rest.strip(), is_manager=manager)
    if verb in ("queue", "desk"):
        return DeskQuery(me, rest.strip(), with_text=True)
    if verb == "answers":
        return DeskQuery(me, f"answers {rest.strip()}".strip())
    if verb in ("checkin", "needcover"):
        return CheckIn(me, here=verb == "checkin")
    number, _, tail = rest.strip().partition(" ")
    confirmed = verb == "reply!" or (verb == "reply" and number.endswith("!"))
    verb, number = verb.rstrip("!"), number.rstrip("!")
    if verb not in NUMBERED:
        return f"Unknown command {verb[:40]!r}. Type `help` for the list."
    digits = number.lstrip("#")
    if not (digits.isascii() and digits.isdigit()):
        return f"`{verb}` needs the card number, e.g. `{verb} 3`."
    if len(digits) > 10 or not 0 < int(digits) <= MAX_ID:
        return f"There is no card #{digits[:12]}. Check the number on the card."
    mention_id = int(digits)
    if verb == "show":
        return DeskQuery(me, f"show {mention_id}")
    if verb == "reply":
        return (
            Reply(mention_id, me, tail.strip(), confirmed=confirmed)
            if tail.strip()
            else "Write the answer: `reply 3 Thanks, ...` or a saved one: `reply 3 /renewals`."
        )
    if verb == "snooze":
        return Snooze(mention_id, me, tail.strip() or "patron")
    if verb == "wake":
        return Wake(mention_id, me)
    if verb == "approve":
        return Approve(mention_id, me, tail.strip())
    if verb == "reject":
        return Reject(mention_id, me, tail.strip())
    if verb == "note":
        return (
            AddNote(mention_id, me, tail.strip()) if tail.strip() else "Write the note: `note 3 Called back`."
        )
    if verb in ("tag", "untag"):
        name = tail.strip()
        return (
            SetTag(mention_id, me, name, remove=verb == "untag") if name else f"Say which: `{verb} 3 praise`."
        )
    if verb == "resolve" and tail.strip():
        return resolve_words(mention_id, me, tail)
    if verb == "reassign":
        target = tail.strip()
        if not target:
            return "Say to whom: `reassign 3 reference` or `reassign 3 @alice`."
        if target.startswith("@"):
            return Reassign(mention_id, me, person=target)
        return Reassign(mention_id, me, role=target.split()[0])
    return VERBS[verb](mention_id, me)


def resolve_words(mention_id: int, me: StaffRef, words: str) -> Resolve | str:
    """`resolve N read=3 directional`: the READ Scale level and reference/directional flag, in any order."""
    found = read_words(words)
    if isinstance(found, str):
        return found
    return Resolve(mention_id, me, read_level=found[0], directional=found[1])
