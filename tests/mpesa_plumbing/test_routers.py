"""``ProtocolRouter`` and ``PathRouter`` (mpesa_plumbing/asgi.py) route exactly as Channels'
``ProtocolTypeRouter`` and ``URLRouter`` do, each case run through both, without keeping a
frame of their own."""

import asyncio

import pytest
from channels.middleware import BaseMiddleware
from channels.routing import ProtocolTypeRouter, URLRouter
from django.urls import path, re_path
from django.urls.exceptions import Resolver404

from mpesa_plumbing.asgi import PathRouter, ProtocolRouter


def echo(name: str):
    async def app(scope, receive, send):
        return name, scope.get("path_remaining"), scope.get("url_route")

    return app


class Passing(BaseMiddleware):
    """A middleware around a nested router: its miss is raised when it is awaited."""


def routes(router):
    """The same table for both classes: endpoints, converters, defaults, nested routers (a
    nested miss falls through to the next route), one behind a middleware, a catch-all last."""
    return [
        path("ws/payments/<uuid:public_id>/", echo("payment")),
        re_path(r"^ws/orders/(?P<number>\d+)/$", echo("order"), {"lang": "sw", "number": "from the route"}),
        re_path(r"^ws/shop/(?P<shop>\w+)/", router([path("tills/<int:till>/", echo("till"))])),
        re_path(r"^ws/(\w+)/", router([re_path(r"^deep/(\d+)/$", echo("deep"))])),
        path("ws/shop/<str:shop>/other/", echo("after a nested miss")),
        re_path(r"^ws/mw/", Passing(router([path("x/", echo("behind a middleware"))]))),
        path("ws/mw/y/", echo("after a miss behind a middleware")),
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
    "/ws/mw/x/",
    "/ws/mw/y/",
    "/nothing/",
]


async def outcome(application, scope):
    """What the application does with ``scope``; a refusal is raised when it is awaited, as
    Channels raises it (a server calls the application before it awaits it)."""
    called = application(scope, None, None)
    try:
        return await called
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
    assert not isinstance(expected[0], str) or not expected[0].endswith("Error")


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


async def test_the_routers_hand_over_a_consumers_awaitable():
    """A consumer (what ``as_asgi`` returns, marked by ``consumer_class``) runs in the server's
    task with no router coroutine around it; anything else is awaited in one that can fall
    through to the next route."""
    gate = asyncio.Event()

    async def socket(scope, receive, send):
        await gate.wait()

    async def other(scope, receive, send):
        await gate.wait()

    socket.consumer_class = None
    app = ProtocolRouter({"websocket": PathRouter([path("ws/a/", socket), path("ws/b/", other)])})
    tasks = [
        asyncio.ensure_future(app({"type": "websocket", "path": p}, None, None)) for p in ("/ws/a/", "/ws/b/")
    ]
    await asyncio.sleep(0)
    assert [task.get_coro().cr_code.co_name for task in tasks] == ["socket", "_falling_through"]
    gate.set()
    await asyncio.gather(*tasks)


def test_a_consumers_asgi_function_is_channels_own_but_frameless():
    from payments.live.consumers import PaymentStatusConsumer

    app = PaymentStatusConsumer.as_asgi(groups=["extra"])
    assert app.consumer_class is PaymentStatusConsumer and app.consumer_initkwargs == {"groups": ["extra"]}
    assert app.__wrapped__ is PaymentStatusConsumer and app.__name__ == "PaymentStatusConsumer"
    assert asyncio.iscoroutinefunction(app)  # uvicorn's and asgiref's ASGI 3 test
    called = app({"type": "websocket"}, None, None)
    assert called.cr_code.co_qualname == "BridgedJsonConsumer.__call__"  # the consumer's own coroutine
    called.close()
