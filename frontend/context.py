"""What every shop page knows: how to reach customer care."""

from django.conf import settings


def shop(request) -> dict:
    return {"customer_care": getattr(settings, "SHOP_CUSTOMER_CARE", "")}
