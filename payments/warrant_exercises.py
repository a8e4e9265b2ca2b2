"""Priced token warrants: the holder pays the exercise price by card, then claims the tokens.

A priced warrant converts at the token's launch into an allocation awaiting payment (`tokens.warrants`), with its
exercise price: the tokens times the price per token, rounded up to the cent. From there, each step is held by a
lock or a constraint rather than by care:
1. `exercise_start`: the holder asks to pay. One payment per attempt, under the allocation's row lock: a payment
   still open (waiting, processing, or a declined card that may be tried again) is the one they pay, so two tabs
   never create two charges.
2. Whatever the provider says reaches `payments.services.payment_apply`, which hands an exercise's payment to
   `payment_applied` here under the allocation's and the payment's row locks. Success makes the allocation
   claimable (once: a replayed webhook finds it claimable already). A payment that succeeds when the allocation
   no longer waits for one (paid through another attempt in the meantime) is refunded in full.
3. The holder claims the tokens with a verified wallet like any converted warrant's (`tokens.warrants`).

A dispute before the tokens are claimed puts the allocation back to awaiting payment; after, the tokens are in the
holder's wallet and cannot be taken back, so the dispute is written to the audit trail for compliance.

The exercise money is the company's: it is collected on the platform's balance under the token's transfer group
(`tokenwarrants-<token>`), like an offering's money before its close.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from compliance.audit import Actor
from compliance.services import audit_record
from payments.choices import PaymentMethod, PaymentStatus, RefundReason
from payments.models import Payment
from payments.providers.base import PaymentData, PaymentProvider
from tokens.choices import AllocationState
from tokens.models import TokenAllocation
from tokens.warrants import allocation_holder_id

OPEN = (PaymentStatus.REQUIRES_PAYMENT, PaymentStatus.PROCESSING, PaymentStatus.FAILED)  # may still be paid


def _currency(allocation: TokenAllocation) -> str:
    return allocation.warrant.currency if allocation.warrant is not None else "USD"


@transaction.atomic
def exercise_start(*, actor: Actor, allocation: TokenAllocation, provider: PaymentProvider) -> Payment:
    """The holder of a priced warrant's allocation starts paying its exercise price; returns the payment to pay
    (the open one when there is one)."""
    allocation = TokenAllocation.objects.select_for_update(of=("self",)).select_related(
        "stakeholder", "warrant", "token").get(pk=allocation.pk)
    if actor.user is None or allocation_holder_id(allocation) != actor.user.pk:
        raise PermissionDenied(_("Only the holder of these tokens can pay for them."))
    if allocation.state != AllocationState.UNPAID or allocation.exercise_price is None:
        raise ValidationError(_("These tokens are not waiting for a payment (%(state)s).") % {
            "state": allocation.get_state_display()})
    open_payment = allocation.payments.filter(status__in=OPEN).order_by("-pk").first()
    if open_payment is not None:
        return open_payment
    payment = Payment.objects.create(allocation=allocation, key=f"pay_{uuid.uuid4().hex}", provider=provider.name,
                                     method=PaymentMethod.CARD, amount=allocation.exercise_price,
                                     currency=_currency(allocation))
    audit_record(actor=actor, action="payments.warrant_exercise", target=allocation,
                 company_id=allocation.token.company_id,
                 changes={"amount": str(payment.amount), "currency": payment.currency, "payment": payment.key})
    return payment


def exercise_payment_metadata(payment: Payment) -> tuple[dict[str, str], str, str]:
    """(metadata, description, transfer group) the provider is given for an exercise's payment."""
    allocation = TokenAllocation.objects.select_related("token__company").get(pk=payment.allocation_pk)
    token = allocation.token
    return ({"payment": payment.key, "token_allocation": str(allocation.pk), "token": str(token.pk)},
            f"{token.company.legal_name}: {token.symbol} token warrant exercise", f"tokenwarrants-{token.pk}")


# --- what the provider tells us ----------------------------------------------------------------------------------


def payment_locked(found: Payment) -> tuple[Payment, TokenAllocation]:
    """The allocation, then its payment, locked (the order every service here takes)."""
    allocation = TokenAllocation.objects.select_for_update(of=("self",)).select_related("token").get(
        pk=found.allocation_pk)
    return Payment.objects.select_for_update().get(pk=found.pk), allocation


def payment_applied(*, payment: Payment, allocation: TokenAllocation, data: PaymentData, provider: PaymentProvider,
                    now: datetime) -> Payment:
    """`payment_apply` for an exercise's payment; the caller holds the allocation's and the payment's locks."""
    current, new = payment.move_forward(data, now), data.status
    if current is None:
        return payment
    if new == PaymentStatus.SUCCEEDED:
        if allocation.state == AllocationState.UNPAID:
            allocation.state = AllocationState.CLAIMABLE
            allocation.save(update_fields=["state"])
        else:
            # Paid through another attempt already (or the allocation was cancelled): this money goes back.
            from payments.services import refund_request

            refund_request(payment=payment, reason=RefundReason.CANCELLED)
    audit_record(actor=Actor.system(), action="payments.payment_status", target=payment,
                 company_id=allocation.token.company_id, changes={"from": current, "to": new,
                                                                 "provider": provider.name})
    return payment


def disputed(*, allocation: TokenAllocation) -> dict[str, str]:
    """A card dispute on an exercise's payment: tokens not claimed yet wait for a payment again; tokens already
    on their way or delivered cannot be taken back. Returns what the audit trail records besides the dispute."""
    if allocation.state == AllocationState.CLAIMABLE:
        allocation.state = AllocationState.UNPAID
        allocation.save(update_fields=["state"])
        return {"allocation": "awaiting payment again"}
    return {"allocation": f"{allocation.state}: the tokens were claimed; for compliance to follow up"}
