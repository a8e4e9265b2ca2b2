"""The equity pages a founder reads, in Chromium: the cap table with its charts, a stakeholder's vesting, the
ledger following its filters, and the exit waterfall following its slider."""

from __future__ import annotations

from typing import Any

import pytest

from tests.equity.lumen import lumen_after_seed
from tests.factories import MembershipFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_mei_reads_her_cap_table_ledger_and_exit_waterfall(live_server: Any, signed_in: Any, shot: Any) -> None:
    owner = MembershipFactory(role="owner", company__legal_name="Lumen Labs, Inc.", user__full_name="Mei Chen")
    lumen = lumen_after_seed(owner)
    # Tall enough that a full-page screenshot does not resize the window (and redraw the charts) as it is taken.
    mei = signed_in(owner.user, viewport={"width": 1280, "height": 1900})
    base = f"{live_server.url}{lumen.base}"

    mei.goto(f"{base}/?as_of=2026-06-01")
    mei.locator("#dilution-chart").wait_for()
    box = mei.locator("#dilution-chart").bounding_box()  # fills its card (it was once drawn a few dozen px wide)
    assert box is not None
    assert box["width"] > 250, box
    assert box["height"] > 250, box
    assert mei.locator("#cap-table-by-class").get_by_role("row").filter(has_text="Series Seed Preferred") \
        .get_by_text("18.18%").is_visible()
    shot(mei, "cap-table")

    mei.locator("#cap-table").get_by_role("link", name="Mei Chen").click()
    mei.wait_for_url(f"{base}/stakeholders/{lumen.mei.pk}/?as_of=2026-06-01")
    assert mei.get_by_text("2,333,333 vested").is_visible()
    shot(mei, "stakeholder")

    mei.goto(f"{base}/ledger/")
    assert mei.get_by_text("5 transactions").is_visible()
    mei.select_option("#f-kind", label="Option grant")
    mei.get_by_text("1 transaction", exact=True).wait_for()
    assert "kind=option_grant" in mei.url  # the filters are in the address, so the view can be shared
    assert mei.locator("#ledger-table").get_by_text("OPT-1").is_visible()
    assert "kind=option_grant" in (mei.locator("#ledger-csv").get_attribute("href") or "")
    shot(mei, "ledger-filtered")

    mei.goto(f"{base}/waterfall/?as_of=2026-06-01")
    mei.fill("#exit-value", "1500000")
    mei.locator("#waterfall-classes").get_by_text("Takes its preference").wait_for()
    assert mei.locator("#exit-value-range").input_value() == "1500000"
    shot(mei, "waterfall-below-preference")
    mei.locator("#exit-value-range").fill("60000000")  # the slider moves the number and the results
    mei.locator("#waterfall-classes").get_by_text("Converts to common").wait_for()
    assert mei.locator("#exit-value").input_value() == "60000000"
    assert mei.locator("#exit-value-shown").inner_text() == "$60,000,000.00"
    shot(mei, "waterfall-converted")
