"""Amounts of the token pages in words: `{{ amount|payment:sale }}` → "1.5 ETH", `{{ amount|tokens:token }}` →
"1,500 LUMEN", `{{ address|short_hex }}` → "0x12ab…89ef" (the full value stays in the title attribute)."""

from __future__ import annotations

from django import template

from tokens.models import Sale, Token
from tokens.units import format_amount

register = template.Library()
TOKEN_PLACES = 4  # display only: an 18-decimal token would otherwise print 18 places


@register.filter
def payment(amount: int | None, sale: Sale) -> str:
    if amount is None:
        return ""
    return format_amount(int(amount), sale.payment_decimals, sale.payment_symbol)


@register.filter
def tokens(amount: int | None, token: Token) -> str:
    if amount is None:
        return ""
    return format_amount(int(amount), token.decimals, token.symbol, places=TOKEN_PLACES)


@register.filter
def token_number(amount: int | None, token: Token) -> str:
    """As `tokens`, without the symbol: for a table whose header names the token."""
    if amount is None:
        return ""
    return format_amount(int(amount), token.decimals, places=TOKEN_PLACES)


@register.filter
def short_hex(value: str | None) -> str:
    if not value:
        return ""
    return value if len(value) <= 14 else f"{value[:6]}…{value[-4:]}"
