"""OAuth (§2): shape, refusals, token lifetime and invalidation, request counting."""

import base64
import re

import pytest

from simulator.models import SimApiCall, SimToken


def test_token_response_shape(daraja):
    response = daraja.oauth()
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json;charset=UTF-8"
    data = response.json()
    assert set(data) == {"access_token", "expires_in"}
    assert re.fullmatch(r"[A-Za-z0-9]{28}", data["access_token"])
    assert data["expires_in"] == "3599"  # §2.2: a STRING


def test_tokens_are_stored_hashed(daraja):
    token = daraja.token()
    row = SimToken.objects.get()
    assert token not in (row.token_hash, row.hint)
    assert row.hint == token[:4]


@pytest.mark.parametrize(
    ("key", "secret"),
    [("wrong", None), (None, "wrong"), ("", ""), ("dev-consumer-key", "")],
)
def test_wrong_credentials_are_400_with_an_empty_body(daraja, key, secret):
    response = daraja.oauth(key=key, secret=secret)
    assert response.status_code == 400
    assert response.content == b""  # §2.3


@pytest.mark.parametrize(
    "query",
    [
        "",
        "?grant_type=password",
        "?grant_type=client_credentials%20",
        "?grant_type=%20client_credentials",
        "?grant=client_credentials",
    ],
)
def test_bad_grant_type(daraja, query):
    response = daraja.oauth(query=query)
    assert response.status_code == 400
    body = response.json()
    assert set(body) == {"requestId", "errorCode", "errorMessage"}
    assert (body["errorCode"], body["errorMessage"]) == ("400.008.02", "Invalid grant type passed")


@pytest.mark.parametrize("authorization", ["", "Bearer abc", "Digest x=y", "abc"])
def test_authorization_not_basic(daraja, authorization):
    response = daraja.oauth(authorization=authorization)
    assert response.status_code == 400
    assert response.json()["errorCode"] == "400.008.01"
    assert response.json()["errorMessage"] == "Invalid authentication type passed"


def test_garbled_basic_credentials_are_wrong_credentials(daraja):
    assert daraja.oauth(authorization="Basic !!!notbase64").content == b""
    no_colon = "Basic " + base64.b64encode(b"dev-consumer-key").decode()
    assert daraja.oauth(authorization=no_colon).status_code == 400


def test_a_new_token_invalidates_the_previous_one(daraja):
    first = daraja.token()
    second = daraja.token(fresh=True)
    assert first != second
    assert daraja.push(token=first).json()["errorCode"] == "404.001.03"
    assert daraja.push("254711000001", token=second).status_code == 200


def test_invalidation_can_be_switched_off(daraja, settings):
    settings.SIMULATOR_TOKEN_INVALIDATES_PREVIOUS = False
    first = daraja.token()
    daraja.token(fresh=True)
    assert daraja.push(token=first).status_code == 200


def test_token_expires_after_its_lifetime(daraja, clock, settings):
    settings.SIMULATOR_TOKEN_LIFETIME_SECONDS = 120
    response = daraja.oauth()
    assert response.json()["expires_in"] == "120"
    token = response.json()["access_token"]
    clock.advance(119)
    assert daraja.push(token=token).status_code == 200
    clock.advance(2)
    expired = daraja.push("254711000002", token=token)
    assert expired.status_code == 404
    assert expired.json()["errorCode"] == "404.001.03"
    assert expired.json()["errorMessage"] == "Invalid Access Token"


def test_every_token_request_is_counted_including_refusals(daraja, client):
    daraja.oauth()
    daraja.oauth(key="wrong")
    daraja.oauth(query="")
    assert SimApiCall.objects.filter(api="oauth").count() == 3
    counters = client.get("/simulator/control/counters/").json()
    assert counters["token_requests"] == 3
    assert counters["tokens_issued"] == 1


def test_get_only(client):
    response = client.post("/simulator/oauth/v1/generate?grant_type=client_credentials")
    assert response.status_code == 405
    assert response.json()["errorCode"] == "405.001"
