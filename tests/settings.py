"""Test settings: the project's settings with fast hashing, a file-backed SQLite test
database (threads need a real file) and no in-process job thread (tests run due jobs
themselves, deterministically)."""

import os
import tempfile

os.environ.setdefault("DJANGO_READ_DOT_ENV", "false")

from project.settings import *  # noqa: E402,F403
from project.settings import DATABASES  # noqa: E402

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
PAYMENTS_RUN_JOBS_IN_PROCESS = False
PAYMENTS_DB_THREADS = 0  # inside a test transaction: thread-sensitive (mpesa_plumbing/db.py);
# tests that commit (transaction=True) run the production threads (tests/conftest.py)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["TEST"] = {
        "NAME": os.path.join(tempfile.gettempdir(), f"mpx-test-{os.getpid()}.sqlite3")
    }
LOGGING["root"]["level"] = "WARNING"  # noqa: F405
DARAJA_QUERY_RATE = ""  # unlimited, except in the tests of the limit itself
PAYMENTS_C2B_AUTO_REGISTER = False  # no registration job; the tests that need one run it
