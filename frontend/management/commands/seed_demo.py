"""Create the demo customer (demo/demo) with a wallet, orders and a booking to pay. Idempotent."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from frontend.models import Booking, Order, Wallet

DEMO_ORDERS = (
    ("DEMO1001", "Maasai market kikoi", 1),
    ("DEMO1002", "Kenyan AA coffee, 500 g", 850),
    ("DEMO1003", "Kiondo basket", 2400),
)


class Command(BaseCommand):
    help = "Seed the demo customer 'demo' (password 'demo') with a wallet and unpaid orders."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="demo")
        parser.add_argument("--password", default="demo")

    def handle(self, *args, username, password, **options):
        User = get_user_model()
        user, created = User.objects.get_or_create(username=username, defaults={"first_name": "Demo"})
        if created:
            user.set_password(password)  # demo only: bypasses the password validators on purpose
            user.save()
        Wallet.objects.get_or_create(user=user)
        made = 0
        for reference, description, amount in DEMO_ORDERS:
            ref = reference if username == "demo" else f"{reference[:4]}{user.pk}{reference[4:]}"[:12]
            _, new = Order.objects.get_or_create(
                reference=ref, defaults={"user": user, "description": description, "amount": amount}
            )
            made += new
        if not Booking.objects.filter(user=user, status=Booking.Status.AWAITING_FEE).exists():
            count = Booking.objects.filter(user=user).count() + 1
            Booking.objects.create(
                user=user,
                reference=f"BK{user.pk}{count:04d}"[:12],
                service="Fundi visit: kitchen sink repair",
            )
            made += 1
        if not Order.objects.filter(user=user, status=Order.Status.UNPAID).exists():
            # Everything was paid in an earlier session: add a fresh order to try again.
            count = Order.objects.filter(user=user).count() + 1
            Order.objects.create(
                user=user,
                reference=f"DEMO{user.pk}{count:04d}"[:12],
                description="Chapati flour, 2 kg",
                amount=230,
            )
            made += 1
        self.stdout.write(
            f"Demo customer '{username}' ready ({'created' if created else 'existing'}; {made} new orders)."
        )
