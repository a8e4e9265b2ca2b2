"""Whole units (what a founder types: 0.001 ETH, 100,000,000 tokens) to base units (what the chain stores), and
back. Pure and exact: a value with more decimals than the asset has is refused, never rounded."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation


class UnitsError(ValueError):
    pass


def to_base_units(value: Decimal | int | str, decimals: int) -> int:
    try:
        number = Decimal(value)
    except InvalidOperation as error:
        raise UnitsError(f"{value!r} is not a number") from error
    if not number.is_finite() or number < 0:
        raise UnitsError(f"{value} is not a positive amount")
    scaled = number.scaleb(decimals)
    if scaled != scaled.to_integral_value():
        raise UnitsError(f"{value} has more than {decimals} decimal places")
    return int(scaled)


def from_base_units(amount: int, decimals: int) -> Decimal:
    """Exact: the Decimal has as many places as needed, with trailing zeros removed."""
    value = Decimal(amount).scaleb(-decimals)
    normalized = value.normalize()
    return normalized if normalized.as_tuple().exponent <= 0 else normalized.quantize(Decimal(1))  # type: ignore[operator]


def tokens_for(amount: int, *, price: int, token_decimals: int) -> int:
    """Token base units that `amount` (payment base units) buys at `price` (per whole token), rounded down, as
    the sale contract computes them: floor(amount * 10**decimals / price)."""
    return amount * 10**token_decimals // price


def format_amount(amount: int, decimals: int, symbol: str = "", places: int | None = None) -> str:
    """`1,234.5 ETH`: grouped, trailing zeros dropped; `places` rounds down for display only."""
    value = from_base_units(amount, decimals)
    if places is not None:
        value = value.quantize(Decimal(1).scaleb(-places), rounding="ROUND_DOWN").normalize()
        if value.as_tuple().exponent > 0:  # type: ignore[operator]
            value = value.quantize(Decimal(1))
    text = f"{value:,f}"
    return f"{text} {symbol}".strip()
