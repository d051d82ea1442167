"""The client's address, honouring only the proxies we were told to trust."""

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def _valid(ip: str) -> str | None:
    try:
        return str(ipaddress.ip_address(ip.strip()))
    except ValueError:
        return None


def client_ip(request: HttpRequest) -> str | None:
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
