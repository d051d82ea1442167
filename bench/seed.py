"""Benchmark fixtures, written straight into the server's database (run with the server's
environment: ``python -m bench.seed --n 5000 --out fixtures.json``).

One customer (``bench``) with a wallet, one logged-in session, and N pending deposit payments
as ``payment_mark_pushed`` would leave them (checkout_request_id set, status ``pending``,
distinct phones, local deadline a day away so nothing expires during the run). For each
payment the file gets its public id, its capability callback path and a valid success
callback body (``tests.factories.callback_body``).
"""

import argparse
import json
import os
from datetime import timedelta

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")

import django  # noqa: E402

django.setup()

from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model  # noqa: E402
from django.contrib.contenttypes.models import ContentType  # noqa: E402
from django.contrib.sessions.backends.db import SessionStore  # noqa: E402
from django.utils import timezone  # noqa: E402

from frontend.models import Wallet  # noqa: E402
from payments.checkout.callback_url import callback_path  # noqa: E402
from payments.models import Payment  # noqa: E402
from tests.factories import callback_body, dumps  # noqa: E402

USERNAME = "bench"
PASSWORD = "bench-pass-1"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()

    user = get_user_model().objects.create_user(USERNAME, password=PASSWORD)
    wallet = Wallet.objects.create(user=user)
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.set_expiry(86_400)
    session.create()

    now = timezone.now()
    wallet_type = ContentType.objects.get_for_model(Wallet)
    rows = [
        Payment(
            user=user,
            payable_type=wallet_type,
            payable_id=str(wallet.pk),
            payable_kind=Wallet.payable_kind,
            payable_exclusive=Wallet.payable_one_prompt_at_a_time,
            phone=f"2547{i:08d}",
            amount=10,
            account_reference=f"DEP{user.pk}",
            transaction_desc="Wallet top-up",
            status=Payment.Status.PENDING,
            version=2,
            merchant_request_id=f"bench-mr-{i:08d}",
            checkout_request_id=f"ws_CO_bench{i:08d}",
            pushed_at=now,
            expires_at=now + timedelta(days=1),
        )
        for i in range(args.n)
    ]
    Payment.objects.bulk_create(rows, batch_size=500)
    payments = list(Payment.objects.filter(user=user).order_by("pk"))
    fixtures = {
        "session_key": session.session_key,
        "username": USERNAME,
        "password": PASSWORD,
        "wallet": str(wallet.public_id),
        "payments": [
            {
                "pk": p.pk,
                "public_id": str(p.public_id),
                "callback_path": callback_path(p.public_id),
                "body": dumps(callback_body(p)),
            }
            for p in payments
        ],
    }
    with open(args.out, "w") as out:
        json.dump(fixtures, out)


if __name__ == "__main__":
    main()
