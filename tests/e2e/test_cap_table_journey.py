"""Journey 1 as far as it is built, in a real browser: Mei records Lumen's classes, her founder shares, the
option pool and two grants, the angels' SAFEs, models the seed round, and reads the cap table."""

from __future__ import annotations

from typing import Any

import pytest

from tests.factories import MembershipFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def record(page: Any, base: str, what: str, fields: dict[str, str], selects: dict[str, str] | None = None) -> None:
    page.goto(f"{base}/cap-table/record/{what}/")
    for field, value in fields.items():
        page.fill(f"#id_{field}", value)
    for field, label in (selects or {}).items():
        page.select_option(f"#id_{field}", label=label)
    page.get_by_role("button", name="Record").click()
    page.wait_for_url(f"{base}/cap-table/")
    assert page.get_by_text("Recorded.").is_visible()


def test_mei_records_lumen_s_cap_table_and_models_the_seed(live_server: Any, signed_in: Any, shot: Any) -> None:
    owner = MembershipFactory(role="owner", company__legal_name="Lumen Labs, Inc.",
                              company__slug="lumen-labs-inc", user__full_name="Mei Chen")
    mei = signed_in(owner.user)
    base = f"{live_server.url}/companies/lumen-labs-inc"

    record(mei, base, "share-class", {"name": "Common", "authorized_shares": "12000000", "par_value": "0.00001"},
           {"kind": "Common"})
    record(mei, base, "stakeholder", {"name": "Mei Chen"}, {"relationship": "Founder"})
    record(mei, base, "issue", {"quantity": "8000000", "price_per_share": "0.00001", "effective_date": "2025-03-03",
                                "vesting_months": "48", "vesting_cliff_months": "12"},
           {"stakeholder": "Mei Chen", "share_class": "Common"})
    record(mei, base, "plan", {"name": "2025 Equity Incentive Plan", "reserved": "1000000",
                               "effective_date": "2025-04-01"}, {"share_class": "Common"})
    for name, options in [("Ada Okonkwo", "150000"), ("Tomás Reyes", "100000")]:
        record(mei, base, "stakeholder", {"name": name}, {"relationship": "Employee"})
        record(mei, base, "grant", {"quantity": options, "exercise_price": "0.05", "effective_date": "2025-06-01"},
               {"plan": "2025 Equity Incentive Plan", "stakeholder": name})
    for name, amount, cap in [("Hannah Lee", "250000", "6000000"), ("Rafael Costa", "150000", "8000000")]:
        record(mei, base, "stakeholder", {"name": name}, {"relationship": "Investor"})
        record(mei, base, "convertible", {"amount": amount, "valuation_cap": cap, "effective_date": "2025-09-01"},
               {"stakeholder": name, "instrument": "Post-money SAFE"})
    shot(mei, "cap-table")
    table = mei.locator("#cap-table")
    assert table.get_by_role("row").filter(has_text="Mei Chen").get_by_text("88.89%").is_visible()
    assert table.get_by_role("row").filter(has_text="Option pool (available)").get_by_text("750,000").is_visible()

    # A bad entry is refused beside its field and changes nothing.
    mei.goto(f"{base}/cap-table/record/issue/")
    mei.select_option("#id_stakeholder", label="Hannah Lee")
    mei.select_option("#id_share_class", label="Common")
    mei.fill("#id_quantity", "4000001")  # 12,000,000 authorized, 8,000,000 issued
    mei.fill("#id_effective_date", "2025-10-01")
    mei.get_by_role("button", name="Record").click()
    assert mei.get_by_text("shares left to issue").is_visible()
    shot(mei, "over-authorized-refused")

    # Model the seed: $2M at an $8M pre-money with the pool topped up to 10%.
    mei.goto(f"{base}/cap-table/model/")
    mei.fill("#id_series", "Series Seed Preferred")
    mei.fill("#id_pre_money", "8000000")
    mei.fill("#id_new_money", "2000000")
    mei.fill("#id_pool_target", "10")
    mei.fill("#id_closing_date", "2026-03-01")
    mei.get_by_role("button", name="Model").click()
    post = mei.locator("#post-money-table")
    post.get_by_text("New investors").wait_for()
    assert post.get_by_role("row").filter(has_text="Option pool (available)").get_by_text("10.00%").is_visible()
    assert post.get_by_role("row").filter(has_text="New investors").get_by_text("20.00%").is_visible()
    assert mei.get_by_role("row").filter(has_text="Hannah Lee").first.is_visible()
    shot(mei, "seed-round-modelled")
