"""The payment provider and escrow agent on Stripe (PaymentIntents; Connect "separate charges and transfers").

Every call goes through this module's own `stripe.StripeClient`, so nothing global in the `stripe` library is
set or read (no `stripe.api_key`): two providers with different keys or servers can live in one process.

Amounts: Stripe counts USD in cents. `amount_to_cents` refuses what is not a whole number of cents (it never
rounds an investor's money), and `cents_to_amount` gives a Decimal with two places (1999 -> Decimal("19.99")).
Only two-decimal currencies are accepted.

Statuses. Stripe's PaymentIntent status maps onto `PaymentStatus` as:
    requires_payment_method, requires_confirmation, requires_action -> requires_payment
    processing, requires_capture -> processing      (we capture automatically; requires_capture is transient)
    succeeded -> succeeded
    canceled -> canceled
A declined card does not end a PaymentIntent: Stripe puts it back to requires_payment_method with
`last_payment_error`, and the payer may try another card on the same intent. So the rule is:
- an intent read from Stripe (payment_get, payments_since, any payment_intent.* event) in
  requires_payment_method stays `requires_payment`, with `failure_code`/`failure_message` filled from
  `last_payment_error` so the page can say why the last attempt failed;
- the event `payment_intent.payment_failed` is `failed` (that is Stripe saying this attempt failed, and it is
  the only word the platform gets when a bank debit fails days later);
- a canceled intent whose last attempt failed (`last_payment_error` set) is `failed`, not `canceled`: the
  investor's payment ended on a decline; a canceled intent with no error is `canceled`.

Webhooks: `webhook_event` verifies the `Stripe-Signature` header first (`stripe.Webhook.construct_event`), then
`webhook_event_from_payload` parses the event JSON. That function works on a plain dict, so the sandbox
provider, which emits Stripe-shaped events, reuses it. Parsed types:
- payment_intent.created/processing/succeeded/payment_failed/canceled/requires_action -> `payment`;
- refund.created, refund.updated, charge.refund.updated (the object is a Refund) -> `refund`;
- charge.refunded (the object is a Charge) -> `refund`: the newest refund in the charge's `refunds.data` when
  the charge carries its refunds (API versions before 2022-11-15, localstripe, the sandbox); otherwise
  (current API versions leave `refunds` out) a RefundData with an empty `provider_id` and the charge's
  cumulative `amount_refunded` on its payment_intent. Per-refund bookkeeping should listen to refund.*.
- charge.dispute.* (created, updated, closed, funds_withdrawn, funds_reinstated) -> `dispute`, with Stripe's
  own dispute status (needs_response, under_review, won, lost, ...).
Other types parse with no object set.

Escrow (`StripeEscrow`): the money sits in the platform's Stripe balance; an offering is a `transfer_group` (the
provider sets it on each PaymentIntent, Stripe copies it to the charge). Holding and returning are bookkeeping
no-ops at Stripe (the capture holds, a refund returns); release is a Transfer to the issuer's connected account
in that group. `balance` is what Stripe reports for the group: the captured amount of succeeded charges minus
what was refunded on them, minus transfers net of their reversals. Disputed money is not subtracted.

API version: stripe 16 pins 2026-10-28.endive, where PaymentIntent create refuses `payment_method_types`
(400 payment_method_types_no_longer_supported since 2026-09-30.endive); the method goes in
`allowed_payment_method_types`, and the intent's (read-only) `payment_method_types` says what Stripe allowed.

localstripe (1.15, the test server) speaks an older dialect: it knows `payment_method_types` but rejects
`allowed_payment_method_types`, `description` and `transfer_group` on PaymentIntent create and `created` on the
PaymentIntent list ("Unexpected ..." 400). `StripeProvider(..., localstripe=True)` sends `payment_method_types`,
leaves the other three out and filters by creation time itself. localstripe also ignores the Idempotency-Key
header, omits `payment_method_types` from intents (so `method` is "" on a read; `payment_create` fills in the
requested one), has no Transfers (404), no Disputes, no refund events, and refuses `transfer_group` on the
charge list (500): StripeEscrow.release and .balance cannot run against it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, cast

import stripe

from payments.providers.base import (
    DisputeData,
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

if TYPE_CHECKING:
    from stripe.params import PaymentIntentCreateParams, PaymentIntentListParams, TransferCreateParams

# Currencies Stripe does not count in hundredths (https://docs.stripe.com/currencies#zero-decimal).
_NOT_TWO_DECIMAL = frozenset({
    "BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "UGX", "VND", "VUV", "XAF", "XOF",
    "XPF", "BHD", "JOD", "KWD", "OMR", "TND",
})
_CENT = Decimal("0.01")
_METHODS = frozenset({PaymentMethod.CARD, PaymentMethod.US_BANK_ACCOUNT})
_NETWORK_RETRIES = 2  # the library retries with the same idempotency key, so a retried create stays one intent

_INTENT_STATUS = {
    "requires_payment_method": PaymentStatus.REQUIRES_PAYMENT,
    "requires_confirmation": PaymentStatus.REQUIRES_PAYMENT,
    "requires_action": PaymentStatus.REQUIRES_PAYMENT,
    "processing": PaymentStatus.PROCESSING,
    "requires_capture": PaymentStatus.PROCESSING,
    "succeeded": PaymentStatus.SUCCEEDED,
    "canceled": PaymentStatus.CANCELED,
}
_REFUND_STATUS = {
    "pending": RefundStatus.PENDING,
    "requires_action": RefundStatus.PENDING,
    "succeeded": RefundStatus.SUCCEEDED,
    "failed": RefundStatus.FAILED,
    "canceled": RefundStatus.FAILED,
}
_PAYMENT_EVENTS = frozenset({
    "payment_intent.created", "payment_intent.processing", "payment_intent.succeeded",
    "payment_intent.payment_failed", "payment_intent.canceled", "payment_intent.requires_action",
})
_REFUND_EVENTS = frozenset({"refund.created", "refund.updated", "charge.refund.updated"})


# --- amounts ---------------------------------------------------------------------------------------------------

def _check_currency(currency: str) -> str:
    code = currency.upper()
    if len(code) != 3 or not code.isalpha():
        raise ValueError(f"{currency!r} is not a currency code")
    if code in _NOT_TWO_DECIMAL:
        raise ValueError(f"{code} is not counted in hundredths; only two-decimal currencies are supported")
    return code


def amount_to_cents(amount: Decimal) -> int:
    """Dollars to cents, exactly: Decimal("19.99") -> 1999. Refuses fractions of a cent, negatives, NaN, floats."""
    if not isinstance(amount, Decimal):
        raise TypeError(f"amount must be a Decimal, not {type(amount).__name__}")
    if not amount.is_finite() or amount < 0:
        raise ValueError(f"{amount} is not an amount of money")
    if amount != amount.quantize(_CENT):
        raise ValueError(f"{amount} is not a whole number of cents")
    return int(amount.scaleb(2))


def cents_to_amount(cents: int) -> Decimal:
    """Cents to dollars with two places: 1999 -> Decimal("19.99"), 1000 -> Decimal("10.00")."""
    if isinstance(cents, bool) or not isinstance(cents, int):
        raise TypeError(f"cents must be an int, not {type(cents).__name__}")
    return Decimal(cents).scaleb(-2)


# --- parsing Stripe's JSON ---------------------------------------------------------------------------------------

def _timestamp(epoch: object) -> datetime:
    if isinstance(epoch, bool) or not isinstance(epoch, int):
        raise ValueError(f"{epoch!r} is not a Unix timestamp")
    return datetime.fromtimestamp(epoch, tz=UTC)


def _str(obj: Mapping[str, Any], key: str) -> str:
    value = obj.get(key)
    return value if isinstance(value, str) else ""


def _cents_field(obj: Mapping[str, Any], key: str) -> Decimal:
    cents = obj.get(key)
    if isinstance(cents, bool) or not isinstance(cents, int):
        raise ValueError(f"{key} {cents!r} is not a whole number of cents")
    return cents_to_amount(cents)


def _metadata(obj: Mapping[str, Any]) -> dict[str, str]:
    metadata = obj.get("metadata") or {}
    return {str(key): str(value) for key, value in metadata.items()}


def payment_from_intent(intent: Mapping[str, Any], *, failed: bool = False, method: str = "") -> PaymentData:
    """A PaymentIntent's JSON as the platform's PaymentData (see the module docstring for the status rule).

    `failed` marks the intent of a payment_intent.payment_failed event; `method` is the fallback when the
    intent does not list its `payment_method_types` (localstripe leaves them out).
    """
    stripe_status = _str(intent, "status")
    if stripe_status not in _INTENT_STATUS:
        raise ValueError(f"unknown PaymentIntent status {stripe_status!r}")
    error = intent.get("last_payment_error") or {}
    status = _INTENT_STATUS[stripe_status]
    if failed or (status == PaymentStatus.CANCELED and error):
        status = PaymentStatus.FAILED
    types = intent.get("payment_method_types") or []
    return PaymentData(
        provider_id=_str(intent, "id"),
        amount=_cents_field(intent, "amount"),
        currency=_str(intent, "currency").upper(),
        status=status,
        method=types[0] if types else method,
        created_at=_timestamp(intent.get("created")),
        metadata=_metadata(intent),
        client_secret=_str(intent, "client_secret"),
        failure_code=_str(error, "code") or _str(error, "decline_code"),
        failure_message=_str(error, "message"),
    )


def refund_from_object(refund: Mapping[str, Any], *, payment_id: str = "") -> RefundData:
    stripe_status = _str(refund, "status")
    if stripe_status not in _REFUND_STATUS:
        raise ValueError(f"unknown Refund status {stripe_status!r}")
    return RefundData(
        provider_id=_str(refund, "id"),
        payment_id=_str(refund, "payment_intent") or payment_id,
        amount=_cents_field(refund, "amount"),
        currency=_str(refund, "currency").upper(),
        status=_REFUND_STATUS[stripe_status],
        key=str((refund.get("metadata") or {}).get("refund") or ""),
    )


def _refund_from_charge(charge: Mapping[str, Any]) -> RefundData:
    payment_id = _str(charge, "payment_intent")
    refunds = (charge.get("refunds") or {}).get("data") or []
    if refunds:
        # Stripe lists refunds newest first: the newest is the one this charge.refunded is about.
        return refund_from_object(refunds[0], payment_id=payment_id)
    return RefundData(provider_id="", payment_id=payment_id, amount=_cents_field(charge, "amount_refunded"),
                      currency=_str(charge, "currency").upper(), status=RefundStatus.SUCCEEDED)


def dispute_from_object(dispute: Mapping[str, Any]) -> DisputeData:
    return DisputeData(
        provider_id=_str(dispute, "id"),
        payment_id=_str(dispute, "payment_intent"),
        amount=_cents_field(dispute, "amount"),
        currency=_str(dispute, "currency").upper(),
        reason=_str(dispute, "reason"),
        status=_str(dispute, "status"),
    )


def webhook_event_from_payload(payload: Mapping[str, Any], provider: str) -> WebhookEventData:
    """Parse an event in Stripe's JSON shape (already verified) into WebhookEventData.

    Raises ValueError when the event is not Stripe-shaped (no id, type or data.object, an unknown status).
    """
    if not isinstance(payload, Mapping):
        raise ValueError("an event is a JSON object")
    event_id, event_type = payload.get("id"), payload.get("type")
    data = payload.get("data")
    if not isinstance(event_id, str) or not event_id or not isinstance(event_type, str) or not event_type:
        raise ValueError("an event needs an id and a type")
    if not isinstance(data, Mapping) or not isinstance(data.get("object"), Mapping):
        raise ValueError(f"event {event_id} has no data.object")
    obj: Mapping[str, Any] = data["object"]
    payment = refund = dispute = None
    try:
        if event_type in _PAYMENT_EVENTS:
            payment = payment_from_intent(obj, failed=event_type == "payment_intent.payment_failed")
        elif event_type in _REFUND_EVENTS:
            refund = refund_from_object(obj)
        elif event_type == "charge.refunded":
            refund = _refund_from_charge(obj)
        elif event_type.startswith("charge.dispute."):
            dispute = dispute_from_object(obj)
    except (TypeError, KeyError, AttributeError) as error:  # a field of the wrong shape
        raise ValueError(f"event {event_id} ({event_type}) is not in Stripe's shape: {error!r}") from error
    return WebhookEventData(provider=provider, event_id=event_id, type=event_type,
                            created_at=_timestamp(payload.get("created")), payload=payload,
                            payment=payment, refund=refund, dispute=dispute)


# --- talking to Stripe -------------------------------------------------------------------------------------------

def _client(api_key: str, api_base: str | None) -> stripe.StripeClient:
    if not api_key:
        raise ProviderError("No Stripe secret key is configured (STRIPE_SECRET_KEY).", code="configuration")
    return stripe.StripeClient(api_key, base_addresses={"api": api_base} if api_base else None,
                               max_network_retries=_NETWORK_RETRIES)


def _provider_error(error: stripe.StripeError) -> ProviderError:
    code = error.code or ""
    if isinstance(error, stripe.CardError) and not code:
        code = "card_declined"
    message = error.user_message or str(error) or type(error).__name__
    return ProviderError(message, code=code)


def _as_dict(obj: stripe.StripeObject) -> dict[str, Any]:
    return obj.to_dict()


class StripeProvider:
    """`PaymentProvider` on Stripe PaymentIntents, captured automatically.

    `localstripe=True` adapts the calls to the localstripe test server (see the module docstring); never set it
    against Stripe itself, where it would drop the offering's transfer_group from each payment.
    """

    name = "stripe"
    page_size = 100  # Stripe's largest page

    def __init__(self, api_key: str, webhook_secret: str, api_base: str | None = None, *,
                 localstripe: bool = False) -> None:
        self.api_key = api_key
        self.webhook_secret = webhook_secret
        self.localstripe = localstripe
        self.client = _client(api_key, api_base)

    def payment_create(
        self, *, amount: Decimal, currency: str, method: str, idempotency_key: str, metadata: Mapping[str, str],
        description: str, transfer_group: str,
    ) -> PaymentData:
        if method not in _METHODS:
            raise ValueError(f"unknown payment method {method!r}")
        if not idempotency_key:
            raise ValueError("a payment needs an idempotency key")
        params: dict[str, Any] = {
            "amount": amount_to_cents(amount),
            "currency": _check_currency(currency).lower(),
            "capture_method": "automatic",
            "metadata": dict(metadata),
        }
        if self.localstripe:
            params["payment_method_types"] = [method]  # the only form localstripe knows
        else:
            # The API version stripe 16 pins (2026-10-28.endive) refuses `payment_method_types` on create
            # (400 payment_method_types_no_longer_supported); `allowed_payment_method_types` replaced it.
            params.update(allowed_payment_method_types=[method], description=description,
                          transfer_group=transfer_group)
        try:
            intent = self.client.v1.payment_intents.create(cast("PaymentIntentCreateParams", params),
                                                           {"idempotency_key": idempotency_key})
        except stripe.StripeError as error:
            raise _provider_error(error) from error
        found = _as_dict(intent)
        offered = found.get("payment_method_types") or [method]
        if method not in offered:
            # `allowed_payment_method_types` drops a method the account cannot take instead of failing.
            raise ProviderError(f"Stripe cannot take {method} for this payment (intent {found.get('id')}).",
                                code="payment_method_unavailable")
        return payment_from_intent(found, method=method)

    def payment_get(self, provider_id: str) -> PaymentData:
        try:
            intent = self.client.v1.payment_intents.retrieve(provider_id)
        except stripe.StripeError as error:
            raise _provider_error(error) from error
        return payment_from_intent(_as_dict(intent))

    def payment_cancel(self, provider_id: str) -> PaymentData:
        """Cancel an intent nothing was paid on; Stripe refuses (ProviderError) once it is processing or
        succeeded."""
        try:
            intent = self.client.v1.payment_intents.cancel(provider_id)
        except stripe.StripeError as error:
            raise _provider_error(error) from error
        return payment_from_intent(_as_dict(intent))

    def payments_since(self, since: datetime) -> list[PaymentData]:
        """Every intent created at or after `since`, to the second (Stripe's `created` has no finer grain, so an
        intent from earlier in `since`'s second is included too)."""
        if since.tzinfo is None:
            raise ValueError("since must be timezone-aware")
        floor = int(since.timestamp())
        params: PaymentIntentListParams = {"limit": self.page_size}
        if not self.localstripe:
            params["created"] = {"gte": floor}
        try:
            intents: Iterable[stripe.PaymentIntent] = self.client.v1.payment_intents.list(params).auto_paging_iter()
            found = [_as_dict(intent) for intent in intents]
        except stripe.StripeError as error:
            raise _provider_error(error) from error
        return [payment_from_intent(intent) for intent in found if intent["created"] >= floor]

    def refund_create(self, *, payment_id: str, amount: Decimal, idempotency_key: str) -> RefundData:
        if not idempotency_key:
            raise ValueError("a refund needs an idempotency key")
        cents = amount_to_cents(amount)
        if cents == 0:
            raise ValueError("a refund needs an amount")
        try:
            refund = self.client.v1.refunds.create(
                {"payment_intent": payment_id, "amount": cents, "metadata": {"refund": idempotency_key}},
                {"idempotency_key": idempotency_key})
        except stripe.StripeError as error:
            raise _provider_error(error) from error
        return refund_from_object(_as_dict(refund), payment_id=payment_id)

    def webhook_event(self, *, payload: bytes, signature: str) -> WebhookEventData:
        try:
            stripe.Webhook.construct_event(payload, signature, self.webhook_secret, api_key=self.api_key)
        except stripe.SignatureVerificationError as error:
            raise InvalidSignature(str(error) or "The signature does not verify.", code="signature") from error
        except ValueError as error:  # signed, but not JSON
            raise InvalidSignature("The body is not JSON.", code="payload") from error
        try:
            return webhook_event_from_payload(json.loads(payload), self.name)
        except ValueError as error:
            raise ProviderError(f"A signed event we cannot read: {error}", code="payload") from error

    def payment_confirm_test_card(self, provider_id: str, payment_method: str) -> PaymentData:
        """Pay an intent with one of Stripe's test payment methods (`pm_card_visa`, `pm_card_chargeCustomerFail`)
        the way the browser would: attach the method, then confirm. A decline is not an error here; the
        intent comes back in requires_payment with its failure code.

        Two calls (update, then confirm with no arguments) because localstripe answers 500 to
        `confirm(payment_method=...)`; Stripe accepts this form too.
        """
        if not self.api_key.startswith("sk_test_"):
            raise ProviderError("Test cards only work with a test key.", code="livemode")
        try:
            self.client.v1.payment_intents.update(provider_id, {"payment_method": payment_method})
            intent = self.client.v1.payment_intents.confirm(provider_id)
        except stripe.CardError:
            return self.payment_get(provider_id)
        except stripe.StripeError as error:
            raise _provider_error(error) from error
        return payment_from_intent(_as_dict(intent))


class StripeEscrow:
    """`EscrowAgent` with Connect "separate charges and transfers"; `account` is the offering's transfer_group."""

    name = "stripe"

    def __init__(self, api_key: str, api_base: str | None = None) -> None:
        self.client = _client(api_key, api_base)

    def hold(self, *, account: str, payment_id: str, amount: Decimal, currency: str) -> None:
        """Nothing to do at Stripe: the captured charge already sits in the platform balance in `account`."""
        amount_to_cents(amount)
        _check_currency(currency)

    def returned(self, *, account: str, payment_id: str, amount: Decimal, currency: str) -> None:
        """Nothing to do at Stripe: the provider's refund is what returns the money."""
        amount_to_cents(amount)
        _check_currency(currency)

    def release(self, *, account: str, amount: Decimal, currency: str, destination: str,
                idempotency_key: str) -> PayoutData:
        if not destination.startswith("acct_"):
            raise ValueError(f"{destination!r} is not a connected account id")
        if not idempotency_key:
            raise ValueError("a release needs an idempotency key")
        params: TransferCreateParams = {
            "amount": amount_to_cents(amount), "currency": _check_currency(currency).lower(),
            "destination": destination, "transfer_group": account,
        }
        try:
            transfer = self.client.v1.transfers.create(params, {"idempotency_key": idempotency_key})
        except stripe.StripeError as error:
            raise _provider_error(error) from error
        return PayoutData(provider_id=transfer.id, amount=cents_to_amount(transfer.amount),
                          currency=transfer.currency.upper(), destination=_destination_id(transfer))

    def balance(self, *, account: str, currency: str) -> Decimal:
        """Captured minus refunded on the group's succeeded charges, minus its transfers net of reversals."""
        code = _check_currency(currency).lower()
        try:
            charges = self.client.v1.charges.list({"transfer_group": account, "limit": 100}).auto_paging_iter()
            held = sum(charge.amount_captured - charge.amount_refunded for charge in charges
                       if charge.status == "succeeded" and charge.currency == code)
            transfers = self.client.v1.transfers.list({"transfer_group": account, "limit": 100}).auto_paging_iter()
            paid_out = sum(transfer.amount - transfer.amount_reversed for transfer in transfers
                           if transfer.currency == code)
        except stripe.StripeError as error:
            raise _provider_error(error) from error
        return cents_to_amount(held - paid_out)


def _destination_id(transfer: stripe.Transfer) -> str:
    destination = transfer.destination
    if destination is None:
        return ""
    return destination if isinstance(destination, str) else destination.id
