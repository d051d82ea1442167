"""Typed Daraja failures. The rest of the code never sees httpx objects."""


class DarajaError(Exception):
    """Base class. ``definite``: Daraja certainly did not act on the request. ``transient``:
    the same request may well succeed later (busy, rate limited, a gateway hiccup)."""

    definite = False
    transient = True

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

    @property
    def transient(self) -> bool:  # type: ignore[override]
        """Busy, spike arrest, quota (500.003.0x), a subscriber lock, HTTP 429 (§3.3, §13.4)."""
        return (
            self.error_code.startswith(("500.003.0", "http.5", "http.429"))
            or self.http_status == 429
            or "unable to lock subscriber" in self.error_message.lower()
        )

    def __repr__(self) -> str:
        return f"DarajaAPIError({self.http_status}, {self.error_code!r}, {self.error_message!r})"


class DarajaAuthError(DarajaAPIError):
    """OAuth refused our consumer key/secret (HTTP 400 with an empty body, §2.3)."""

    transient = False  # type: ignore[assignment]


class DarajaUnavailable(DarajaError):
    """The request never reached Daraja (connection refused, DNS, connect timeout, OAuth)."""

    definite = True

    def __init__(self, message: str, *, error_code: str = "unavailable", http_status: int | None = None):
        super().__init__(message, error_code=error_code, http_status=http_status)


class DarajaTimeout(DarajaError):
    """Sent, but no answer in time: Daraja may or may not have acted on it."""


class DarajaProtocolError(DarajaError):
    """Daraja answered something we cannot read (not JSON, wrong shape, unexpected status),
    such as a gateway's HTML page with HTTP 200 or 5xx (§13.5). Never a success; the request
    may or may not have been acted on."""


INVALID_ACCESS_TOKEN = "404.001.03"  # §3.3: expired/unknown bearer token
GENERIC_500 = "500.001.1001"  # §3.3/§4.3: wrong credentials, lock, "being processed"...
