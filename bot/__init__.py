"""Patron Desk: route patrons' public mentions of the library to the staff member on duty."""

import sys

__version__ = "0.1.0"

# httpx imports its command-line client (``httpx._main``) when click, rich and pygments are
# installed (typer brings rich): about 4.5 MiB held for the life of the process, for a tool the bot
# never runs. httpx itself treats that import as optional (it catches the ImportError), and a None
# in sys.modules is Python's documented way to make an import fail.
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
