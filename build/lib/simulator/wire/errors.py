"""Daraja's synchronous errors as the simulator answers them: the envelope and the catalogue
(daraja-reference.md §1.2, §2.3, §3.3, §4.3, §4.4). Pure."""

JSON_CONTENT_TYPE = "application/json;charset=UTF-8"  # §1.2, §6.1


class WireError(Exception):
    """A synchronous Daraja error: HTTP status = first part of ``error_code`` (§1.2)."""

    def __init__(self, error_code: str, message: str):
        super().__init__(f"{error_code} {message}")
        self.error_code = error_code
        self.message = message

    @property
    def http_status(self) -> int:
        return int(self.error_code.split(".")[0])


def invalid(field: str) -> WireError:
    """§3.3: ``400.002.02 "Bad Request - Invalid <Field>"``."""
    return WireError("400.002.02", f"Bad Request - Invalid {field}")


# §2.3, §3.3, §4.3, §4.4: exact codes and messages.
GRANT_TYPE = ("400.008.02", "Invalid grant type passed")
AUTH_TYPE = ("400.008.01", "Invalid authentication type passed")
INVALID_TOKEN = ("404.001.03", "Invalid Access Token")
NOT_FOUND = ("404.001.01", "Resource not found")
METHOD_NOT_ALLOWED = ("405.001", "Method Not Allowed")
WRONG_CREDENTIALS = ("500.001.1001", "Wrong credentials")
NO_MERCHANT = ("500.001.1001", "Merchant does not exist")
LOCKED = (
    "500.001.1001",
    "Unable to lock subscriber, a transaction is already in process for the current subscriber",
)
BEING_PROCESSED = ("500.001.1001", "The transaction is being processed")
NO_TRANSACTION = ("500.001.1001", "The transaction does not Exist")  # §4.4: capital E as observed
# §13.4: a query sent too early after its push (no "Bad Request - " prefix, as quoted).
TOO_EARLY = ("400.002.02", "Invalid CheckoutRequestID")
BUSY = ("500.003.02", "System is busy. Please try again in few minutes.")
SPIKE = ("500.003.02", "Error Occurred: Spike Arrest Violation")
QUOTA = ("500.003.03", "Quota Violation")
INTERNAL = ("500.003.1001", "Internal Server Error")
NAMED_ERRORS = {
    "busy": BUSY,
    "spike": SPIKE,
    "quota": QUOTA,
    "internal": INTERNAL,
    "error": INTERNAL,
    "lock": LOCKED,
    "invalid_token": INVALID_TOKEN,
}
# API fault ``error_200`` (§13.5: "HTTP 200 with an error envelope"): which envelope is not
# reported, so each API gets the one a bad request to it gets; the push's is the capture's.
ENVELOPE_UNDER_200 = {
    "oauth": GRANT_TYPE,
    "stkpush": ("400.002.02", "Bad Request - Invalid PhoneNumber"),
    "query": ("400.002.02", "Bad Request - Invalid CheckoutRequestID"),
}


def error_body(error: WireError | tuple[str, str], request_id: str) -> dict[str, str]:
    """§1.2: exactly ``{"requestId", "errorCode", "errorMessage"}``."""
    code, message = (error.error_code, error.message) if isinstance(error, WireError) else error
    return {"requestId": request_id, "errorCode": code, "errorMessage": message}
