"""Typed Daraja failures. The rest of the code never sees httpx objects."""


class DarajaError(Exception):
    """Base class. ``definite`` says whether Daraja certainly did not act on the request."""

    definite = False

    def __init__(self, message: str, *, error_code: str = "", http_status: int | None = None):
        super().__init__(message)
        self.error_code = error_code
        self.error_message = message
        self.http_status = http_status


class DarajaAPIError(DarajaError):
    """Daraja answered with its error envelope {requestId, errorCode, errorMessage} (§1.2)."""

    definite = True

    def __init__(self, message: str, *, error_code: str, http_status: int, request_id: str = ""):
        super().__init__(message, error_code=error_code, http_status=http_status)
        self.request_id = request_id

    def __repr__(self) -> str:
        return f"DarajaAPIError({self.http_status}, {self.error_code!r}, {self.error_message!r})"


class DarajaAuthError(DarajaAPIError):
    """OAuth refused our consumer key/secret (HTTP 400 with an empty body, §2.3)."""


class DarajaUnavailable(DarajaError):
    """The request never reached Daraja (connection refused, DNS, connect timeout, OAuth)."""

    definite = True

    def __init__(self, message: str, *, error_code: str = "unavailable", http_status: int | None = None):
        super().__init__(message, error_code=error_code, http_status=http_status)


class DarajaTimeout(DarajaError):
    """Sent, but no answer in time: Daraja may or may not have acted on it."""


class DarajaProtocolError(DarajaError):
    """Daraja answered something we cannot read (not JSON, wrong shape, unexpected status)."""


INVALID_ACCESS_TOKEN = "404.001.03"  # §3.3: expired/unknown bearer token
GENERIC_500 = "500.001.1001"  # §3.3/§4.3: wrong credentials, lock, "being processed"...
