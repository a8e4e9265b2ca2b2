"""Investors' money on its way into a round: commitments, payments, refunds, disputes, webhook events, the escrow
ledger and the investment documents. The sandbox provider's own books (what a remote provider would keep) are in
`SandboxPayment`, `SandboxRefund` and `SandboxEscrowEntry`.

A commitment is an `equity.Investment` made on the platform (its state is the investment's state); `Commitment`
adds what only a platform commitment has: the payment method, the signed agreement, the reconfirmation clock and
the Regulation Crowdfunding ledger row it wrote.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from compliance.storage import PrivateStorage
from payments.choices import (
    DocumentKind,
    EscrowEntryKind,
    PaymentMethod,
    PaymentStatus,
    RefundReason,
    RefundStatus,
    TokenOrderState,
)
from tokens.fields import Uint256Field

if TYPE_CHECKING:
    from payments.providers.base import PaymentData


class Commitment(models.Model):
    investment = models.OneToOneField("equity.Investment", on_delete=models.PROTECT, related_name="commitment")
    investor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="commitments")
    method = models.CharField(_("payment method"), max_length=20, choices=PaymentMethod.choices)
    # The Regulation Crowdfunding ledger row the commitment wrote; a cancellation writes its reversal.
    ledger_record = models.OneToOneField("compliance.InvestmentRecord", on_delete=models.PROTECT, related_name="+")
    agreement_sha256 = models.CharField(max_length=64, blank=True)
    signed_name = models.CharField(_("signed as"), max_length=200, blank=True)
    signed_at = models.DateTimeField(null=True, blank=True)
    signed_ip = models.GenericIPAddressField(null=True, blank=True)
    reconfirm_by = models.DateTimeField(null=True, blank=True)
    reconfirmed_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancel_reason = models.CharField(max_length=40, blank=True)
    flagged_at = models.DateTimeField(null=True, blank=True, help_text="A failed or returned debit, or a dispute.")
    flag_reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["investor", "created_at"])]

    def __str__(self) -> str:
        return f"Commitment {self.pk}"

    @property
    def reference(self) -> str:
        return f"TR-{self.pk:06d}"


class IssuerAccount(models.Model):
    """Where the escrow pays a company at close: its Stripe Connect account (`acct_...`) in production."""

    company = models.OneToOneField("companies.Company", on_delete=models.PROTECT, related_name="payout_account")
    provider = models.CharField(max_length=20)
    account_id = models.CharField(_("payout account"), max_length=100)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.provider} {self.account_id}"


class TokenOrder(models.Model):
    """Tokens bought by card: the investor pays `amount` dollars by card, then the platform's distributor buys
    `units` of the sale's dollar stablecoin worth of tokens for the investor's verified `wallet` through the sale
    contract's `buyFor` (one outbox intent keyed by this order, so it is bought once). The tokens are claimed from
    the contract like anyone's; what the contract pays back to the distributor (a failed sale, an oversubscribed
    pro-rata sale) is refunded to the card from the `DistributorRefunded` event named in `refund_event`."""

    sale = models.ForeignKey("tokens.Sale", on_delete=models.PROTECT, related_name="card_orders")
    investor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="token_orders")
    wallet = models.CharField(_("wallet"), max_length=42)
    amount = models.DecimalField(_("amount"), max_digits=20, decimal_places=2)
    currency = models.CharField(max_length=3, default="USD")
    units = Uint256Field(help_text="The stablecoin base units the distributor pays: `amount` at one dollar a unit.")
    state = models.CharField(_("state"), max_length=20, choices=TokenOrderState.choices,
                             default=TokenOrderState.PENDING_PAYMENT)
    buy_error = models.CharField(max_length=300, blank=True)
    refund_event = models.ForeignKey("tokens.ChainEvent", null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="+")
    refunded_units = Uint256Field(null=True, blank=True)
    flagged_at = models.DateTimeField(null=True, blank=True, help_text="A dispute after the tokens were bought.")
    flag_reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["sale", "state"])]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0, units__gt=0), name="payments_token_order_positive"),
            models.CheckConstraint(condition=Q(refunded_units__isnull=True) | Q(refunded_units__lte=models.F("units")),
                                   name="payments_token_order_refund_within"),
        ]

    def __str__(self) -> str:
        return f"Token order {self.pk}"

    @property
    def reference(self) -> str:
        return f"TK-{self.pk:06d}"


class Payment(models.Model):
    """One attempt to collect a commitment's money, a card order of tokens', or a priced token warrant's exercise
    price (exactly one of the three). `key` is
    ours (the provider's idempotency key and metadata), so a payment created at the provider by a worker that
    died before saving its id is still found."""

    commitment = models.ForeignKey(Commitment, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="payments")
    token_order = models.ForeignKey(TokenOrder, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="payments")
    allocation = models.ForeignKey("tokens.TokenAllocation", null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="payments", help_text="A priced token warrant's exercise.")
    key = models.CharField(max_length=40, unique=True)
    provider = models.CharField(max_length=20)
    provider_id = models.CharField(max_length=100, null=True, blank=True)  # noqa: DJ001 (unique once known; NULLs may repeat)
    method = models.CharField(max_length=20, choices=PaymentMethod.choices)
    amount = models.DecimalField(max_digits=20, decimal_places=2)
    currency = models.CharField(max_length=3, default="USD")
    status = models.CharField(max_length=20, choices=PaymentStatus.choices, default=PaymentStatus.REQUIRES_PAYMENT)
    client_secret = models.CharField(max_length=200, blank=True)
    last4 = models.CharField(max_length=4, blank=True)
    failure_code = models.CharField(max_length=60, blank=True)
    failure_message = models.CharField(max_length=300, blank=True)
    succeeded_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["provider", "provider_id"], name="payments_payment_provider_id_unique"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="payments_payment_positive"),
            models.CheckConstraint(
                condition=Q(commitment__isnull=False, token_order__isnull=True, allocation__isnull=True)
                | Q(commitment__isnull=True, token_order__isnull=False, allocation__isnull=True)
                | Q(commitment__isnull=True, token_order__isnull=True, allocation__isnull=False),
                name="payments_payment_for_one_thing"),
        ]

    def __str__(self) -> str:
        return f"{self.key} {self.amount} {self.currency} {self.status}"

    def move_forward(self, data: PaymentData, now: datetime) -> str | None:
        """Bring the payment up to what the provider says, saved, and return the status it had; None when it
        stays (a succeeded or cancelled payment stays so, a bank debit that failed stays failed, a declined card
        may be tried again, a payment already processing does not go back to waiting)."""
        current, new = self.status, data.status
        if current == new or current in (PaymentStatus.SUCCEEDED, PaymentStatus.CANCELED):
            return None
        if current == PaymentStatus.FAILED and (self.method != PaymentMethod.CARD or new != PaymentStatus.SUCCEEDED):
            return None
        if current == PaymentStatus.PROCESSING and new == PaymentStatus.REQUIRES_PAYMENT:
            return None
        self.status = new
        self.failure_code, self.failure_message = data.failure_code[:60], data.failure_message[:300]
        self.last4 = data.method_last4 or self.last4
        if new == PaymentStatus.SUCCEEDED:
            self.succeeded_at = now
        self.save()
        return current

    @property
    def for_commitment(self) -> Commitment:
        """The commitment this payment collects, for the code that only ever sees commitments' payments."""
        if self.commitment is None:
            raise ValueError(f"{self.key} does not pay for a commitment")
        return self.commitment

    @property
    def commitment_pk(self) -> int:
        if self.commitment_id is None:
            raise ValueError(f"{self.key} does not pay for a commitment")
        return int(self.commitment_id)

    @property
    def token_order_pk(self) -> int:
        if self.token_order_id is None:
            raise ValueError(f"{self.key} does not pay for a token order")
        return int(self.token_order_id)

    @property
    def allocation_pk(self) -> int:
        if self.allocation_id is None:
            raise ValueError(f"{self.key} does not pay for a token warrant's exercise")
        return int(self.allocation_id)


class Refund(models.Model):
    """Money going back to the investor. At most one live refund per payment that a platform flow asks for (a
    second request finds it); besides it, a refund made at the provider outside Tranche (recorded when its webhook
    arrives) and the company's return of what a dispute or such a refund left in escrow. What the refunds and the
    disputes of a payment take back together never passes what it paid (`services.payment_refundable`)."""

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    key = models.CharField(max_length=40, unique=True)
    provider_id = models.CharField(max_length=100, null=True, blank=True)  # noqa: DJ001 (unique once known; NULLs may repeat)
    amount = models.DecimalField(max_digits=20, decimal_places=2)
    currency = models.CharField(max_length=3, default="USD")
    reason = models.CharField(max_length=20, choices=RefundReason.choices)
    status = models.CharField(max_length=20, choices=RefundStatus.choices, default=RefundStatus.PENDING)
    created_at = models.DateTimeField(auto_now_add=True)
    succeeded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["payment"],
                                    condition=~Q(status="failed") & ~Q(reason__in=["remainder", "at_provider"]),
                                    name="payments_refund_one_per_payment"),
            models.UniqueConstraint(fields=["payment"], condition=Q(status="pending", reason="remainder"),
                                    name="payments_refund_one_remainder_under_way"),
            models.UniqueConstraint(fields=["provider_id"], name="payments_refund_provider_id_unique"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="payments_refund_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.key} {self.amount} {self.status}"


class Dispute(models.Model):
    """A card dispute or a returned bank debit, as the provider reports it. An inquiry (Stripe's `warning_*`
    statuses: the card issuer asks before it disputes) takes no money; `funds_withdrawn` is set, once, when the
    provider has taken the amount back, which is when the platform reverses what the payment paid for."""

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="disputes")
    provider_id = models.CharField(max_length=100, unique=True)
    amount = models.DecimalField(max_digits=20, decimal_places=2)
    currency = models.CharField(max_length=3, default="USD")
    reason = models.CharField(max_length=60, blank=True)
    status = models.CharField(max_length=40, blank=True)
    funds_withdrawn = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Dispute {self.provider_id}"


