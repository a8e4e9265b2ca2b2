"""Money that goes back by other roads than the platform's own refunds: a refund made in the provider's dashboard,
and the rest of a payment that a partial dispute or such a refund left in escrow, which the company returns. Every
return is one line of the escrow ledger naming its refund or dispute, and the escrow agent's books agree."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.urls import reverse

from compliance.audit import Actor
from compliance.models import AuditEvent
from compliance.selectors import investment_limit_for
from equity.choices import InvestmentState
from equity.models import Round
from payments import services
from payments.choices import RefundReason, RefundStatus
from payments.models import Commitment, EscrowEntry, Payment, Refund, SandboxRefund
from payments.providers.base import RefundData
from payments.providers.sandbox import SandboxEscrow, SandboxProvider
from tests.payments.conftest import approved_investor, open_reg_cf_round
from tests.payments.replay import disputes_replayed
from tests.payments.test_commitments import commit, pay, sandbox_events, sandbox_redeliver, state

pytestmark = pytest.mark.django_db(transaction=True)


def deliver_all(sandbox: SandboxProvider, times: int = 2) -> None:
    """Every event the sandbox queued, newest first, `times` over (the webhook endpoint drops a replayed event id,
    so the refund events are also applied again straight through the service)."""
    for _ in range(times):
        for event in reversed(sandbox_events()):
            sandbox_redeliver(sandbox, event)
    for refund in SandboxRefund.objects.select_related("payment"):
        services.refund_apply(data=RefundData(provider_id=refund.provider_id, payment_id=refund.payment.provider_id,
                                              amount=refund.amount, currency="USD", status=refund.status),
                              provider=sandbox)


def held(round: Round, escrow: SandboxEscrow) -> tuple[Decimal, Decimal]:
    """What escrow holds of the round: on the platform's books, and on the escrow agent's own."""
    return (services.escrow_balance(round=round).held,
            escrow.balance(account=services.escrow_account(round), currency="USD"))


def paid_commitment(sandbox: SandboxProvider, amount: str = "3000") -> tuple[Any, Round, Commitment, Payment]:
    lumen, round = open_reg_cf_round()
    sam = approved_investor()
    commitment = commit(sam, round, amount, sandbox)
    return lumen, round, commitment, pay(commitment, sandbox)


def test_a_refund_made_in_the_providers_dashboard_reverses_the_commitment_once(sandbox, escrow) -> None:
    lumen, round, commitment, payment = paid_commitment(sandbox)
    assert held(round, escrow) == (Decimal("3000.00"), Decimal("3000.00"))
    refund_id = sandbox.refund_at_provider(payment.provider_id or "")
    deliver_all(sandbox)
    refund = Refund.objects.get(payment=payment)
    assert (refund.provider_id, refund.reason, refund.status, refund.amount) == (
        refund_id, RefundReason.AT_PROVIDER, RefundStatus.SUCCEEDED, Decimal("3000.00"))
    assert state(commitment) == InvestmentState.REVERSED
    assert investment_limit_for(user=commitment.investor).used == 0  # out of the investor's ledger
    assert EscrowEntry.objects.get(kind="return").refund == refund
    assert held(round, escrow) == (0, 0)
    commitment.refresh_from_db()
    assert commitment.flag_reason == "Refunded at the payment provider, outside Tranche: 3000.00 USD"
    assert AuditEvent.objects.filter(action="payments.refund_at_provider").count() == 1
    # The founder's chart counts live commitments only, and says why it is empty rather than "no commitments".
    founder = Client()
    founder.force_login(lumen.actor.user)
    html = founder.get(reverse("payments:round_commitments", args=[round.company.slug, round.pk])).content.decode()
    assert "every commitment to this round was cancelled or reversed" in html
    assert "No commitments yet." not in html


def test_a_partial_dashboard_refund_leaves_the_rest_for_the_company_to_return(sandbox, escrow) -> None:
    lumen, round, commitment, payment = paid_commitment(sandbox)
    sandbox.refund_at_provider(payment.provider_id or "", amount=Decimal("1000.00"))
    deliver_all(sandbox)
    commitment.refresh_from_db()
    assert state(commitment) == InvestmentState.REVERSED
    assert "2000.00 USD not refunded stays in escrow for the company to return" in commitment.flag_reason
    assert held(round, escrow) == (Decimal("2000.00"), Decimal("2000.00"))

    rest = services.commitment_return_rest(actor=lumen.actor, commitment=commitment)
    assert (rest.reason, rest.amount) == (RefundReason.REMAINDER, Decimal("2000.00"))
    services.refund_submit_outside_transaction(refund=rest, provider=sandbox)
    deliver_all(sandbox)
    rest.refresh_from_db()
    assert rest.status == RefundStatus.SUCCEEDED
    assert held(round, escrow) == (0, 0)
    assert sorted(EscrowEntry.objects.filter(kind="return").values_list("amount", flat=True)) == [
        Decimal("1000.00"), Decimal("2000.00")]
    assert sum(r.amount for r in SandboxRefund.objects.all()) == Decimal("3000.00")  # all of it, once
    # Asked again, nothing more goes back.
    with pytest.raises(ValidationError, match="Escrow holds nothing more"):
        services.commitment_return_rest(actor=lumen.actor, commitment=commitment)
    assert Refund.objects.count() == 2
    assert AuditEvent.objects.filter(action="payments.commitment_return_rest").count() == 1


def test_the_rest_of_a_partial_dispute_goes_back_once_the_dispute_closes(sandbox, escrow) -> None:
    lumen, round, commitment, payment = paid_commitment(sandbox)
    dispute_id = sandbox.dispute(payment.provider_id or "", reason="product_unacceptable", amount=Decimal("1200.00"))
    deliver_all(sandbox)
    assert held(round, escrow) == (Decimal("1800.00"), Decimal("1800.00"))
    with pytest.raises(ValidationError, match="dispute of this payment is still open"):
        services.commitment_return_rest(actor=lumen.actor, commitment=commitment)
    assert not Refund.objects.exists()

    sandbox.dispute_moved(payment.provider_id or "", dispute_id, status="lost", amount=Decimal("1200.00"))
    disputes_replayed(sandbox)
    rest = services.commitment_return_rest(actor=lumen.actor, commitment=commitment)
    assert rest.amount == Decimal("1800.00")
    services.refund_submit_outside_transaction(refund=rest, provider=sandbox)
    deliver_all(sandbox)
    # Two returns of one payment, each naming its source: the dispute's 1,200 and the refund's 1,800.
    returns = {(e.amount, e.dispute_id is not None, e.refund_id is not None)
               for e in EscrowEntry.objects.filter(payment=payment, kind="return")}
    assert returns == {(Decimal("1200.00"), True, False), (Decimal("1800.00"), False, True)}
    assert held(round, escrow) == (0, 0)


def test_our_own_refund_heard_of_from_the_provider_is_not_taken_for_an_outside_one(sandbox, escrow,
                                                                                      monkeypatch) -> None:
    from payments import tasks

    lumen, round, commitment, payment = paid_commitment(sandbox)
    monkeypatch.setattr(tasks.refund_submit, "delay", lambda *args: None)  # the worker is slow to ask the provider
    services.commitment_decline(actor=lumen.actor, commitment=commitment)
    refund = Refund.objects.get()
    assert refund.provider_id is None  # the worker has not asked the provider yet
    sandbox.refund_create(payment_id=payment.provider_id or "", amount=refund.amount, idempotency_key=refund.key)
    deliver_all(sandbox)  # the webhook beats the worker's own answer
    services.refund_submit_outside_transaction(refund=refund, provider=sandbox)
    refund.refresh_from_db()
    assert Refund.objects.count() == 1
    assert (refund.reason, refund.status) == (RefundReason.DECLINED, RefundStatus.SUCCEEDED)
    assert refund.provider_id == SandboxRefund.objects.get().provider_id
    assert not AuditEvent.objects.filter(action="payments.refund_at_provider").exists()
    assert state(commitment) == InvestmentState.REFUNDED
    assert held(round, escrow) == (0, 0)


def test_a_dashboard_refund_after_the_close_leaves_the_shares_and_the_released_escrow(sandbox, escrow) -> None:
    lumen, round = open_reg_cf_round(target_amount=Decimal(3000), minimum_amount=Decimal(1000))
    sam = approved_investor()
    commitment = commit(sam, round, "3000", sandbox)
    services.commitment_sign(actor=Actor(user=sam), commitment=commitment, signed_name="Sam Rivera",
                             agreement_pdf=services.agreement_pdf(commitment))
    payment = pay(commitment, sandbox)
    services.round_close(actor=lumen.actor, round=round, now=services.round_deadline(round) + timedelta(hours=1))
    assert state(commitment) == InvestmentState.ACCEPTED
    sandbox.refund_at_provider(payment.provider_id or "", amount=Decimal("500.00"))
    deliver_all(sandbox)
    commitment.refresh_from_db()
    assert state(commitment) == InvestmentState.ACCEPTED
    assert commitment.flag_reason.endswith("500.00 USD; after the close, so the shares stand")
    assert not EscrowEntry.objects.filter(kind="return").exists()  # the close had released it to the issuer
    assert held(round, escrow) == (0, 0)
    with pytest.raises(ValidationError, match="Only a reversed or cancelled commitment"):
        services.commitment_return_rest(actor=lumen.actor, commitment=commitment)


def test_a_refund_of_a_payment_that_is_not_ours_writes_nothing(sandbox) -> None:
    assert services.refund_apply(data=RefundData(provider_id="re_elsewhere", payment_id="pi_elsewhere",
                                                 amount=Decimal("10.00"), currency="USD", status="succeeded"),
                                 provider=sandbox) is None
    assert not Refund.objects.exists()
    assert not AuditEvent.objects.filter(action="payments.refund_at_provider").exists()


def test_only_the_companys_editors_return_the_rest_and_only_what_escrow_holds(sandbox, escrow) -> None:
    lumen, round, commitment, payment = paid_commitment(sandbox)
    with pytest.raises(ValidationError, match="Only a reversed or cancelled"):  # funded: the company declines it
        services.commitment_return_rest(actor=lumen.actor, commitment=commitment)
    sandbox.refund_at_provider(payment.provider_id or "", amount=Decimal("1000.00"))
    deliver_all(sandbox)
    with pytest.raises(PermissionDenied):
        services.commitment_return_rest(actor=Actor(user=commitment.investor), commitment=commitment)
    assert Refund.objects.count() == 1

    # The founder's commitments page offers the button with the amount; an investor's POST is refused.
    page = reverse("payments:round_commitments", args=[round.company.slug, round.pk])
    action = reverse("payments:commitment_return_rest",
                     args=[round.company.slug, round.pk, commitment.pk])
    founder, investor = Client(), Client()
    founder.force_login(lumen.actor.user)
    investor.force_login(commitment.investor)
    html = founder.get(page).content.decode()
    assert action in html
    assert "Return $2,000.00" in html
    assert investor.post(action).status_code in (403, 404)
    assert Refund.objects.count() == 1
    response = founder.post(action, follow=True)
    assert "2000.00 USD is on its way back to the investor." in response.content.decode()
    assert Refund.objects.filter(reason=RefundReason.REMAINDER, amount=Decimal("2000.00")).count() == 1


def test_returns_written_before_they_named_their_source_are_matched_to_it(sandbox, escrow) -> None:
    """Migration 0005: each existing return gets its dispute (by the id it carries) or its payment's refund."""
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    _, round, by_dispute, disputed = paid_commitment(sandbox)
    sandbox.dispute(disputed.provider_id or "")
    refunded_commitment = commit(approved_investor("Ann Park"), round, "2000", sandbox)
    refunded = pay(refunded_commitment, sandbox)
    sandbox.refund_at_provider(refunded.provider_id or "")
    deliver_all(sandbox)
    expected = {(e.payment_id, e.refund_id, e.dispute_id) for e in EscrowEntry.objects.filter(kind="return")}
    assert len(expected) == 2

    before, after = [("payments", "0004_dispute_funds_withdrawn")], [("payments", "0005_escrow_return_sources")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    old = executor.loader.project_state(before).apps.get_model("payments", "EscrowEntry")
    assert {(e.payment_id, e.provider_ref) for e in old.objects.filter(kind="return")} == {
        (disputed.pk, disputed.disputes.get().provider_id), (refunded.pk, Refund.objects.get().provider_id)}
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(after)
    assert {(e.payment_id, e.refund_id, e.dispute_id) for e in EscrowEntry.objects.filter(kind="return")} == expected


def refund_event(payment: Payment, refund_id: str, status: str, amount: str = "3000.00", key: str = "") -> RefundData:
    return RefundData(provider_id=refund_id, payment_id=payment.provider_id or "", amount=Decimal(amount),
                      currency="USD", status=status, key=key)


def test_a_dashboard_refund_heard_of_pending_then_succeeded_moves_the_money_once(sandbox, escrow) -> None:
    _, round, commitment, payment = paid_commitment(sandbox)
    services.refund_apply(data=refund_event(payment, "re_dash", "pending"), provider=sandbox)
    assert state(commitment) == InvestmentState.FUNDED  # nothing has gone back yet
    assert Refund.objects.get().status == RefundStatus.PENDING
    for _ in range(2):
        services.refund_apply(data=refund_event(payment, "re_dash", "succeeded"), provider=sandbox)
    services.refund_apply(data=refund_event(payment, "re_dash", "pending"), provider=sandbox)  # late, out of order
    assert Refund.objects.get().status == RefundStatus.SUCCEEDED
    assert state(commitment) == InvestmentState.REVERSED
    assert EscrowEntry.objects.filter(kind="return").count() == 1
    assert services.escrow_balance(round=round).held == 0
    assert AuditEvent.objects.filter(action="payments.refund_at_provider").count() == 1


def test_a_dashboard_refund_that_failed_moves_nothing_even_when_its_creation_arrives_later(sandbox, escrow) -> None:
    _, round, commitment, payment = paid_commitment(sandbox)
    services.refund_apply(data=refund_event(payment, "re_dash", "failed"), provider=sandbox)
    services.refund_apply(data=refund_event(payment, "re_dash", "pending"), provider=sandbox)
    assert Refund.objects.get().status == RefundStatus.FAILED
    assert state(commitment) == InvestmentState.FUNDED
    assert held(round, escrow) == (Decimal("3000.00"), Decimal("3000.00"))


def test_a_charge_refunded_event_that_names_no_refund_touches_none_of_ours(sandbox, escrow, monkeypatch) -> None:
    """Stripe's charge.refunded of current API versions carries only the cumulative amount: a refund of ours still
    waiting to be sent must not be taken as done by it."""
    from payments import tasks

    lumen, round, commitment, payment = paid_commitment(sandbox)
    monkeypatch.setattr(tasks.refund_submit, "delay", lambda *args: None)
    services.commitment_decline(actor=lumen.actor, commitment=commitment)
    assert services.refund_apply(data=refund_event(payment, "", "succeeded", "1000.00"), provider=sandbox) is None
    refund = Refund.objects.get()
    assert (refund.status, refund.provider_id) == (RefundStatus.PENDING, None)
    assert held(round, escrow) == (Decimal("3000.00"), Decimal("3000.00"))


def test_a_cancelled_commitment_refunded_in_part_at_the_provider_gets_the_rest_from_its_own_refund(
        sandbox, escrow, monkeypatch) -> None:
    """Sam cancels; before the worker sends the platform's refund, someone refunds $1,000 in the dashboard. The
    platform's refund then asks only for the $2,000 left, and nothing stays in escrow."""
    from payments import tasks

    _, round, commitment, payment = paid_commitment(sandbox)
    monkeypatch.setattr(tasks.refund_submit, "delay", lambda *args: None)
    services.commitment_cancel(actor=Actor(user=commitment.investor), commitment=commitment)
    ours = Refund.objects.get()
    sandbox.refund_at_provider(payment.provider_id or "", amount=Decimal("1000.00"))
    deliver_all(sandbox)
    assert state(commitment) == InvestmentState.CANCELLED
    services.refund_submit_outside_transaction(refund=ours, provider=sandbox)
    ours.refresh_from_db()
    assert (ours.amount, ours.status) == (Decimal("2000.00"), RefundStatus.SUCCEEDED)
    assert state(commitment) == InvestmentState.REFUNDED
    assert held(round, escrow) == (0, 0)
    assert sum(r.amount for r in SandboxRefund.objects.all()) == Decimal("3000.00")


def test_nothing_is_asked_back_of_a_payment_a_dashboard_refund_took_whole(sandbox, escrow) -> None:
    from django.db import transaction

    _, round, commitment, payment = paid_commitment(sandbox)
    sandbox.refund_at_provider(payment.provider_id or "")
    deliver_all(sandbox)
    with transaction.atomic():
        assert services.refund_request(payment=payment, reason=RefundReason.ROUND_FAILED) is None
    assert Refund.objects.count() == 1

