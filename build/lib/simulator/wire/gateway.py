"""What the gateway in front of Daraja answers when the request never reaches Daraja proper:
gateway pages that are not JSON (§13.5) and Apigee's SpikeArrest refusal (§13.4). Pure.

The pages' wording is not reported anywhere (the 200 page is the one in the contract capture
``stk_push_gateway_html_200.json``); only "an HTML gateway page" with its status is.
"""

import json
import math

HTML_CONTENT_TYPE = "text/html; charset=UTF-8"

# §13.5: "occasionally an HTML gateway page with a 200 status".
GATEWAY_PAGE_200 = (
    "<!DOCTYPE html>\n<html>\n<head><title>Service Unavailable</title></head>\n<body>\n"
    "<h1>Service Unavailable</h1>\n"
    "<p>The server is temporarily unable to service your request. Please try again later.</p>\n"
    "</body>\n</html>\n"
)
# A load balancer's 502 in front of the API (fault html_502).
GATEWAY_PAGE_502 = (
    "<!DOCTYPE html>\n<html>\n<head><title>502 Bad Gateway</title></head>\n<body>\n"
    "<h1>502 Bad Gateway</h1>\n"
    "<p>The upstream server returned an invalid response.</p>\n"
    "</body>\n</html>\n"
)
GATEWAY_PAGES = {"html": (200, GATEWAY_PAGE_200), "html_502": (502, GATEWAY_PAGE_502)}


def spike_arrest_body(count: int, period_seconds: float) -> str:
    """§13.4: HTTP 429 at ``MessageRate{messagesPerPeriod=5, periodInMicroseconds=60000000,
    maxBurstMessageCount=1.0}``, in Apigee's fault layout (no Daraja ``errorCode``)."""
    rate = (
        f"MessageRate{{messagesPerPeriod={count}, "
        f"periodInMicroseconds={round(period_seconds * 1_000_000)}, maxBurstMessageCount=1.0}}"
    )
    fault = {
        "fault": {
            "faultstring": f"Spike arrest violation. Allowed rate : {rate}",
            "detail": {"errorcode": "policies.ratelimit.SpikeArrestViolation"},
        }
    }
    return json.dumps(fault, separators=(",", ":"))


def retry_after_seconds(wait: float) -> int:
    """A ``Retry-After`` value: whole seconds, rounded up, at least 1."""
    return max(1, math.ceil(wait - 1e-9))
