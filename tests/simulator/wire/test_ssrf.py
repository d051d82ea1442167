"""S20: the simulator POSTs only to allowed hosts; refusals happen at push time."""

import pytest
from werkzeug import Response

from simulator.models import SimPush
from tests.simulator.api.test_push import INVALID, assert_error


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://169.254.169.254/",
        "file:///etc/passwd",
        "gopher://127.0.0.1:6379/_INFO",
        "ftp://127.0.0.1/x",
        "http://[::1]/cb",
        "http://10.0.0.5/cb",
        "http://example.com/cb",
        "https://evil.example/cb",
        "http://localhost.evil.example/cb",
        "http://127.0.0.1@evil.example/cb",
        "http://evil.example#@127.0.0.1/cb",
        "http://user:pw@127.0.0.1/cb",
        "http://127.0.0.1:99999/cb",
        "http://127.0.0.1/call back",
        "https://<your-url>/callback",
        "http://127.0.0.1/{callback}",
        "//127.0.0.1/cb",
        "127.0.0.1/cb",
        "",
    ],
)
def test_callback_urls_refused_at_push_time(daraja, url):
    response = daraja.push(CallBackURL=url)
    assert_error(response, 400, INVALID, "Bad Request - Invalid CallBackURL")
    assert not SimPush.objects.exists()


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:8000/payments/callbacks/a/b/", "http://LOCALHOST/cb", "https://localhost:1/x?y=1"],
)
def test_allowed_hosts_are_accepted(daraja, url):
    assert daraja.push(CallBackURL=url).status_code == 200


def test_ipv6_loopback_only_when_listed(daraja, settings):
    settings.SIMULATOR_ALLOWED_CALLBACK_HOSTS = ["127.0.0.1", "[::1]"]
    assert daraja.push(CallBackURL="http://[::1]:8000/cb").status_code == 200


def test_url_no_longer_allowed_at_send_time_is_not_sent(daraja, receiver, clock, run_deliveries, settings):
    daraja.accepted()
    settings.SIMULATOR_ALLOWED_CALLBACK_HOSTS = ["localhost"]
    clock.advance(3)
    run_deliveries()
    assert receiver.seen == []
    delivery = SimPush.objects.get().deliveries.get()
    assert delivery.status == "failed"
    assert "SIMULATOR_ALLOWED_CALLBACK_HOSTS" in delivery.error


def test_redirects_are_not_followed(daraja, receiver, clock, run_deliveries):
    # The target is loopback too (tests never aim at other addresses): it must not be hit.
    elsewhere = f"http://127.0.0.1:{receiver.server.port}/elsewhere/"
    receiver.server.expect_request("/elsewhere/").respond_with_handler(receiver)
    receiver.handler = lambda request: Response("", status=302, headers={"Location": elsewhere})
    daraja.accepted()
    clock.advance(3)
    run_deliveries()
    assert len(receiver.seen) == 1
    delivery = SimPush.objects.get().deliveries.get()
    assert (delivery.status, delivery.response_status) == ("sent", 302)
