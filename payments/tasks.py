"""Celery tasks of the money path. Each takes ids, loads, and calls one service; each is safe to run twice
(the services are idempotent), which is what `acks_late` and a worker killed half-way need."""

from __future__ import annotations

from decimal import Decimal

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.utils import translation

from equity.models import Round
from payments import services, warrant_exercises
from payments.models import EscrowEntry, Payment, Refund, WebhookEvent
from payments.providers import escrow_agent, payment_provider
from payments.providers.base import ProviderError

RETRY = {"autoretry_for": (ProviderError, OSError), "retry_backoff": True, "max_retries": 8}


@shared_task(**RETRY)
def webhook_process(event_id: int) -> None:
    event = WebhookEvent.objects.filter(pk=event_id).first()
    if event is not None and event.processed_at is None:
        services.webhook_process(event=event, provider=payment_provider(event.provider))


@shared_task(**RETRY)
def refund_submit(refund_id: int) -> None:
    refund = Refund.objects.select_related("payment").filter(pk=refund_id).first()
    if refund is not None:
        services.refund_submit_outside_transaction(refund=refund, provider=payment_provider(refund.payment.provider))


@shared_task(**RETRY)
def payment_cancel(payment_id: int) -> None:
    """Cancel at the provider a payment whose commitment was withdrawn before it was paid. If it was paid in the
    meantime the provider refuses, and the success that comes back is refunded by `payment_apply`."""
    payment = Payment.objects.filter(pk=payment_id).first()
    if payment is None or not payment.provider_id:
        return
    provider = payment_provider(payment.provider)
    try:
        data = provider.payment_cancel(payment.provider_id)
    except ProviderError:
        data = provider.payment_get(payment.provider_id)
    services.payment_apply(data=data, provider=provider)


@shared_task(**RETRY)
def escrow_hold(payment_id: int) -> None:
    payment = Payment.objects.select_related("commitment__investment__round").get(pk=payment_id)
    round = payment.for_commitment.investment.round
    escrow_agent(payment.provider).hold(account=services.escrow_account(round), payment_id=payment.key,
                                        amount=payment.amount, currency=payment.currency)


def _escrow_returned(entry: EscrowEntry) -> None:
    """Tell the escrow agent that money left escrow: a return names its refund or its dispute, whose own reference
    keys it at the agent (a payment can have both: a partial dispute, then the refund of the rest)."""
    source = entry.refund or entry.dispute
    if source is None:  # the database's check constraint says a return names one
        raise ValueError(f"escrow entry {entry.pk} names no refund or dispute")
    reference = source.key if isinstance(source, Refund) else source.provider_id
    escrow_agent(source.payment.provider).returned(account=services.escrow_account(entry.round), payment_id=reference,
                                                   amount=entry.amount, currency=entry.currency)


_RETURN_ROWS = EscrowEntry.objects.select_related("round", "refund__payment", "dispute__payment")


@shared_task(**RETRY)
def escrow_return(refund_id: int) -> None:
    entry = _RETURN_ROWS.filter(refund_id=refund_id).first()
    if entry is not None:  # a refund of money no longer held (after the close, or already returned) moves none
        _escrow_returned(entry)


@shared_task(**RETRY)
def escrow_return_dispute(dispute_id: int) -> None:
    entry = _RETURN_ROWS.filter(dispute_id=dispute_id).first()
    if entry is not None:
        _escrow_returned(entry)


@shared_task(**RETRY)
def escrow_release(round_id: int) -> None:
    round = Round.objects.select_related("company").get(pk=round_id)
    services.escrow_release_outside_transaction(round=round, agent=escrow_agent())


@shared_task
def payments_reconcile() -> int:
    return services.payments_reconcile(provider=payment_provider())


@shared_task
def commitments_expire_unconfirmed() -> int:
    return services.commitments_expire_unconfirmed()


@shared_task
def sandbox_deliver() -> int:
    """The sandbox provider delivers its queued webhook events (in production Stripe calls the endpoint)."""
    if settings.PAYMENTS_PROVIDER != "sandbox":
        return 0
    from payments.providers.sandbox import SandboxProvider

    return SandboxProvider().deliver_pending()


