"""Where a feed may redirect to: never from a public feed into loopback, private or link-local networks."""

from __future__ import annotations

import asyncio
import ipaddress
from urllib.parse import urlsplit


def internal_address(address: str) -> bool:
    """Loopback, private, link-local, unspecified or reserved: not a public web host."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback or ip.is_private or ip.is_link_local or ip.is_unspecified or ip.is_reserved


async def is_internal(url: str) -> bool:
    """Whether ``url``'s host is, or resolves to, an internal address (unresolvable: not internal,
    the request itself will fail)."""
    host = (urlsplit(url).hostname or "").rstrip(".").lower()
    if not host or host == "localhost" or host.endswith(".localhost") or internal_address(host):
        return True
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, None)
    except OSError:
        return False
    return any(internal_address(str(info[4][0])) for info in infos)
