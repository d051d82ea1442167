"""Liveness and readiness for load balancers and orchestrators."""

import asyncio
import time
import uuid

from channels.layers import get_channel_layer
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, JsonResponse

from .db import in_db

CHECK_TIMEOUT = 2.0


async def healthz(request: HttpRequest) -> JsonResponse:
    """The process is up and its event loop is serving (no dependencies checked, no thread)."""
    return JsonResponse({"status": "ok"})


def _database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


async def _channel_layer() -> None:
    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.send(channel, {"type": "readyz.ping"})
    message = await layer.receive(channel)
    if message.get("type") != "readyz.ping":
        raise RuntimeError("channel layer returned something else")


async def _cache() -> None:
    key = f"readyz:{uuid.uuid4().hex}"
    await cache.aset(key, "1", timeout=10)
    if await cache.aget(key) != "1":
        raise RuntimeError("cache did not return what was stored")
    await cache.adelete(key)


async def readyz(request: HttpRequest) -> JsonResponse:
    """Database, channel layer and cache each answer within CHECK_TIMEOUT; 503 otherwise."""
    checks = {
        "database": in_db(_database),
        "channel_layer": _channel_layer(),
        "cache": _cache(),
    }
    results: dict[str, dict] = {}
    for name, check in checks.items():
        started = time.perf_counter()
        try:
            await asyncio.wait_for(check, timeout=CHECK_TIMEOUT)
            results[name] = {"ok": True}
        except Exception as exc:
            results[name] = {"ok": False, "error": exc.__class__.__name__}
        results[name]["ms"] = round((time.perf_counter() - started) * 1000, 1)
    ok = all(r["ok"] for r in results.values())
    return JsonResponse(
        {"status": "ok" if ok else "unavailable", "checks": results}, status=200 if ok else 503
    )
