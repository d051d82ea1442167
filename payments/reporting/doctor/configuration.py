"""The doctor's checks that read the settings: shortcode/PartyB, deployment shape, simulator.
daraja-reference.md is cited as §n."""

import re

from django.conf import settings

from mpesa_plumbing.layers import is_in_process
from payments.daraja.config import DarajaConfig

from . import FAIL, PASS, WARN, Check, Issue, environment, is_simulator_url, verdict

PAYBILL, BUY_GOODS = "CustomerPayBillOnline", "CustomerBuyGoodsOnline"
SHORTCODE = re.compile(r"^\d{5,7}$")  # §3.1: 5-7 digits


def check_shortcode(config: DarajaConfig) -> Check:
    """2. BusinessShortCode, TransactionType and PartyB agree (§3.1): a paybill is its own PartyB;
    a till (Buy Goods) has the store number as BusinessShortCode and the till as PartyB."""
    code, kind, party_b = config.shortcode, config.transaction_type, config.party_b
    found = f"{kind} shortcode {code}, PartyB {party_b}"
    issues = []
    if not SHORTCODE.match(code):
        issues.append(
            Issue(
                FAIL,
                f"shortcode {code!r} is not 5-7 digits",
                "Set DARAJA_SHORTCODE to your shortcode's digits.",
            )
        )
    if kind == PAYBILL and party_b != code:
        issues.append(
            Issue(
                FAIL,
                "a paybill's PartyB must be the shortcode itself",
                "Unset DARAJA_PARTY_B (it defaults to the shortcode), or for a till set "
                "DARAJA_TRANSACTION_TYPE=CustomerBuyGoodsOnline.",
            )
        )
    elif kind == BUY_GOODS and party_b == code:
        issues.append(
            Issue(
                FAIL,
                "Buy Goods needs the till number in DARAJA_PARTY_B, not the store number again",
                "Set DARAJA_PARTY_B to the till number customers pay; DARAJA_SHORTCODE stays the "
                "store (head office) number used at Go-Live (§3.1, §9.16).",
            )
        )
    elif kind == BUY_GOODS and not SHORTCODE.match(party_b):
        issues.append(
            Issue(
                FAIL, f"till {party_b!r} is not 5-7 digits", "Set DARAJA_PARTY_B to the till number's digits."
            )
        )
    elif kind not in (PAYBILL, BUY_GOODS):
        issues.append(
            Issue(
                FAIL,
                f"unknown TransactionType {kind!r}",
                "Set DARAJA_TRANSACTION_TYPE to CustomerPayBillOnline (paybill) or "
                "CustomerBuyGoodsOnline (till), spelled exactly so.",
            )
        )
    sandbox_code = code == settings.SANDBOX_SHORTCODE
    if sandbox_code and environment(config.base_url) == "production":
        issues.append(
            Issue(
                FAIL,
                "174379 is the sandbox's shortcode",
                "Set DARAJA_SHORTCODE to your own shortcode from Go-Live.",
            )
        )
    elif sandbox_code and kind == BUY_GOODS:
        issues.append(
            Issue(
                FAIL,
                "174379 is a paybill: Buy Goods is refused with Invalid TransactionType",
                "Use CustomerPayBillOnline with 174379 (the sandbox has no till for it).",
            )
        )
    return verdict("shortcode", found, issues)


def _short(dotted: str) -> str:
    return dotted.rsplit(".", 1)[-1]


def check_deployment() -> Check:
    """7. Several processes (production, or jobs in a worker) need a shared cache (one OAuth
    token, one set of rate limits), PostgreSQL and the Redis channel layer."""
    cache = settings.CACHES.get("default", {}).get("BACKEND", "")
    engine = settings.DATABASES.get("default", {}).get("ENGINE", "")
    layer = settings.CHANNEL_LAYERS.get("default", {}).get("BACKEND", "")
    found = f"cache {_short(cache)}, database {_short(engine)}, channel layer {_short(layer)}"
    production, worker = not settings.DEBUG, not settings.PAYMENTS_RUN_JOBS_IN_PROCESS
    if not (production or worker):
        return Check("deployment", PASS, f"{found}; one process (development)")
    why = "production" if production else "PAYMENTS_RUN_JOBS_IN_PROCESS=false"
    found = f"{found}; several processes ({why})"
    redis_fix = "Set REDIS_URL=redis://…: the channel layer and the cache both use it."
    issues = []
    if is_in_process(layer):
        issues.append(
            Issue(
                FAIL,
                "the in-memory layer: a status sent from one process never reaches a page held by another",
                redis_fix,
            )
        )
    if _short(cache) in ("LocMemCache", "DummyCache"):
        issues.append(
            Issue(
                FAIL if production else WARN,
                "a per-process cache: each process fetches its own OAuth token (a new one may "
                "revoke the others', §2.4) and counts its own rate limits",
                redis_fix,
            )
        )
    elif _short(cache) == "FileBasedCache":
        issues.append(Issue(WARN, "a file cache is shared on one host only", redis_fix))
    if engine.endswith("sqlite3"):
        issues.append(
            Issue(
                WARN,
                "SQLite: one writer at a time for every process",
                "Set DATABASE_URL=postgres://user:pass@host:5432/db (PostgreSQL).",
            )
        )
    elif not engine.endswith("postgresql"):
        issues.append(
            Issue(WARN, f"{_short(engine)} is untested here", "Use PostgreSQL (DATABASE_URL=postgres://…).")
        )
    return verdict("deployment", found, issues)


def check_simulator() -> Check:
    """8. The simulator is off in production and DARAJA_BASE_URL is not it."""
    base, enabled = settings.DARAJA_BASE_URL, settings.SIMULATOR_ENABLED
    found = f"SIMULATOR_ENABLED {str(enabled).lower()}, DARAJA_BASE_URL {base} ({environment(base)})"
    if settings.DEBUG:
        return Check("simulator", PASS, f"{found}; development profile")
    issues = []
    if enabled:
        issues.append(
            Issue(
                FAIL,
                "the simulator is mounted at /simulator/ in production",
                "Unset SIMULATOR_ENABLED (off by default in production).",
            )
        )
    if is_simulator_url(base):
        issues.append(
            Issue(
                FAIL,
                "DARAJA_BASE_URL points at the simulator",
                "Set DARAJA_BASE_URL=production (or sandbox while testing).",
            )
        )
    elif environment(base) == "sandbox":
        issues.append(
            Issue(
                WARN,
                "the production profile talks to Safaricom's sandbox: no money moves",
                "Set DARAJA_BASE_URL=production after Go-Live.",
            )
        )
    return verdict("simulator", found, issues)
