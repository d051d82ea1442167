"""Production profile: refuses to start without secrets; checks police dev conveniences
(S5, S21, S22, S23, F25); dependency floors (S24); one CSRF-exempt view (S16)."""

import subprocess
import sys
import warnings
from importlib.metadata import version

import pytest
from django.core.checks import run_checks
from django.urls import URLPattern, URLResolver, get_resolver
from packaging.version import Version

from tests.helpers.procs import ROOT

PROD_ENV = {
    "DJANGO_DEBUG": "false",
    "DJANGO_READ_DOT_ENV": "false",
    "DJANGO_SECRET_KEY": "k3y-" + "Zx9#Qw8!Lm7$Np6%" * 4,
    "DJANGO_ALLOWED_HOSTS": "shop.example.co.ke",
    "DARAJA_BASE_URL": "sandbox",
    "DARAJA_CONSUMER_KEY": "dummy-key",
    "DARAJA_CONSUMER_SECRET": "dummy-secret",
    "DARAJA_SHORTCODE": "600123",
    "DARAJA_PASSKEY": "dummy-passkey",
    "DARAJA_CALLBACK_BASE_URL": "https://shop.example.co.ke",
    "PAYMENTS_CALLBACK_SECRET": "dummy-callback-secret",
    "REDIS_URL": "redis://127.0.0.1:6399/0",
}


def run(args, env):
    base = {"PATH": "/usr/bin:/bin", "HOME": "/tmp", "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env={**base, **env}, capture_output=True, text=True, timeout=120
    )


def test_production_refuses_to_start_without_secrets():
    """S23: every missing secret is named, none is defaulted."""
    env = {k: v for k, v in PROD_ENV.items() if k not in ("DARAJA_CONSUMER_SECRET", "DARAJA_PASSKEY")}
    done = run(["manage.py", "check"], env)
    assert done.returncode != 0
    assert "ImproperlyConfigured" in done.stderr
    assert "DARAJA_CONSUMER_SECRET" in done.stderr and "DARAJA_PASSKEY" in done.stderr
    assert "DJANGO_SECRET_KEY" not in done.stderr.split("needs these environment variables:")[-1]


def test_check_deploy_is_clean_in_production_with_dummy_secrets():
    """S22."""
    done = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], PROD_ENV)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no issues" in done.stdout


def test_production_flags_the_simulator_and_memory_layer():
    env = {**PROD_ENV, "DARAJA_BASE_URL": "http://127.0.0.1:8000/simulator", "SIMULATOR_ENABLED": "true"}
    env.pop("REDIS_URL")
    done = run(["manage.py", "check"], env)
    assert done.returncode != 0
    for check_id in ("payments.E001", "payments.E002", "payments.E006"):
        assert check_id in done.stderr


def _ids(**overrides):
    from django.test import override_settings

    with override_settings(DEBUG=False, **overrides):
        return {message.id for message in run_checks() if message.id and message.id.startswith("payments.")}


def test_checks_in_process(settings):
    memory = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    redis = {"default": {"BACKEND": "channels_redis.core.RedisChannelLayer"}}
    assert "payments.E002" in _ids(CHANNEL_LAYERS=memory)  # F25
    local = {"default": {"BACKEND": "mpesa_plumbing.layers.LocalChannelLayer"}}
    assert "payments.E002" in _ids(CHANNEL_LAYERS=local)
    assert "payments.E003" in _ids(ALLOWED_HOSTS=["*"], CHANNEL_LAYERS=redis)  # S5
    assert "payments.E005" in _ids(DARAJA_CALLBACK_BASE_URL="http://shop.example")
    assert "payments.E006" in _ids(SIMULATOR_ENABLED=True)  # S21
    assert "payments.W001" in _ids(DARAJA_CALLBACK_IP_MODE="off")
    assert "payments.E004" in _ids(DARAJA_CALLBACK_BASE_URL="https://mpesa-shop.example")
    assert not {"payments.E003", "payments.E002"} & _ids(
        ALLOWED_HOSTS=["shop.example"], CHANNEL_LAYERS=redis, SIMULATOR_ENABLED=False
    )


@pytest.mark.parametrize(
    ("package", "floor"),
    [("django", "5.2.14"), ("daphne", "4.2.2"), ("channels", "4.3"), ("channels-redis", "4.3")],
)
def test_dependency_floors(package, floor):
    """S24."""
    assert Version(version(package)) >= Version(floor)


def _walk(patterns, namespace=""):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from _walk(entry.url_patterns, entry.namespace or namespace)
        elif isinstance(entry, URLPattern):
            yield namespace, entry


def test_only_the_json_api_skips_the_csrf_middleware(client):
    """S16. Daraja's callbacks have their own door ahead of Django (payments/http/callback.py).
    The JSON API skips the middleware only so token requests (no cookie) can be served; a
    session request is CSRF-checked by the view itself (payments/http/auth.py; tested in
    tests/payments/http/test_initiate.py::test_csrf_is_required). The simulator (a Daraja
    double, off in production) is outside the product."""
    exempt = sorted(
        (ns, p.name)
        for ns, p in _walk(get_resolver().url_patterns)
        if ns != "simulator" and getattr(p.callback, "csrf_exempt", False)
    )
    assert exempt == [
        ("payments", n) for n in ("history", "initiate", "not-found", "status", "stop", "ticket")
    ]
    path = "/payments/callbacks/" + "0" * 32 + "/" + "0" * 32 + "/"
    assert client.post(path).status_code == 404  # Django itself has nothing at that path


