"""Logs that don't cry wolf: every event printed once, a fault the simulator answered on
purpose logged as a simulated fault (INFO), JSON times in ISO 8601 with an offset."""

import base64
import json
import logging
import subprocess
import sys
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from django.conf import settings

from mpesa_plumbing.logs import JsonFormatter, SimulatedFaultFilter
from tests.helpers.procs import ROOT
from tests.simulator.conftest import nairobi_timestamp, stk_password

EMIT = """
import logging
logging.getLogger("django.request").error("request-marker")
logging.getLogger("django.security.csrf").warning("security-marker")
logging.getLogger("payments").warning("payments-marker")
logging.getLogger("mpesa_plumbing.access").info("access-marker")
"""


def run_shell(code: str, **env: str) -> subprocess.CompletedProcess:
    environ = {
        "PATH": "/usr/bin:/bin",
        "DJANGO_SETTINGS_MODULE": "project.settings",
        "DJANGO_READ_DOT_ENV": "false",
        "DATABASE_URL": "sqlite:///:memory:",
        **env,
    }
    return subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_every_record_is_printed_once(log_format):
    """Django's default console handler on "django" printed each django.* record a second
    time, bare, next to ours (with DEBUG, the development default)."""
    err = run_shell(EMIT, DJANGO_DEBUG="true", LOG_FORMAT=log_format).stderr
    for marker in ("request-marker", "security-marker", "payments-marker", "access-marker"):
        lines = [line for line in err.splitlines() if marker in line]
        assert len(lines) == 1, (marker, err)
        if log_format == "json":
            assert json.loads(lines[0])["message"] == marker
        else:
            assert lines[0] != marker  # the formatted line (time, level, logger), not a bare one


def test_json_log_times_are_iso_8601_with_an_offset():
    err = run_shell(
        "import logging, datetime\n"
        "logging.getLogger('payments').warning('t', extra={'at': datetime.datetime(2026, 12, 1, 9, 5, "
        "tzinfo=datetime.timezone.utc)})",
        LOG_FORMAT="json",
    ).stderr
    line = json.loads(next(line for line in err.splitlines() if line.startswith("{")))
    moment = datetime.fromisoformat(line["time"])
    assert "T" in line["time"] and moment.utcoffset() is not None
    assert abs((datetime.now(UTC) - moment).total_seconds()) < 60
    assert line["at"] == "2026-12-01T09:05:00+00:00"


def _sim_token(client) -> str:
    basic = base64.b64encode(f"{settings.DARAJA_CONSUMER_KEY}:{settings.DARAJA_CONSUMER_SECRET}".encode())
    response = client.get(
        "/simulator/oauth/v1/generate?grant_type=client_credentials",
        headers={"Authorization": "Basic " + basic.decode()},
    )
    return response.json()["access_token"]


@pytest.mark.django_db
def test_a_simulated_500_is_a_simulated_fault_not_an_internal_server_error(client, caplog):
    caplog.set_level(logging.INFO, logger="django.request")
    timestamp = nairobi_timestamp()
    shortcode = str(settings.DARAJA_SHORTCODE)
    response = client.post(
        "/simulator/mpesa/stkpushquery/v1/query",
        data=json.dumps(
            {
                "BusinessShortCode": shortcode,
                "Password": stk_password(shortcode, settings.DARAJA_PASSKEY, timestamp),
                "Timestamp": timestamp,
                "CheckoutRequestID": "ws_CO_010120250000000000700000000",
            }
        ),
        content_type="application/json",
        headers={"Authorization": f"Bearer {_sim_token(client)}"},
    )
    assert response.status_code == 500  # Daraja's "The transaction does not Exist", on purpose
    logged = [r for r in caplog.records if r.name == "django.request"]
    assert [(r.levelname, r.getMessage()) for r in logged] == [
        ("INFO", "simulated Daraja fault: HTTP 500 POST /simulator/mpesa/stkpushquery/v1/query")
    ]
    assert logged[0].event == "simulator.fault"
    assert "Internal Server Error" not in caplog.text


@pytest.mark.django_db
def test_a_simulated_4xx_is_a_simulated_fault_and_other_paths_keep_their_warning(client, caplog):
    caplog.set_level(logging.INFO, logger="django.request")
    assert client.get("/simulator/oauth/v1/generate?grant_type=client_credentials").status_code == 400
    assert client.get("/no-such-page/").status_code == 404
    logged = [(r.levelname, r.getMessage()) for r in caplog.records if r.name == "django.request"]
    assert logged == [
        ("INFO", "simulated Daraja fault: HTTP 400 GET /simulator/oauth/v1/generate"),
        ("WARNING", "Not Found: /no-such-page/"),
    ]


def test_every_daraja_endpoint_of_the_simulator_logs_its_faults_as_simulated():
    """Each route under the simulator's Daraja prefixes (OAuth, STK, C2B, the catch-alls) is
    one whose answered errors are faults on purpose; a new endpoint left out of the list would
    log every scripted fault as "Internal Server Error"."""
    import simulator.urls
    from mpesa_plumbing.logs import SIMULATED_DARAJA_URL_NAMES

    daraja = {
        pattern.name
        for pattern in simulator.urls.urlpatterns
        if str(pattern.pattern)
        .lstrip("^")
        .startswith(("oauth", "mpesa", "(?P<rest>(?i:oauth", "(?P<rest>c2b"))
    }
    assert daraja >= {"oauth", "stk-push", "c2b-register", "c2b-simulate", "c2b-no-proxy"}
    assert daraja <= SIMULATED_DARAJA_URL_NAMES, daraja - SIMULATED_DARAJA_URL_NAMES


@pytest.mark.django_db
def test_a_host_we_do_not_serve_is_one_warning_line_without_a_traceback(client, caplog):
    caplog.set_level(logging.INFO)
    assert client.get("/payments/", HTTP_HOST="evil.example").status_code == 400
    refused = [r for r in caplog.records if r.name == "django.security.DisallowedHost"]
    assert [(r.levelname, r.exc_info, r.event) for r in refused] == [
        ("WARNING", None, "http.disallowed_host")
    ]
    assert "Traceback" not in json.loads(JsonFormatter().format(refused[0])).get("exc_info", "")


def test_an_exception_in_a_simulator_view_stays_an_error():
    """A crash is a bug, not a simulated fault: the record keeps its level and words."""
    request = SimpleNamespace(
        method="POST",
        path="/simulator/mpesa/stkpush/v1/processrequest",
        resolver_match=SimpleNamespace(namespace="simulator", url_name="stk-push"),
    )
    try:
        raise RuntimeError("bug")
    except RuntimeError:
        record = logging.LogRecord(
            "django.request",
            logging.ERROR,
            __file__,
            1,
            "Internal Server Error: %s",
            (request.path,),
            sys.exc_info(),
        )
    record.request, record.status_code = request, 500
    assert SimulatedFaultFilter().filter(record)
    assert (record.levelname, record.getMessage()) == ("ERROR", f"Internal Server Error: {request.path}")
    assert json.loads(JsonFormatter().format(record))["level"] == "ERROR"
