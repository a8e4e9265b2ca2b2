"""A priced token warrant in Chromium: the Seed Fund's warrant (5 LUMEN at $2.50) converted at the launch, its
holder pays the exercise price by card from the portfolio (a declined card first), and claims the tokens with a
verified wallet. Each step screenshotted."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from tests.tokens.test_warrants import UNIT, launch, lumen, wallet_of  # noqa: F401 (lumen is a fixture)
from tokens import warrants
from tokens.choices import AllocationState
from tokens.models import ChainIntent, TokenAllocation

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _sandbox(settings: Any, monkeypatch: Any) -> None:
    settings.PAYMENTS_PROVIDER = "sandbox"
    monkeypatch.setattr(warrants, "intents_kick", lambda: None)  # the claim's transaction is the outbox's tests'


def test_the_holder_pays_a_priced_warrant_by_card_then_claims(
        lumen: Any, live_server: Any, signed_in: Any, shot: Any) -> None:  # noqa: F811
    warrants.warrant_issue(actor=lumen.actor, company=lumen.company, stakeholder=lumen.fund, kind="fixed",
                           token_amount=5 * UNIT, price_per_token=Decimal("2.5"))
    launch(lumen.token)
    (allocation,) = warrants.warrants_convert(actor=lumen.actor, token=lumen.token).allocations
    wallet = wallet_of(lumen.fund_user, "0x976EA74026E726554dB657fA54763abd0C3a0aa9")

    holder = signed_in(lumen.fund_user)
    holder.goto(f"{live_server.url}/portfolio/")
    shot(holder, "portfolio-unpaid")
    holder.get_by_role("button", name="Pay $12.50 to exercise").click()
    holder.locator("#pay-form").wait_for()
    assert holder.locator("#exercise-price").inner_text() == "$12.50"
    holder.fill("#id_number", "4000 0000 0000 9995")
    holder.get_by_role("button", name="Pay $12.50").click()
    holder.get_by_text("declined").first.wait_for()
    shot(holder, "declined")
    holder.fill("#id_number", "4242 4242 4242 4242")
    holder.get_by_role("button", name="Pay $12.50").click()
    holder.get_by_text("Paid. Claim your tokens").first.wait_for()
    assert holder.locator("#allocation-state").inner_text() == "Claimable"
    shot(holder, "paid")

    holder.get_by_role("link", name="your portfolio").click()
    holder.get_by_role("button", name="Claim with wallet").click()
    holder.get_by_text("Claimed: the tokens are on their way").wait_for()
    shot(holder, "claimed")
    allocation = TokenAllocation.objects.get(pk=allocation.pk)
    assert (allocation.state, allocation.beneficiary_address) == (AllocationState.DEPLOYING, wallet.address)
    assert ChainIntent.objects.get(purpose="allocation.distribute").params == {
        "to": wallet.address, "amount": str(5 * UNIT)}


def test_the_company_records_an_exercise_price_no_card_takes(
        lumen: Any, live_server: Any, signed_in: Any, shot: Any) -> None:  # noqa: F811
    warrants.warrant_issue(actor=lumen.actor, company=lumen.company, stakeholder=lumen.fund, kind="fixed",
                           token_amount=UNIT, price_per_token=Decimal("0.25"))
    launch(lumen.token)
    (allocation,) = warrants.warrants_convert(actor=lumen.actor, token=lumen.token).allocations

    holder = signed_in(lumen.fund_user)
    holder.goto(f"{live_server.url}/portfolio/tokens/{allocation.pk}/exercise/")
    holder.locator("#below-smallest-charge").wait_for()
    assert "cannot be paid by card" in holder.locator("#below-smallest-charge").inner_text()
    shot(holder, "below-smallest-charge")

    founder = signed_in(lumen.owner.user)
    founder.goto(f"{live_server.url}/companies/{lumen.company.slug}/tokens/{lumen.token.pk}/holders/")
    founder.get_by_placeholder("Wire reference").fill("WIRE-2026-114")
    shot(founder, "record-payment")
    founder.get_by_role("button", name="Record payment").click()
    founder.get_by_text("Payment recorded").wait_for()
    shot(founder, "recorded")

    holder.reload()
    holder.get_by_text("Paid. Claim your tokens").first.wait_for()
    assert holder.locator("#allocation-state").inner_text() == "Claimable"
