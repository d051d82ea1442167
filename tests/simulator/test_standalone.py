"""The simulator for every stack: ``project.settings_simulator`` + ``simulator.standalone``
serve only the simulator, as a real Daphne process on its own port and SQLite file, driven
with a plain HTTP client (httpx) by base URL alone: OAuth, STK push, its callback to a
loopback receiver, STK query, C2B register + simulate + Validation + Confirmation."""

import base64
import json
import subprocess
import sys
from datetime import UTC, datetime

import httpx
import pytest

from tests.helpers.procs import ROOT, free_port, manage, wait_until
from tests.helpers.topology import PYTHON, Process, app_env

PASSKEY = "bfb279f9aa9bdbcf158e97dd71a467cd2e0c893059b10f78e6b72ada1ed2c919"


def simulator_env(tmp, port: int, **overrides: str) -> dict[str, str]:
    env = app_env(port=port, database_url="")  # a clean environment (no DJANGO_/DARAJA_/SIMULATOR_)
    env.pop("DATABASE_URL")
    return env | {
        "DJANGO_SETTINGS_MODULE": "project.settings_simulator",
        "SIMULATOR_DATABASE_URL": f"sqlite:///{tmp / 'simulator.sqlite3'}",
        "SIM_PORT": str(port),
        "SIMULATOR_CALLBACK_DELAY_SECONDS": "0.3",
        "SIMULATOR_C2B_DELAY_SECONDS": "0.2",
        "SIMULATOR_JOB_POLL_SECONDS": "0.1",
        **overrides,
    }


class StandaloneSimulator(Process):
    """``make simulator``'s command, on a free loopback port."""

    def __init__(self, tmp, port: int):
        self.port = port
        self.env_vars = simulator_env(tmp, port)
        args = [PYTHON, "-m", "daphne", "-v", "0", "-e", f"tcp:port={port}:interface=127.0.0.1"]
        super().__init__(
            [*args, "simulator.standalone.asgi:application"], env=self.env_vars, log_path=tmp / "sim.log"
        )

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}/simulator"

    def start(self) -> "StandaloneSimulator":
        manage("migrate", "--noinput", "-v", "0", env=self.env_vars)
        super().start()

        def healthy():
            if not self.alive():
                raise RuntimeError(f"the simulator exited early:\n{self.log()[-3000:]}")
            try:
                return httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(healthy, timeout=30, interval=0.1, message="the standalone simulator")
        return self


@pytest.fixture(scope="module")
def simulator(tmp_path_factory):
    sim = StandaloneSimulator(tmp_path_factory.mktemp("standalone"), free_port()).start()
    yield sim
    sim.stop()


pytestmark = pytest.mark.slow