@shared_task
def sandbox_settle() -> int:
    """The sandbox's bank debits settle after a while, as ACH does."""
    if settings.PAYMENTS_PROVIDER != "sandbox":
        return 0
    from payments.providers.sandbox import SandboxProvider

    return SandboxProvider().settle_due()


def _mail(user: object, template: str, context: dict[str, object]) -> None:
    language = getattr(user, "preferred_language", "") or settings.LANGUAGE_CODE
    with translation.override(language):
        context = {**context, "user": user, "site_url": settings.SITE_URL}
        subject = render_to_string(f"payments/email/{template}_subject.txt", context).strip()
        body = render_to_string(f"payments/email/{template}_message.txt", context)
    send_mail(subject, body, None, [user.email])  # type: ignore[attr-defined]


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def round_notify(round_id: int, event: str, detail: str) -> None:
    """Tell every investor with a live commitment in the round about a change (material change, early close,
    the round cancelled)."""
    round = Round.objects.select_related("company").get(pk=round_id)
    from payments.models import Commitment

    commitments = Commitment.objects.filter(investment__round=round).select_related("investor", "investment")
    seen: set[int] = set()
    for commitment in commitments:
        if commitment.investor_id in seen:
            continue
        seen.add(commitment.investor_id)
        _mail(commitment.investor, f"round_{event}", {"round": round, "detail": detail, "commitment": commitment})


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def document_receipt_generate(payment_id: int) -> None:
    """The investor's receipt for a payment that went through, and an e-mail saying so."""
    payment = Payment.objects.select_related("commitment__investor", "commitment__investment__round__company").get(
        pk=payment_id)
    commitment = payment.for_commitment
    services.document_receipt_create(payment=payment)
    _mail(commitment.investor, "payment_received", {"payment": payment, "commitment": commitment,
                                                    "round": commitment.investment.round})


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def round_closed_documents_and_mail(round_id: int) -> None:
    """After a close: every investor on the platform hears what became of their commitment."""
    from payments.models import Commitment

    round = Round.objects.select_related("company").get(pk=round_id)
    commitments = Commitment.objects.filter(investment__round=round).select_related(
        "investor", "investment__stakeholder", "investment__security__share_class", "investment__round__company")
    for commitment in commitments:
        services.document_certificate_create(commitment=commitment)
        _mail(commitment.investor, "round_closed", {"round": round, "commitment": commitment,
                                                    "investment": commitment.investment})


@shared_task(**RETRY)
def warrant_exercise_hold(payment_id: int, reference: str, amount: str | None = None) -> None:
    """A priced warrant's exercise price went through (or a dispute of it was won): the escrow agent holds it (or
    what the dispute puts back) for the company."""
    payment = Payment.objects.get(pk=payment_id)
    escrow_agent(payment.provider).hold(account=warrant_exercises.payment_account(payment), payment_id=reference,
                                        amount=payment.amount if amount is None else Decimal(amount),
                                        currency=payment.currency)


@shared_task(**RETRY)
def warrant_exercise_returned(payment_id: int, reference: str, amount: str | None = None) -> None:
    """A dispute took (some of) an exercise price back out of the account."""
    payment = Payment.objects.get(pk=payment_id)
    escrow_agent(payment.provider).returned(account=warrant_exercises.payment_account(payment), payment_id=reference,
                                            amount=payment.amount if amount is None else Decimal(amount),
                                            currency=payment.currency)


@shared_task
def warrant_exercise_payouts() -> int:
    """Pay the companies the exercise prices of the token warrants whose tokens were delivered."""
    return warrant_exercises.exercise_payouts_due(agent=escrow_agent())


@shared_task
def token_card_refunds() -> int:
    """Unpaid card orders of tokens expire; card buyers' positions in ended sales are settled on-chain; what the
    sales paid back to the distributor goes back to the cards (see `payments.token_orders`)."""
    from payments import token_orders

    token_orders.token_orders_expire()
    token_orders.card_positions_settle()
    return token_orders.card_refunds_from_events()
