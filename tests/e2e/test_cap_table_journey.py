"""Journey 1 as far as it is built, in a real browser: Mei records Lumen's classes, her founder shares, the
option pool and two grants, the angels' SAFEs, models the seed round, and reads the cap table."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from equity.ocf import package as ocf_package
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

    # Set the seed up as a round in the wizard; the pro-forma follows the terms as she types them.
    mei.goto(f"{base}/rounds/")
    mei.get_by_role("link", name="New round").click()
    mei.fill("#id_name", "Seed")
    mei.get_by_label("Priced round").check()
    for field, value in {"target_amount": "2000000", "minimum_amount": "1000000", "maximum_amount": "2500000",
                         "minimum_ticket": "25000"}.items():
        mei.fill(f"#id_{field}", value)
    mei.get_by_role("button", name="Save and continue").click()
    mei.fill("#id_pre_money_valuation", "6000000")
    mei.fill("#id_pool_target_percent", "10")
    result = mei.locator("#round-result")
    result.locator("#price-per-share").wait_for()
    low = result.locator("#price-per-share").inner_text()
    mei.fill("#id_pre_money_valuation", "8000000")
    mei.wait_for_function(f"document.querySelector('#price-per-share').innerText != '{low}'")
    assert result.get_by_role("row").filter(has_text="Hannah Lee").first.is_visible()
    shot(mei, "round-terms-live-pro-forma")
    mei.get_by_role("button", name="Save and continue").click()
    mei.get_by_label("Regulation D 506(b)").check()
    mei.select_option("#id_jurisdictions", ["US", "GB"])
    mei.fill("#id_closes_on", "2099-06-30")
    mei.get_by_role("button", name="Save and continue").click()
    shot(mei, "round-review")
    mei.get_by_role("button", name="Open the round").click()
    assert mei.get_by_text("The round is open.").is_visible()

    # The round is on the company's public page.
    mei.goto(f"{live_server.url}/c/lumen-labs-inc/")
    assert mei.locator("#open-rounds").get_by_text("Seed").is_visible()
    shot(mei, "public-page-with-the-open-round")

    # Investments come in (wires recorded by Mei); one below the minimum ticket is refused.
    mei.goto(f"{base}/rounds/")
    mei.get_by_role("link", name="Seed").click()
    round_url = mei.url
    for investor, amount in [("Northwind Ventures", "1500000"), ("Priya Raman", "10000"), ("Priya Raman", "500000")]:
        mei.fill("#id_new_investor", investor)
        mei.fill("#id_amount", amount)
        mei.get_by_role("button", name="Record", exact=True).click()
        if amount == "10000":
            assert mei.get_by_text("The minimum investment is $25,000.00.").is_visible()
            mei.goto(round_url)
    assert mei.locator("#round-raised").inner_text() == "$2,000,000.00"
    shot(mei, "round-with-investments")

    # She closes: the series is issued, both SAFEs convert, the pool is topped up, all in the ledger.
    mei.get_by_role("button", name="Close the round").click()
    assert mei.get_by_text("The round is closed and the cap table updated.").is_visible()
    shot(mei, "round-closed")
    mei.goto(f"{base}/cap-table/")
    table = mei.locator("#cap-table")
    for holder in ["Northwind Ventures", "Priya Raman", "Hannah Lee", "Rafael Costa"]:
        assert table.get_by_role("row").filter(has_text=holder).is_visible()
    pool = table.get_by_role("row").filter(has_text="Option pool (available)")
    assert "10.00%" in pool.inner_text()
    shot(mei, "cap-table-after-the-seed")

    # The cap table as an Open Cap Format package for her lawyer: it validates against the official schemas.
    with mei.expect_download() as download:
        mei.get_by_role("link", name="Export OCF").click()
    package = ocf_package.load(ocf_package.read_zip(Path(download.value.path()).read_bytes()))
    exported = json.dumps(package.files)
    assert "Series Seed Preferred" in exported
    assert "Hannah Lee" in exported
