"""Journey 2 in a real browser: Sam finds Lumen's round on its public page, sees his $7,500 limit, commits $5,000,
signs the subscription agreement, pays with the sandbox's test card and gets a receipt; he commits again and
cancels inside the window and sees the refund; the founder closes the round, the escrow pays the issuer, and Sam
downloads his share certificate, which is rendered to PNG here and must not be blank.

(Journey 5's card buyer of tokens waits for token sales: issue 7.)"""

from __future__ import annotations

import io
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pypdfium2
import pytest
from django.utils import timezone

from equity.models import Round
from payments.models import EscrowEntry, SandboxEscrowEntry
from tests.e2e.conftest import ARTIFACTS
from tests.payments.conftest import approved_investor, open_reg_cf_round

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_sam_invests_cancels_a_second_commitment_and_gets_his_certificate(
    live_server: Any, signed_in: Any, shot: Any, tmp_path: Path,
) -> None:
    lumen, round = open_reg_cf_round(target_amount=Decimal(5000), minimum_amount=Decimal(1000))
    sam = approved_investor()
    base = live_server.url
    page = signed_in(sam)

    page.goto(f"{base}/c/{lumen.company.slug}/")
    shot(page, "public-page")
    page.click(f"#invest-{round.pk}")
    page.wait_for_selector("#limit-left")
    assert page.inner_text("#limit-left") == "$7,500.00"
    shot(page, "checkout-amount")
    page.fill("input[name=amount]", "5000")
    page.click(".form-selectgroup-label:has-text('Card')")
    page.click("#commit-form button[type=submit]")

    page.wait_for_selector("#sign-form")
    shot(page, "agreement")
    page.fill("input[name=signed_name]", "Sam Rivera")
    page.check("input[name=consent]")
    page.click("#sign-form button[type=submit]")

    page.wait_for_selector("#pay-form")
    page.fill("input[name=number]", "4000 0000 0000 9995")  # Stripe's declined test card
    page.click("#pay-form button[type=submit]")
    page.wait_for_selector("text=insufficient funds")
    shot(page, "card-declined")
    page.fill("input[name=number]", "4242 4242 4242 4242")
    page.click("#pay-form button[type=submit]")
    page.wait_for_selector("#commitment-status >> text=Funded")
    assert page.is_visible("a[href$='/documents/receipt.pdf']")
    shot(page, "paid-receipt")

    # A day later he commits again, changes his mind and cancels inside the window; the refund arrives.
    page.goto(f"{base}/invest/{round.pk}/")
    assert page.inner_text("#limit-left") == "$2,500.00"
    page.fill("input[name=amount]", "1000")
    page.click("#commit-form button[type=submit]")
    page.fill("input[name=signed_name]", "Sam Rivera")
    page.check("input[name=consent]")
    page.click("#sign-form button[type=submit]")
    page.fill("input[name=number]", "4242424242424242")
    page.click("#pay-form button[type=submit]")
    page.wait_for_selector("#cancel-card")
    shot(page, "second-commitment")
    page.click("#cancel-card button[type=submit]")
    page.wait_for_selector("text=Cancelled and refunded.")
    shot(page, "cancelled-refunded")
    page.goto(f"{base}/portfolio/")
    shot(page, "portfolio-before-close")

    # The deadline passes; the founder closes the round and the escrow pays the company.
    Round.objects.filter(pk=round.pk).update(closes_on=timezone.localdate() - timedelta(days=1),
                                             opens_on=timezone.localdate() - timedelta(days=30))
    founder = signed_in(lumen.owner.user)
    founder.goto(f"{base}/companies/{lumen.company.slug}/rounds/{round.pk}/commitments/")
    founder.wait_for_selector("#commitments-table >> text=Sam Rivera")
    shot(founder, "founder-commitments")
    founder.goto(f"{base}/companies/{lumen.company.slug}/rounds/{round.pk}/")
    founder.click("button:has-text('Close the round')")
    founder.wait_for_selector("text=The round is closed and the cap table updated.")
    shot(founder, "founder-closed")
    assert EscrowEntry.objects.get(round=round, kind="release").amount == Decimal("5000.00")
    assert SandboxEscrowEntry.objects.get(kind="release").amount == Decimal("5000.00")
    founder.goto(f"{base}/companies/{lumen.company.slug}/rounds/{round.pk}/commitments/")
    assert "$5,000.00 released to the company" in founder.inner_text("#commitment-totals")

    page.goto(f"{base}/portfolio/")
    page.wait_for_selector("#holdings >> text=Series Seed Preferred")
    shot(page, "portfolio-after-close")
    with page.expect_download() as download:
        page.click("#holdings a[href$='/documents/certificate.pdf']")
    pdf = Path(download.value.path()).read_bytes()
    image = pypdfium2.PdfDocument(pdf)[0].render(scale=1.5).to_pil()
    folder = ARTIFACTS / "test_sam_invests_cancels_a_second_commitment_and_gets_his_certificate"
    image.save(folder / "99-certificate.png")
    grey = image.convert("L")
    dark = sum(1 for value in grey.get_flattened_data() if value < 200)
    assert dark > grey.width * grey.height * 0.01, "the certificate page is blank"
    text = pypdfium2.PdfDocument(io.BytesIO(pdf))[0].get_textpage().get_text_range()
    assert "Sam Rivera" in text
    assert "Lumen" in text or lumen.company.legal_name in text


