"""Vesting with exact numbers: four years with a one-year cliff, month ends, counts that do not divide evenly."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from equity.captable.vesting import VestingSchedule, add_months, whole_months

FOUR_YEARS = VestingSchedule(total=48_000, start=date(2025, 3, 3), months=48, cliff_months=12)


@pytest.mark.parametrize(("day", "vested"), [
    (date(2025, 3, 2), 0),            # before the start
    (date(2025, 3, 3), 0),            # the start
    (date(2026, 3, 2), 0),            # the day before the cliff
    (date(2026, 3, 3), 12_000),       # the cliff: a year's worth at once
    (date(2026, 4, 2), 12_000),
    (date(2026, 4, 3), 13_000),       # then a month's worth each month
    (date(2027, 3, 3), 24_000),
    (date(2029, 3, 2), 47_000),
    (date(2029, 3, 3), 48_000),       # everything on the last date
    (date(2035, 1, 1), 48_000),
])
def test_four_years_with_a_one_year_cliff(day: date, vested: int) -> None:
    assert FOUR_YEARS.vested_on(day) == vested
    assert FOUR_YEARS.unvested_on(day) == 48_000 - vested


def test_counts_that_do_not_divide_evenly_round_down_and_finish_exactly() -> None:
    grant = VestingSchedule(total=100_000, start=date(2025, 5, 12), months=48, cliff_months=12)
    assert grant.vested_on(date(2026, 5, 12)) == 25_000
    assert grant.vested_on(date(2026, 6, 12)) == 27_083     # 100,000 × 13 / 48 = 27,083.33
    assert grant.vested_on(date(2026, 7, 12)) == 29_166     # 29,166.67, still rounded down
    assert grant.vested_on(date(2029, 4, 12)) == 97_916
    assert grant.vested_on(date(2029, 5, 12)) == 100_000


def test_a_start_at_the_end_of_a_month_vests_on_the_last_day_of_shorter_months() -> None:
    assert add_months(date(2025, 1, 31), 1) == date(2025, 2, 28)
    assert add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert add_months(date(2025, 1, 31), 3) == date(2025, 4, 30)
    assert whole_months(date(2025, 1, 31), date(2025, 2, 27)) == 0
    assert whole_months(date(2025, 1, 31), date(2025, 2, 28)) == 1
    monthly = VestingSchedule(total=1_200, start=date(2025, 1, 31), months=12)
    assert monthly.vested_on(date(2025, 2, 28)) == 100
    assert monthly.vested_on(date(2025, 3, 30)) == 100
    assert monthly.vested_on(date(2025, 3, 31)) == 200


def test_dates_of_the_schedule() -> None:
    assert FOUR_YEARS.cliff_date == date(2026, 3, 3)
    assert FOUR_YEARS.end_date == date(2029, 3, 3)
    assert FOUR_YEARS.next_vesting_date(date(2025, 6, 1)) == date(2026, 3, 3)
    assert FOUR_YEARS.next_vesting_date(date(2026, 3, 3)) == date(2026, 4, 3)
    assert FOUR_YEARS.next_vesting_date(date(2029, 3, 3)) is None


def test_no_vesting_period_vests_everything_at_the_start() -> None:
    immediate = VestingSchedule(total=5_000, start=date(2025, 1, 1), months=0)
    assert immediate.vested_on(date(2024, 12, 31)) == 0
    assert immediate.vested_on(date(2025, 1, 1)) == 5_000


def test_impossible_schedules_are_refused() -> None:
    with pytest.raises(ValueError, match="cliff"):
        VestingSchedule(total=1, start=date(2025, 1, 1), months=12, cliff_months=13)
    with pytest.raises(ValueError, match="negative"):
        VestingSchedule(total=-1, start=date(2025, 1, 1), months=12)


@given(total=st.integers(0, 10**9), months=st.integers(1, 120), cliff=st.integers(0, 120),
       days=st.lists(st.integers(0, 4000), min_size=2, max_size=2))
def test_vesting_never_goes_down_and_never_exceeds_the_total(total: int, months: int, cliff: int, days: list[int]) -> None:
    schedule = VestingSchedule(total=total, start=date(2025, 1, 31), months=months, cliff_months=min(cliff, months))
    early, late = sorted(date(2025, 1, 1) + timedelta(days=d) for d in days)
    assert 0 <= schedule.vested_on(early) <= schedule.vested_on(late) <= total
    assert schedule.vested_on(schedule.end_date) == total
