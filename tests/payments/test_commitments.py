"""Committing to a round and paying for it, against the real database and the sandbox provider: limits, the
payment's life (card, declined card, ACH, failed ACH, dispute), cancellation inside the window, refunds, and the
escrow ledger that must balance after every step."""

from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.utils import timezone

from compliance.audit import Actor
from compliance.models import AuditEvent, InvestmentRecord
from compliance.selectors import investment_limit_for
from equity.choices import InvestmentState
from equity.models import Investment
from payments import services
from payments.models import Commitment, EscrowEntry, Payment, Refund, SandboxRefund
from payments.providers.sandbox import (
    CARD_DECLINED_FUNDS,
    CARD_DISPUTED,
    CARD_SUCCEEDS,
    SandboxEscrow,
    SandboxProvider,
)
from tests.payments.conftest import approved_investor, open_reg_cf_round
from tests.payments.replay import disputes_replayed

pytestmark = pytest.mark.django_db(transaction=True)


def commit(user: Any, round: Any, amount: str, sandbox: SandboxProvider, method: str = "card") -> Commitment:
    commitment = services.investment_commit(actor=Actor(user=user), round=round, amount=Decimal(amount),
                                            method=method, provider=sandbox)
    services.payment_create_outside_transaction(payment=commitment.payments.get(), provider=sandbox)
    return commitment


def pay(commitment: Commitment, sandbox: SandboxProvider, card: str = CARD_SUCCEEDS) -> Payment:
    payment = commitment.payments.get()
    services.payment_apply(data=sandbox.confirm_card(payment.provider_id or "", number=card), provider=sandbox)
    payment.refresh_from_db()
    return payment


def state(commitment: Commitment) -> str:
    return Investment.objects.get(pk=commitment.investment_id).state


def assert_escrow_balances(round: Any, escrow: SandboxEscrow) -> None:
    """held = funded − released − returned, on the platform's books and on the escrow agent's own."""
    balance = services.escrow_balance(round=round)
    funded_now = sum((p.amount for p in Payment.objects.filter(
        commitment__investment__round=round, commitment__investment__state=InvestmentState.FUNDED)), Decimal(0))
    assert balance.held == funded_now
    assert escrow.balance(account=services.escrow_account(round), currency="USD") == balance.held


def test_sam_commits_within_his_limit_pays_by_card_and_the_money_is_held_in_escrow(sandbox, escrow) -> None:
    _, round = open_reg_cf_round()
    sam = approved_investor()
    assert investment_limit_for(user=sam).remaining == Decimal("7500.00")
    commitment = commit(sam, round, "5000", sandbox)
    assert state(commitment) == InvestmentState.PENDING_PAYMENT
    assert investment_limit_for(user=sam).remaining == Decimal("2500.00")  # the commitment writes the ledger
    payment = pay(commitment, sandbox)
    assert payment.status == "succeeded"
    assert state(commitment) == InvestmentState.FUNDED
    assert services.escrow_balance(round=round).held == Decimal("5000.00")
    assert_escrow_balances(round, escrow)
    sandbox.deliver_pending()  # the webhooks arriving after the answer change nothing
    assert EscrowEntry.objects.filter(kind="hold").count() == 1
    assert_escrow_balances(round, escrow)


@pytest.mark.parametrize(("amount", "message"), [
    ("2500.01", "above what your Regulation Crowdfunding investment limit leaves you"),
    ("50", "minimum investment is \\$100.00"),
    ("0", "above zero"),
    ("0.49", "payments start at \\$0.50"),  # Stripe's smallest charge, whatever the round's minimum
    ("10.005", "dollars and cents"),
])
def test_a_commitment_outside_the_rules_is_refused_and_changes_nothing(sandbox, amount: str, message: str) -> None:
    _, round = open_reg_cf_round()
    sam = approved_investor()
    commit(sam, round, "5000", sandbox)
    before = (Investment.objects.count(), InvestmentRecord.objects.count(), Payment.objects.count())
    with pytest.raises(ValidationError, match=message):
        services.investment_commit(actor=Actor(user=sam), round=round, amount=Decimal(amount), method="card",
                                   provider=sandbox)
    assert (Investment.objects.count(), InvestmentRecord.objects.count(), Payment.objects.count()) == before


