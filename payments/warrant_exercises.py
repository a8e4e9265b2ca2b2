"""Priced token warrants: the holder pays the exercise price by card, then claims the tokens.

A priced warrant converts at the token's launch into an allocation awaiting payment (`tokens.warrants`), with its
exercise price: the tokens times the price per token, rounded up to the cent. From there, each step is held by a
lock or a constraint rather than by care:
1. `exercise_start`: the holder asks to pay. One payment per attempt, under the allocation's row lock: a payment
   still open (waiting, processing, or a declined card that may be tried again) is the one they pay, so two tabs
   never create two charges.
2. Whatever the provider says reaches `payments.services.payment_apply`, which hands an exercise's payment to
   `payment_applied` here under the allocation's and the payment's row locks. The first success is the payment
   the tokens stand on (`TokenAllocation.exercise_payment_key`): the allocation becomes claimable and the escrow
   agent holds the money under the token's account (`tokenwarrants-<token>`, Stripe's transfer group). A replayed
   webhook changes nothing; a second payment that succeeds anyway is refunded in full.
3. The holder claims the tokens with a verified wallet like any converted warrant's (`tokens.warrants`), which
   refuses a priced allocation that no payment stands for.
4. Once the tokens are in the holder's wallet the money is paid out to the company (`exercise_payouts_due`, from
   beat): marked `pending` under the allocation's lock first, then released with the agent's idempotency key.

A dispute of the payment the tokens stand on takes the money back out of the account and clears the key: tokens
not claimed yet wait for a payment again (and so do tokens whose distribution then fails); tokens already sent
cannot be taken back, and once the payout is made (or pending) the dispute is the platform's loss. Either is
written to the audit trail for compliance. A dispute the platform wins puts the money back: the tokens stand on it
again, or, when the holder has paid again meanwhile, it is refunded. Only what the provider took counts: an inquiry
takes nothing until it is escalated, and a partial dispute returns its amount while the rest stays held.

An exercise price below the smallest card charge ($0.50) cannot be paid by card; the company records a payment it
received itself instead (`exercise_recorded`, also for a holder who paid by wire). The tokens then stand on that
record, and there is nothing to pay out.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from compliance.audit import Actor
from compliance.services import audit_record
from payments.choices import PaymentMethod, PaymentStatus, RefundReason
from payments.models import Dispute, Payment, Refund
from payments.providers.base import EscrowAgent, PaymentData, PaymentProvider, ProviderError
from tokens.choices import AllocationState
from tokens.models import TokenAllocation
from tokens.warrants import allocation_holder_id

logger = logging.getLogger(__name__)

PENDING = "pending"  # `exercise_payout` while the payout is being made
RECORDED = "recorded"  # `exercise_payout` when the company received the money itself: nothing to pay out
OPEN = (PaymentStatus.REQUIRES_PAYMENT, PaymentStatus.PROCESSING, PaymentStatus.FAILED)  # may still be paid


def exercise_account(token_id: int) -> str:
    """The escrow account (Stripe's transfer group) of a token's warrant exercises."""
    return f"tokenwarrants-{token_id}"


def payment_account(payment: Payment) -> str:
    """The escrow account an exercise's payment is held in."""
    return exercise_account(TokenAllocation.objects.values_list("token_id", flat=True).get(pk=payment.allocation_pk))


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
    if not card_payable(allocation):
        raise ValidationError(below_smallest_charge(allocation))
    open_payment = allocation.payments.filter(status__in=OPEN).order_by("-pk").first()
    if open_payment is not None:
        return open_payment
    payment = Payment.objects.create(allocation=allocation, key=f"pay_{uuid.uuid4().hex}", provider=provider.name,
                                     method=PaymentMethod.CARD, amount=allocation.exercise_price,
                                     currency=allocation.exercise_currency)
    audit_record(actor=actor, action="payments.warrant_exercise", target=allocation,
                 company_id=allocation.token.company_id,
                 changes={"amount": str(payment.amount), "currency": payment.currency, "payment": payment.key})
    return payment


def card_payable(allocation: TokenAllocation) -> bool:
    """Whether the exercise price is at least the smallest charge a card takes."""
    from payments.services import SMALLEST_CHARGE

    return allocation.exercise_price is not None and allocation.exercise_price >= SMALLEST_CHARGE


def below_smallest_charge(allocation: TokenAllocation) -> str:
    from payments.services import SMALLEST_CHARGE

    return _("An exercise price below %(least)s cannot be paid by card: %(company)s records your payment once it "
             "has it.") % {"least": f"${SMALLEST_CHARGE:,.2f}", "company": allocation.token.company.legal_name}


@transaction.atomic
def exercise_recorded(*, actor: Actor, allocation: TokenAllocation, reference: str) -> TokenAllocation:
    """The company received the exercise price itself (a wire, or a price below the smallest card charge): the
    tokens stand on its record and become claimable; nothing is paid out. A card payment still open is cancelled
    with the provider, and one that goes through anyway is refunded (`payment_applied`)."""
    from payments.services import queue_after_commit
    from tokens.services import require_editor

    allocation = TokenAllocation.objects.select_for_update(of=("self",)).select_related("token__company").get(
        pk=allocation.pk)
    require_editor(actor, allocation.token.company)
    reference = reference.strip()
    if not reference or len(reference) > 100:
        raise ValidationError({"reference": _("Enter how the payment reached the company (a wire reference, say), "
                                              "in at most 100 characters.")})
    if (allocation.state != AllocationState.UNPAID or allocation.exercise_price is None
            or allocation.exercise_payment_key):
        raise ValidationError(_("These tokens are not waiting for a payment (%(state)s).") % {
            "state": allocation.get_state_display()})
    for payment in allocation.payments.filter(status__in=OPEN, provider_id__isnull=False):
        queue_after_commit("payment_cancel", payment.pk)
    allocation.exercise_payment_key = f"{RECORDED}_{uuid.uuid4().hex[:30]}"  # fits the key's 40 characters
    allocation.exercise_payout = RECORDED
    allocation.state = AllocationState.CLAIMABLE
    allocation.save(update_fields=["exercise_payment_key", "exercise_payout", "state"])
    audit_record(actor=actor, action="payments.warrant_exercise_recorded", target=allocation,
                 company_id=allocation.token.company_id,
                 changes={"amount": str(allocation.exercise_price), "currency": allocation.exercise_currency,
                          "reference": reference, "record": allocation.exercise_payment_key})
    return allocation


def exercise_payment_metadata(payment: Payment) -> tuple[dict[str, str], str, str]:
    """(metadata, description, transfer group) the provider is given for an exercise's payment."""
    allocation = TokenAllocation.objects.select_related("token__company").get(pk=payment.allocation_pk)
    token = allocation.token
    return ({"payment": payment.key, "token_allocation": str(allocation.pk), "token": str(token.pk)},
            f"{token.company.legal_name}: {token.symbol} token warrant exercise", exercise_account(token.pk))


# --- what the provider tells us ----------------------------------------------------------------------------------


def payment_locked(found: Payment) -> tuple[Payment, TokenAllocation]:
    """The allocation, then its payment, locked (the order every service here takes)."""
    allocation = TokenAllocation.objects.select_for_update(of=("self",)).select_related("token").get(
        pk=found.allocation_pk)
    return Payment.objects.select_for_update().get(pk=found.pk), allocation


def _stands_on(allocation: TokenAllocation, payment: Payment, reference: str = "",
               amount: Decimal | None = None) -> None:
    """The tokens stand on this payment: claimable (unless already sent), and its money held for the company (all
    of it, or `amount`: what a won dispute puts back)."""
    allocation.exercise_payment_key = payment.key
    if allocation.state == AllocationState.UNPAID:
        allocation.state = AllocationState.CLAIMABLE
    allocation.save(update_fields=["exercise_payment_key", "state"])
    from payments.services import queue_after_commit

    # The escrow agent's movement is named by `reference`, else by the payment's key.
    queue_after_commit("warrant_exercise_hold", payment.pk, reference or payment.key,
                       str(payment.amount if amount is None else amount))


def _refund(payment: Payment) -> None:
    from payments.services import refund_request

    refund_request(payment=payment, reason=RefundReason.CANCELLED)


def payment_applied(*, payment: Payment, allocation: TokenAllocation, data: PaymentData, provider: PaymentProvider,
                    now: datetime) -> Payment:
    """`payment_apply` for an exercise's payment; the caller holds the allocation's and the payment's locks."""
    current, new = payment.move_forward(data, now), data.status
    if current is None:
        return payment
    if new == PaymentStatus.SUCCEEDED:
        taken = payment.disputes.filter(funds_withdrawn=True).first()
        if taken is not None:
            # Disputed before its success reached us (webhooks out of order): what the dispute took is gone; what
            # it left is held, as after any partial dispute (reinstated with the disputed part if it is won).
            if payment.amount > taken.amount:
                from payments.services import queue_after_commit

                queue_after_commit("warrant_exercise_hold", payment.pk, payment.key, str(payment.amount - taken.amount))
        elif allocation.state == AllocationState.UNPAID and not allocation.exercise_payment_key:
            _stands_on(allocation, payment)
        else:
            _refund(payment)  # paid through another attempt already (or the allocation was cancelled)
    audit_record(actor=Actor.system(), action="payments.payment_status", target=payment,
                 company_id=allocation.token.company_id, changes={"from": current, "to": new,
                                                                 "provider": provider.name})
    return payment


def disputed(*, allocation: TokenAllocation, payment: Payment, dispute: Dispute | Refund) -> dict[str, str]:
    """The provider took (some of) an exercise's payment back: a dispute, or a refund made at the provider outside
    Tranche; the caller holds the allocation's and the payment's locks. Returns what the audit trail records
    besides."""
    if payment.key != allocation.exercise_payment_key:
        return {"allocation": "not the payment the tokens stand on (refunded, or never applied): nothing held"}
    if allocation.exercise_payout:
        return {"allocation": f"paid out to the company already ({allocation.exercise_payout}): the platform's "
                              "loss; for compliance to follow up"}
    from payments.services import queue_after_commit

    queue_after_commit("warrant_exercise_returned", payment.pk, dispute.provider_id, str(dispute.amount))
    allocation.exercise_payment_key = ""
    sent = allocation.state in (AllocationState.DEPLOYING, AllocationState.DELIVERED)
    if allocation.state == AllocationState.CLAIMABLE:
        allocation.state = AllocationState.UNPAID
    allocation.save(update_fields=["exercise_payment_key", "state"])
    changes = {"allocation": f"{allocation.state}: the tokens were claimed; for compliance to follow up" if sent
               else "awaiting payment again"}
    undisputed = payment.amount - dispute.amount
    if undisputed > 0:  # the issuer took part of it: the rest is the holder's, still held in the account
        changes["undisputed"] = (f"{undisputed} {payment.currency} stays held: reinstated if the dispute is won, "
                                 "else for compliance to return to the holder")
    return changes


def dispute_won(*, allocation: TokenAllocation, payment: Payment, dispute: Dispute) -> dict[str, str]:
    """The platform won a dispute: the disputed amount is back. The tokens stand on the payment again, unless the
    holder has paid again meanwhile, in which case this payment is refunded."""
    if payment.status != PaymentStatus.SUCCEEDED or payment.refunds.exists():
        return {"allocation": "nothing to reinstate"}
    if allocation.exercise_payment_key or allocation.state == AllocationState.CANCELLED:
        _refund(payment)
        undisputed = payment.amount - dispute.amount
        if undisputed > 0:  # the part the dispute left was still held: it goes back with the refund
            from payments.services import queue_after_commit

            queue_after_commit("warrant_exercise_returned", payment.pk, f"{dispute.provider_id}:refund",
                               str(undisputed))
        return {"allocation": "paid again meanwhile: the reinstated payment is refunded"}
    _stands_on(allocation, payment, reference=f"{dispute.provider_id}:won", amount=dispute.amount)
    return {"allocation": "the tokens stand on this payment again"}


# --- paying the company ------------------------------------------------------------------------------------------


def paying_payment(allocation: TokenAllocation) -> Payment | None:
    """The payment the tokens stand on, if any."""
    if not allocation.exercise_payment_key:
        return None
    return Payment.objects.filter(allocation=allocation, key=allocation.exercise_payment_key).first()




def _payouts_mark() -> None:
    """Mark each delivered allocation whose tokens stand on a payment as being paid out: a dispute from then on is
    the platform's loss, and the money is not also returned. One UPDATE: it takes each row's lock, waits for a
    dispute holding it, and re-checks the payment key after that dispute commits."""
    TokenAllocation.objects.filter(state=AllocationState.DELIVERED, exercise_price__isnull=False,
                                   exercise_payout="").exclude(exercise_payment_key="").update(exercise_payout=PENDING)


def exercise_payouts_due(*, agent: EscrowAgent) -> int:
    """Pay each delivered priced allocation's exercise price to its company; returns how many were paid. Outside
    any transaction (the agent is called); a provider that fails leaves the payout pending for the next run, with
    the same idempotency key."""
    from payments.services import issuer_payout_destination

    if transaction.get_connection().in_atomic_block:
        raise RuntimeError("exercise_payouts_due must not run inside a database transaction")
    _payouts_mark()
    paid = 0
    for allocation in TokenAllocation.objects.filter(exercise_payout=PENDING).select_related(
            "token__company").order_by("pk"):
        payment = Payment.objects.get(allocation=allocation, key=allocation.exercise_payment_key)
        try:
            payout = agent.release(account=exercise_account(allocation.token_id), amount=payment.amount,
                                   currency=payment.currency,
                                   destination=issuer_payout_destination(allocation.token.company),
                                   idempotency_key=f"release-warrant-{allocation.pk}")
        except ProviderError:
            logger.exception("paying out the exercise price of token allocation %s failed", allocation.pk)
            continue
        paid += TokenAllocation.objects.filter(pk=allocation.pk, exercise_payout=PENDING).update(
            exercise_payout=payout.provider_id)
    return paid
