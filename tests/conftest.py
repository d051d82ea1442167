"""Shared fixtures. Daraja is either the bundled simulator or a real loopback HTTP server
(pytest-httpserver); our own code is never mocked."""

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache

from frontend.models import Order, Wallet
from mpesa_plumbing.db import close_db_threads
from payments.daraja.config import daraja_get_config

pytest_plugins = ["tests.helpers.fake_daraja"]


@pytest.fixture(autouse=True)
def _fresh_state():
    """Every test starts with an empty cache (tokens, rate limits) and fresh Daraja config."""
    cache.clear()
    daraja_get_config.cache_clear()
    yield
    cache.clear()
    daraja_get_config.cache_clear()


@pytest.fixture(autouse=True)
def _production_db_bridge(request):
    """Tests whose work commits (``django_db(transaction=True)``) run the database bridge as
    production does, on its own long-lived threads; the others run it thread-sensitively,
    inside the test's transaction (tests/settings.py)."""
    marker = request.node.get_closest_marker("django_db")
    if marker is None or not (marker.kwargs.get("transaction") or (marker.args and marker.args[0])):
        yield
        return
    from django.test import override_settings

    with override_settings(PAYMENTS_DB_THREADS=2):
        yield
    close_db_threads()


@pytest.fixture
def user(db):
    return get_user_model().objects.create_user("alice", password="pw-alice")


@pytest.fixture
def other_user(db):
    return get_user_model().objects.create_user("bob", password="pw-bob")


@pytest.fixture
def wallet(user):
    return Wallet.objects.get_or_create(user=user)[0]


@pytest.fixture
def order(user):
    return Order.objects.create(user=user, reference="ORD1001", description="Coffee", amount=850)


@pytest.fixture
def door():
    """Daraja calling our callback door, through the project's whole ASGI application."""
    from tests.helpers.asgi import CallbackDoor

    return CallbackDoor()


@pytest.fixture
def deposit(user):
    """``deposit(amount, phone)``: the initiate body for a deposit into ``user``'s wallet."""
    from tests.factories import deposit_body

    return lambda amount, phone, **extra: {**deposit_body(user, amount, phone), **extra}


@pytest.fixture
def auth_client(client, user):
    client.force_login(user)
    return client


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory):
    """One real redis-server for the session (flushed per test by ``redis``)."""
    from tests.helpers.redis import RedisServer

    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    yield server
    server.stop()


@pytest.fixture
def redis(redis_server):
    redis_server.flush()
    return redis_server


@pytest.fixture
def redis_own(tmp_path):
    """A redis-server of this test alone: it may be killed and restarted."""
    from tests.helpers.redis import RedisServer

    server = RedisServer(tmp_path).start()
    yield server
    server.kill()
