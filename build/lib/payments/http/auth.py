"""Who is asking: a session (same-origin pages, CSRF enforced) or an API token
(``Authorization: Token <key>``, DRF's authtoken: front ends on other origins, mobile apps).

The JSON views are exempt from Django's CSRF middleware only so that token requests, which
carry no cookie, can be served; a request that rides on the session cookie is CSRF-checked
here exactly as the middleware would (``CsrfViewMiddleware.process_view``).
"""

from django.contrib.auth import get_user
from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import CsrfViewMiddleware
from rest_framework.authentication import TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed

from .body import json_error

_csrf = CsrfViewMiddleware(lambda request: None)


def request_user(request: HttpRequest):
    """(user, refusal): the caller, or the answer to give instead (401 bad token, 403 CSRF).
    Sync: run it through the database bridge."""
    header = request.headers.get("Authorization", "")
    scheme, _, key = header.partition(" ")
    if scheme.lower() == "token":
        try:
            user, _token = TokenAuthentication().authenticate_credentials(key.strip())
        except AuthenticationFailed:
            return AnonymousUser(), json_error(401, "Invalid API token.", {"authorization": "Invalid token."})
        return user, None
    if header:
        return AnonymousUser(), json_error(
            401, "Use Authorization: Token <key>.", {"authorization": "Unknown scheme."}
        )
    user = get_user(request)
    if user.is_authenticated and request.method not in ("GET", "HEAD", "OPTIONS"):
        refused: HttpResponse | None = _csrf.process_view(request, None, (), {})
        if refused is not None:
            return AnonymousUser(), refused
    return user, None
