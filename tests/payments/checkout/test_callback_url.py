"""The callback URL capability (P5, S12, S25)."""

import re
import uuid

from hypothesis import given, settings
from hypothesis import strategies as st

from payments.checkout import callback_url as cu


@settings(max_examples=300)
@given(st.uuids())
def test_p5_url_is_hex_fixed_length_and_free_of_forbidden_words(public_id):
    url = cu.callback_url(public_id)
    token = cu.callback_token(public_id)
    assert re.fullmatch(r"[0-9a-f]{32}", token)
    assert url.endswith(f"/payments/callbacks/{public_id.hex}/{token}/")
    assert cu.forbidden_words_in(url) == []


@settings(max_examples=200)
@given(st.uuids(), st.uuids())
def test_p5_token_verifies_only_for_its_own_payment(a, b):
    assert cu.verify_callback_token(a, cu.callback_token(a))
    if a != b:
        assert not cu.verify_callback_token(b, cu.callback_token(a))


def test_token_depends_on_the_server_secret(settings):
    public_id = uuid.uuid4()
    before = cu.callback_token(public_id)
    settings.PAYMENTS_CALLBACK_SECRET = "another-secret"
    assert cu.callback_token(public_id) != before


def test_verification_is_constant_time(monkeypatch):
    calls = []
    original = cu.hmac.compare_digest
    monkeypatch.setattr(cu.hmac, "compare_digest", lambda a, b: calls.append(1) or original(a, b))
    public_id = uuid.uuid4()
    assert not cu.verify_callback_token(public_id, "0" * 32)
    assert calls == [1]


def test_forbidden_words_are_detected_case_insensitively():
    assert cu.forbidden_words_in("https://shop.example/M-PESA/Query/") == ["m-pesa", "query"]
