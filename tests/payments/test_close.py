"""The close with investors' money: the funded commitments become shares, unpaid ones are cancelled, the escrow
pays the issuer, everyone hears of it, and each accepted investor gets a certificate. Also the Regulation
Crowdfunding clock: closing at the deadline, early close, and reconfirmation after a material change."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pypdfium2
import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.utils import timezone

from compliance.audit import Actor
from equity.choices import InvestmentState
from equity.models import Investment
from payments import services
from payments.models import Document, EscrowEntry, SandboxEscrowEntry
from tests.payments.conftest import approved_investor, open_reg_cf_round
from tests.payments.test_commitments import assert_escrow_balances, commit, pay, state

pytestmark = pytest.mark.django_db(transaction=True)

SMALL = {"target_amount": Decimal(5000), "minimum_amount": Decimal(1000)}


def test_the_close_issues_shares_releases_escrow_to_the_issuer_and_sends_certificates(sandbox, escrow) -> None:
    lumen, round = open_reg_cf_round(**SMALL)
    sam, ann = approved_investor(), approved_investor("Ann Park")
    paid = commit(sam, round, "5000", sandbox)
    services.commitment_sign(actor=Actor(user=sam), commitment=paid, signed_name="Sam Rivera",
                             agreement_pdf=services.agreement_pdf(paid))
    pay(paid, sandbox)
    unpaid = commit(ann, round, "2000", sandbox)
    deadline = services.round_deadline(round)
    with pytest.raises(ValidationError, match="closes at its deadline"):
        services.round_close(actor=lumen.actor, round=round, now=deadline - timedelta(hours=1))
    assert state(paid) == InvestmentState.FUNDED
    mail.outbox.clear()
    services.round_close(actor=lumen.actor, round=round, now=deadline + timedelta(hours=1))
    assert state(paid) == InvestmentState.ACCEPTED
    assert state(unpaid) == InvestmentState.CANCELLED
    shares = Investment.objects.get(pk=paid.investment_id).security
    assert shares is not None
    assert shares.quantity > 0
    release = EscrowEntry.objects.get(round=round, kind="release")
    assert release.amount == Decimal("5000.00")
    assert release.provider_ref.startswith("tr_sbx_")
    assert SandboxEscrowEntry.objects.get(kind="release").amount == Decimal("5000.00")
    assert services.escrow_balance(round=round).held == 0
    assert_escrow_balances(round, escrow)
    assert {message.to[0] for message in mail.outbox} >= {sam.email, ann.email}
    certificate = Document.objects.get(commitment=paid, kind="certificate")
    page = pypdfium2.PdfDocument(certificate.file.read())[0]
    text = page.get_textpage().get_text_range()
    assert "Sam Rivera" in text
    assert f"{shares.quantity:,}" in text
    assert Document.objects.filter(commitment=paid, kind="agreement").exists()
    assert Document.objects.filter(commitment=paid, kind="receipt").exists()


def test_a_round_that_fails_refunds_every_investor(sandbox, escrow) -> None:
    lumen, round = open_reg_cf_round(**SMALL)
    commitments = [commit(approved_investor(f"Inv {n}"), round, "1500", sandbox) for n in range(3)]
    for commitment in commitments[:2]:
        pay(commitment, sandbox)
    services.round_fail(actor=lumen.actor, round=round)
    assert [state(c) for c in commitments] == ["refunded", "refunded", "cancelled"]
    assert services.escrow_balance(round=round).held == 0
    assert_escrow_balances(round, escrow)


def test_early_close_needs_21_days_open_and_5_business_days_notice(sandbox) -> None:
    lumen, round = open_reg_cf_round(**SMALL, closes_on=timezone.localdate() + timedelta(days=60))
    opened = round.opened_at
    too_soon = (opened + timedelta(days=10)).date()
    with pytest.raises(ValidationError, match="open at least 21 days"):
        services.round_close_early(actor=lumen.actor, round=round, closes_on=too_soon, now=opened)
    day_25 = (opened + timedelta(days=25)).date()
    with pytest.raises(ValidationError, match="5 business days"):
        services.round_close_early(actor=lumen.actor, round=round, closes_on=day_25,
                                   now=opened + timedelta(days=24))
    services.round_close_early(actor=lumen.actor, round=round, closes_on=day_25, now=opened + timedelta(days=14))
    round.refresh_from_db()
    assert round.closes_on == day_25
    # The 48-hour cancellation cut-off moved with the deadline.
    assert services.cancellation_cutoff(round) == services.round_deadline(round) - timedelta(hours=48)
    # Closing early needs the target met at the new deadline.
    commit(approved_investor(), round, "1500", sandbox)
    with pytest.raises(ValidationError, match="must have reached its target"):
        services.round_close(actor=lumen.actor, round=round, now=services.round_deadline(round) + timedelta(hours=1))


def test_a_material_change_cancels_and_refunds_commitments_not_reconfirmed(sandbox, escrow) -> None:
    lumen, round = open_reg_cf_round(**SMALL)
    sam, ann = approved_investor(), approved_investor("Ann Park")
    kept, lapsed = commit(sam, round, "1000", sandbox), commit(ann, round, "1200", sandbox)
    pay(kept, sandbox)
    pay(lapsed, sandbox)
    mail.outbox.clear()
    now = timezone.now()
    assert services.round_announce_material_change(actor=lumen.actor, round=round, now=now,
                                                   summary="The valuation cap rises to $10M.") == 2
    assert len(mail.outbox) == 2
    services.commitment_reconfirm(actor=Actor(user=sam), commitment=kept, now=now + timedelta(days=1))
    assert services.commitments_expire_unconfirmed(now=now + timedelta(days=2)) == 0  # still inside 5 business days
    assert services.commitments_expire_unconfirmed(now=now + timedelta(days=8)) == 1
    assert (state(kept), state(lapsed)) == ("funded", "refunded")
    assert services.commitments_expire_unconfirmed(now=now + timedelta(days=9)) == 0
    assert_escrow_balances(round, escrow)
