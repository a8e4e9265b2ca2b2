"""Invariant 2 for payments: every event replayed three times and delivered out of order records each payment
once; a bad signature stores nothing; a payment whose webhook never came, or whose worker died before saving it,
is settled by reconciliation."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from compliance.audit import Actor
from equity.choices import InvestmentState
from payments import services
from payments.models import EscrowEntry, Payment, SandboxEvent, WebhookEvent
from payments.providers.base import InvalidSignature
from payments.providers.sandbox import CARD_DECLINED_FUNDS, CARD_SUCCEEDS
from tests.payments.conftest import approved_investor, open_reg_cf_round
from tests.payments.test_commitments import assert_escrow_balances, commit, state

pytestmark = pytest.mark.django_db(transaction=True)


def deliver(sandbox, event: SandboxEvent) -> None:  # type: ignore[no-untyped-def]
    body = json.dumps(event.payload)
    services.webhook_receive(provider=sandbox, payload=body.encode(), signature=sandbox.signed(body))


def test_events_replayed_three_times_out_of_order_record_each_payment_once(sandbox, escrow) -> None:
    _, round = open_reg_cf_round()
    paid = [commit(approved_investor(f"Paid {n}"), round, f"{1000 + n}", sandbox) for n in range(3)]
    declined_then_paid = commit(approved_investor("Retry Once"), round, "900", sandbox)
    for commitment in paid:
        sandbox.confirm_card(commitment.payments.get().provider_id, number=CARD_SUCCEEDS)
    retry = declined_then_paid.payments.get().provider_id
    sandbox.confirm_card(retry, number=CARD_DECLINED_FUNDS)
    sandbox.confirm_card(retry, number=CARD_SUCCEEDS)
    events = list(SandboxEvent.objects.order_by("pk"))
    for _ in range(3):
        for event in reversed(events):  # newest first: a success before its own creation, a decline after a success
            deliver(sandbox, event)
    assert WebhookEvent.objects.count() == len(events)  # stored once per (provider, event id)
    assert all(state(c) == InvestmentState.FUNDED for c in [*paid, declined_then_paid])
    assert EscrowEntry.objects.filter(kind="hold").count() == 4
    assert services.escrow_balance(round=round).held == Decimal("3903.00")
    assert_escrow_balances(round, escrow)


def test_a_bad_signature_stores_nothing(sandbox) -> None:
    _, round = open_reg_cf_round()
    commitment = commit(approved_investor(), round, "500", sandbox)
    sandbox.confirm_card(commitment.payments.get().provider_id, number=CARD_SUCCEEDS)
    body = json.dumps(SandboxEvent.objects.last().payload)
    forged = body.replace('"amount": 50000', '"amount": 5')
    assert forged != body
    for payload, signature in [(body, "t=1,v1=deadbeef"), (forged, sandbox.signed(body)), (body, "")]:
        with pytest.raises(InvalidSignature):
            services.webhook_receive(provider=sandbox, payload=payload.encode(), signature=signature)
    assert not WebhookEvent.objects.exists()
    assert state(commitment) == InvestmentState.PENDING_PAYMENT


def test_reconciliation_settles_a_payment_whose_webhook_never_came(sandbox, escrow) -> None:
    _, round = open_reg_cf_round()
    commitment = commit(approved_investor(), round, "2500", sandbox)
    sandbox.confirm_card(commitment.payments.get().provider_id, number=CARD_SUCCEEDS)  # no answer, no webhook
    assert state(commitment) == InvestmentState.PENDING_PAYMENT
    assert services.payments_reconcile(provider=sandbox) == 1
    assert state(commitment) == InvestmentState.FUNDED
    assert services.payments_reconcile(provider=sandbox) == 0  # nothing left to settle, nothing twice
    assert_escrow_balances(round, escrow)


def test_a_worker_killed_after_the_payment_succeeded_loses_nothing(sandbox, escrow) -> None:
    """The worker created and the payer confirmed the payment at the provider, then the worker died before it
    saved the provider's id: the platform's row knows only its own key. Reconciliation finds the payment by it."""
    _, round = open_reg_cf_round()
    sam = approved_investor()
    commitment = services.investment_commit(actor=Actor(user=sam), round=round, amount=Decimal(3000),
                                            method="card", provider=sandbox)
    payment = commitment.payments.get()
    created = sandbox.payment_create(  # what payment_create_outside_transaction sends, then the crash
        amount=payment.amount, currency="USD", method="card", idempotency_key=payment.key,
        metadata={"payment": payment.key}, description="", transfer_group=services.escrow_account(round))
    sandbox.confirm_card(created.provider_id, number=CARD_SUCCEEDS)
    assert Payment.objects.get(pk=payment.pk).provider_id is None
    # The retried task asks again with the same idempotency key: the provider answers with the same payment.
    assert services.payment_create_outside_transaction(payment=payment, provider=sandbox).provider_id == \
        created.provider_id
    services.payments_reconcile(provider=sandbox)
    assert state(commitment) == InvestmentState.FUNDED
    assert Payment.objects.filter(commitment=commitment).count() == 1
    assert EscrowEntry.objects.filter(kind="hold").count() == 1
    assert_escrow_balances(round, escrow)
