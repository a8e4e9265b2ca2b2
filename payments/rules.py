"""Regulation Crowdfunding's clock, as pure functions (no Django import); the numbers come from settings.

- 17 CFR 227.304(a): "An investor may cancel an investment commitment for any reason until 48 hours prior to the
  deadline identified in the issuer's offering materials." After that the commitment is final.
- 227.304(b): the issuer may close early (reach the target before the deadline) only if the offering has been
  open at least 21 days (227.303(a)), investors are told at least five business days before the new deadline,
  and the target is still met at that deadline; the 48-hour cut-off is measured from the new deadline.
- 227.304(c): a material change to the terms requires each investor to reconfirm; a commitment not reconfirmed
  within five business days is cancelled and the money returned.

Business days here are Monday to Friday; public holidays are not counted out (a deliberate simplification: the
notice then runs a day short on a holiday week, so an issuer should allow one more day around holidays).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta


def add_business_days(moment: datetime, days: int) -> datetime:
    """`days` business days after `moment`, at the same time of day."""
    result = moment
    added = 0
    while added < days:
        result += timedelta(days=1)
        if result.weekday() < 5:
            added += 1
    return result


def business_days_between(start: datetime, end: datetime) -> int:
    """Whole business days from `start` to `end` (0 when `end` is not after `start`)."""
    count = 0
    while add_business_days(start, count + 1) <= end:
        count += 1
    return count


def deadline_of(closes_on: date) -> datetime:
    """An offering's deadline: the end of its last day (UTC)."""
    return datetime.combine(closes_on + timedelta(days=1), time.min, tzinfo=UTC)


def cancellation_cutoff(deadline: datetime, cutoff: timedelta) -> datetime:
    return deadline - cutoff


@dataclass(frozen=True)
class EarlyCloseRules:
    min_open_days: int
    notice_business_days: int


# Reason codes for a refused early close; the web layer words them.
OPEN_TOO_SHORT = "open_too_short"
NOTICE_TOO_SHORT = "notice_too_short"
NOT_EARLIER = "not_earlier"
NOT_OPEN = "not_open"


def early_close_refusal(
    *, opened_at: datetime | None, now: datetime, current_deadline: datetime | None, new_deadline: datetime,
    rules: EarlyCloseRules,
) -> str | None:
    """Why the deadline cannot move to `new_deadline` now, or None when it can. That the target is still met
    at the new deadline is checked when the round closes."""
    if opened_at is None:
        return NOT_OPEN
    if current_deadline is not None and new_deadline >= current_deadline:
        return NOT_EARLIER
    if new_deadline < opened_at + timedelta(days=rules.min_open_days):
        return OPEN_TOO_SHORT
    if new_deadline < add_business_days(now, rules.notice_business_days):
        return NOTICE_TOO_SHORT
    return None
