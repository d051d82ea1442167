"""The client's address, honouring only the proxies we were told to trust; IP allowlists."""

import ipaddress
from collections.abc import Iterable
from typing import TYPE_CHECKING

from django.conf import settings

if TYPE_CHECKING:  # settings import this module: keep django.http out of its import
    from django.http import HttpRequest

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _valid(ip: str) -> str | None:
    try:
        return str(ipaddress.ip_address(ip.strip()))
    except ValueError:
        return None


def client_ip(request: "HttpRequest") -> str | None:
    """The address of the client of a Django request (see ``client_ip_from``)."""
    return client_ip_from(request.META.get("REMOTE_ADDR", ""), request.META.get("HTTP_X_FORWARDED_FOR", ""))


def client_ip_from(remote_addr: str, forwarded_for: str) -> str | None:
    """REMOTE_ADDR, or with TRUSTED_PROXY_COUNT = N the N-th address from the right of
    X-Forwarded-For (the one our outermost trusted proxy saw). Entries further left are
    client-controlled and never used; with N = 0 the header is ignored entirely."""
    remote = _valid(remote_addr or "")
    count = settings.TRUSTED_PROXY_COUNT
    if count <= 0:
        return remote
    hops = [h for h in forwarded_for.split(",") if h.strip()]
    if len(hops) < count:
        return remote
    return _valid(hops[-count]) or remote


def parse_networks(entries: Iterable[str]) -> tuple[Network, ...]:
    """Addresses or CIDR ranges (``196.201.214.200``, ``196.201.212.0/24``, ``::1``) as
    networks. Raises ValueError naming the first entry that is neither (settings call this at
    start-up, so a typo stops the process instead of silently refusing every callback)."""
    networks = []
    for entry in entries:
        text = entry.strip()
        if not text:
            continue
        try:
            networks.append(ipaddress.ip_network(text, strict=False))
        except ValueError:
            raise ValueError(f"not an IP address or CIDR range: {text!r}") from None
    return tuple(networks)


def ip_in(ip: str | None, networks: Iterable[Network]) -> bool:
    """Is ``ip`` inside one of ``networks``? False for a missing or unparsable address."""
    if not ip:
        return False
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return any(address in network for network in networks)
