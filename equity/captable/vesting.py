"""Time-based vesting: a number of shares or options vesting monthly over ``months``, after a ``cliff``.

The rule, written once:

- A month is complete on the same day of a later month (the 12th to the 12th). A start on the 29th-31st
  completes a month on the last day of a shorter month (31 January → 28 February), as cap table tools do.
- Before the cliff nothing has vested; on the cliff date ``cliff_months`` months' worth vests at once; after it,
  one more month's worth on each monthly date, until everything has vested on the last one.
- The vested count after ``k`` whole months is ``floor(total × k / months)``: cumulative counts round down, so
  the monthly amounts differ by at most one share and the last date vests exactly what is left.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date


def add_months(start: date, months: int) -> date:
    """The same day ``months`` later, or the last day of that month when it is shorter."""
    index = start.year * 12 + start.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def whole_months(start: date, day: date) -> int:
    """How many whole months have passed from ``start`` to ``day`` (0 before ``start``)."""
    if day < start:
        return 0
    months = (day.year - start.year) * 12 + day.month - start.month
    while months > 0 and add_months(start, months) > day:
        months -= 1
    return months


@dataclass(frozen=True)
class VestingSchedule:
    """``total`` shares vesting monthly over ``months`` from ``start``, nothing before ``cliff_months``."""

    total: int
    start: date
    months: int
    cliff_months: int = 0

    def __post_init__(self) -> None:
        if self.total < 0:
            raise ValueError("a vesting schedule cannot cover a negative number of shares")
        if self.months < 0 or self.cliff_months < 0:
            raise ValueError("vesting and cliff periods cannot be negative")
        if self.cliff_months > self.months:
            raise ValueError("the cliff cannot be longer than the vesting period")

    @property
    def cliff_date(self) -> date:
        return add_months(self.start, self.cliff_months)

    @property
    def end_date(self) -> date:
        """The day the last shares vest."""
        return add_months(self.start, self.months)

    def vested_on(self, day: date) -> int:
        """Shares vested at the end of ``day``."""
        if day < self.start:
            return 0
        if self.months == 0:
            return self.total
        elapsed = whole_months(self.start, day)
        if elapsed < self.cliff_months:
            return 0
        if elapsed >= self.months:
            return self.total
        return self.total * elapsed // self.months

    def unvested_on(self, day: date) -> int:
        return self.total - self.vested_on(day)

    def next_vesting_date(self, day: date) -> date | None:
        """The first date after ``day`` on which more shares vest (None once everything has vested)."""
        if self.vested_on(day) == self.total:
            return None
        if day < self.start:
            month = max(self.cliff_months, 1)
        else:
            month = max(whole_months(self.start, day) + 1, self.cliff_months)
        while month <= self.months:
            candidate = add_months(self.start, month)
            if candidate > day and self.vested_on(candidate) > self.vested_on(day):
                return candidate
            month += 1
        return None
