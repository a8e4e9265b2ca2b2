"""SAFEs and convertible notes: their terms, accrued interest, and most-favoured-nation upgrades.

Interest on a note accrues from its issue date to the conversion date, counted actual/365 (the calendar
days between the two dates over a 365-day year, leap years included as 366 actual days). Simple interest
is ``principal × rate × days / 365``. Compounding interest with ``m`` periods a year compounds every whole
period of ``365 / m`` days and accrues simply over the part-period left, so at a period boundary both
conventions agree with the textbook ``principal × (1 + rate / m) ** periods``. The amount that converts
(principal plus interest) is rounded half-up to the cent, once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction

from equity.captable.rounding import exact, from_cents, to_cents

DAYS_PER_YEAR = 365


class InstrumentKind(StrEnum):
    POST_MONEY_SAFE = "post_money_safe"
    PRE_MONEY_SAFE = "pre_money_safe"
    CONVERTIBLE_NOTE = "convertible_note"


@dataclass(frozen=True)
class Convertible:
    """An outstanding SAFE or note.

    ``discount`` is the fraction off the round price (``Decimal("0.20")`` for 20%). Without a cap the
    instrument converts at the discounted round price (the round price itself when there is no discount).
    ``compounding_per_year`` is 0 for simple interest. ``mfn`` lets the holder take the best cap and
    discount of SAFEs issued after it and before the round; ``pro_rata`` gives its holder a pro-rata right.
    """

    name: str
    holder: str
    kind: InstrumentKind
    amount: Decimal
    valuation_cap: Decimal | None = None
    discount: Decimal = Decimal(0)
    issue_date: date | None = None
    interest_rate: Decimal = Decimal(0)
    compounding_per_year: int = 0
    mfn: bool = False
    pro_rata: bool = False

    def __post_init__(self) -> None:
        if self.amount <= 0:
            raise ValueError(f"{self.name}: the amount must be positive")
        if self.valuation_cap is not None and self.valuation_cap <= 0:
            raise ValueError(f"{self.name}: a valuation cap must be positive")
        if not 0 <= self.discount < 1:
            raise ValueError(f"{self.name}: a discount is a fraction from 0 up to (not including) 1")
        if self.interest_rate < 0 or self.compounding_per_year < 0:
            raise ValueError(f"{self.name}: interest cannot be negative")
        if self.interest_rate and self.kind is not InstrumentKind.CONVERTIBLE_NOTE:
            raise ValueError(f"{self.name}: only a convertible note bears interest")

    @property
    def is_safe(self) -> bool:
        return self.kind is not InstrumentKind.CONVERTIBLE_NOTE


def accrued_amount(instrument: Convertible, on: date | None) -> Fraction:
    """Principal plus interest to ``on``, exact (actual/365; see the module docstring)."""
    principal = exact(instrument.amount)
    if not instrument.interest_rate:
        return principal
    if instrument.issue_date is None or on is None:
        raise ValueError(f"{instrument.name}: interest needs the issue date and the conversion date")
    days = (on - instrument.issue_date).days
    if days < 0:
        raise ValueError(f"{instrument.name}: converts before it was issued")
    rate = exact(instrument.interest_rate)
    periods_per_year = instrument.compounding_per_year
    if periods_per_year == 0:
        return principal * (1 + rate * Fraction(days, DAYS_PER_YEAR))
    periods = Fraction(days * periods_per_year, DAYS_PER_YEAR)
    whole = periods.numerator // periods.denominator
    period_rate = rate / periods_per_year
    return principal * (1 + period_rate) ** whole * (1 + period_rate * (periods - whole))


def conversion_amount(instrument: Convertible, on: date | None) -> Decimal:
    """What converts, in cents: the purchase amount of a SAFE, principal plus interest of a note."""
    return from_cents(to_cents(accrued_amount(instrument, on)))


def _is_better_cap(candidate: Decimal | None, current: Decimal | None) -> bool:
    return candidate is not None and (current is None or candidate < current)


def apply_most_favoured_nation(instruments: Sequence[Convertible]) -> tuple[Convertible, ...]:
    """Each MFN SAFE takes the best cap and the best discount among SAFEs issued after it.

    "After" is a later issue date; with equal or missing dates, later in the sequence. Each term is taken
    on its own (the lowest cap, the highest discount), as a holder electing the better terms would; the
    instrument keeps its own kind, so a post-money SAFE stays post-money.
    """
    resolved: list[Convertible] = []
    for index, instrument in enumerate(instruments):
        if not (instrument.mfn and instrument.is_safe):
            resolved.append(instrument)
            continue
        cap, discount = instrument.valuation_cap, instrument.discount
        for later_index, later in enumerate(instruments):
            if later_index == index or not later.is_safe:
                continue
            if instrument.issue_date is not None and later.issue_date is not None:
                is_later = later.issue_date > instrument.issue_date or (
                    later.issue_date == instrument.issue_date and later_index > index)
            else:
                is_later = later_index > index
            if not is_later:
                continue
            if _is_better_cap(later.valuation_cap, cap):
                cap = later.valuation_cap
            discount = max(discount, later.discount)
        resolved.append(replace(instrument, valuation_cap=cap, discount=discount))
    return tuple(resolved)
