"""A payment provider and an escrow agent that need no network, for `make run`, the demo and the tests.

It behaves like Stripe where the platform can tell: payments have `pi_` ids and go requires_payment →
(processing →) succeeded or failed; it takes Stripe's published test numbers; it keeps its own books in its own
tables (`SandboxPayment`, `SandboxRefund`, `SandboxEscrowEntry`), and it tells the platform what happened by
webhook events in Stripe's JSON shape, signed with Stripe's scheme (`Stripe-Signature`), queued in
`SandboxEvent` and delivered by `deliver_pending` (a Celery task in `make run`). So the platform's webhook path,
signature check included, is the same for both providers.

Test numbers (https://docs.stripe.com/testing):
- cards: 4242 4242 4242 4242 succeeds; 4000 0000 0000 9995 is declined (insufficient_funds); 4000 0000 0000 0002
  is declined (generic_decline); 4000 0000 0000 0259 succeeds and is then disputed (fraudulent).
- US bank accounts (routing 110000000): 000123456789 settles; 000111111116 fails when it settles (account_closed).
  A bank debit stays processing for `PAYMENTS_SANDBOX_ACH_SETTLE_SECONDS`, then `settle_due` settles it.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from payments.models import SandboxEscrowEntry, SandboxEvent, SandboxPayment, SandboxRefund
from payments.providers.base import (
    InvalidSignature,
    PaymentData,
    PaymentMethod,
    PaymentStatus,
    PayoutData,
    ProviderError,
    RefundData,
    RefundStatus,
    WebhookEventData,
)
from payments.providers.stripe import amount_to_cents, webhook_event_from_payload

CARD_SUCCEEDS = "4242424242424242"
CARD_DECLINED_FUNDS = "4000000000009995"
CARD_DECLINED = "4000000000000002"
CARD_DISPUTED = "4000000000000259"
BANK_ROUTING = "110000000"
BANK_SETTLES = "000123456789"
BANK_FAILS = "000111111116"

_CARD_DECLINES = {
    CARD_DECLINED_FUNDS: ("insufficient_funds", "Your card has insufficient funds."),
    CARD_DECLINED: ("card_declined", "Your card was declined."),
}


def luhn_valid(number: str) -> bool:
    digits = [int(d) for d in number]
    checksum = sum(digits[-1::-2]) + sum(sum(divmod(2 * d, 10)) for d in digits[-2::-2])
    return checksum % 10 == 0


DASHBOARD = "dashboard_"  # the idempotency key of a refund made "in the dashboard": Stripe keeps no metadata of ours


def _metadata_key(refund: SandboxRefund) -> str:
    """Our refund's key, as the platform sends it in the refund's metadata (none for a dashboard refund)."""
    return "" if refund.idempotency_key.startswith(DASHBOARD) else refund.idempotency_key


class SandboxProvider:
    name = "sandbox"

    def __init__(self, webhook_secret: str | None = None) -> None:
        self.webhook_secret = webhook_secret or settings.PAYMENTS_SANDBOX_WEBHOOK_SECRET

    # --- the provider interface ------------------------------------------------------------------------------

    def payment_create(
        self, *, amount: Decimal, currency: str, method: str, idempotency_key: str, metadata: Mapping[str, str],
        description: str, transfer_group: str,
    ) -> PaymentData:
        amount_to_cents(amount)
        if method not in PaymentMethod.values:
            raise ProviderError(f"unsupported payment method {method!r}", code="payment_method_unsupported")
        with transaction.atomic():
            payment, created = SandboxPayment.objects.get_or_create(
                idempotency_key=idempotency_key,
                defaults={"provider_id": f"pi_sbx_{secrets.token_hex(12)}", "amount": amount,
                          "currency": currency.upper(), "method": method, "status": PaymentStatus.REQUIRES_PAYMENT,
                          "metadata": dict(metadata), "description": description, "transfer_group": transfer_group,
                          "created_at": timezone.now()},
            )
            if created:
                self._emit("payment_intent.created", payment)
        return self._payment_data(payment)

    def payment_get(self, provider_id: str) -> PaymentData:
        return self._payment_data(self._payment(provider_id))

    def payment_cancel(self, provider_id: str) -> PaymentData:
        with transaction.atomic():
            payment = self._payment(provider_id, lock=True)
            if payment.status in (PaymentStatus.SUCCEEDED, PaymentStatus.PROCESSING):
                raise ProviderError("This payment can no longer be cancelled.", code="payment_intent_unexpected_state")
            if payment.status != PaymentStatus.CANCELED:
                payment.status = PaymentStatus.CANCELED
                payment.save(update_fields=["status"])
                self._emit("payment_intent.canceled", payment)
        return self._payment_data(payment)

    def payments_since(self, since: datetime) -> list[PaymentData]:
        return [self._payment_data(p) for p in SandboxPayment.objects.filter(created_at__gte=since).order_by("pk")]

    def refund_create(self, *, payment_id: str, amount: Decimal, idempotency_key: str) -> RefundData:
        amount_to_cents(amount)
        with transaction.atomic():
            existing = SandboxRefund.objects.filter(idempotency_key=idempotency_key).select_related("payment").first()
            if existing is not None:
                return self._refund_data(existing)
            payment = self._payment(payment_id, lock=True)
            if payment.status != PaymentStatus.SUCCEEDED:
                raise ProviderError("Only a succeeded payment can be refunded.", code="charge_not_refundable")
            refunded = payment.refunds.aggregate(total=Sum("amount"))["total"] or Decimal(0)
            if amount <= 0 or refunded + amount > payment.amount:
                raise ProviderError("The refund is more than what is left of the payment.",
                                    code="amount_too_large")
            refund = SandboxRefund.objects.create(
                provider_id=f"re_sbx_{secrets.token_hex(12)}", idempotency_key=idempotency_key, payment=payment,
                amount=amount, status=RefundStatus.SUCCEEDED)
            self._emit("charge.refunded", payment, refund=refund)
        return self._refund_data(refund)

    def refund_at_provider(self, provider_id: str, *, amount: Decimal | None = None) -> str:
        """Someone refunds the payment (all of it, or `amount`) from the provider's dashboard, outside Tranche: only
        the webhook tells the platform. Returns the refund's id."""
        payment = self._payment(provider_id)
        left = payment.amount - (payment.refunds.aggregate(total=Sum("amount"))["total"] or Decimal(0))
        return self.refund_create(payment_id=provider_id, amount=left if amount is None else amount,
                                  idempotency_key=f"{DASHBOARD}{secrets.token_hex(12)}").provider_id

    def webhook_event(self, *, payload: bytes, signature: str) -> WebhookEventData:
        import stripe

        try:
            stripe.WebhookSignature.verify_header(payload.decode(), signature, self.webhook_secret, tolerance=300)
        except (stripe.SignatureVerificationError, UnicodeDecodeError, ValueError) as error:
            raise InvalidSignature(str(error), code="signature") from error
        try:
            event = json.loads(payload)
        except ValueError as error:
            raise InvalidSignature("The body is not JSON.", code="payload") from error
        return webhook_event_from_payload(event, self.name)

    # --- what the payer does (in production, the browser does this with Stripe.js) ----------------------------

    def confirm_card(self, provider_id: str, *, number: str) -> PaymentData:
        number = "".join(ch for ch in number if ch.isdigit())
        if len(number) < 12 or not luhn_valid(number):
            raise ProviderError("Your card number is invalid.", code="invalid_number")
        with transaction.atomic():
            payment = self._confirmable(provider_id, PaymentMethod.CARD)
            payment.last4 = number[-4:]
            self._settle(payment, failure=_CARD_DECLINES.get(number))
            if payment.status == PaymentStatus.SUCCEEDED and number == CARD_DISPUTED:
                self._emit_dispute(payment, reason="fraudulent", status="needs_response")
        return self._payment_data(payment)

    def confirm_bank_account(self, provider_id: str, *, routing_number: str, account_number: str,
                             now: datetime | None = None) -> PaymentData:
        if routing_number.strip() != BANK_ROUTING or not account_number.strip().isdigit():
            raise ProviderError("The routing or account number is invalid.", code="invalid_bank_account")
        with transaction.atomic():
            payment = self._confirmable(provider_id, PaymentMethod.US_BANK_ACCOUNT)
            payment.last4 = account_number.strip()[-4:]
            payment.status = PaymentStatus.PROCESSING
            payment.settles_at = (now or timezone.now()) + timedelta(seconds=settings.PAYMENTS_SANDBOX_ACH_SETTLE_SECONDS)
            payment.fails_on_settlement = account_number.strip() == BANK_FAILS
            payment.save()
            self._emit("payment_intent.processing", payment)
        return self._payment_data(payment)

    def settle_due(self, now: datetime | None = None) -> int:
        """Settle the bank debits whose time has come; returns how many."""
        now = now or timezone.now()
        settled = 0
        due = SandboxPayment.objects.filter(status=PaymentStatus.PROCESSING, settles_at__lte=now).order_by("pk")
        for provider_id in due.values_list("provider_id", flat=True):
            with transaction.atomic():
                payment = self._payment(provider_id, lock=True)
                if payment.status != PaymentStatus.PROCESSING:
                    continue
                self._settle(payment, failure=("account_closed", "The bank account is closed.")
                             if payment.fails_on_settlement else None)
                settled += 1
        return settled

    def dispute(self, provider_id: str, *, reason: str = "fraudulent", amount: Decimal | None = None,
                inquiry: bool = False) -> str:
        """The payer's bank takes the money back (all of it, or `amount`): a card dispute, or a bank debit returned
        after it settled. An `inquiry` only asks, taking nothing until `dispute_moved` escalates it. Returns the
        dispute's id."""
        with transaction.atomic():
            payment = self._payment(provider_id, lock=True)
            if payment.status != PaymentStatus.SUCCEEDED:
                raise ProviderError("Only a succeeded payment can be disputed.")
            if amount is not None and not Decimal(0) < amount <= payment.amount:
                raise ProviderError("A dispute takes more than nothing and at most what was paid.")
            return self._emit_dispute(payment, reason=reason, amount=amount,
                                      status="warning_needs_response" if inquiry else "needs_response")

    def dispute_moved(self, provider_id: str, dispute_id: str, *, status: str, reason: str = "fraudulent",
                      amount: Decimal | None = None) -> None:
        """The issuer moves a dispute on, as Stripe reports it: an inquiry escalated (`needs_response`, the money
        withdrawn then), or a dispute closed (`won`, `lost`, or `warning_closed` for an inquiry)."""
        with transaction.atomic():
            payment = self._payment(provider_id, lock=True)
            event = ("charge.dispute.funds_withdrawn" if status == "needs_response"
                     else "charge.dispute.closed" if status in ("won", "lost", "warning_closed")
                     else "charge.dispute.updated")
            self._emit_dispute(payment, reason=reason, amount=amount, status=status, event=event, dispute_id=dispute_id)

    # --- webhook delivery ------------------------------------------------------------------------------------

    def signed(self, payload: str, *, timestamp: int | None = None) -> str:
        import stripe

        return stripe.WebhookSignature.generate_signature_header(payload, self.webhook_secret, timestamp=timestamp)

    def deliver_pending(self, receive: object = None) -> int:
        """Deliver every event not delivered yet to the platform's webhook receiver, in order, each signed at the
        moment of delivery (as Stripe does on every attempt)."""
        from payments.services import webhook_receive

        delivered = 0
        for event in SandboxEvent.objects.filter(delivered_at__isnull=True).order_by("pk"):
            body = json.dumps(event.payload, separators=(",", ":"))
            webhook_receive(provider=self, payload=body.encode(), signature=self.signed(body))
            SandboxEvent.objects.filter(pk=event.pk).update(delivered_at=timezone.now())
            delivered += 1
        return delivered

    # --- internals -------------------------------------------------------------------------------------------

    def _payment(self, provider_id: str, *, lock: bool = False) -> SandboxPayment:
        query = SandboxPayment.objects.select_for_update() if lock else SandboxPayment.objects
        payment = query.filter(provider_id=provider_id).first()
        if payment is None:
            raise ProviderError(f"No such payment: {provider_id}", code="resource_missing")
        return payment

    def _settle(self, payment: SandboxPayment, *, failure: tuple[str, str] | None) -> None:
        """The money comes in, or the attempt fails with (code, message); the webhook event says which."""
        if failure is None:
            payment.status = PaymentStatus.SUCCEEDED
            payment.save()
            self._emit("payment_intent.succeeded", payment)
        else:
            payment.failure_code, payment.failure_message = failure
            payment.status = PaymentStatus.FAILED
            payment.save()
            self._emit("payment_intent.payment_failed", payment)

    def _confirmable(self, provider_id: str, method: str) -> SandboxPayment:
        payment = self._payment(provider_id, lock=True)
        if payment.method != method:
            raise ProviderError("This payment was set up for another payment method.", code="payment_method_mismatch")
        if payment.status not in (PaymentStatus.REQUIRES_PAYMENT, PaymentStatus.FAILED):
            raise ProviderError("This payment has already been paid or cancelled.",
                                code="payment_intent_unexpected_state")
        payment.failure_code = payment.failure_message = ""
        return payment

    def _payment_data(self, payment: SandboxPayment) -> PaymentData:
        return PaymentData(
            provider_id=payment.provider_id, amount=payment.amount, currency=payment.currency, status=payment.status,
            method=payment.method, created_at=payment.created_at, metadata=dict(payment.metadata),
            client_secret=f"{payment.provider_id}_secret", failure_code=payment.failure_code,
            failure_message=payment.failure_message, method_last4=payment.last4)

    def _refund_data(self, refund: SandboxRefund) -> RefundData:
        return RefundData(provider_id=refund.provider_id, payment_id=refund.payment.provider_id, amount=refund.amount,
                          currency=refund.payment.currency, status=refund.status, key=_metadata_key(refund))

    def _intent_json(self, payment: SandboxPayment) -> dict[str, object]:
        stripe_words: dict[str, str] = {PaymentStatus.FAILED: "requires_payment_method",
                                        PaymentStatus.REQUIRES_PAYMENT: "requires_payment_method"}
        status = stripe_words.get(payment.status, payment.status)
        error = ({"code": payment.failure_code, "message": payment.failure_message}
                 if payment.failure_code else None)
        return {"id": payment.provider_id, "object": "payment_intent", "amount": amount_to_cents(payment.amount),
                "currency": payment.currency.lower(), "status": status, "payment_method_types": [payment.method],
                "created": int(payment.created_at.timestamp()), "metadata": dict(payment.metadata),
                "client_secret": f"{payment.provider_id}_secret", "last_payment_error": error,
                "transfer_group": payment.transfer_group, "description": payment.description}

    def _emit(self, type: str, payment: SandboxPayment, *, refund: SandboxRefund | None = None) -> None:
        if refund is not None:
            refunded = payment.refunds.aggregate(total=Sum("amount"))["total"] or Decimal(0)
            obj: dict[str, object] = {
                "id": f"ch_{payment.provider_id[3:]}", "object": "charge", "payment_intent": payment.provider_id,
                "amount": amount_to_cents(payment.amount), "amount_refunded": amount_to_cents(refunded),
                "currency": payment.currency.lower(), "refunded": refunded == payment.amount,
                "refunds": {"object": "list", "data": [
                    {"id": refund.provider_id, "object": "refund", "payment_intent": payment.provider_id,
                     "amount": amount_to_cents(refund.amount), "currency": payment.currency.lower(), "status": refund.status,
                     "metadata": {"refund": _metadata_key(refund)} if _metadata_key(refund) else {}}]},
            }
        else:
            obj = self._intent_json(payment)
        self._queue(type, obj)

    def _emit_dispute(self, payment: SandboxPayment, *, reason: str, status: str, amount: Decimal | None = None,
                      event: str = "charge.dispute.created", dispute_id: str = "") -> str:
        """Queue a dispute's event (a new dispute unless `dispute_id` names one); returns the dispute's id."""
        dispute_id = dispute_id or f"dp_sbx_{secrets.token_hex(12)}"
        self._queue(event, {
            "id": dispute_id, "object": "dispute", "payment_intent": payment.provider_id,
            "charge": f"ch_{payment.provider_id[3:]}",
            "amount": amount_to_cents(payment.amount if amount is None else amount),
            "currency": payment.currency.lower(), "reason": reason, "status": status})
        return dispute_id

    def _queue(self, type: str, obj: Mapping[str, object]) -> None:
        now = timezone.now()
        event_id = f"evt_sbx_{secrets.token_hex(12)}"
        SandboxEvent.objects.create(event_id=event_id, type=type, payload={
            "id": event_id, "object": "event", "type": type, "created": int(now.timestamp()), "livemode": False,
            "api_version": "2026-01-28", "data": {"object": dict(obj)}})
        if settings.PAYMENTS_SANDBOX_AUTO_DELIVER:
            from payments.tasks import sandbox_deliver

            transaction.on_commit(sandbox_deliver.delay)


