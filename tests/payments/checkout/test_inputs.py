"""Input rules: phone (B10, P1), amount (B9, P2), AccountReference (B11, P6), desc (B12)."""

import re
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mpesa_plumbing.logs import mask_phone
from payments.checkout.callback_url import FORBIDDEN_WORDS
from payments.checkout.inputs import (
    InvalidInput,
    normalize_phone,
    parse_amount,
    sanitize_account_reference,
    sanitize_transaction_desc,
)

CANONICAL = re.compile(r"^254[17]\d{8}$")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("0712345678", "254712345678"),
        ("+254712345678", "254712345678"),
        ("254712345678", "254712345678"),
        ("0112345678", "254112345678"),
        ("712345678", "254712345678"),
        ("0712 345 678", "254712345678"),
        ("0712-345-678", "254712345678"),
        ("+254 (712) 345.678", "254712345678"),
        (" 0708374149 ", "254708374149"),
        ("254110123456", "254110123456"),
    ],
)
def test_kenyan_mobile_forms_normalise(raw, expected):
    assert normalize_phone(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "2547123",
        "255712345678",
        "+255712345678",
        "07123456789",
        "0202345678",
        "abc",
        "07l2345678",
        "",
        "٠٧١٢٣٤٥٦٧٨",
        "０７１２３４５６７８",
        None,
        712345678,
        "+1 202 555 0143",
        "0712345678; DROP TABLE",
    ],
)
def test_everything_else_is_a_field_error(raw):
    with pytest.raises(InvalidInput) as excinfo:
        normalize_phone(raw)
    assert excinfo.value.field == "phone"


local_numbers = st.builds(
    lambda prefix, rest: prefix + rest,
    st.sampled_from(["70", "71", "72", "74", "75", "79", "11", "10"]),
    st.text(alphabet="0123456789", min_size=7, max_size=7),
)


@settings(max_examples=200)
@given(local_numbers, st.sampled_from(["0{}", "+254{}", "254{}", "{}", "+254 {}", "0{} "]))
def test_p1_generated_numbers_round_trip_to_one_canonical_form(national, template):
    try:
        canonical = normalize_phone(template.format(national))
    except InvalidInput:
        return  # a range not allocated in the numbering plan: refused everywhere, consistently
    assert canonical == "254" + national
    for form in ("0" + national, "+254" + national, "254" + national, national):
        assert normalize_phone(form) == canonical


@settings(max_examples=300)
@given(st.text(max_size=30))
def test_p1_any_text_is_canonical_or_refused_and_idempotent(text):
    try:
        out = normalize_phone(text)
    except InvalidInput:
        return
    assert CANONICAL.match(out)
    assert normalize_phone(out) == out


@pytest.mark.parametrize("raw", [1, 100, 250_000])
def test_amount_in_range_is_accepted(raw):
    assert parse_amount(raw) == raw


@pytest.mark.parametrize(
    "raw", [0, -1, 1.5, "10", 1e3, float("nan"), 250_001, 10**20, None, True, Decimal("10"), [], {}]
)
def test_amount_refusals(raw):
    with pytest.raises(InvalidInput) as excinfo:
        parse_amount(raw)
    assert excinfo.value.field == "amount"


@settings(max_examples=300)
@given(
    st.one_of(st.integers(), st.floats(allow_nan=True), st.decimals(), st.text(), st.none(), st.booleans())
)
def test_p2_amount_accepted_iff_int_in_range(raw):
    ok = isinstance(raw, int) and not isinstance(raw, bool) and 1 <= raw <= 250_000
    try:
        value = parse_amount(raw)
    except InvalidInput:
        assert not ok
        return
    assert ok and type(value) is int


@pytest.mark.parametrize(
    "raw",
    [
        "'; DROP TABLE payments;--",
        "<script>alert(1)</script>",
        "{{7*7}}",
        "😀 order",
        "\u202eabc",
        "x" * 500,
        "a\x00b",
        "ÉCOLE-42",
    ],
)
def test_account_reference_is_safe(raw):
    out = sanitize_account_reference(raw)
    assert re.fullmatch(r"[A-Za-z0-9]{1,12}", out)


def test_account_reference_keeps_what_it_can():
    assert sanitize_account_reference("ORD-1001") == "ORD1001"
    assert sanitize_account_reference("ÉCOLE 42") == "ECOLE42"
    assert sanitize_account_reference("!!!", fallback="DEP7") == "DEP7"


@settings(max_examples=300)
@given(st.text())
def test_p6_account_reference_sanitizer_never_raises(text):
    assert re.fullmatch(r"[A-Za-z0-9]{1,12}", sanitize_account_reference(text))


@settings(max_examples=200)
@given(st.text())
def test_transaction_desc_is_short_safe_and_never_empty(text):
    out = sanitize_transaction_desc(text)
    assert 1 <= len(out) <= 13 and re.fullmatch(r"[A-Za-z0-9 \-]+", out)
    assert not any(word in out.lower() for word in ("<", ">"))


def test_transaction_desc_truncates():
    assert sanitize_transaction_desc("Payment for order number 123456") == "Payment for o"
    assert sanitize_transaction_desc("") == "Payment"


def test_mask_phone():
    assert mask_phone("254712345678") == "2547****5678"
    assert "12345678" not in mask_phone("254712345678")


def test_forbidden_words_list_is_complete():
    assert {"mpesa", "safaricom", "exe", "exec", "cmd", "sql", "query"} <= set(FORBIDDEN_WORDS)
