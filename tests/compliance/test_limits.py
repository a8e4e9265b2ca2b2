"""Regulation Crowdfunding limit (17 CFR 227.100(a)(2)): the SEC's published examples, the ledger, properties."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from compliance.limits import (
    REG_CF_THRESHOLDS_2021,
    LedgerEntry,
    RegCfThresholds,
    reg_cf_annual_limit,
    reg_cf_limit,
    twelve_months_before,
)

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
D = Decimal


def limit_of(income: str, net_worth: str, *, ledger=(), elsewhere: str = "0", accredited: bool = False):
    return reg_cf_limit(
        accredited=accredited,
        annual_income=D(income),
        net_worth=D(net_worth),
        ledger=list(ledger),
        invested_elsewhere=D(elsewhere),
        now=NOW,
        thresholds=REG_CF_THRESHOLDS_2021,
    )


@pytest.mark.parametrize(
    ("income", "net_worth", "expected", "rule"),
    [
        # The SEC's examples (Investor Bulletin, amounts as amended in 2021).
        ("30000", "105000", "5250.00", "five_percent"),  # 5% of 105,000
        ("150000", "80000", "7500.00", "five_percent"),  # 5% of 150,000: net worth below the threshold
        ("150000", "124000", "15000.00", "ten_percent"),  # both at the threshold: rule (ii)
        ("200000", "900000", "90000.00", "ten_percent"),  # 10% of 900,000
        ("1200000", "2000000", "124000.00", "cap"),  # 10% of 2,000,000 = 200,000, capped
        ("20000", "30000", "2500.00", "minimum"),  # 5% of 30,000 = 1,500 < 2,500
        ("0", "0", "2500.00", "minimum"),
        ("123999.99", "900000", "45000.00", "five_percent"),  # a cent under the threshold: rule (i)
    ],
)
def test_published_examples(income, net_worth, expected, rule):
    result = limit_of(income, net_worth)
    assert result.limit == D(expected)
    assert result.rule == rule
    assert result.used == D("0.00")
    assert result.remaining == D(expected)


def test_accredited_investor_is_unlimited():
    result = limit_of("30000", "105000", accredited=True, elsewhere="1000000")
    assert result.unlimited
    assert result.limit is None
    assert result.remaining is None
    assert result.allows(D("10000000"))
    assert result.used == D("1000000.00")


def test_five_percent_is_rounded_down_to_the_cent():
    assert limit_of("0", "100000.19").limit == D("5000.00")  # 5000.0095


def test_rule_i_has_no_cap_as_written():
    """Rule (i) carries no cap: income $100,000, net worth $3,000,000 gives 5% = $150,000, and moving income to
    the threshold (rule (ii), capped) lowers the limit to $124,000. The text is applied as written."""
    assert limit_of("100000", "3000000").limit == D("150000.00")
    assert limit_of("124000", "3000000").limit == D("124000.00")


def test_platform_and_declared_investments_of_the_last_12_months_reduce_what_is_left():
    ledger = [
        LedgerEntry(D("1000"), NOW - timedelta(days=10), "reg_cf"),
        LedgerEntry(D("250.50"), NOW - timedelta(days=300), "reg_cf"),
    ]
    result = limit_of("30000", "105000", ledger=ledger, elsewhere="2000")
    assert result.used == D("3250.50")
    assert result.remaining == D("1999.50")
    assert result.allows(D("1999.50"))
    assert not result.allows(D("1999.51"))


def test_older_and_reg_d_investments_do_not_count():
    ledger = [
        LedgerEntry(D("4000"), NOW - timedelta(days=366), "reg_cf"),  # more than 12 months ago
        LedgerEntry(D("4000"), NOW - timedelta(days=5), "reg_d_506b"),
        LedgerEntry(D("4000"), NOW - timedelta(days=5), "reg_d_506c"),
        LedgerEntry(D("4000"), NOW - timedelta(days=5), "reg_s"),
    ]
    result = limit_of("30000", "105000", ledger=ledger)
    assert result.used == D("0.00")
    assert result.remaining == D("5250.00")


def test_window_boundary_and_reversals():
    ledger = [
        LedgerEntry(D("1000"), twelve_months_before(NOW), "reg_cf"),  # exactly 12 months: still inside
        LedgerEntry(D("1000"), twelve_months_before(NOW) - timedelta(seconds=1), "reg_cf"),  # just outside
        LedgerEntry(D("500"), NOW - timedelta(days=2), "reg_cf"),
        LedgerEntry(D("-500"), NOW - timedelta(days=1), "reg_cf"),  # the refund of the row above
    ]
    assert limit_of("30000", "105000", ledger=ledger).used == D("1000.00")


def test_a_ledger_netting_below_zero_creates_no_headroom():
    ledger = [LedgerEntry(D("-3000"), NOW - timedelta(days=1), "reg_cf")]
    assert limit_of("30000", "105000", ledger=ledger, elsewhere="1000").remaining == D("4250.00")


def test_used_beyond_the_limit_leaves_zero_not_a_negative_amount():
    result = limit_of("30000", "105000", elsewhere="9000")
    assert result.used == D("9000.00")
    assert result.remaining == D("0.00")
    assert not result.allows(D("0.01"))


def test_thresholds_are_arguments():
    future = RegCfThresholds(minimum=D("2800"), threshold=D("140000"), cap=D("140000"))
    assert reg_cf_annual_limit(annual_income=D("30000"), net_worth=D("40000"), thresholds=future) == (
        D("2800.00"),
        "minimum",
    )
    assert reg_cf_annual_limit(annual_income=D("130000"), net_worth=D("135000"), thresholds=future)[1] == "five_percent"


def test_leap_day_window():
    assert twelve_months_before(datetime(2028, 2, 29, tzinfo=UTC)) == datetime(2027, 2, 28, tzinfo=UTC)


money = st.decimals(min_value=0, max_value=D("100000000"), places=2, allow_nan=False, allow_infinity=False)
entries = st.lists(
    st.builds(
        LedgerEntry,
        amount=st.decimals(min_value=D("-50000"), max_value=D("50000"), places=2),
        occurred_at=st.integers(min_value=0, max_value=800).map(lambda days: NOW - timedelta(days=days)),
        exemption=st.sampled_from(["reg_cf", "reg_d_506b", "reg_d_506c", "reg_s"]),
    ),
    max_size=20,
)


@given(income=money, net_worth=money, ledger=entries, elsewhere=money, accredited=st.booleans())
def test_remaining_is_never_negative_and_is_limit_minus_used(income, net_worth, ledger, elsewhere, accredited):
    result = reg_cf_limit(
        accredited=accredited, annual_income=income, net_worth=net_worth, ledger=ledger,
        invested_elsewhere=elsewhere, now=NOW, thresholds=REG_CF_THRESHOLDS_2021,
    )
    assert result.used >= 0
    if accredited:
        assert result.remaining is None
    else:
        assert result.limit is not None
        assert result.remaining is not None
        assert result.remaining >= 0
        assert result.remaining == max(result.limit - result.used, 0)
        assert result.limit >= REG_CF_THRESHOLDS_2021.minimum
        assert result.limit.as_tuple().exponent == -2


def _limit(income: Decimal, net_worth: Decimal) -> Decimal:
    return reg_cf_annual_limit(annual_income=income, net_worth=net_worth, thresholds=REG_CF_THRESHOLDS_2021)[0]


# Below $2,480,000 (where 5% reaches the cap) rule (i) never exceeds the cap, and the limit is monotone.
bounded = st.decimals(min_value=0, max_value=D("2480000"), places=2)


@given(income=bounded, net_worth=bounded, more=st.decimals(min_value=0, max_value=D("1000000"), places=2))
def test_limit_is_monotone_in_income_and_net_worth(income, net_worth, more):
    base = _limit(income, net_worth)
    assert _limit(min(income + more, D("2480000")), net_worth) >= base
    assert _limit(income, min(net_worth + more, D("2480000"))) >= base


@given(income=money, net_worth=money)
def test_never_above_the_cap_under_rule_ii_nor_above_the_greater_of_cap_and_five_percent(income, net_worth):
    limit, rule = reg_cf_annual_limit(annual_income=income, net_worth=net_worth, thresholds=REG_CF_THRESHOLDS_2021)
    if rule in ("ten_percent", "cap"):
        assert limit <= REG_CF_THRESHOLDS_2021.cap
    assert limit <= max(REG_CF_THRESHOLDS_2021.cap, max(income, net_worth) * D("0.05"))
    if max(income, net_worth) < D("2480000"):
        assert limit <= REG_CF_THRESHOLDS_2021.cap
