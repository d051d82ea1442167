"""Where Daraja is, in words an operator can act on (``manage.py mpesa``): the simulator's
scenarios from its control API, and what to say when DARAJA_BASE_URL cannot be reached."""

import httpx
from django.conf import settings
from django.core.management.base import CommandError


def unreachable_hint(exc: Exception | str = "") -> str:
    """``Could not reach Daraja at http://127.0.0.1:8000/simulator (ConnectError). …`` with
    the next step: for the simulator, the server and its PORT; otherwise the URL itself."""
    base = settings.DARAJA_BASE_URL
    why = exc.__class__.__name__ if isinstance(exc, Exception) else str(exc)
    text = f"Could not reach Daraja at {base}" + (f" ({why})." if why else ".")
    if "/simulator" in base:
        return text + (
            " The simulator is served by the web process: is it running (`make run`)? This command "
            f"expects it on port {settings.PORT} (PORT); if it listens on another port, run the "
            "command with PORT=<that port>, or set DARAJA_BASE_URL."
        )
    return text + " Check DARAJA_BASE_URL and that this host can reach it."


def simulator_scenarios() -> dict[str, dict]:
    """The simulator's scenarios (name → phone and meaning), from its control API: the
    simulator owns its phone rules, the command only plays them."""
    url = settings.DARAJA_BASE_URL.rstrip("/") + "/control/scenarios/"
    try:
        response = httpx.get(url, timeout=5.0, follow_redirects=False)
        response.raise_for_status()
        return {row["name"]: row for row in response.json()["scenarios"]}
    except httpx.TransportError as exc:
        raise CommandError(unreachable_hint(exc)) from None
    except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
        raise CommandError(
            f"Could not read the simulator's scenarios from {url} ({exc.__class__.__name__}): is "
            "DARAJA_BASE_URL the simulator of a running server?"
        ) from None
