"""``manage.py mpesa doctor``: the go-live check.

Eight checks, each one function returning a ``Check``: three talk to Daraja (credentials,
passkey, clock: ``daraja.py``), five read the settings (``callbacks.py``: callback URL and IP
allowlist; ``configuration.py``: shortcode, deployment, simulator). ``run_doctor`` runs them in
order; the command only prints. A check never raises: whatever it finds, it reports.
"""

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings

from payments.checks import LOOPBACK
from payments.daraja.client import DarajaClient
from payments.daraja.config import daraja_get_config

PASS, WARN, FAIL = "PASS", "WARN", "FAIL"
_RANK = {PASS: 0, WARN: 1, FAIL: 2}


@dataclass(frozen=True)
class Check:
    """One line of the doctor's report. ``fix`` is one sentence, empty when it passed."""

    name: str
    status: str
    found: str
    fix: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "check": self.name,
            "status": self.status,
            "found": self.found,
            "fix": self.fix or None,
            "details": self.details,
        }


@dataclass(frozen=True)
class Issue:
    status: str
    text: str
    fix: str


def verdict(name: str, found: str, issues: list[Issue], **details: Any) -> Check:
    """PASS when nothing was found; otherwise the worst status, and every issue in ``found``
    and its fix in ``fix`` (worst first, each fix once)."""
    if not issues:
        return Check(name, PASS, found, details=details)
    issues = sorted(issues, key=lambda issue: -_RANK[issue.status])
    fixes = " ".join(dict.fromkeys(issue.fix for issue in issues))
    text = "; ".join(issue.text for issue in issues)
    return Check(name, issues[0].status, f"{found}: {text}", fixes, details)


def is_simulator_url(url: str) -> bool:
    """The bundled simulator, as the system checks see it (payments.E001)."""
    parts = urlsplit(url)
    return "/simulator" in parts.path or (parts.hostname or "") in LOOPBACK


def environment(url: str) -> str:
    """Which Daraja ``url`` is: production, sandbox, the simulator, or another host."""
    host = urlsplit(url).hostname or ""
    for name, known in settings.DARAJA_HOSTS.items():
        if host == urlsplit(known).hostname:
            return name
    return "the simulator" if is_simulator_url(url) else "not a Safaricom host"


async def run_doctor() -> list[Check]:
    """Every check, in the order of the report. One OAuth request (two when production refuses
    the keys: the sandbox is asked whether they are its keys) and one STK Query."""
    from . import callbacks, configuration, daraja

    # The settings as they are now (the client's cached config may predate them).
    client = DarajaClient(daraja_get_config.__wrapped__())
    credentials = await daraja.check_credentials(client)
    return [
        credentials,
        configuration.check_shortcode(client.config),
        await daraja.check_passkey(client, credentials),
        callbacks.check_callback_url(),
        callbacks.check_ip_allowlist(),
        daraja.check_clock(client),
        configuration.check_deployment(),
        configuration.check_simulator(),
    ]


def summary(checks: list[Check]) -> dict[str, Any]:
    counts = {status.lower(): sum(c.status == status for c in checks) for status in (PASS, WARN, FAIL)}
    return {"summary": counts, "ok": counts["fail"] == 0}


__all__ = [
    "FAIL",
    "PASS",
    "WARN",
    "Check",
    "Issue",
    "environment",
    "is_simulator_url",
    "run_doctor",
    "summary",
    "verdict",
]