def test_only_eligible_investors_commit_and_only_to_an_open_round(sandbox) -> None:
    lumen, round = open_reg_cf_round(jurisdictions=["US"])
    outsider = approved_investor("Priya Nair", country="SG", region="")
    with pytest.raises(ValidationError, match="only open to residents of certain jurisdictions"):
        services.investment_commit(actor=Actor(user=outsider), round=round, amount=Decimal(500), method="card",
                                   provider=sandbox)
    unverified = approved_investor("Una Known")
    unverified.kyc_application.state = "submitted"
    unverified.kyc_application.save()
    with pytest.raises(ValidationError, match="identity verification must be approved"):
        services.investment_commit(actor=Actor(user=unverified), round=round, amount=Decimal(500), method="card",
                                   provider=sandbox)
    from equity import services as equity_services

    equity_services.round_start_closing(actor=lumen.actor, round=round)
    with pytest.raises(ValidationError, match="not taking commitments"):
        services.investment_commit(actor=Actor(user=approved_investor()), round=round, amount=Decimal(500),
                                   method="card", provider=sandbox)
    assert not Investment.objects.exists()


def test_the_issuers_twelve_month_regulation_crowdfunding_maximum_holds(sandbox, settings) -> None:
    settings.REG_CF_ISSUER_12M_MAXIMUM = Decimal(6000)
    _, round = open_reg_cf_round()
    commit(approved_investor("Ann One"), round, "4000", sandbox)
    with pytest.raises(ValidationError, match="at most \\$6,000 under Regulation Crowdfunding in 12 months; "
                                              "\\$2,000.00 is left"):
        commit(approved_investor("Bob Two"), round, "2500", sandbox)


def test_a_declined_card_can_be_tried_again(sandbox, escrow) -> None:
    _, round = open_reg_cf_round()
    commitment = commit(approved_investor(), round, "1000", sandbox)
    payment = pay(commitment, sandbox, CARD_DECLINED_FUNDS)
    assert (payment.status, payment.failure_code) == ("failed", "insufficient_funds")
    assert state(commitment) == InvestmentState.PENDING_PAYMENT
    payment = pay(commitment, sandbox)
    assert payment.status == "succeeded"
    assert state(commitment) == InvestmentState.FUNDED
    sandbox.deliver_pending()  # the decline's event arrives after the success: it changes nothing
    payment.refresh_from_db()
    assert payment.status == "succeeded"
    assert state(commitment) == InvestmentState.FUNDED
    assert_escrow_balances(round, escrow)


def test_a_bank_debit_is_processing_until_it_settles(sandbox, escrow) -> None:
    _, round = open_reg_cf_round()
    commitment = commit(approved_investor(), round, "2000", sandbox, method="us_bank_account")
    payment = commitment.payments.get()
    data = sandbox.confirm_bank_account(payment.provider_id, routing_number="110000000", account_number="000123456789")
    services.payment_apply(data=data, provider=sandbox)
    assert state(commitment) == InvestmentState.PROCESSING
    assert sandbox.settle_due(timezone.now() + timedelta(days=1)) == 1
    sandbox.deliver_pending()
    assert state(commitment) == InvestmentState.FUNDED
    assert_escrow_balances(round, escrow)


