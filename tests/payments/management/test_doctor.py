"""``manage.py mpesa doctor`` against the simulator, one misconfiguration at a time.

The simulator runs in a real Daphne (tests/helpers/live.py) with the shop's credentials; the
doctor runs in this process with the settings under test, so the two sides disagree the way a
misconfigured deployment and Daraja do. Between them sits a stand-in for Safaricom's gateway
in its own process (gateway.py): it adds the ``Date`` header Daraja's answers carry (Daphne
sends none), from a clock time-machine does not move. Production shapes reach it as
``https://api.safaricom.co.ke`` through the Daraja client's transport hook. Two tests run the
command as an operator does, as a process.
"""

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connections

from payments.daraja import client as client_module
from tests.helpers.fake_daraja import FakeDaraja
from tests.helpers.live import App
from tests.helpers.procs import ROOT, free_port, wait_until
from tests.helpers.topology import Process

from .doctor_support import Route, assert_only, doctor, listening

pytestmark = pytest.mark.slow

KEY, SECRET = "doctor-consumer-key", "doctor-consumer-secret"
SHORTCODE, PASSKEY = "600100", "doctor-passkey-" + "7" * 49
SHOP = {
    "DARAJA_CONSUMER_KEY": KEY,
    "DARAJA_CONSUMER_SECRET": SECRET,
    "DARAJA_SHORTCODE": SHORTCODE,
    "DARAJA_PASSKEY": PASSKEY,
}
CHECKS = [
    "credentials",
    "shortcode",
    "passkey",
    "callback-url",
    "ip-allowlist",
    "clock",
    "deployment",
    "simulator",
]
PRODUCTION_HOST = "api.safaricom.co.ke"


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    app = App(tmp_path_factory.mktemp("doctor"), **SHOP)
    app.server.start()
    yield app
    app.server.stop()


@pytest.fixture(scope="module")
def gateway(app, tmp_path_factory):
    port = free_port()
    process = Process(
        [
            sys.executable,
            "-m",
            "tests.payments.management.gateway",
            "--port",
            str(port),
            "--upstream",
            app.url + "/simulator",
        ],
        log_path=tmp_path_factory.mktemp("gateway") / "gateway.log",
    ).start()
    wait_until(lambda: listening(port), timeout=10, message="the gateway")
    yield f"http://127.0.0.1:{port}"
    process.stop()


@pytest.fixture
def dev(settings, gateway):
    """Development profile, this process configured like the simulator's server."""
    settings.DEBUG = True  # the test runner turns it off
    for name, value in SHOP.items():
        setattr(settings, name, value)
    settings.DARAJA_PARTY_B = SHORTCODE
    settings.DARAJA_BASE_URL = gateway
    settings.PAYMENTS_RUN_JOBS_IN_PROCESS = True  # one process, as `make run` (tests.settings: False)
    return settings


@pytest.fixture
def production(dev, gateway, monkeypatch, redis):
    """The production shape that passes every check: Safaricom's production host (routed to the
    gateway), public https callbacks behind one TLS proxy, Redis, PostgreSQL (by name only: the
    doctor reads the settings, this process keeps its SQLite connection)."""
    settings = dev
    monkeypatch.setattr(client_module, "transport_override", Route({PRODUCTION_HOST: gateway}))
    connections.settings  # noqa: B018 (read the real DATABASES before the override below)
    settings.DEBUG = False
    settings.SIMULATOR_ENABLED = False
    settings.DARAJA_BASE_URL = f"https://{PRODUCTION_HOST}"
    settings.DARAJA_CALLBACK_BASE_URL = "https://shop.example.co.ke"
    settings.DARAJA_CALLBACK_IP_MODE = "log"
    settings.TRUSTED_PROXY_COUNT = 1
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.PAYMENTS_RUN_JOBS_IN_PROCESS = False
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": redis.url}
    }
    settings.CHANNEL_LAYERS = {
        "default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": [redis.url]}}
    }
    default = settings.DATABASES["default"]
    settings.DATABASES = {"default": {**default, "ENGINE": "django.db.backends.postgresql"}}
    return settings


# --- the all-pass case and the output ------------------------------------------------------
@pytest.mark.redis
@pytest.mark.filterwarnings("ignore:Overriding setting DATABASES")
def test_a_production_shape_that_passes_everything(production):
    report = doctor()
    assert [r.get("check") for r in report.records] == [*CHECKS, None]
    assert {r["status"] for r in report.records[:-1]} == {"PASS"}, [
        r for r in report.records if r.get("status") != "PASS"
    ]
    for record in report.records[:-1]:
        assert set(record) == {"check", "status", "found", "fix", "details"} and record["fix"] is None
    assert report.records[-1] == {"summary": {"pass": 8, "warn": 0, "fail": 0}, "ok": True}
    assert report.exit_status == 0
    assert report["credentials"]["details"] == {
        "base_url": f"https://{PRODUCTION_HOST}",
        "environment": "production",
    }
    assert abs(report["clock"]["details"]["skew_seconds"]) < 2
    assert "Daraja: The transaction does not Exist" in report["passkey"]["found"]

    text, exit_status = doctor(human=True)
    lines = text.splitlines()
    assert exit_status == 0 and len(lines) == 9 and lines[-1] == "8 checks: 8 passed, 0 warned, 0 failed."
    assert [line.split()[:2] for line in lines[:-1]] == [["PASS", name] for name in CHECKS]


