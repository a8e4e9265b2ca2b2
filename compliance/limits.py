"""Regulation Crowdfunding investment limit for one investor (17 CFR 227.100(a)(2), as amended in 2021).

Pure and typed: no Django import. The dollar amounts are inflation-adjusted by the SEC every five years, so they
come in as arguments (`RegCfThresholds`), read by the caller from settings; `REG_CF_THRESHOLDS_2021` holds the
amounts in force since 2021 for reference and tests.

The rule, word for word where it matters:

(i)  "The greater of $2,500 or 5 percent of the greater of the investor's annual income or net worth, if either
     the investor's annual income or net worth is less than $124,000; or
(ii) Ten percent of the greater of the investor's annual income or net worth, not to exceed an amount sold of
     $124,000, if both annual income and net worth are equal to or more than $124,000."

Note the cap belongs to (ii) only. Read literally, an investor under (i) whose larger figure exceeds
$2,480,000 (e.g. income $100,000, net worth $3,000,000) gets 5% of it, above the $124,000 cap, and crossing into
(ii) then lowers the limit. We apply the text as written; `test_limits.py` pins this down so that a decision
to read it otherwise is a visible change.

What counts against the limit (227.100(a)(2) "in the 12-month period preceding", 227.303(b)): every Regulation
Crowdfunding amount on the platform's ledger dated within the last 12 months (reversals are negative rows), plus
what the investor declares having invested in Regulation Crowdfunding offerings elsewhere in that period.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_DOWN, Decimal

CENT = Decimal("0.01")
ZERO = Decimal("0.00")

# The exemption tag a ledger row carries; the values match compliance.choices.Exemption.
REG_CF = "reg_cf"

LOW_RATE = Decimal("0.05")
HIGH_RATE = Decimal("0.10")


@dataclass(frozen=True)
class RegCfThresholds:
    """The inflation-adjusted dollar amounts of 227.100(a)(2)."""

    minimum: Decimal  # "$2,500"
    threshold: Decimal  # "$124,000": income and net worth both at or above it select rule (ii)
    cap: Decimal  # "not to exceed an amount sold of $124,000" in rule (ii)


REG_CF_THRESHOLDS_2021 = RegCfThresholds(minimum=Decimal("2500"), threshold=Decimal("124000"), cap=Decimal("124000"))


@dataclass(frozen=True)
class LedgerEntry:
    """One row of the investment ledger: a commitment or purchase (positive) or its reversal (negative)."""

    amount: Decimal
    occurred_at: datetime  # timezone-aware
    exemption: str


@dataclass(frozen=True)
class InvestmentLimit:
    """Where an investor stands. `limit` and `remaining` are None when unlimited (accredited investors)."""

    limit: Decimal | None
    used: Decimal
    remaining: Decimal | None
    rule: str  # "accredited", "minimum" (the $2,500 floor), "five_percent", "ten_percent" or "cap"

    @property
    def unlimited(self) -> bool:
        return self.limit is None

    def allows(self, amount: Decimal) -> bool:
        """Whether a further investment of `amount` stays within the limit."""
        return self.remaining is None or amount <= self.remaining


def _cents(amount: Decimal) -> Decimal:
    # Round down: a limit rounded up by a cent would allow a cent more than the rule does.
    return amount.quantize(CENT, rounding=ROUND_DOWN)


def reg_cf_annual_limit(
    *, annual_income: Decimal, net_worth: Decimal, thresholds: RegCfThresholds
) -> tuple[Decimal, str]:
    """The 12-month limit of a non-accredited investor, and which branch of the rule set it."""
    if annual_income < 0 or net_worth < 0:
        # Net worth can be negative in life; for the rule a negative figure is simply "less than the threshold".
        annual_income, net_worth = max(annual_income, Decimal(0)), max(net_worth, Decimal(0))
    greater = max(annual_income, net_worth)
    if annual_income < thresholds.threshold or net_worth < thresholds.threshold:
        five_percent = _cents(greater * LOW_RATE)
        if five_percent > thresholds.minimum:
            return five_percent, "five_percent"
        return _cents(thresholds.minimum), "minimum"
    ten_percent = _cents(greater * HIGH_RATE)
    if ten_percent > thresholds.cap:
        return _cents(thresholds.cap), "cap"
    return ten_percent, "ten_percent"


def twelve_months_before(moment: datetime) -> datetime:
    """The same calendar moment a year earlier (29 February falls back to 28 February)."""
    try:
        return moment.replace(year=moment.year - 1)
    except ValueError:
        return moment.replace(year=moment.year - 1, day=28)


def reg_cf_used(*, ledger: Iterable[LedgerEntry], invested_elsewhere: Decimal, now: datetime) -> Decimal:
    """What counts against the limit: Reg CF ledger rows of the last 12 months plus the amount declared elsewhere.

    Rows dated after `now` count too (a commitment being recorded); a window boundary row (exactly 12 months
    old) still counts, since it lies within "the 12-month period preceding".
    """
    start = twelve_months_before(now)
    on_platform = sum(
        (entry.amount for entry in ledger if entry.exemption == REG_CF and entry.occurred_at >= start),
        Decimal(0),
    )
    # Reversals can only take back what was recorded; a ledger that nets below zero must not create headroom.
    return _cents(max(on_platform, Decimal(0)) + max(invested_elsewhere, Decimal(0)))


def reg_cf_limit(
    *,
    accredited: bool,
    annual_income: Decimal,
    net_worth: Decimal,
    ledger: Iterable[LedgerEntry],
    invested_elsewhere: Decimal,
    now: datetime,
    thresholds: RegCfThresholds,
) -> InvestmentLimit:
    """The investor's Regulation Crowdfunding limit over the 12 months ending `now`, what is used, what is left.

    Accredited investors are unlimited (227.100(a)(2) applies to "investors other than accredited investors").
    """
    used = reg_cf_used(ledger=ledger, invested_elsewhere=invested_elsewhere, now=now)
    if accredited:
        return InvestmentLimit(limit=None, used=used, remaining=None, rule="accredited")
    limit, rule = reg_cf_annual_limit(annual_income=annual_income, net_worth=net_worth, thresholds=thresholds)
    return InvestmentLimit(limit=limit, used=used, remaining=max(limit - used, ZERO), rule=rule)
