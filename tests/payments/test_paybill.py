"""The Pay Bill account number: short, typeable, and one slip of the finger never names
another payment (checked for every single substitution and every swap of neighbours)."""

from hypothesis import given, settings
from hypothesis import strategies as st

from payments.paybill import ALPHABET, LENGTH, new_paybill_account, read_paybill_account, spaced

accounts = st.builds(lambda _: new_paybill_account(), st.integers())


def test_shape_and_alphabet():
    account = new_paybill_account()
    assert len(account) == LENGTH == 7 and set(account) <= set(ALPHABET)
    assert not set("01OILUV") & set(ALPHABET)  # no look-alikes
    assert read_paybill_account(account) == account
    assert spaced(account) == f"{account[:3]} {account[3:]}"


@given(accounts)
@settings(max_examples=200, deadline=None)
def test_every_single_typo_is_caught(account):
    for position in range(LENGTH):
        for symbol in ALPHABET:
            if symbol != account[position]:
                typo = account[:position] + symbol + account[position + 1 :]
                assert read_paybill_account(typo) is None, typo


@given(accounts)
@settings(max_examples=200, deadline=None)
def test_every_swap_of_neighbours_is_caught(account):
    for position in range(LENGTH - 1):
        a, b = account[position], account[position + 1]
        if a != b:
            swapped = account[:position] + b + a + account[position + 2 :]
            assert read_paybill_account(swapped) is None, swapped


@given(accounts, st.sampled_from(["lower", "spaces", "dash", "hash"]))
def test_what_people_type_is_read_back(account, style):
    typed = {
        "lower": account.lower(),
        "spaces": f"  {spaced(account)} ",
        "dash": f"{account[:3]}-{account[3:]}",
        "hash": "#" + account,
    }[style]
    assert read_paybill_account(typed) == account


@given(st.text(max_size=40))
def test_anything_else_is_not_an_account(text):
    read = read_paybill_account(text)
    assert read is None or (len(read) == LENGTH and set(read) <= set(ALPHABET))