class WebhookEvent(models.Model):
    """A provider's event, stored raw as received after its signature verified; processed by a task."""

    provider = models.CharField(max_length=20)
    event_id = models.CharField(max_length=100)
    type = models.CharField(max_length=60)
    payload = models.JSONField()
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-received_at"]
        constraints = [models.UniqueConstraint(fields=["provider", "event_id"], name="payments_webhook_event_unique")]

    def __str__(self) -> str:
        return f"{self.provider} {self.event_id} {self.type}"


class EscrowEntry(models.Model):
    """The platform's escrow ledger, per round: money held when a payment succeeds, released to the issuer at
    close, returned to the investor by a refund or taken back by a returned debit or a dispute. For every
    round, held = funded − released − returned, and the escrow agent's own books say the same. A payment is held
    once; each return names the one refund or dispute that took the money out, so a payment's partial dispute and
    the later refund of the rest are two lines, and neither can be written twice."""

    round = models.ForeignKey("equity.Round", on_delete=models.PROTECT, related_name="escrow_entries")
    payment = models.ForeignKey(Payment, null=True, blank=True, on_delete=models.PROTECT, related_name="escrow_entries")
    refund = models.OneToOneField(Refund, null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="escrow_entry")
    dispute = models.OneToOneField(Dispute, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="escrow_entry")
    kind = models.CharField(max_length=10, choices=EscrowEntryKind.choices)
    amount = models.DecimalField(max_digits=20, decimal_places=2)
    currency = models.CharField(max_length=3, default="USD")
    provider_ref = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["round", "created_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["payment"], condition=Q(kind="hold"),
                                    name="payments_escrow_one_hold_per_payment"),
            models.CheckConstraint(
                condition=Q(kind="return", refund__isnull=False, dispute__isnull=True)
                | Q(kind="return", refund__isnull=True, dispute__isnull=False)
                | (~Q(kind="return") & Q(refund__isnull=True, dispute__isnull=True)),
                name="payments_escrow_return_names_its_source"),
            models.UniqueConstraint(fields=["round"], condition=Q(kind="release"),
                                    name="payments_escrow_one_release_per_round"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="payments_escrow_positive"),
            models.CheckConstraint(condition=Q(kind="release") | Q(payment__isnull=False),
                                   name="payments_escrow_payment_entries_name_payment"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount} {self.currency}"


