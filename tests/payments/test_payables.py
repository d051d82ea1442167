"""payments/payables.py: what the registry accepts."""

import pytest

from payments.payables import Payable, register, registered


def test_a_payable_that_does_not_say_what_is_owed_is_refused_at_registration():
    class Nameless(Payable):  # no payable_amount: the engine could never start its payment
        pass

    with pytest.raises(TypeError, match="payable_amount"):
        register("nameless")(Nameless)
    assert "nameless" not in registered()


def test_the_kind_must_be_letters_digits_and_dashes():
    class Fee(Payable):
        def payable_amount(self, requested=None):
            return 100

    with pytest.raises(ValueError, match="letters, digits and dashes"):
        register("a fee!")(Fee)
    assert "a fee!" not in registered()