def test_a_failed_bank_debit_reverses_the_commitment_and_flags_it(sandbox) -> None:
    _, round = open_reg_cf_round()
    sam = approved_investor()
    commitment = commit(sam, round, "2000", sandbox, method="us_bank_account")
    payment = commitment.payments.get()
    sandbox.confirm_bank_account(payment.provider_id, routing_number="110000000", account_number="000111111116")
    sandbox.settle_due(timezone.now() + timedelta(days=1))
    for _ in range(3):
        for event in sandbox_events():
            sandbox_redeliver(sandbox, event)
    commitment.refresh_from_db()
    assert state(commitment) == InvestmentState.REVERSED
    assert commitment.flagged_at is not None
    assert "account_closed" in commitment.flag_reason
    assert investment_limit_for(user=sam).remaining == Decimal("7500.00")  # the ledger row is reversed, once
    assert InvestmentRecord.objects.filter(user=sam, amount__lt=0).count() == 1


def sandbox_events() -> list[Any]:
    from payments.models import SandboxEvent

    return list(SandboxEvent.objects.order_by("pk"))


def sandbox_redeliver(sandbox: SandboxProvider, event: Any) -> None:
    import json

    body = json.dumps(event.payload)
    services.webhook_receive(provider=sandbox, payload=body.encode(), signature=sandbox.signed(body))


def test_cancelling_inside_the_window_refunds_once_and_restores_the_limit(sandbox, escrow) -> None:
    _, round = open_reg_cf_round()
    sam = approved_investor()
    first = commit(sam, round, "5000", sandbox)
    pay(first, sandbox)
    second = commit(sam, round, "2000", sandbox)
    pay(second, sandbox)
    assert investment_limit_for(user=sam).remaining == Decimal("500.00")
    services.commitment_cancel(actor=Actor(user=sam), commitment=second)
    assert state(second) == InvestmentState.REFUNDED
    refund = Refund.objects.get()
    assert (refund.amount, refund.status, refund.reason) == (Decimal("2000.00"), "succeeded", "cancelled")
    with pytest.raises(ValidationError, match="refunded and cannot be cancelled"):
        services.commitment_cancel(actor=Actor(user=sam), commitment=second)
    payment = second.payments.get()
    from django.db import transaction

    with transaction.atomic():  # asked again (a double click, a retried task): still one refund
        assert services.refund_request(payment=payment, reason="cancelled") == refund
    sandbox.deliver_pending()
    assert SandboxRefund.objects.count() == 1
    assert Refund.objects.count() == 1
    assert investment_limit_for(user=sam).remaining == Decimal("2500.00")
    assert services.escrow_balance(round=round).held == Decimal("5000.00")
    assert_escrow_balances(round, escrow)


def test_cancelling_an_unpaid_commitment_cancels_its_payment(sandbox) -> None:
    _, round = open_reg_cf_round()
    sam = approved_investor()
    commitment = commit(sam, round, "700", sandbox)
    services.commitment_cancel(actor=Actor(user=sam), commitment=commitment)
    assert state(commitment) == InvestmentState.CANCELLED
    payment = commitment.payments.get()
    assert payment.status == "canceled"
    assert sandbox.payment_get(payment.provider_id).status == "canceled"


def test_a_payment_that_succeeds_after_its_commitment_was_cancelled_goes_back(sandbox, escrow) -> None:
    _, round = open_reg_cf_round()
    sam = approved_investor()
    commitment = commit(sam, round, "700", sandbox)
    payment = commitment.payments.get()
    # The investor paid in one tab and cancelled in another, before the payment's answer was recorded.
    data = sandbox.confirm_card(payment.provider_id, number=CARD_SUCCEEDS)
    services.commitment_cancel(actor=Actor(user=sam), commitment=commitment)
    services.payment_apply(data=data, provider=sandbox)
    assert state(commitment) == InvestmentState.REFUNDED
    assert SandboxRefund.objects.get().amount == Decimal("700.00")
    assert_escrow_balances(round, escrow)