# --- 1. credentials ----------------------------------------------------------------------
def test_wrong_consumer_secret_is_refused(dev):
    dev.DARAJA_CONSUMER_SECRET = "not-the-secret"
    report = doctor()
    found = assert_only(report, "credentials", passing=("shortcode", "deployment"))
    assert "refused the consumer key/secret (HTTP 400, empty body)" in found["found"]
    assert dev.DARAJA_BASE_URL in found["found"] and "the simulator" in found["fix"]
    assert report.status("passkey") == "WARN" and "not checked" in report["passkey"]["found"]
    counted = {
        s.lower(): sum(r["status"] == s for r in report.checks.values()) for s in ("PASS", "WARN", "FAIL")
    }
    assert report.records[-1] == {"summary": counted, "ok": False} and counted["fail"] == 1


@pytest.mark.redis
@pytest.mark.filterwarnings("ignore:Overriding setting DATABASES")
def test_sandbox_keys_against_production_are_named(production, gateway, monkeypatch, httpserver):
    FakeDaraja(httpserver).oauth()  # the sandbox: accepts these keys
    sandbox = httpserver.url_for("").rstrip("/")
    monkeypatch.setattr(
        client_module,
        "transport_override",
        Route({PRODUCTION_HOST: gateway, "sandbox.safaricom.co.ke": sandbox}),
    )
    production.DARAJA_CONSUMER_KEY, production.DARAJA_CONSUMER_SECRET = "sandbox-key", "sandbox-secret"
    found = assert_only(doctor(), "credentials", passing=("shortcode", "callback-url", "deployment"))
    assert "the sandbox accepts them: sandbox keys against production" in found["found"]
    assert "production app" in found["fix"]


def test_unreachable_daraja_is_not_a_refusal(dev):
    dev.DARAJA_BASE_URL = f"http://127.0.0.1:{free_port()}"
    found = assert_only(doctor(), "credentials")
    assert "unreachable" in found["found"] and "refused" not in found["found"]


# --- 2. shortcode, transaction type, PartyB ----------------------------------------------
@pytest.mark.parametrize(
    ("kind", "party_b", "status", "words"),
    [
        ("CustomerBuyGoodsOnline", SHORTCODE, "FAIL", "till number"),
        ("CustomerPayBillOnline", "5123456", "FAIL", "PartyB must be the shortcode"),
        ("CustomerPayBillonline", SHORTCODE, "FAIL", "unknown TransactionType"),
        ("CustomerBuyGoodsOnline", "5123456", "PASS", "PartyB 5123456"),
    ],
)
def test_shortcode_transaction_type_and_party_b_agree(dev, kind, party_b, status, words):
    dev.DARAJA_TRANSACTION_TYPE, dev.DARAJA_PARTY_B = kind, party_b
    report = doctor()
    assert report.status("shortcode") == status and words in report["shortcode"]["found"]
    assert report.exit_status == (1 if status == "FAIL" else 0)
    assert report.status("passkey") == "PASS"  # the query carries no PartyB


# --- 3. passkey --------------------------------------------------------------------------
def test_wrong_passkey_is_wrong_credentials(dev):
    dev.DARAJA_PASSKEY = "not-the-passkey"
    found = assert_only(doctor(), "passkey", passing=("credentials", "shortcode"))
    assert found["found"] == f"STK Query for shortcode {SHORTCODE}: 500.001.1001 Wrong credentials"
    assert "DARAJA_PASSKEY" in found["fix"]


def test_unknown_shortcode_is_merchant_does_not_exist(dev):
    dev.DARAJA_SHORTCODE = dev.DARAJA_PARTY_B = "600999"
    found = assert_only(doctor(), "passkey", passing=("credentials", "shortcode"))
    assert found["found"].endswith("500.001.1001 Merchant does not exist")
    assert "DARAJA_SHORTCODE" in found["fix"] and "DARAJA_PASSKEY" not in found["fix"]


