"""`patron-desk quarantine`: list, retry and drop the items a source delivered but could not store."""

from __future__ import annotations

import argparse
import asyncio

from bot.cli_app import Commands, Exit, _settings, command, echo, group
from bot.commands.command_args import row_id


def add_quarantine(commands: Commands[argparse.ArgumentParser]) -> None:
    """``quarantine list|retry|drop``."""
    quarantine = group(commands, "quarantine", "Items a source delivered that could not be stored.")
    command(quarantine, "list", quarantine_list)
    for name, handler in (("retry", quarantine_retry), ("drop", quarantine_drop)):
        chosen = command(quarantine, name, handler)
        chosen.add_argument("ids", nargs="*", type=_item_id, help="item ids from `quarantine list`")
        chosen.add_argument("--all", dest="every", action="store_true", help="every item in quarantine")


def _item_id(text: str) -> int:
    """An item id as `quarantine list` shows it (``#12`` or ``12``)."""
    found = row_id(text.strip())
    if found is None:
        raise argparse.ArgumentTypeError(
            f"{text[:40]!r} is not an item id (see `patron-desk quarantine list`)"
        )
    return found


def quarantine_list(args: argparse.Namespace) -> None:
    """Each set-aside item: id, source, external id, reason, attempts, when it arrived."""
    from bot.rota.timespec import staff_time
    from bot.runner import quarantine_list as listing

    settings = _settings()
    held = asyncio.run(listing(settings))
    if not held:
        echo("Nothing is in quarantine.")
    for item in held:
        when = staff_time(item.received_at.astimezone(settings.zone))
        echo(
            f"#{item.id}  {item.source}  {item.external_id}  {item.reason}  "
            f"attempts {item.attempts}  received {when}"
        )


def _chosen(args: argparse.Namespace) -> list[int] | None:
    ids: list[int] = args.ids
    if args.every == bool(ids):
        echo("Give item ids (see `patron-desk quarantine list`) or --all.", err=True)
        raise Exit(2)
    return None if args.every else list(ids)


def quarantine_retry(args: argparse.Namespace) -> None:
    """Store items again; one that now stores becomes a mention (carded by the running bot)."""
    from bot.runner import quarantine_retry as retry

    results = asyncio.run(retry(_settings(), _chosen(args)))
    words = {"stored": "stored as a mention", "held": "still cannot be stored", "missing": "no such item"}
    for item, outcome in results:
        echo(f"#{item}: {words[outcome]}")
    raise Exit(0 if all(outcome == "stored" for _, outcome in results) else 1)


def quarantine_drop(args: argparse.Namespace) -> None:
    """Delete items for good."""
    from bot.runner import quarantine_drop as drop

    count = asyncio.run(drop(_settings(), _chosen(args)))
    echo(f"Dropped {count} item(s) from quarantine.")
