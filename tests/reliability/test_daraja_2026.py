"""The whole product against Daraja as integrators reported it in 2026 (SIMULATOR_PROFILE=2026,
daraja-reference.md §13): masked phone numbers in callbacks, STK Query refused when asked too
early, SpikeArrest 429s with Retry-After, and gateway pages instead of JSON. Real Daphne, the
reconciler inside it, the simulator as Daraja; nothing is lost and nothing is credited twice."""

import pytest

from tests.helpers.live import App

pytestmark = pytest.mark.slow
PROFILE_ENV = {
    "SIMULATOR_PROFILE": "2026",
    # the profile's numbers, squeezed in time so the test stays short
    "SIMULATOR_QUERY_TOO_EARLY_SECONDS": "3",
    "SIMULATOR_QUERY_RATE_LIMIT": "3/6",
    "SIMULATOR_GATEWAY_HICCUP_EVERY": "4",
    "DARAJA_QUERY_RATE": "",  # ours unlimited: Daraja's own 429s are what we must survive
    "PAYMENTS_RECONCILE_AFTER_SECONDS": "1",
    "PAYMENTS_RECONCILE_BACKOFF_SECONDS": "1",
    "PAYMENTS_RECONCILE_BACKOFF_MAX_SECONDS": "4",  # retries stay frequent: the window is short
}


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    app = App(tmp_path_factory.mktemp("daraja2026"), **PROFILE_ENV)
    app.server.start()
    yield app
    app.server.stop()


def ledger(app: App, public_id: str) -> list[tuple]:
    return app.sql(
        "SELECT l.amount FROM frontend_ledgerentry l JOIN payments_payment p ON p.id = l.payment_id "
        "WHERE p.public_id = ?",
        public_id.replace("-", ""),
    )


def test_masked_callback_phone_pays_with_the_prompted_number(app):
    web = app.web(*app.customer())
    response = web.deposit(80, "0712 600 100")
    assert response.status_code == 201
    paid = app.wait_for_status(web, response.json()["status_url"], "paid", timeout=30)
    public_id = paid["public_id"]
    [(body,)] = app.sql(
        "SELECT c.body FROM payments_callbackrecord c JOIN payments_payment p ON p.id = c.payment_id "
        "WHERE p.public_id = ?",
        public_id.replace("-", ""),
    )
    assert "*" in body and "254712600100" not in body  # Daraja masked it (§13.1)
    [(paid_phone, receipt)] = app.sql(
        "SELECT paid_phone, receipt_number FROM payments_payment WHERE public_id = ?",
        public_id.replace("-", ""),
    )
    assert paid_phone == "254712600100" and receipt
    assert ledger(app, public_id) == [(80,)]


def test_lost_callbacks_are_reconciled_through_400s_429s_and_gateway_pages(app):
    web = app.web(*app.customer())
    phones = [f"07126002{i:02d}" for i in range(4)]
    for phone in phones:
        app.script("254" + phone[1:], result_code=0, lost=True)
    started = [web.deposit(40 + i, phone) for i, phone in enumerate(phones)]
    assert [r.status_code for r in started] == [201] * len(phones)
    for response in started:
        app.wait_for_status(web, response.json()["status_url"], "paid", timeout=120)
    for i, response in enumerate(started):
        assert ledger(app, response.json()["payment"]["public_id"]) == [(40 + i,)]
    # The simulator answered every kind of "not yet", and none of them failed a payment.
    faults = dict(
        app.sql("SELECT fault, count(*) FROM simulator_simapicall WHERE api = 'query' GROUP BY fault")
    )
    assert faults.get("spike_arrest", 0) >= 1 and faults.get("hiccup", 0) >= 1, faults

    def pending_answers(text: str) -> int:  # recorded as "not yet" (4999), never as an error
        return app.sql(
            "SELECT count(*) FROM payments_paymentevent WHERE kind = 'query' "
            "AND detail LIKE '%4999%' AND detail LIKE ?",
            f"%{text}%",
        )[0][0]

    assert pending_answers("Invalid CheckoutRequestID") >= 1  # asked too early (§13.4)
    assert pending_answers("rate limited") >= 1  # SpikeArrest 429 (§13.4)
    statuses = {
        s for (s,) in app.sql("SELECT DISTINCT to_status FROM payments_paymentevent WHERE to_status != ''")
    }
    assert "failed" not in statuses and "needs_review" not in statuses
