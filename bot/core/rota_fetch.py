"""Reading a calendar or hours document from a URL or a file: a time limit, a size cap, plain errors."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from bot.net.wire import tls

MAX_BYTES = 5_000_000
TIMEOUT = 20.0


class FetchError(Exception):
    """The document could not be read (the message says why, in plain words)."""


async def fetch(source: str, *, max_bytes: int = MAX_BYTES, seconds: float = TIMEOUT) -> bytes:
    """The bytes at an http(s)/webcal URL or in a file (a path or ``file://``).

    Raises:
        FetchError: unreachable, an HTTP error status, too big, or no such file.
    """
    if source.startswith("webcal://"):
        source = "https://" + source.removeprefix("webcal://")
    if source.startswith(("http://", "https://")):
        return await _http(source, max_bytes=max_bytes, seconds=seconds)
    path = Path(source.removeprefix("file://"))
    try:
        data = await asyncio.to_thread(_read, path, max_bytes)
    except OSError as exc:
        raise FetchError(f"cannot read {path}: {exc.strerror or type(exc).__name__}") from None
    return data


def _read(path: Path, max_bytes: int) -> bytes:
    with path.open("rb") as handle:
        data = handle.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise FetchError(f"{path} is larger than {max_bytes} bytes")
    return data


async def _http(url: str, *, max_bytes: int, seconds: float) -> bytes:
    try:
        async with (
            httpx.AsyncClient(
                timeout=seconds, follow_redirects=True, max_redirects=5, verify=tls()
            ) as client,
            client.stream("GET", url, headers={"Accept": "application/json, text/calendar, */*"}) as response,
        ):
            if response.status_code >= 400:
                raise FetchError(f"the server answered HTTP {response.status_code}")
            chunks, size = [], 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > max_bytes:
                    raise FetchError(f"the response is larger than {max_bytes} bytes")
                chunks.append(chunk)
            return b"".join(chunks)
    except httpx.HTTPError as exc:
        raise FetchError(f"cannot reach the server ({type(exc).__name__})") from None