class SandboxEscrow:
    """An escrow agent that keeps its own exact ledger per account (one account per offering)."""

    name = "sandbox"

    def hold(self, *, account: str, payment_id: str, amount: Decimal, currency: str) -> None:
        self._entry(account, "hold", amount, currency, payment_id)

    def release(self, *, account: str, amount: Decimal, currency: str, destination: str,
                idempotency_key: str) -> PayoutData:
        with transaction.atomic():
            held = self.balance(account=account, currency=currency)
            existing = SandboxEscrowEntry.objects.filter(kind="release", reference=idempotency_key).first()
            if existing is None and amount > held:
                raise ProviderError(f"The escrow account holds {held}, less than {amount}.", code="balance_insufficient")
            entry = existing or self._entry(account, "release", amount, currency, idempotency_key)
        return PayoutData(provider_id=f"tr_sbx_{entry.pk}", amount=entry.amount, currency=entry.currency,
                          destination=destination)

    def returned(self, *, account: str, payment_id: str, amount: Decimal, currency: str) -> None:
        self._entry(account, "return", amount, currency, payment_id)

    def balance(self, *, account: str, currency: str) -> Decimal:
        rows = SandboxEscrowEntry.objects.filter(account=account, currency=currency).values("kind").annotate(
            total=Sum("amount"))
        totals = {row["kind"]: row["total"] for row in rows}
        return totals.get("hold", Decimal(0)) - totals.get("release", Decimal(0)) - totals.get("return", Decimal(0))

    def _entry(self, account: str, kind: str, amount: Decimal, currency: str, reference: str) -> SandboxEscrowEntry:
        entry, _created = SandboxEscrowEntry.objects.get_or_create(
            kind=kind, reference=reference, defaults={"account": account, "amount": amount, "currency": currency})
        return entry
