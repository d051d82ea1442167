"""Every customer string has its Kiswahili: ``makemessages -l sw`` is run for each app on a
temporary copy (the repository's files are never rewritten), and the catalogue it produces
must have no untranslated and no fuzzy entry; the committed .mo must be what the committed
.po compiles to. A new ``gettext``/``{% translate %}`` without its translation fails here.
Needs gettext (msgfmt, xgettext): ``make test`` installs it."""

import re
import shutil
import subprocess
import sys

import pytest

from tests.helpers.procs import ROOT

APPS = ("payments", "frontend")
pytestmark = pytest.mark.skipif(
    shutil.which("msgfmt") is None or shutil.which("xgettext") is None,
    reason="gettext is not installed (make test installs it)",
)


def catalogue(app: str) -> str:
    return f"{app}/locale/sw/LC_MESSAGES/django.po"


def entries(po: str) -> list[tuple[str, str, bool]]:
    """(msgid, msgstr, fuzzy) for each entry but the header; --no-wrap keeps them one-line."""
    found = []
    for block in po.split("\n\n"):
        msgid = re.search(r'^msgid "(.*)"$', block, re.M)
        msgstr = re.search(r'^msgstr "(.*)"$', block, re.M)
        if msgid and msgid.group(1):
            found.append((msgid.group(1), msgstr.group(1) if msgstr else "", "#, fuzzy" in block))
    return found


@pytest.fixture(params=APPS)
def extracted(request, tmp_path):
    """The app copied aside with its catalogue, and makemessages run there."""
    app = request.param
    copy = tmp_path / app
    shutil.copytree(ROOT / app, copy, ignore=shutil.ignore_patterns("__pycache__", "*.mo"))
    done = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "makemessages", "-l", "sw", "--no-obsolete",
         "--no-location", "--no-wrap"],
        cwd=copy, capture_output=True, text=True, timeout=120,
        env={"DJANGO_SETTINGS_MODULE": "tests.settings", "PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return app, tmp_path / catalogue(app)


def test_every_customer_string_has_its_kiswahili(extracted):
    app, po = extracted
    rows = entries(po.read_text())
    assert len(rows) > 40
    untranslated = [msgid for msgid, msgstr, _fuzzy in rows if not msgstr]
    fuzzy = [msgid for msgid, _msgstr, is_fuzzy in rows if is_fuzzy]
    assert untranslated == [], f"{catalogue(app)}: translate these (then make messages)"
    assert fuzzy == [], f"{catalogue(app)}: check these fuzzy guesses and remove the flag"
    stats = subprocess.run(["msgfmt", "--check", "--statistics", "-o", "/dev/null", str(po)],
                           capture_output=True, text=True)  # fmt: skip
    assert stats.returncode == 0 and re.fullmatch(r"\d+ translated messages\.\n", stats.stderr), stats.stderr


@pytest.mark.parametrize("app", APPS)
def test_the_committed_mo_is_the_compiled_po(app, tmp_path):
    compiled = tmp_path / "django.mo"
    subprocess.run(["msgfmt", "--check-format", "-o", str(compiled), str(ROOT / catalogue(app))], check=True)
    assert compiled.read_bytes() == (ROOT / catalogue(app)).with_suffix(".mo").read_bytes(), (
        "run make messages"
    )
