"""The lock files are what `make` and the Dockerfile install: every requirement pinned with
its hashes, compiled from pyproject.toml's ranges, and matching what the tests run on."""

import re
from importlib.metadata import version

from packaging.requirements import Requirement

from tests.helpers.topology import ROOT

PIN = re.compile(r"^([A-Za-z0-9_.\-]+)==([^\s\\]+)", re.M)


def _pins(path):
    text = (ROOT / path).read_text()
    return text, dict(PIN.findall(text))


def test_every_pin_carries_hashes_and_no_machine_paths():
    for path in ("requirements.txt", "tests/requirements.txt"):
        text, pins = _pins(path)
        blocks = [b for b in re.split(r"\n(?=[A-Za-z0-9_.\-]+==)", text) if PIN.match(b)]
        assert len(blocks) == len(pins) > 20
        assert all("--hash=sha256:" in block for block in blocks), path
        assert "--find-links" not in text and "--index-url" not in text and "file://" not in text


def test_the_lock_satisfies_the_declared_ranges_and_is_what_runs():
    import tomllib

    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    _, pins = _pins("requirements.txt")
    pins = {name.lower().replace("_", "-"): v for name, v in pins.items()}
    for line in declared:
        requirement = Requirement(line)
        pinned = pins[requirement.name.lower()]
        assert requirement.specifier.contains(pinned), (requirement, pinned)
        assert version(requirement.name) == pinned, f"{requirement.name}: installed differs from the lock"
