"""SIMULATOR_PROFILE=2026: one switch for the 2026 field reports (§13), resolved once in
simulator/conf.py; each setting set explicitly wins over the profile."""

import json
import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured

from simulator.apps import check_simulator_settings
from simulator.conf import RateLimit, sim_config
from tests.helpers.procs import ROOT
from tests.simulator.api.test_push import assert_error


def switches(config) -> tuple:
    return (
        config.callback_phone,
        config.query_too_early_seconds,
        config.query_rate_limit,
        config.gateway_hiccup_every,
    )


def test_everything_is_off_without_the_profile(settings):
    assert switches(sim_config()) == ("full", 0.0, None, 0)


def test_the_profile_turns_on_all_four(settings):
    settings.SIMULATOR_PROFILE = "2026"
    assert switches(sim_config()) == ("masked", 5.0, RateLimit(5, 60.0), 10)


def test_explicit_settings_win_over_the_profile(settings):
    settings.SIMULATOR_PROFILE = "2026"
    settings.SIMULATOR_CALLBACK_PHONE = "hashed"
    settings.SIMULATOR_QUERY_TOO_EARLY_SECONDS = "0"
    settings.SIMULATOR_QUERY_RATE_LIMIT = "off"
    settings.SIMULATOR_GATEWAY_HICCUP_EVERY = 0
    assert switches(sim_config()) == ("hashed", 0.0, None, 0)
    settings.SIMULATOR_CALLBACK_PHONE = "full"
    settings.SIMULATOR_QUERY_TOO_EARLY_SECONDS = 2.5
    settings.SIMULATOR_QUERY_RATE_LIMIT = " 3 / 10 "
    settings.SIMULATOR_GATEWAY_HICCUP_EVERY = "4"
    assert switches(sim_config()) == ("full", 2.5, RateLimit(3, 10.0), 4)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SIMULATOR_PROFILE", "2025"),
        ("SIMULATOR_CALLBACK_PHONE", "partial"),
        ("SIMULATOR_QUERY_TOO_EARLY_SECONDS", "-1"),
        ("SIMULATOR_QUERY_TOO_EARLY_SECONDS", "soon"),
        ("SIMULATOR_QUERY_TOO_EARLY_SECONDS", "nan"),
        ("SIMULATOR_QUERY_RATE_LIMIT", "5"),
        ("SIMULATOR_QUERY_RATE_LIMIT", "0/60"),
        ("SIMULATOR_QUERY_RATE_LIMIT", "5/0"),
        ("SIMULATOR_QUERY_RATE_LIMIT", "5/m"),
        ("SIMULATOR_GATEWAY_HICCUP_EVERY", "2.5"),
        ("SIMULATOR_GATEWAY_HICCUP_EVERY", True),
    ],
)
def test_values_it_cannot_read_are_refused(settings, name, value):
    setattr(settings, name, value)
    with pytest.raises(ImproperlyConfigured, match=name):
        sim_config()
    [error] = check_simulator_settings()
    assert error.id == "simulator.E001" and name in error.msg


def test_the_environment_reaches_the_resolved_config():
    """From the environment through project/settings.py: unset is empty, so the profile fills in."""
    code = (
        "import django; django.setup(); from simulator.conf import sim_config; c = sim_config(); "
        "print(c.callback_phone, c.query_too_early_seconds, c.query_rate_limit, c.gateway_hiccup_every)"
    )
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": "/tmp",
        "PYTHONPATH": str(ROOT),
        "DJANGO_READ_DOT_ENV": "false",
        "DJANGO_SETTINGS_MODULE": "project.settings",
        "SIMULATOR_PROFILE": "2026",
        "SIMULATOR_QUERY_RATE_LIMIT": "2/30",
    }
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[-2] == "masked 5.0 2/30 10"


def test_a_checkout_under_the_profile(daraja, receiver, clock, run_deliveries, settings):
    """The 2026 walk through real endpoints: too early, pending, final; SpikeArrest at 5/60 s
    with refused queries counted; the 10th query is a gateway page; the phone is masked."""
    settings.SIMULATOR_PROFILE = "2026"
    settings.SIMULATOR_CALLBACK_DELAY_SECONDS = 8
    checkout_id = daraja.accepted("254708512430")

    def code(response) -> str:
        assert response.status_code == 200, response.content
        return response.json()["ResultCode"]

    assert_error(daraja.query(checkout_id), 400, "400.002.02", "Invalid CheckoutRequestID")  # 1
    clock.advance(5)
    assert code(daraja.query(checkout_id)) == "4999"  # 2
    clock.advance(3)  # t=8
    run_deliveries()
    [callback] = receiver.callbacks()
    assert callback["CallbackMetadata"]["Item"][-1] == {"Name": "PhoneNumber", "Value": "254708***430"}
    assert [code(daraja.query(checkout_id)) for _ in range(3)] == ["0"] * 3  # 3, 4, 5
    refused = daraja.query(checkout_id)  # 6: five in the last minute
    assert refused.status_code == 429 and refused["Retry-After"] == "57"  # the t=5 query leaves at 65
    clock.advance(57)
    assert code(daraja.query(checkout_id)) == "0"  # 7
    assert daraja.query(checkout_id)["Retry-After"] == "3"  # 8: the t=8 ones leave at 68
    clock.advance(3)
    assert code(daraja.query(checkout_id)) == "0"  # 9
    page = daraja.query(checkout_id)  # 10
    assert (page.status_code, page["Content-Type"]) == (200, "text/html; charset=UTF-8")
    assert code(daraja.query(checkout_id)) == "0"  # 11
    counters = daraja.client.get("/simulator/control/counters/").json()
    assert counters["queries"] == 11
    assert json.loads(refused.content)["fault"]["detail"]["errorcode"] == (
        "policies.ratelimit.SpikeArrestViolation"
    )
