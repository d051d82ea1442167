"""``manage.py mpesa``: run for real against a live server with the simulator, as a developer
would (`make run` in one terminal, the command in another)."""

import json
import uuid

import pytest

from tests.helpers.live import App
from tests.helpers.procs import manage

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    app = App(tmp_path_factory.mktemp("mpesa-cli"), SIMULATOR_CALLBACK_DELAY_SECONDS="0.5")
    app.server.start()
    app.user = app.customer()[0]
    yield app
    app.server.stop()


def mpesa(app: App, *args: str) -> str:
    return manage("mpesa", *args, env=app.env, timeout=120)


def lines(output: str) -> list[dict]:
    return [json.loads(line) for line in output.splitlines() if line.strip()]


def test_trigger_prints_every_step_to_the_end(app):
    out = mpesa(app, "trigger", "cancelled", "--user", app.user)
    assert "Scenario cancelled" in out and "2547****1032" in out and "254700001032" not in out
    [(public_id,)] = app.sql("SELECT public_id FROM payments_payment ORDER BY id DESC LIMIT 1")
    short = public_id[:10]
    assert f"Payment {short} ({uuid.UUID(public_id)}); later: manage.py mpesa status {short}" in out
    for step in (
        "new → initiating",
        "→ STK push accepted  ws_CO_",
        "initiating → pending",
        "← callback  ResultCode 1032",
        "pending → cancelled",
        "status pushed to open pages",
    ):
        assert step in out, step
    assert "Final: cancelled" in out and "You cancelled the M-Pesa prompt" in out


def test_trigger_json_and_a_lost_callback_found_by_query(app):
    records = lines(
        mpesa(app, "--json", "trigger", "lost-callback", "--user", app.user, "--query-after", "1")
    )
    assert records[0]["scenario"] == "lost-callback"
    kinds = [r.get("kind") for r in records]
    assert "query" in kinds and "callback" not in kinds
    final = records[-1]["final"]
    assert (final["status"], final["settled_by"], final["receipt"]) == ("paid", "query", None)


def test_status_replay_tail_and_reconcile(app):
    final = lines(mpesa(app, "--json", "trigger", "success", "--user", app.user))[-1]["final"]
    status = mpesa(app, "status", final["payment"])
    assert "status               paid" in status and "Timeline:" in status and "pending → paid" in status
    for name in (final["short_id"], final["checkout_request_id"], final["receipt"].lower()):
        assert f"payment              {final['payment']}" in mpesa(app, "status", name), name
    [(record,)] = app.sql(
        "SELECT c.id FROM payments_callbackrecord c JOIN payments_payment p ON p.id = c.payment_id "
        "WHERE p.public_id = ?",
        final["payment"].replace("-", ""),
    )
    replay = lines(mpesa(app, "--json", "replay", str(record)))
    assert replay[0]["outcome"] == "duplicate" and replay[-1]["final"]["status"] == "paid"
    balance = app.sql(
        "SELECT balance FROM frontend_wallet w JOIN auth_user u ON u.id = w.user_id WHERE u.username = ?",
        app.user,
    )[0][0]
    assert balance == sum(r[0] for r in app.sql("SELECT amount FROM frontend_ledgerentry"))
    tail = mpesa(app, "tail", "--since", "600")
    assert final["payment"].replace("-", "")[:10] in tail and "←" in tail
    tail_json = lines(mpesa(app, "--json", "tail", "--since", "600"))
    assert {"callback", "state", "push"} <= {r["kind"] for r in tail_json}
    assert lines(mpesa(app, "--json", "reconcile", "--older-than", "0")) == [{"decisions": []}]
