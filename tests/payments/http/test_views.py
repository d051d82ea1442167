"""GET /payments/<id>/ (owner only) and GET /payments/ (history)."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from payments import checkout
from tests.factories import callback_result, make_payment

pytestmark = pytest.mark.django_db


def test_owner_sees_the_status_payload(auth_client, user):
    payment = make_payment(user, amount=75)
    response = auth_client.get(f"/payments/{payment.public_id}/")
    assert response.status_code == 200
    body = response.json()
    assert body["payment"]["status"] == "pending" and body["payment"]["amount"] == 75
    assert body["payment"]["version"] == 2 and body["ws_url"].endswith(f"{payment.public_id}/")


def test_other_users_and_anonymous_get_404(client, user, other_user):
    """S18: 404, not 403: no existence leak."""
    payment = make_payment(user)
    assert client.get(f"/payments/{payment.public_id}/").status_code == 404
    client.force_login(other_user)
    assert client.get(f"/payments/{payment.public_id}/").status_code == 404


@pytest.mark.parametrize(
    "path",
    ["/payments/not-an-id/", "/payments/{hex}/", "/payments/{uuid}/junk/", "/payments/{uuid}/ticket/x/"],
)
def test_a_path_the_api_does_not_have_is_its_json_404(auth_client, user, path):
    """A malformed id (the dash-less hex the callback URL uses, a word) or a path that does not
    exist answers as the API does, in JSON, not with the project's HTML page; a path without
    its slash is still redirected to it."""
    payment = make_payment(user)
    response = auth_client.get(path.format(hex=payment.public_id.hex, uuid=payment.public_id))
    assert response.status_code == 404 and response["Content-Type"] == "application/json"
    assert response.json() == {"error": "Not found.", "fields": {}}
    assert auth_client.get(f"/payments/{payment.public_id}").status_code == 301
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(user)  # no CSRF token, as a token client sends none: 404, not 403
    assert strict.post("/payments/nope/", "{}", content_type="application/json").status_code == 404
    callback = f"/payments/callbacks/{payment.public_id.hex}/{'0' * 32}"  # no slash: no redirect
    assert auth_client.post(callback).status_code == 404


def test_staff_can_look(client, user):
    staff = get_user_model().objects.create_user("ops", password="x", is_staff=True)
    payment = make_payment(user)
    client.force_login(staff)
    assert client.get(f"/payments/{payment.public_id}/").status_code == 200


def test_history_paginates_and_filters(auth_client, user, settings):
    settings.PAYMENTS_HISTORY_PAGE_SIZE = 3
    payments = [make_payment(user, amount=10 + i) for i in range(5)]
    for p in payments[:2]:
        checkout.payment_apply_result(payment=p, result=callback_result(p), source="callback")
    first = auth_client.get("/payments/").json()
    assert (first["count"], first["pages"], first["page"]) == (5, 2, 1)
    assert [r["amount"] for r in first["results"]] == [14, 13, 12]
    second = auth_client.get("/payments/?page=2").json()
    assert [r["amount"] for r in second["results"]] == [11, 10]
    paid = auth_client.get("/payments/?status=paid").json()
    assert {r["status"] for r in paid["results"]} == {"paid"} and paid["count"] == 2
    assert auth_client.get("/payments/?status=bogus").status_code == 400


def test_history_shows_only_my_payments(client, user, other_user):
    make_payment(user)
    client.force_login(other_user)
    assert client.get("/payments/").json()["count"] == 0


def test_history_needs_login(client):
    assert client.get("/payments/").status_code == 401
