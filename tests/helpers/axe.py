"""axe-core in a Playwright page: inject the copy npm installed (tests/package-lock.json, put
in tests/node_modules by ``make test``; never a CDN) and run it on the whole document.

    from tests.helpers.axe import assert_accessible
    assert_accessible(page)                  # every rule axe runs by default, zero violations
"""

from pathlib import Path

import pytest

AXE_JS = Path(__file__).resolve().parents[1] / "node_modules" / "axe-core" / "axe.min.js"


def axe_violations(page, *, context: str = "document") -> list[dict]:
    """Run axe on ``context`` (a CSS selector or ``document``); its violations, as axe gives them."""
    if not AXE_JS.is_file():
        pytest.fail(f"{AXE_JS} is missing: `make test` installs it (npm ci --prefix tests)")
    if not page.evaluate("typeof window.axe === 'object'"):
        page.add_script_tag(path=str(AXE_JS))
    target = "document" if context == "document" else f"document.querySelector({context!r})"
    return page.evaluate(f"async () => (await axe.run({target}, {{resultTypes: ['violations']}})).violations")


def describe(violations: list[dict]) -> str:
    """One line per failing rule and node, readable in a test failure."""
    lines = []
    for violation in violations:
        for node in violation["nodes"]:
            rule = f"{violation['id']} ({violation['impact']})"
            lines.append(f"{rule}: {node['target']} {node['failureSummary']}")
    return "\n".join(lines)


def assert_accessible(page, *, context: str = "document") -> None:
    """No axe violations on the page as it is now."""
    violations = axe_violations(page, context=context)
    assert violations == [], describe(violations)