def test_the_founder_returns_what_a_partial_dispute_left_in_escrow(live_server: Any, signed_in: Any, shot: Any,
                                                                    settings: Any) -> None:
    """Sam's card issuer takes $1,200 of his $3,000 back and the dispute is lost: the commitment is reversed and
    flagged, and the founder returns the $1,800 escrow still holds from the commitments page."""
    from payments import services
    from payments.models import Commitment, Refund
    from payments.providers.sandbox import SandboxProvider
    from tests.payments.test_commitments import commit, pay, sandbox_events, sandbox_redeliver

    settings.PAYMENTS_SANDBOX_AUTO_DELIVER = False
    sandbox = SandboxProvider()
    lumen, round = open_reg_cf_round()
    commitment = commit(approved_investor(), round, "3000", sandbox)
    payment = pay(commitment, sandbox)
    dispute_id = sandbox.dispute(payment.provider_id or "", reason="product_unacceptable", amount=Decimal("1200.00"))
    sandbox.dispute_moved(payment.provider_id or "", dispute_id, status="lost", amount=Decimal("1200.00"))
    for event in sandbox_events():
        sandbox_redeliver(sandbox, event)
    assert "1800.00 USD not disputed stays in escrow" in Commitment.objects.get(pk=commitment.pk).flag_reason

    founder = signed_in(lumen.owner.user)
    founder.goto(f"{live_server.url}/companies/{lumen.company.slug}/rounds/{round.pk}/commitments/")
    button = founder.locator("[data-return-rest] button")
    assert button.inner_text().strip() == "Return $1,800.00"
    assert "$1,800.00" in founder.inner_text("#commitment-totals")  # still held in escrow
    shot(founder, "reversed-with-money-in-escrow")
    button.click()
    founder.wait_for_selector("text=1800.00 USD is on its way back to the investor.")
    for event in sandbox_events():
        sandbox_redeliver(sandbox, event)
    founder.reload()
    assert founder.locator("[data-return-rest]").count() == 0
    assert "$0.00" in founder.inner_text("#commitment-totals")
    assert founder.inner_text("[data-flag-reason]") == "1800.00 USD left in escrow was returned to the investor"
    shot(founder, "returned")
    assert services.escrow_balance(round=round).held == 0
    assert Refund.objects.get(payment=payment).amount == Decimal("1800.00")
