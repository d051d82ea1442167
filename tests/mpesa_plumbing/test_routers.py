"""``ProtocolRouter`` and ``PathRouter`` (mpesa_plumbing/asgi.py) route exactly as Channels'
``ProtocolTypeRouter`` and ``URLRouter`` do, each case run through both, without keeping a
frame of their own."""

import asyncio

import pytest
from channels.routing import ProtocolTypeRouter, URLRouter
from django.urls import path, re_path
from django.urls.exceptions import Resolver404

from mpesa_plumbing.asgi import PathRouter, ProtocolRouter


def echo(name: str):
    async def app(scope, receive, send):
        return name, scope.get("path_remaining"), scope.get("url_route")

    return app


def routes(router):
    """The same table for both classes: endpoints, converters, defaults, nested routers (a
    nested miss falls through to the next route), a catch-all last."""
    return [
        path("ws/payments/<uuid:public_id>/", echo("payment")),
        re_path(r"^ws/orders/(?P<number>\d+)/$", echo("order"), {"lang": "sw", "number": "from the route"}),
        re_path(r"^ws/shop/(?P<shop>\w+)/", router([path("tills/<int:till>/", echo("till"))])),
        re_path(r"^ws/(\w+)/", router([re_path(r"^deep/(\d+)/$", echo("deep"))])),
        path("ws/shop/<str:shop>/other/", echo("after a nested miss")),
        re_path(r"", echo("denier")),
    ]


PATHS = [
    "/ws/payments/8f14e45f-ceea-467f-a0e6-7f6fc2d1b9a1/",
    "/ws/orders/42/",
    "/ws/orders/forty-two/",
    "/ws/shop/duka/tills/7/",
    "/ws/shop/duka/other/",
    "/ws/x/deep/9/",
    "/ws/x/shallow/",
    "/nothing/",
]


async def outcome(application, scope):
    try:
        return await application(scope, None, None)
    except (ValueError, Resolver404) as exc:
        return type(exc).__name__, str(exc)


@pytest.mark.parametrize("where", PATHS)
@pytest.mark.parametrize("root_path", ["", "/app"])
async def test_a_path_goes_where_channels_router_sends_it(where, root_path):
    scope = {"type": "websocket", "path": root_path + where, "root_path": root_path}
    expected = await outcome(URLRouter(routes(URLRouter)), dict(scope))
    assert await outcome(PathRouter(routes(PathRouter)), dict(scope)) == expected
    assert await outcome(PathRouter(routes(URLRouter)), dict(scope)) == expected  # Channels' nested ones
    assert expected[0] != "denier" or where in ("/ws/orders/forty-two/", "/ws/x/shallow/", "/nothing/")


async def test_router_refusals_are_channels_own():
    no_route = PathRouter([path("ws/a/", echo("a"))])
    for scope in ({"type": "websocket", "path": "/ws/b/"}, {"type": "websocket"}):
        assert await outcome(no_route, scope) == await outcome(URLRouter(no_route.routes), scope)
    outside = {"type": "websocket", "path": "/elsewhere/ws/a/", "root_path": "/app"}
    assert (await outcome(no_route, outside))[0] == "ValueError"
    mapping = {"http": echo("http")}
    for kind in ("http", "lifespan"):
        scope = {"type": kind, "path": "/"}
        assert await outcome(ProtocolRouter(mapping), scope) == await outcome(
            ProtocolTypeRouter(mapping), scope
        )


async def test_the_routers_hand_over_the_applications_awaitable():
    gate = asyncio.Event()

    async def socket(scope, receive, send):
        await gate.wait()

    app = ProtocolRouter({"websocket": PathRouter([path("ws/a/", socket)])})
    task = asyncio.ensure_future(app({"type": "websocket", "path": "/ws/a/"}, None, None))
    await asyncio.sleep(0)
    assert task.get_coro().cr_code is socket.__code__  # no router coroutine around it
    gate.set()
    await task
