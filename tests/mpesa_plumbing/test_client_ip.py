"""Client addresses behind trusted proxies and IP allowlists (mpesa_plumbing/client_ip.py)."""

import pytest

from mpesa_plumbing.client_ip import ip_in, parse_networks


def test_addresses_and_cidr_ranges_are_networks():
    networks = parse_networks(["196.201.214.200", " 196.201.212.0/24 ", "", "::1"])
    assert ip_in("196.201.214.200", networks) and ip_in("196.201.212.129", networks)
    assert ip_in("::1", networks)
    assert not ip_in("196.201.214.201", networks) and not ip_in("196.201.213.1", networks)


@pytest.mark.parametrize("address", [None, "", "not-an-ip", "196.201.214.200:443", "999.1.1.1"])
def test_missing_or_unreadable_addresses_are_never_allowed(address):
    assert not ip_in(address, parse_networks(["0.0.0.0/0"]))


@pytest.mark.parametrize("entry", ["196.201.214", "196.201.214.0/33", "sandbox.safaricom.co.ke"])
def test_a_bad_entry_is_refused_by_name(entry):
    with pytest.raises(ValueError, match=entry.replace(".", r"\.")):
        parse_networks(["196.201.214.200", entry])


def test_settings_refuse_to_start_with_a_bad_allowlist(tmp_path):
    import os
    import subprocess
    import sys

    from tests.helpers.topology import ROOT

    env = {**os.environ, "DARAJA_CALLBACK_IPS": "196.201.214.200,not-an-ip", "DJANGO_READ_DOT_ENV": "false"}
    run = subprocess.run(
        [sys.executable, "-c", "import project.settings"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert run.returncode != 0 and "DARAJA_CALLBACK_IPS" in run.stderr and "not-an-ip" in run.stderr