def test_env_example_documents_every_setting_and_runs_as_is(tmp_path):
    """Every knob read from the environment is listed in .env.example, and copying the file
    to .env gives a working development setup."""
    import re

    settings_src = (ROOT / "project" / "settings.py").read_text()
    settings_src += (ROOT / "simulator" / "env_settings.py").read_text()  # the SIMULATOR_* it reads
    read = set(re.findall(r'(?:env\.\w+|_require)\(\s*"([A-Z_]+)"', settings_src)) - {"DJANGO_READ_DOT_ENV"}
    example = (ROOT / ".env.example").read_text()
    documented = set(re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=", example, flags=re.M))
    assert read - documented == set()
    env_file = dict(
        line.split("=", 1)
        for line in example.splitlines()
        if line and not line.startswith("#") and "=" in line
    )
    code = "import django; django.setup(); from django.conf import settings; print(settings.DEBUG)"
    done = run(["-c", code], {**env_file, "DJANGO_SETTINGS_MODULE": "project.settings"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "True"


def test_an_old_secret_key_is_a_fallback_while_rotating():
    code = "import django; django.setup(); from django.conf import settings as s"
    code += "; print(s.SECRET_KEY_FALLBACKS)"
    env = {**PROD_ENV, "DJANGO_SECRET_KEY_FALLBACKS": "old-key-one,old-key-two"}
    done = run(["-c", code], {**env, "DJANGO_SETTINGS_MODULE": "project.settings"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "['old-key-one', 'old-key-two']"


@pytest.mark.parametrize(
    ("value", "expected"),
    [("", "700 10 10"), ("50000,20,100", "50000 20 100"), ("1000,5,5", "1000 5 5")],
)
def test_server_processes_apply_the_collector_thresholds(value, expected):
    """The ASGI module (what Daphne loads) sets PAYMENTS_GC_THRESHOLDS; empty keeps Python's."""
    code = "import gc, project.asgi; print(*gc.get_threshold())"
    env = {
        "PAYMENTS_GC_THRESHOLDS": value,
        "PAYMENTS_RUN_JOBS_IN_PROCESS": "false",
        "DJANGO_READ_DOT_ENV": "false",
    }
    done = run(["-c", code], env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[-2] == expected


def test_bad_collector_thresholds_refuse_to_start():
    done = run(
        ["-c", "import project.asgi"], {"PAYMENTS_GC_THRESHOLDS": "0,1", "DJANGO_READ_DOT_ENV": "false"}
    )
    assert done.returncode != 0 and "PAYMENTS_GC_THRESHOLDS" in done.stderr


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"CHANNEL_LAYERS": {}}, "payments.E010"),
        ({"DARAJA_CALLBACK_BASE_URL": "ftp://shop.example"}, "payments.E011"),
        (
            {"PAYMENTS_FRONTEND_ORIGINS": ["https://shop.example"], "PAYMENTS_WS_ALLOWED_ORIGINS": []},
            "payments.W011",
        ),
        (
            {"PAYMENTS_FRONTEND_ORIGINS": ["https://shop.example"], "PAYMENTS_WS_TICKET_SECONDS": 0},
            "payments.E013",
        ),
    ],
)
def test_integration_checks_name_the_missing_step(settings, overrides, expected):
    from payments.checks import check_integration

    for name, value in overrides.items():
        setattr(settings, name, value)
    assert expected in {issue.id for issue in check_integration()}


@pytest.mark.parametrize(
    ("options", "warned"),
    [
        (None, True),
        ({}, True),
        ({"timeout": 20}, True),
        ({"transaction_mode": "DEFERRED"}, True),
        ({"transaction_mode": "IMMEDIATE"}, False),
        ({"transaction_mode": "immediate"}, False),
        ({"transaction_mode": "EXCLUSIVE"}, False),
    ],
)
def test_sqlite_that_fails_writes_at_once_is_a_warning(settings, options, warned):
    """Django's default SQLite transactions (DEFERRED) refuse a write that meets another with
    "database is locked" at once (a new project's settings, before step 2 of the README)."""
    from payments.checks import check_integration

    assert "payments.W012" not in {issue.id for issue in check_integration()}  # the project's own
    sqlite = {"ENGINE": "django.db.backends.sqlite3", "NAME": "shop.sqlite3"}
    databases = {
        "default": sqlite if options is None else {**sqlite, "OPTIONS": options},
        "reports": {"ENGINE": "django.db.backends.postgresql", "NAME": "shop"},
        "broken": {"ENGINE": "no.such.backend", "NAME": "x"},  # Django's own error, not ours
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Overriding setting DATABASES": no connection is opened
        settings.DATABASES = databases
    issues = {issue.id: issue for issue in check_integration()}
    assert ("payments.W012" in issues) == warned
    if warned:
        assert (
            "database default " in issues["payments.W012"].msg
            and "reports" not in issues["payments.W012"].msg
        )


def test_no_payable_registered_is_a_warning(monkeypatch):
    from payments import payables
    from payments.checks import check_integration

    assert "payments.W010" not in {i.id for i in check_integration()}
    monkeypatch.setattr(payables, "_registry", {})
    assert "payments.W010" in {i.id for i in check_integration()}
