"""The checkout element's words in every language: Node's own test runner on
tests/node/*.test.mjs (no npm package needed; `make test` installs Node with npm)."""

import shutil
import subprocess

import pytest

from tests.helpers.procs import ROOT


def test_checkout_element_strings_are_complete_and_come_from_the_dictionary():
    node = shutil.which("node") or shutil.which("nodejs")
    if node is None:
        pytest.skip("Node.js is not installed (make test installs it with npm)")
    done = subprocess.run(
        [node, "--test", str(ROOT / "tests" / "node")], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