class Document(models.Model):
    """A generated PDF: the subscription agreement (signed), a payment receipt, the share certificate."""

    commitment = models.ForeignKey(Commitment, on_delete=models.PROTECT, related_name="documents")
    kind = models.CharField(max_length=20, choices=DocumentKind.choices)
    file = models.FileField(storage=PrivateStorage(), upload_to="documents/%Y/%m/")
    sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["commitment", "created_at"]
        constraints = [models.UniqueConstraint(fields=["commitment", "kind"], name="payments_document_once")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.commitment_id}"


# --- the sandbox provider's own books (what Stripe would keep on its side) ----------------------------------------


class SandboxPayment(models.Model):
    provider_id = models.CharField(max_length=40, unique=True)
    idempotency_key = models.CharField(max_length=100, unique=True)
    amount = models.DecimalField(max_digits=20, decimal_places=2)
    currency = models.CharField(max_length=3)
    method = models.CharField(max_length=20)
    status = models.CharField(max_length=20)
    metadata = models.JSONField(default=dict)
    description = models.CharField(max_length=300, blank=True)
    transfer_group = models.CharField(max_length=100, blank=True)
    last4 = models.CharField(max_length=4, blank=True)
    failure_code = models.CharField(max_length=60, blank=True)
    failure_message = models.CharField(max_length=300, blank=True)
    settles_at = models.DateTimeField(null=True, blank=True)
    fails_on_settlement = models.BooleanField(default=False)
    created_at = models.DateTimeField()

    def __str__(self) -> str:
        return self.provider_id


class SandboxRefund(models.Model):
    provider_id = models.CharField(max_length=40, unique=True)
    idempotency_key = models.CharField(max_length=100, unique=True)
    payment = models.ForeignKey(SandboxPayment, on_delete=models.PROTECT, related_name="refunds")
    amount = models.DecimalField(max_digits=20, decimal_places=2)
    status = models.CharField(max_length=20)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.provider_id


class SandboxEscrowEntry(models.Model):
    """The sandbox escrow agent's own ledger, kept apart from the platform's so the two can be compared."""

    account = models.CharField(max_length=100)
    kind = models.CharField(max_length=10, choices=EscrowEntryKind.choices)
    amount = models.DecimalField(max_digits=20, decimal_places=2)
    currency = models.CharField(max_length=3)
    reference = models.CharField(max_length=100)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["kind", "reference"], name="payments_sandbox_escrow_once")]

    def __str__(self) -> str:
        return f"{self.account} {self.kind} {self.amount}"


class SandboxEvent(models.Model):
    """A webhook event the sandbox has to deliver (Stripe's event JSON), kept so it can be delivered again."""

    event_id = models.CharField(max_length=40, unique=True)
    type = models.CharField(max_length=60)
    payload = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.event_id
