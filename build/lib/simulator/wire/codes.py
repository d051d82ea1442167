"""Daraja's result codes as the simulator words them (§4.2, §7): the callback's and the
query's ResultDesc per code, and how a code is written in scripts. Pure."""

import re
from typing import Any

_CODE_RE = re.compile(r"^[A-Za-z0-9_]{1,32}$")


class CodeError(ValueError):
    """Not a ResultCode (a number, or a code such as ``SFC_IC0003``)."""


# §7: ResultDesc as the callback words it (production captures 2021–2025).
CALLBACK_DESC: dict[str, str] = {
    "0": "The service request is processed successfully.",
    "1": "The balance is insufficient for the transaction",  # §7: as in a 2021 callback (DOC3 adds a period)
    "2": "Declined due to limit rule.",
    "3": "Declined due to limit rule: greater than the maximum transaction amount.",
    "4": "Declined due to limit rule: would exceed daily transfer limit.",
    "8": "Declined due to limit rule: would exceed the maximum balance.",
    "17": "Rule limited.",
    "26": "System busy. The service request is rejected.",
    "1001": "Unable to lock subscriber, a transaction is already in process for the current subscriber.",
    "1019": "Transaction has expired",
    "1025": "Error Occurred while sending push request.",
    "1031": "Request cancelled by user",
    "1032": "Request cancelled by user",
    "1036": "SMSC ACK timeout.",
    "1037": "DS timeout user cannot be reached",
    "2001": "The initiator information is invalid.",
    "2028": "The request is not permitted according to product assignment.",
    "8006": "The security credential is locked.",
    "9999": "Error Occurred while sending push request.",
    "SFC_IC0003": "The operator does not exist.",
    "E3008": "Error, the user has a bad debt contract.",
}
# §4.2/§7: the query words some results differently from the callback (same code).
QUERY_DESC: dict[str, str] = {
    **CALLBACK_DESC,
    "1032": "Request Cancelled by user.",
    "1037": "DS timeout user cannot be reached.",
}


def callback_desc(code: str) -> str:
    """ResultDesc as the callback words it (§7)."""
    return CALLBACK_DESC.get(code, f"Simulated result {code}.")


def query_desc(code: str) -> str:
    """ResultDesc as the query words it (§4.2, §7)."""
    return QUERY_DESC.get(code, f"Simulated result {code}.")


def parse_result_code(value: Any) -> str:
    """0, "0", 1032 or "SFC_IC0003" → the code as text."""
    if isinstance(value, bool) or value is None:
        raise CodeError("result_code must be a number or a code such as SFC_IC0003")
    text = str(value).strip()
    if isinstance(value, int) or text.isdigit():
        return str(int(text))
    if not _CODE_RE.match(text):
        raise CodeError("result_code must be a number or a code such as SFC_IC0003")
    return text