# --- 4. callback URL ---------------------------------------------------------------------
@pytest.mark.redis
@pytest.mark.filterwarnings("ignore:Overriding setting DATABASES")
@pytest.mark.parametrize(
    ("url", "status", "words"),
    [
        ("http://localhost:8000", "FAIL", "http, not https"),
        ("https://localhost", "FAIL", "localhost is a local name"),
        ("http://127.0.0.1:8000", "FAIL", "127.0.0.1 is a loopback address"),
        ("https://10.1.2.3", "FAIL", "10.1.2.3 is a private address"),
        ("https://169.254.169.254", "FAIL", "is a link-local address"),
        ("https://[::1]", "FAIL", "::1 is a loopback address"),
        ("https://0.0.0.0:8000", "FAIL", "0.0.0.0 is an unspecified address"),
        ("https://shop", "FAIL", "shop is not a public DNS name"),
        (":8000", "FAIL", "not an http(s) URL with a host"),
        ("https://shop.example.co.ke/pay <here>", "FAIL", "spaces, placeholders"),
        ("https://shop.example.co.ke:8443", "WARN", "port 8443"),
        ("https://abc123.ngrok-free.app", "WARN", "public URL tester"),
        ("https://Shop.example.co.ke", "WARN", "upper-case letters in the host"),
    ],
)
def test_callback_url_must_be_public_https_in_production(production, url, status, words):
    production.DARAJA_CALLBACK_BASE_URL = url
    found = assert_only(doctor(), "callback-url", status, passing=("credentials", "passkey", "deployment"))
    assert words in found["found"], found


@pytest.mark.parametrize(
    ("url", "where"),
    [
        ("https://shop.example.co.ke/mpesa", "in the path segment 'mpesa'"),
        ("https://mpesa-shop.example.co.ke", "in the host 'mpesa-shop.example.co.ke'"),
        ("https://shop.example.co.ke/api/query-results", "in the path segment 'query-results'"),
    ],
)
def test_forbidden_words_in_the_callback_url_fail_even_in_development(dev, url, where):
    dev.DARAJA_CALLBACK_BASE_URL = url
    found = assert_only(doctor(), "callback-url")
    assert "forbidden word(s)" in found["found"] and where in found["found"]


def test_a_loopback_http_callback_is_only_a_warning_in_development(dev):
    dev.DARAJA_CALLBACK_BASE_URL = "http://127.0.0.1:8000"
    report = doctor()
    found = assert_only(report, "callback-url", "WARN", passing=("credentials", "passkey", "deployment"))
    assert "http, not https" in found["found"] and "before going live" in found["fix"]
    assert report.exit_status == 0


# --- 5. IP allowlist and proxies ---------------------------------------------------------
@pytest.mark.redis
@pytest.mark.filterwarnings("ignore:Overriding setting DATABASES")
@pytest.mark.parametrize(
    ("overrides", "status", "words"),
    [
        ({"DARAJA_CALLBACK_IP_MODE": "enforce", "TRUSTED_PROXY_COUNT": 0}, "FAIL", "gets 403"),
        ({"DARAJA_CALLBACK_IP_MODE": "log", "TRUSTED_PROXY_COUNT": 0}, "WARN", "logged as not allowlisted"),
        ({"DARAJA_CALLBACK_IP_MODE": "off"}, "WARN", "off in production"),
        ({"SECURE_PROXY_SSL_HEADER": None}, "WARN", "a caller can claim an allowlisted address"),
        ({"DARAJA_CALLBACK_IPS": ["196.201.214.200", "196.201.214.2OO"]}, "FAIL", "'196.201.214.2OO'"),
        (
            {"DARAJA_CALLBACK_IP_MODE": "enforce", "DARAJA_CALLBACK_IPS": ["196.201.214.200"]},
            "WARN",
            "misses",
        ),
        ({"DARAJA_CALLBACK_IP_MODE": "enforce", "DARAJA_CALLBACK_IPS": []}, "FAIL", "refuses every callback"),
    ],
)
def test_ip_mode_proxies_and_allowlist_make_sense_together(production, overrides, status, words):
    for name, value in overrides.items():
        setattr(production, name, value)
    found = assert_only(doctor(), "ip-allowlist", status, passing=("credentials", "callback-url"))
    assert words in found["found"], found


# --- 6. clock ------------------------------------------------------------------------------
@pytest.mark.parametrize(("seconds", "status"), [(60, "FAIL"), (-12, "WARN")])
def test_a_skewed_clock_is_measured_against_darajas_date_header(dev, time_machine, seconds, status):
    time_machine.move_to(datetime.now(UTC) + timedelta(seconds=seconds), tick=True)
    found = assert_only(doctor(), "clock", status, passing=("credentials", "passkey"))
    assert abs(found["details"]["skew_seconds"] - seconds) < 2
    assert ("ahead of" if seconds > 0 else "behind") in found["found"] and "NTP" in found["fix"]


