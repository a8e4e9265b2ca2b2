"""The rounding rules of the cap table, written down once.

Every calculation in the engine is exact (``fractions.Fraction``); rounding happens only where a number
leaves the engine as something a document states or a bank pays:

- **Shares round down** to whole shares (``shares_down``). A fraction of a share is never issued, and
  rounding down means rounding never creates a share the money or the instrument did not pay for.
- **Price per share** rounds to 4 decimal places with ``ROUND_HALF_UP`` unless a round's
  ``RoundingPolicy`` says otherwise. Half-up is what term sheets, the NVCA model documents and cap table
  tools use when they state "$1.1144 per share"; it keeps the stated price within half a hundredth of a
  cent of the exact one. A round that wants issued shares never to exceed the exact solution (not just the
  exact count at the stated price) can ask for ``ROUND_UP``.
- **Money** is in whole cents: ``to_cents`` rounds half-up (an amount a person pays or is owed), and a sum
  split between holders uses the largest-remainder rule so the parts add up exactly to the whole.

Decimal arithmetic runs in ``CONTEXT`` (50 significant digits), never the process-wide default context
(28 digits, and changeable by any other code).
"""

from __future__ import annotations

import decimal
import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import TypeVar

CONTEXT = decimal.Context(prec=50, rounding=ROUND_HALF_UP, traps=[decimal.InvalidOperation, decimal.Overflow])

PRICE_DECIMALS = 4
_ROUNDING_MODES = frozenset({
    decimal.ROUND_UP, decimal.ROUND_DOWN, decimal.ROUND_CEILING, decimal.ROUND_FLOOR,
    decimal.ROUND_HALF_UP, decimal.ROUND_HALF_DOWN, decimal.ROUND_HALF_EVEN, decimal.ROUND_05UP,
})

K = TypeVar("K", bound=Hashable)

Exact = Fraction | Decimal | int


@dataclass(frozen=True)
class RoundingPolicy:
    """How a round states its prices: ``price_decimals`` places, rounded with ``price_rounding``."""

    price_decimals: int = PRICE_DECIMALS
    price_rounding: str = ROUND_HALF_UP

    def __post_init__(self) -> None:
        if not 0 <= self.price_decimals <= 10:
            raise ValueError("price_decimals must be between 0 and 10 (prices are stored with 10 places)")
        if self.price_rounding not in _ROUNDING_MODES:
            raise ValueError(f"unknown rounding mode {self.price_rounding!r}")


DEFAULT_POLICY = RoundingPolicy()


def exact(value: Exact) -> Fraction:
    """The exact rational value of a Decimal, int or Fraction (Decimal to Fraction loses nothing)."""
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"not a finite number: {value}")
        return Fraction(value)
    return Fraction(value)


def _quantize(value: Fraction, places: int, mode: str) -> Decimal:
    """``value`` rounded to ``places`` decimals with ``mode``, computed exactly (no intermediate rounding)."""
    scaled = value * 10**places
    whole = scaled.numerator // scaled.denominator  # floor
    remainder = scaled - whole
    # The exact remainder decides the direction; a stand-in digit (below, at, or above one half) lets
    # Decimal apply any rounding mode without ever seeing the inexact value.
    if remainder == 0:
        as_decimal = Decimal(whole)
    elif remainder < Fraction(1, 2):
        as_decimal = CONTEXT.add(Decimal(whole), Decimal("0.25"))
    elif remainder == Fraction(1, 2):
        as_decimal = CONTEXT.add(Decimal(whole), Decimal("0.5"))
    else:
        as_decimal = CONTEXT.add(Decimal(whole), Decimal("0.75"))
    rounded = as_decimal.quantize(Decimal(1), rounding=mode, context=CONTEXT)
    return CONTEXT.scaleb(rounded, -places)


def round_price(value: Exact, policy: RoundingPolicy = DEFAULT_POLICY) -> Decimal:
    """A price per share as stated in a document: ``policy.price_decimals`` places, ``policy.price_rounding``."""
    price = exact(value)
    if price <= 0:
        raise ValueError("a price per share must be positive")
    return _quantize(price, policy.price_decimals, policy.price_rounding)


def shares_down(value: Exact) -> int:
    """Whole shares: always rounded down, so rounding never creates a share."""
    amount = exact(value)
    if amount < 0:
        raise ValueError("a share count cannot be negative")
    return amount.numerator // amount.denominator


def to_cents(amount: Exact) -> int:
    """A money amount in whole cents, half-up (what a person pays or is owed)."""
    return int(_quantize(exact(amount), 2, ROUND_HALF_UP).scaleb(2, context=CONTEXT))


def from_cents(cents: int) -> Decimal:
    """Whole cents back to a Decimal amount with two places."""
    return Decimal(cents).scaleb(-2, context=CONTEXT)


def require_cents(amount: Decimal, what: str = "amount") -> int:
    """Cents of an amount that must already be whole cents (an exit value, a wire)."""
    value = exact(amount) * 100
    if value.denominator != 1:
        raise ValueError(f"{what} {amount} is not a whole number of cents")
    return value.numerator


def largest_remainder(total: int, weights: Mapping[K, Fraction] | Mapping[K, int], order: Sequence[K] | None = None) -> dict[K, int]:
    """Split the integer ``total`` in proportion to ``weights`` so the parts add up exactly to ``total``.

    Each part gets the floor of its exact share; the units left over go one each to the largest
    remainders (Hamilton's method). Ties go to the key that comes first in ``order`` (default: the
    mapping's order), so the result is deterministic.
    """
    keys = list(order) if order is not None else list(weights)
    if set(keys) != set(weights):
        raise ValueError("order must list exactly the keys of weights")
    if total < 0:
        raise ValueError("cannot split a negative total")
    if any(weight < 0 for weight in weights.values()):
        raise ValueError("weights cannot be negative")
    # Scale every weight to a whole number (same proportions), so the rest is integer arithmetic.
    scale = math.lcm(*(Fraction(weight).denominator for weight in weights.values() if not isinstance(weight, int)))
    whole_weights = {key: int(weight * scale) for key, weight in weights.items()}
    weight_sum = sum(whole_weights.values())
    if weight_sum == 0:
        if total:
            raise ValueError("cannot split a positive total with zero weights")
        return dict.fromkeys(keys, 0)
    parts: dict[K, int] = {}
    remainders: list[tuple[int, int]] = []  # (remainder, -position): unique, so the order is total
    for position, key in enumerate(keys):
        floor, remainder = divmod(whole_weights[key] * total, weight_sum)
        parts[key] = floor
        remainders.append((remainder, -position))
    left = total - sum(parts.values())
    for _remainder, position in sorted(remainders, reverse=True)[:left]:
        parts[keys[-position]] += 1
    return parts


def percentages(counts: Mapping[K, int], decimals: int = 2) -> dict[K, Decimal]:
    """Ownership percentages for display, ``decimals`` places, adding up to exactly 100 (largest remainder)."""
    unit = 10**decimals
    parts = largest_remainder(100 * unit, dict(counts))
    shown: dict[int, Decimal] = {}  # a large table repeats the same few small percentages
    result: dict[K, Decimal] = {}
    for key, part in parts.items():
        percent = shown.get(part)
        if percent is None:
            percent = shown[part] = Decimal(part).scaleb(-decimals, context=CONTEXT)
        result[key] = percent
    return result


def decimal_of(value: Fraction, places: int = 10) -> Decimal:
    """A Fraction shown as a Decimal with ``places`` decimals, rounded down (display only)."""
    return _quantize(value, places, ROUND_DOWN)
