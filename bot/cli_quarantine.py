"""`patron-desk quarantine`: list, retry and drop the items a source delivered but could not store."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from bot.cli_app import _settings

quarantine_cli = typer.Typer(help="Items a source delivered that could not be stored.")


@quarantine_cli.command("list")
def quarantine_list() -> None:
    """Each set-aside item: id, source, external id, reason, attempts, when it arrived."""
    from bot.rota.timespec import staff_time
    from bot.runner import quarantine_list as listing

    settings = _settings()
    held = asyncio.run(listing(settings))
    if not held:
        typer.echo("Nothing is in quarantine.")
    for item in held:
        when = staff_time(item.received_at.astimezone(settings.zone))
        typer.echo(
            f"#{item.id}  {item.source}  {item.external_id}  {item.reason}  "
            f"attempts {item.attempts}  received {when}"
        )


def _chosen(ids: list[int] | None, every: bool) -> list[int] | None:
    if every == bool(ids):
        typer.echo("Give item ids (see `patron-desk quarantine list`) or --all.", err=True)
        raise typer.Exit(2)
    return None if every else list(ids or [])


QuarantineIds = Annotated[list[int] | None, typer.Argument(help="item ids from `quarantine list`")]
EveryItem = Annotated[bool, typer.Option("--all", help="every item in quarantine")]


@quarantine_cli.command("retry")
def quarantine_retry(ids: QuarantineIds = None, every: EveryItem = False) -> None:
    """Store items again; one that now stores becomes a mention (carded by the running bot)."""
    from bot.runner import quarantine_retry as retry

    results = asyncio.run(retry(_settings(), _chosen(ids, every)))
    words = {"stored": "stored as a mention", "held": "still cannot be stored", "missing": "no such item"}
    for row_id, outcome in results:
        typer.echo(f"#{row_id}: {words[outcome]}")
    raise typer.Exit(0 if all(outcome == "stored" for _, outcome in results) else 1)


@quarantine_cli.command("drop")
def quarantine_drop(ids: QuarantineIds = None, every: EveryItem = False) -> None:
    """Delete items for good."""
    from bot.runner import quarantine_drop as drop

    count = asyncio.run(drop(_settings(), _chosen(ids, every)))
    typer.echo(f"Dropped {count} item(s) from quarantine.")