def test_a_client_in_any_language_by_base_url_alone(simulator, receiver, c2b_receiver):
    base = simulator.base
    with httpx.Client(timeout=10) as http:
        oauth = http.get(
            base + "/oauth/v1/generate?grant_type=client_credentials",
            auth=("dev-consumer-key", "dev-consumer-secret"),
        )
        assert oauth.status_code == 200 and oauth.json()["expires_in"] == "3599"
        headers = {"Authorization": f"Bearer {oauth.json()['access_token']}"}
        stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
        password = base64.b64encode(f"174379{PASSKEY}{stamp}".encode()).decode()
        push = http.post(
            base + "/mpesa/stkpush/v1/processrequest",
            headers=headers,
            json={
                "BusinessShortCode": 174379,
                "Password": password,
                "Timestamp": stamp,
                "TransactionType": "CustomerPayBillOnline",
                "Amount": 1,
                "PartyA": 254708374149,
                "PartyB": 174379,
                "PhoneNumber": 254708374149,
                "CallBackURL": receiver.url,
                "AccountReference": "ORDER-1",
                "TransactionDesc": "Order 1",
            },
        )
        assert push.status_code == 200, push.text
        checkout_id = push.json()["CheckoutRequestID"]
        wait_until(lambda: receiver.seen, timeout=10, message="the STK callback")
        callback = receiver.callbacks()[0]
        assert (callback["CheckoutRequestID"], callback["ResultCode"]) == (checkout_id, 0)
        query = http.post(
            base + "/mpesa/stkpushquery/v1/query",
            headers=headers,
            json={
                "BusinessShortCode": 174379,
                "Password": password,
                "Timestamp": stamp,
                "CheckoutRequestID": checkout_id,
            },
        )
        assert (query.status_code, query.json()["ResultCode"]) == (200, "0")

        register = http.post(
            base + "/mpesa/c2b/v2/registerurl",
            headers=headers,
            json={
                "ShortCode": "600984",
                "ResponseType": "Completed",
                "ConfirmationURL": c2b_receiver.confirmation_url,
                "ValidationURL": c2b_receiver.validation_url,
            },
        )
        assert (register.status_code, register.json()["ResponseDescription"]) == (200, "Success")
        simulate = http.post(
            base + "/mpesa/c2b/v2/simulate",
            headers=headers,
            json={
                "ShortCode": 600984,
                "CommandID": "CustomerPayBillOnline",
                "Amount": 10,
                "Msisdn": 254708374149,
                "BillRefNumber": "INV-9 ",
            },
        )
        assert simulate.json()["ResponseDescription"] == "Accept the service request successfully."
        wait_until(lambda: c2b_receiver.confirmations, timeout=10, message="the C2B Confirmation")
        [validation] = c2b_receiver.bodies("validation")
        [confirmation] = c2b_receiver.bodies("confirmation")
        assert validation["TransID"] == confirmation["TransID"]
        assert (
            confirmation["BillRefNumber"],
            confirmation["TransAmount"],
            confirmation["OrgAccountBalance"],
        ) == (
            "INV-9 ",
            "10.00",
            "10.00",
        )
        listed = http.get(base + "/control/c2b/payments/").json()["payments"]
        assert [(p["status"], [c["kind"] for c in p["callbacks"]]) for p in listed] == [
            ("completed", ["validation", "confirmation"])
        ]
        pages = [http.get(base + "/"), http.get(base + "/phone/254708374149/")]
        assert [p.status_code for p in pages] == [200, 200]
        assert (
            http.get(f"http://127.0.0.1:{simulator.port}/", follow_redirects=False).headers["location"]
            == "/simulator/"
        )
        assert http.get(f"http://127.0.0.1:{simulator.port}/payments/").status_code == 404  # no shop here
        assert http.get(base + "/static/simulator/handset.js").status_code == 404
        assert http.get(f"http://127.0.0.1:{simulator.port}/static/simulator/handset.js").status_code == 200


def test_the_standalone_app_imports_nothing_of_the_shop(tmp_path):
    code = (
        "import sys, simulator.standalone.asgi; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('payments', 'frontend')))"
    )
    env = simulator_env(tmp_path, free_port(), SIMULATOR_JOB_POLL_SECONDS="60")
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"


def _simulator_block() -> list[str]:
    source = (ROOT / "project" / "settings.py").read_text()
    block = source[source.index("# --- Simulator") : source.index("if _missing:")]
    return [
        line
        for line in block.splitlines()[1:]
        if line.strip() and not line.lstrip().startswith("#") and not line.startswith("SIMULATOR_ENABLED")
    ]


def test_the_standalone_settings_read_the_simulator_block_line_for_line():
    """project/settings.py and settings_simulator.py (which must not import the shop's settings)
    read the SIMULATOR_* settings the same way (one call to simulator/env_settings.py): a line
    changed on one side only fails here."""
    standalone = (ROOT / "project" / "settings_simulator.py").read_text().splitlines()
    missing = [line for line in _simulator_block() if line not in standalone]
    assert missing == []


def test_both_settings_give_the_simulator_the_same_values(tmp_path):
    code = (
        "import json, django; django.setup(); from django.conf import settings; "
        "print(json.dumps({k: str(getattr(settings, k)) for k in dir(settings) "
        "if k.startswith('SIMULATOR_')}))"
    )
    values = []
    for module in ("project.settings", "project.settings_simulator"):
        env = simulator_env(tmp_path, 8000, DJANGO_SETTINGS_MODULE=module, SIMULATOR_C2B_MSISDN="masked")
        done = subprocess.run(
            [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, done.stderr
        values.append(json.loads(done.stdout.strip().splitlines()[-1]))
    shared = set(values[0]) & set(values[1])
    assert {k for k in values[0] if k != "SIMULATOR_ENABLED"} <= shared
    assert {k: values[0][k] for k in shared} == {k: values[1][k] for k in shared} | {
        "SIMULATOR_ENABLED": values[0]["SIMULATOR_ENABLED"]
    }
    assert values[1]["SIMULATOR_C2B_MSISDN"] == "masked"