def test_an_answer_without_a_date_header_is_not_compared(dev, app):
    dev.DARAJA_BASE_URL = app.url + "/simulator"  # Daphne itself: no Date header
    found = assert_only(doctor(), "clock", "WARN", passing=("credentials", "passkey"))
    assert found["found"].startswith("no Date header in Daraja's answer")
    assert "Africa/Nairobi, UTC+0300" in found["found"] and found["details"] == {"skew_seconds": None}


# --- 7. deployment shape -----------------------------------------------------------------
def test_production_with_the_single_process_defaults_fails(dev):
    dev.DEBUG = False
    found = assert_only(doctor(), "deployment", passing=("credentials", "passkey"))
    assert found["found"].startswith("cache LocMemCache, database sqlite3, channel layer LocalChannelLayer")
    assert "REDIS_URL" in found["fix"] and "PostgreSQL" in found["fix"]


@pytest.mark.redis
@pytest.mark.filterwarnings("ignore:Overriding setting DATABASES")
def test_production_on_sqlite_with_redis_is_a_warning(production):
    production.DATABASES = connections.settings  # the real (SQLite) database
    found = assert_only(doctor(), "deployment", "WARN", passing=("credentials", "passkey"))
    assert "SQLite: one writer at a time" in found["found"] and "postgres://" in found["fix"]


def test_a_separate_worker_needs_redis_even_in_development(dev):
    dev.PAYMENTS_RUN_JOBS_IN_PROCESS = False
    found = assert_only(doctor(), "deployment")
    assert "PAYMENTS_RUN_JOBS_IN_PROCESS=false" in found["found"] and "in-memory layer" in found["found"]


# --- 8. simulator ----------------------------------------------------------------------------
@pytest.mark.redis
@pytest.mark.filterwarnings("ignore:Overriding setting DATABASES")
def test_the_simulator_in_production_fails(production, gateway):
    production.SIMULATOR_ENABLED = True
    production.DARAJA_BASE_URL = gateway
    found = assert_only(doctor(), "simulator", passing=("credentials", "passkey", "deployment"))
    assert "mounted at /simulator/" in found["found"] and "points at the simulator" in found["found"]


@pytest.mark.redis
@pytest.mark.filterwarnings("ignore:Overriding setting DATABASES")
def test_the_sandbox_in_production_is_a_warning(production, gateway, monkeypatch):
    monkeypatch.setattr(client_module, "transport_override", Route({"sandbox.safaricom.co.ke": gateway}))
    production.DARAJA_BASE_URL = "https://sandbox.safaricom.co.ke"
    found = assert_only(doctor(), "simulator", "WARN", passing=("credentials", "passkey"))
    assert "no money moves" in found["found"]


# --- the command as a process -----------------------------------------------------------------
def _run(app: App, *args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "mpesa", *args],
        cwd=ROOT,
        env={**app.env, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_command_in_development_prints_a_line_per_check(app):
    done = _run(app, "doctor")  # `make run`'s settings: the simulator, loopback callbacks
    lines = done.stdout.splitlines()
    assert done.returncode == 0, done.stderr
    statuses = [line.split()[:2] for line in lines if not line.startswith(" ")][:-1]
    assert [name for _, name in statuses] == CHECKS
    assert dict((name, status) for status, name in statuses)["callback-url"] == "WARN"
    assert {status for status, _ in statuses} <= {"PASS", "WARN"}
    fixes = [line for line in lines if line.startswith(" ")]
    assert len(fixes) == sum(status != "PASS" for status, _ in statuses)
    assert all(line.lstrip().startswith("fix: ") for line in fixes)


def test_the_simulator_enabled_in_production_exits_1_despite_the_system_checks(app):
    production = {
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": "doctor-" + "s" * 50,
        "DJANGO_ALLOWED_HOSTS": "shop.example.co.ke",
        "DARAJA_BASE_URL": app.url + "/simulator",
        "DARAJA_CALLBACK_BASE_URL": "https://shop.example.co.ke",
        "PAYMENTS_CALLBACK_SECRET": "doctor-callback-secret",
        "SIMULATOR_ENABLED": "true",
    }
    done = _run(app, "--json", "doctor", **production)
    records = [json.loads(line) for line in done.stdout.splitlines()]
    assert done.returncode == 1, done.stderr
    assert [r.get("check") for r in records] == [*CHECKS, None]
    checks = {r["check"]: r for r in records[:-1]}
    assert checks["simulator"]["status"] == "FAIL" and checks["credentials"]["status"] == "PASS"
    assert records[-1]["ok"] is False and records[-1]["summary"]["fail"] >= 2  # simulator, deployment
    assert "CommandError: doctor:" in done.stderr and "simulator" in done.stderr
    # the system checks refuse every other action with these settings
    refused = _run(app, "status", "00000000-0000-0000-0000-000000000000", **production)
    assert refused.returncode == 1 and "payments.E006" in refused.stderr