def test_no_cancelling_after_the_cutoff_or_someone_elses_commitment(sandbox) -> None:
    _, round = open_reg_cf_round(closes_on=timezone.localdate() + timedelta(days=1))
    sam = approved_investor()
    commitment = commit(sam, round, "700", sandbox)
    with pytest.raises(PermissionDenied):
        services.commitment_cancel(actor=Actor(user=approved_investor("Eve Other")), commitment=commitment)
    deadline = services.round_deadline(round)
    with pytest.raises(ValidationError, match="final 48 hours before the deadline"):
        services.commitment_cancel(actor=Actor(user=sam), commitment=commitment, now=deadline - timedelta(hours=47))
    assert state(commitment) == InvestmentState.PENDING_PAYMENT
    services.commitment_cancel(actor=Actor(user=sam), commitment=commitment, now=deadline - timedelta(hours=49))
    assert state(commitment) == InvestmentState.CANCELLED


def test_a_dispute_after_funding_reverses_the_commitment_once(sandbox, escrow) -> None:
    _, round = open_reg_cf_round()
    sam = approved_investor()
    commitment = commit(sam, round, "3000", sandbox)
    pay(commitment, sandbox, CARD_DISPUTED)  # Stripe's test card that succeeds and is then disputed
    for _ in range(3):
        for event in reversed(sandbox_events()):
            sandbox_redeliver(sandbox, event)
    commitment.refresh_from_db()
    assert state(commitment) == InvestmentState.REVERSED
    assert commitment.flag_reason == "Payment disputed: fraudulent"
    assert EscrowEntry.objects.filter(kind="return").count() == 1
    assert InvestmentRecord.objects.filter(user=sam, amount__lt=0).count() == 1
    assert_escrow_balances(round, escrow)


def deliver_twice(sandbox: SandboxProvider) -> None:
    """Every event the sandbox queued, delivered newest first; then every dispute event applied again, in both
    orders: replays and order change nothing."""
    for event in reversed(sandbox_events()):
        sandbox_redeliver(sandbox, event)
    disputes_replayed(sandbox)
    disputes_replayed(sandbox, backwards=True)


def test_an_inquiry_takes_nothing_until_the_issuer_escalates_it(sandbox, escrow) -> None:
    _, round = open_reg_cf_round()
    sam = approved_investor()
    commitment = commit(sam, round, "3000", sandbox)
    payment = pay(commitment, sandbox)
    dispute_id = sandbox.dispute(payment.provider_id or "", reason="unrecognized", inquiry=True)
    deliver_twice(sandbox)
    commitment.refresh_from_db()
    # The card issuer only asked: the commitment stands, its money stays held, compliance is asked to answer.
    assert state(commitment) == InvestmentState.FUNDED
    assert commitment.flag_reason.startswith("Card issuer inquiry (unrecognized)")
    assert not EscrowEntry.objects.filter(kind="return").exists()
    assert not payment.disputes.get().funds_withdrawn
    assert AuditEvent.objects.filter(action="payments.dispute_inquiry").count() == 1
    assert_escrow_balances(round, escrow)

    sandbox.dispute_moved(payment.provider_id or "", dispute_id, status="needs_response", reason="unrecognized")
    deliver_twice(sandbox)
    commitment.refresh_from_db()
    assert state(commitment) == InvestmentState.REVERSED
    assert commitment.flag_reason == "Payment disputed: unrecognized"
    assert EscrowEntry.objects.get(kind="return").amount == Decimal("3000.00")
    assert InvestmentRecord.objects.filter(user=sam, amount__lt=0).count() == 1
    assert AuditEvent.objects.filter(action="payments.dispute").count() == 1
    assert_escrow_balances(round, escrow)

    # Won in the end: the money is back with the platform, outside escrow; compliance is told to return it.
    sandbox.dispute_moved(payment.provider_id or "", dispute_id, status="won", reason="unrecognized")
    deliver_twice(sandbox)
    commitment.refresh_from_db()
    assert state(commitment) == InvestmentState.REVERSED
    assert commitment.flag_reason.startswith("Dispute won: 3000.00 USD is back with the platform")
    assert payment.disputes.get().status == "won"
    assert AuditEvent.objects.filter(action="payments.dispute_won").count() == 1
    assert_escrow_balances(round, escrow)


