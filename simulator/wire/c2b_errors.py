"""Daraja's C2B answers that are not successes, as the simulator gives them (§14.1, §14.4,
§14.5). Pure. What was captured is quoted; what is modelled says so.
"""

import re

from .errors import WireError, invalid

# §14.4 (osen-wc-mpesa #69, mpesa-node-library #56): with the "Error Occurred - " prefix.
NO_API_PRODUCT = (
    "401.003.01",
    "Error Occurred - Invalid Access Token - Invalid API call as no apiproduct match found",
)
# §14.4: DOC3-C2B2's table for C2B (STK's observed 404.001.03 was not seen on C2B; open, §14.12).
C2B_INVALID_TOKEN = ("400.003.01", "Invalid Access Token")
ALREADY_REGISTERED = ("500.003.1001", "Urls are already registered.")  # §14.4, production
BAD_PAYLOAD = ("400.002.05", "Invalid Request Payload")  # §14.4: malformed body
# §14.5: Buy Goods simulate with a BillRefNumber Daraja does not take (first-hand note, 2026).
ACCOUNT_REFERENCE = ("500.003.1001", "The element AccountReference is invalid.")
# Modelled: simulate is "not supported on production" (§14.5), its body was not captured.
NOT_ON_PRODUCTION = ("404.003.01", "Resource not found")

# §9.6 / §14.2: "M-PESA, M-Pesa, Safaricom, exe, exec, cmd, SQL, query … in upper or lower
# case", and "mpesa" (DOC2 FAQ). First match wins; "exec" is reported as EXEC, not EXE.
FORBIDDEN_WORDS = (
    ("MPESA", re.compile(r"m[\W_]*pesa", re.I)),
    ("SAFARICOM", re.compile(r"safaricom", re.I)),
    ("EXEC", re.compile(r"exec", re.I)),
    ("EXE", re.compile(r"exe", re.I)),
    ("CMD", re.compile(r"cmd", re.I)),
    ("SQL", re.compile(r"sql", re.I)),
    ("QUERY", re.compile(r"query", re.I)),
)


def forbidden_word(url: str) -> str | None:
    """The first forbidden word anywhere in ``url`` (host, path or query), upper case."""
    for word, pattern in FORBIDDEN_WORDS:
        if pattern.search(url):
            return word
    return None


def url_error(field: str, word: str | None = None) -> WireError:
    """§14.4: ``400.003.02 "Bad Request - Invalid ValidationURL - URL has the word MPESA"``
    (captured for MPESA on ValidationURL; other words and ConfirmationURL follow it, modelled),
    or ``400.003.02 "Bad Request - Invalid <URL field>"`` for a URL Daraja cannot use (modelled)."""
    suffix = f" - URL has the word {word}" if word else ""
    return WireError("400.003.02", f"Bad Request - Invalid {field}{suffix}")


def bad_field(field: str) -> WireError:
    """Modelled on STK's ``400.002.02 "Bad Request - Invalid <Field>"`` (§14.4: what
    simulators answer for ResponseType; no capture for any C2B field)."""
    return invalid(field)


def not_a_c2b_shortcode() -> dict:
    """§14.4 (bnjunge/MPESA-API-Tutorial #2): registering URLs on a shortcode that is not set
    up for C2B (the LNM-only 174379). The body is captured; its HTTP status was not (500 here)."""
    return {
        "Envelope": {
            "encodingStyle": "http://schemas.xmlsoap.org/soap/encoding/",
            "Body": {
                "Fault": {
                    "faultcode": "soap:Server",
                    "faultstring": "Execution of ServiceCallout SCO-AddURLVault failed. "
                    "Reason: ResponseCode 409 is treated as error",
                    "faultactor": {},
                    "detail": {"source": {"errorcode": "steps.servicecallout.ExecutionFailed"}},
                }
            },
        }
    }


def no_proxy_fault(path: str) -> dict:
    """§14.1 (gathuku/laravel_mpesa #28): a C2B path without the ``/mpesa`` prefix reaches no
    API proxy. Apigee's fault layout; the HTTP status was not recorded (404 here)."""
    return {
        "fault": {
            "faultstring": f"Unable to identify proxy for host: secure and url: {path}",
            "detail": {"errorcode": "messaging.adaptors.http.flow.ApplicationNotFound"},
        }
    }
