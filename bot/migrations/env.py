"""Alembic environment: uses the connection the bot hands over, or alembic.ini's URL for developers."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, make_url

from bot.store.engine import private_sqlite_file
from bot.store.schema import metadata

target_metadata = metadata


def run() -> None:
    """Run migrations on the given connection (bot start) or on a fresh sync engine (CLI)."""
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _migrate(connection)
        return
    url = context.config.get_main_option("sqlalchemy.url") or "sqlite:///./patron-desk.db"
    if url.startswith("sqlite"):
        private_sqlite_file(make_url(url).database)
    # hide_parameters: a failed statement must not print row values (patron text) in its error
    with create_engine(url, hide_parameters=True).connect() as conn:
        _migrate(conn)
        conn.commit()


def _migrate(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=target_metadata,
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run()
