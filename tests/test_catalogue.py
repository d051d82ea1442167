"""tests/CATALOGUE.md names real tests: every ``path.py::name`` it lists exists."""

import re
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def test_every_test_the_catalogue_names_exists():
    text = (TESTS / "CATALOGUE.md").read_text()
    named = re.findall(r"`([\w/]+\.py)(?:::(\w+\*?))?", text)  # test_x_* names a family
    assert len(named) > 80
    missing = []
    for path, name in named:
        source = TESTS / path
        if not source.is_file():
            missing.append(path)
        elif name and not re.search(
            rf"(def|class) {name.rstrip('*')}{'' if name.endswith('*') else '[(:]'}", source.read_text()
        ):
            missing.append(f"{path}::{name}")
    assert missing == []