def inquiry_closed(sandbox: SandboxProvider, status: str) -> tuple[Any, Commitment, Payment]:
    """A funded $1,000 commitment whose card issuer asked, then closed the inquiry with `status`; every event
    delivered (round, commitment, payment)."""
    _, round = open_reg_cf_round()
    commitment = commit(approved_investor(), round, "1000", sandbox)
    payment = pay(commitment, sandbox)
    dispute_id = sandbox.dispute(payment.provider_id or "", inquiry=True)
    sandbox.dispute_moved(payment.provider_id or "", dispute_id, status=status)
    deliver_twice(sandbox)
    return round, commitment, payment


def test_an_inquiry_closed_in_our_favour_changes_nothing(sandbox, escrow) -> None:
    round, commitment, payment = inquiry_closed(sandbox, "warning_closed")
    assert state(commitment) == InvestmentState.FUNDED
    assert payment.disputes.get().status == "warning_closed"
    assert not EscrowEntry.objects.filter(kind="return").exists()
    assert_escrow_balances(round, escrow)


def test_a_partial_dispute_takes_only_its_amount_out_of_escrow(sandbox, escrow) -> None:
    _, round = open_reg_cf_round()
    sam = approved_investor()
    commitment = commit(sam, round, "3000", sandbox)
    payment = pay(commitment, sandbox)
    sandbox.dispute(payment.provider_id or "", reason="product_unacceptable", amount=Decimal("1200.00"))
    deliver_twice(sandbox)
    commitment.refresh_from_db()
    assert state(commitment) == InvestmentState.REVERSED
    assert EscrowEntry.objects.get(kind="return").amount == Decimal("1200.00")
    # The 1,800 the issuer did not take is still the investor's, held, and compliance is told to return it.
    assert services.escrow_balance(round=round).held == Decimal("1800.00")
    assert escrow.balance(account=services.escrow_account(round), currency="USD") == Decimal("1800.00")
    assert "1800.00 USD not disputed stays in escrow" in commitment.flag_reason
    audit = AuditEvent.objects.get(action="payments.dispute")
    assert audit.changes["undisputed"] == "1800.00"


def test_a_dispute_heard_of_only_once_won_moves_no_money(sandbox, escrow) -> None:
    _, round = open_reg_cf_round()
    commitment = commit(approved_investor(), round, "2000", sandbox)
    payment = pay(commitment, sandbox)
    dispute_id = sandbox.dispute(payment.provider_id or "")
    sandbox.dispute_moved(payment.provider_id or "", dispute_id, status="won")
    disputes_replayed(sandbox, backwards=True)  # "won" first: the money was taken and given back before we knew
    disputes_replayed(sandbox)
    assert state(commitment) == InvestmentState.FUNDED
    assert payment.disputes.get().status == "won"
    assert not EscrowEntry.objects.filter(kind="return").exists()
    assert not AuditEvent.objects.filter(action="payments.dispute").exists()
    assert_escrow_balances(round, escrow)


def test_an_inquiry_settled_before_it_became_a_dispute_is_prevented(sandbox, escrow) -> None:
    _, commitment, payment = inquiry_closed(sandbox, "prevented")
    assert payment.disputes.get().status == "prevented"
    assert state(commitment) == InvestmentState.FUNDED
    assert not EscrowEntry.objects.filter(kind="return").exists()
    # Delivered newest first, "prevented" came before the question: nothing is left to answer.
    assert AuditEvent.objects.filter(action="payments.dispute_inquiry").count() == 1
    commitment.refresh_from_db()
    assert commitment.flagged_at is None


def test_two_concurrent_commitments_by_one_investor_never_pass_his_limit(sandbox) -> None:
    _, round = open_reg_cf_round()
    sam = approved_investor()  # $7,500 a year
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def attempt() -> None:
        try:
            barrier.wait()
            services.investment_commit(actor=Actor(user=sam), round=round, amount=Decimal(5000), method="card",
                                       provider=sandbox)
            outcomes.append("accepted")
        except ValidationError:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["accepted", "refused"]
    assert investment_limit_for(user=sam).used == Decimal("5000.00")
