"""The language of a socket, chosen once at connect as LocaleMiddleware chooses a page's: an
explicit ``?lang=`` (front ends on another origin, which cannot send our cookie), else the
shop's switch (the ``django_language`` cookie), else the browser's ``Accept-Language``, else
``LANGUAGE_CODE``. Only languages in ``LANGUAGES``; ``sw-KE`` is served as ``sw``."""

from http.cookies import CookieError, SimpleCookie
from urllib.parse import parse_qs

from django.conf import settings
from django.utils.translation import get_supported_language_variant
from django.utils.translation.trans_real import parse_accept_lang_header


def _supported(code: str | None) -> str | None:
    if not code or len(code) > 32:
        return None
    try:
        return get_supported_language_variant(code)
    except LookupError:
        return None


def _header(scope, name: bytes) -> str:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return value.decode("latin-1")
    return ""


def _cookie(scope) -> str | None:
    if "cookies" in scope:  # channels' CookieMiddleware parsed them already
        return scope["cookies"].get(settings.LANGUAGE_COOKIE_NAME)
    try:
        morsel = SimpleCookie(_header(scope, b"cookie")).get(settings.LANGUAGE_COOKIE_NAME)
    except CookieError:
        return None
    return morsel.value if morsel else None


def scope_language(scope) -> str:
    """The supported language code for this connection (see the module docstring)."""
    query = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("lang")
    for candidate in (query[0] if query else None, _cookie(scope)):
        if code := _supported(candidate):
            return code
    for accepted, _quality in parse_accept_lang_header(_header(scope, b"accept-language")[:500]):
        if accepted != "*" and (code := _supported(accepted)):
            return code
    return _supported(settings.LANGUAGE_CODE) or settings.LANGUAGE_CODE
