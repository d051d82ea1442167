"""The doctor's checks of the callback side: the callback base URL Daraja is given, and the
IP allowlist with the proxies in front of the callback door. daraja-reference.md is cited as §n."""

import ipaddress
import re
import uuid
from urllib.parse import urlsplit

from django.conf import settings

from mpesa_plumbing.client_ip import ip_in, parse_networks
from payments.checkout.callback_url import callback_url, forbidden_words_in

from . import FAIL, WARN, Check, Issue, is_simulator_url, verdict

_URL_BAD_CHARS = re.compile(r"[\s<>{}\"|\\^`]")  # §9.5: spaces and placeholders are refused
LOCAL_SUFFIXES = (".localhost", ".local", ".internal", ".lan", ".home.arpa", ".test", ".example", ".invalid")
URL_TESTERS = ("ngrok", "mockbin", "requestbin")  # "usually blocked by the API" (§14.2)
SEEN_CALLBACK_IPS = ("196.201.212.69", "196.201.212.138")  # real callbacks came from these (§6.1)


def _host_problem(host: str) -> str:
    """Why Daraja (on the internet) cannot reach ``host``, or "" (no DNS lookup: names are
    judged by their shape only)."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        if host == "localhost" or host.endswith(LOCAL_SUFFIXES):
            return f"{host} is a local name"
        return "" if "." in host else f"{host} is not a public DNS name"
    for what in ("loopback", "link_local", "unspecified", "multicast", "reserved", "private"):
        if getattr(address, f"is_{what}"):
            article = "an" if what == "unspecified" else "a"
            return f"{host} is {article} {what.replace('_', '-')} address"
    return "" if address.is_global else f"{host} is not a public address"


def check_callback_url() -> Check:
    """4. DARAJA_CALLBACK_BASE_URL is a public https origin Daraja accepts (§8, §9.5, §9.6)."""
    base, production = settings.DARAJA_CALLBACK_BASE_URL, not settings.DEBUG
    sample = callback_url(uuid.uuid4())
    found = f"{base} (callbacks to {base}/payments/callbacks/<id>/<token>/)"
    local = FAIL if production else WARN
    go_live = "Set DARAJA_CALLBACK_BASE_URL to your public https origin (e.g. https://shop.example.co.ke)" + (
        ": Daraja must reach it from the internet." if production else " before going live."
    )
    try:
        parts = urlsplit(base)
        port = parts.port
    except ValueError:
        return Check("callback-url", FAIL, f"{base!r} is not a URL", go_live)
    host = parts.hostname or ""
    issues = []
    if parts.scheme not in ("http", "https") or not host:
        issues.append(Issue(FAIL, "not an http(s) URL with a host", go_live))
    if _URL_BAD_CHARS.search(base) or parts.username is not None:
        issues.append(Issue(FAIL, "spaces, placeholders or user info (Invalid CallBackURL)", go_live))
    if parts.query or parts.fragment:
        issues.append(Issue(FAIL, "a query or fragment: the callback path would land inside it", go_live))
    if parts.scheme == "http":
        issues.append(Issue(local, "http, not https (production callbacks must be https, §8)", go_live))
    if host and (problem := _host_problem(host)):
        issues.append(Issue(local, f"{problem}: Daraja cannot reach it", go_live))
    if words := forbidden_words_in(sample):
        where = [f"the host {host!r}"] if forbidden_words_in(host) else []
        where += [f"the path segment {seg!r}" for seg in parts.path.split("/") if forbidden_words_in(seg)]
        issues.append(
            Issue(
                FAIL,
                f"Daraja's forbidden word(s) {', '.join(words)} in {' and '.join(where) or 'the URL'}",
                "Use a host and path without M-PESA, mpesa, Safaricom, exe, exec, cmd, sql or query "
                "(any case, also inside words such as 'queryset', §9.6).",
            )
        )
    if production and port not in (None, 443):
        issues.append(
            Issue(
                WARN,
                f"port {port}: Daraja must reach it from the internet",
                "Serve callbacks on 443 behind your TLS proxy, or open that port to Safaricom.",
            )
        )
    if any(c.isupper() for c in parts.netloc.rsplit("@", 1)[-1]):
        issues.append(
            Issue(
                WARN,
                "upper-case letters in the host (one refused CallBackURL had them, §9.5)",
                "Write the host in lower case.",
            )
        )
    if production and any(tester in host for tester in URL_TESTERS):
        issues.append(
            Issue(
                WARN,
                f"{host} is a public URL tester, usually blocked in production (§14.2)",
                "Use your own domain for production callbacks.",
            )
        )
    return verdict("callback-url", found, issues)


def check_ip_allowlist() -> Check:
    """5. DARAJA_CALLBACK_IP_MODE, the allowlist, TRUSTED_PROXY_COUNT and DJANGO_BEHIND_TLS_PROXY
    make sense together (the callback door takes the client address from client_ip)."""
    mode, count = settings.DARAJA_CALLBACK_IP_MODE, settings.TRUSTED_PROXY_COUNT
    behind = settings.SECURE_PROXY_SSL_HEADER is not None
    production = not settings.DEBUG
    if mode not in ("off", "log", "enforce"):
        return Check(
            "ip-allowlist",
            FAIL,
            f"DARAJA_CALLBACK_IP_MODE {mode!r}",
            "Set DARAJA_CALLBACK_IP_MODE to off, log or enforce.",
        )
    try:
        networks = parse_networks(settings.DARAJA_CALLBACK_IPS)
    except ValueError as exc:
        return Check(
            "ip-allowlist",
            FAIL,
            f"DARAJA_CALLBACK_IPS: {exc}",
            "List addresses or CIDR ranges separated by commas (or unset it for Safaricom's list).",
        )
    found = (
        f"mode {mode}, {len(networks)} allowlisted network(s), TRUSTED_PROXY_COUNT {count}, "
        f"DJANGO_BEHIND_TLS_PROXY {str(behind).lower()}"
    )
    proxy_fix = (
        "Set TRUSTED_PROXY_COUNT to the number of proxies in front of Daphne (1 for the compose nginx)."
    )
    issues = []
    if mode == "off":
        if production:
            issues.append(
                Issue(
                    WARN,
                    "the allowlist is off in production",
                    "Set DARAJA_CALLBACK_IP_MODE=log, and enforce once real callbacks have come "
                    "from the listed addresses.",
                )
            )
        return verdict("ip-allowlist", found, issues)
    if count < 0:
        issues.append(Issue(WARN, "a negative TRUSTED_PROXY_COUNT counts as 0", proxy_fix))
    if behind and count <= 0:
        issues.append(
            Issue(
                FAIL if mode == "enforce" else WARN,
                "behind a TLS proxy with no trusted proxy: every callback comes from the proxy's address"
                + (" and gets 403" if mode == "enforce" else " and is logged as not allowlisted"),
                proxy_fix,
            )
        )
    if production and count > 0 and not behind:
        issues.append(
            Issue(
                WARN,
                f"X-Forwarded-For trusted ({count} proxy) without DJANGO_BEHIND_TLS_PROXY: if Daphne "
                "is reachable past the proxy, a caller can claim an allowlisted address",
                "Set DJANGO_BEHIND_TLS_PROXY=true when a TLS proxy fronts Daphne, or "
                "TRUSTED_PROXY_COUNT=0 when none does.",
            )
        )
    if mode == "enforce" and not networks:
        issues.append(
            Issue(
                FAIL,
                "enforce with an empty allowlist refuses every callback",
                "Unset DARAJA_CALLBACK_IPS for Safaricom's list.",
            )
        )
    if any(network.prefixlen == 0 for network in networks):
        issues.append(
            Issue(
                WARN,
                "the allowlist lets every address in",
                "Remove 0.0.0.0/0 and ::/0 from DARAJA_CALLBACK_IPS.",
            )
        )
    missing = [ip for ip in SEEN_CALLBACK_IPS if not ip_in(ip, networks)]
    if mode == "enforce" and missing:
        issues.append(
            Issue(
                WARN,
                f"misses {', '.join(missing)}, where real callbacks came from (§6.1)",
                "Add Safaricom's published addresses back to DARAJA_CALLBACK_IPS (or unset it).",
            )
        )
    if mode == "enforce" and is_simulator_url(settings.DARAJA_BASE_URL) and not ip_in("127.0.0.1", networks):
        issues.append(
            Issue(
                FAIL,
                "the simulator delivers from 127.0.0.1, which is not allowlisted: every "
                "simulated callback gets 403",
                "Use DARAJA_CALLBACK_IP_MODE=off or log with the simulator.",
            )
        )
    return verdict("ip-allowlist", found, issues)
