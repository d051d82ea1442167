"""``{% load payments_money %}`` … ``{{ order.amount|kes }}`` → ``KES 2,400``."""

from django import template

from ..money import format_kes

register = template.Library()


@register.filter
def kes(amount):
    try:
        return format_kes(int(amount))
    except (TypeError, ValueError):
        return ""
