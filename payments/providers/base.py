"""What Tranche needs of a payment provider and of an escrow agent, as dataclasses and two protocols.

Services take a provider as an argument (`payments.providers.payment_provider()` returns the configured one),
so a test hands in another provider instead of patching. Amounts cross this boundary as `Decimal` in the
currency's major unit (dollars); a provider converts to its own minor units (Stripe: cents) and back exactly.

Statuses are the platform's words (`payments.choices`), not the provider's; each provider maps its own onto them:
- `PaymentStatus`: requires_payment (created, nothing paid yet), processing (a bank debit on its way),
  succeeded (the money is captured), failed (declined, or a bank debit that failed or was returned),
  canceled (the intent was cancelled before any money moved).
- `RefundStatus`: pending, succeeded, failed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from payments.choices import PaymentMethod, PaymentStatus, RefundStatus

__all__ = [
    "DisputeData", "EscrowAgent", "InvalidSignature", "PaymentData", "PaymentMethod", "PaymentProvider",
    "PaymentStatus", "PayoutData", "ProviderError", "RefundData", "RefundStatus", "WebhookEventData",
]


class ProviderError(Exception):
    """The provider refused or failed a call; `code` is the provider's reason (e.g. `card_declined`)."""

    def __init__(self, message: str, *, code: str = "") -> None:
        super().__init__(message)
        self.code = code


class InvalidSignature(ProviderError):
    """A webhook whose signature does not verify: answer 400 and store nothing."""


@dataclass(frozen=True)
class PaymentData:
    """A payment as the provider sees it. `metadata["payment"]` carries our Payment's key, so a payment the
    platform never heard back about can be matched by reconciliation."""

    provider_id: str
    amount: Decimal
    currency: str
    status: str
    method: str
    created_at: datetime
    metadata: Mapping[str, str] = field(default_factory=dict)
    client_secret: str = ""  # what the browser needs to confirm it (Stripe's Payment Element)
    failure_code: str = ""
    failure_message: str = ""
    method_last4: str = ""  # the card's or bank account's last four digits, when the provider says


@dataclass(frozen=True)
class RefundData:
    provider_id: str
    payment_id: str  # the provider's payment id
    amount: Decimal
    currency: str
    status: str
    key: str = ""  # our refund's key, which the provider keeps in the refund's metadata; empty for one made there


@dataclass(frozen=True)
class PayoutData:
    """Money the escrow released to the issuer (Stripe: a Transfer to the issuer's connected account)."""

    provider_id: str
    amount: Decimal
    currency: str
    destination: str


@dataclass(frozen=True)
class DisputeData:
    provider_id: str
    payment_id: str
    amount: Decimal
    currency: str
    reason: str
    status: str


@dataclass(frozen=True)
class WebhookEventData:
    """A verified webhook event. `type` is the provider's event type; exactly one of the objects is set for
    the types the platform acts on."""

    provider: str
    event_id: str
    type: str
    created_at: datetime
    payload: Mapping[str, object]
    payment: PaymentData | None = None
    refund: RefundData | None = None
    dispute: DisputeData | None = None


class PaymentProvider(Protocol):
    name: str

    def payment_create(
        self, *, amount: Decimal, currency: str, method: str, idempotency_key: str, metadata: Mapping[str, str],
        description: str, transfer_group: str,
    ) -> PaymentData:
        """Create a payment to be confirmed by the payer, captured automatically once confirmed."""
        ...

    def payment_get(self, provider_id: str) -> PaymentData: ...

    def payment_cancel(self, provider_id: str) -> PaymentData:
        """Cancel a payment nothing was paid on yet; raises ProviderError if it already succeeded."""
        ...

    def payments_since(self, since: datetime) -> list[PaymentData]:
        """Every payment created at or after `since` (reconciliation reads these)."""
        ...

    def refund_create(self, *, payment_id: str, amount: Decimal, idempotency_key: str) -> RefundData: ...

    def webhook_event(self, *, payload: bytes, signature: str) -> WebhookEventData:
        """Verify the signature first, then parse; raises InvalidSignature when it does not verify."""
        ...


class EscrowAgent(Protocol):
    """Holds investors' money for an offering until close. Holding happens when a payment succeeds (the money
    is captured into the escrow account of `transfer_group`); the agent releases to the issuer at close, and
    returns money through the payment provider's refunds."""

    name: str

    def hold(self, *, account: str, payment_id: str, amount: Decimal, currency: str) -> None: ...

    def release(self, *, account: str, amount: Decimal, currency: str, destination: str,
                idempotency_key: str) -> PayoutData: ...

    def returned(self, *, account: str, payment_id: str, amount: Decimal, currency: str) -> None: ...

    def balance(self, *, account: str, currency: str) -> Decimal:
        """What the escrow account holds now, by the agent's own books."""
        ...
