"""Money as Kenyans read it: ``KES 2,400``. One helper for templates (the ``kes`` filter),
JSON for display (``amount_display`` in every status payload) and, through that field, the JS
client. Amounts are integer shillings everywhere; this only writes them."""


def format_kes(amount: int | None) -> str:
    """``2400`` → ``KES 2,400``; ``None`` → ``""``."""
    if amount is None:
        return ""
    return f"KES {int(amount):,}"
