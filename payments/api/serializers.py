"""Investing over the API: what an investor sends to commit, sign and pay, and what they and the company's team
read back. Amounts are strings, exact, like every other amount of the API."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from equity.choices import InvestmentState
from payments import services, token_orders
from payments.choices import PaymentMethod, PaymentStatus, TokenOrderState
from payments.models import Commitment, Document, Payment, Refund, TokenOrder

MONEY: dict[str, Any] = {"max_digits": 20, "decimal_places": 2}


# These two choice sets appear in several components under several field names: each is one named component of
# the schema (drf-spectacular would otherwise name them by where it met them, and warn).
@extend_schema_field(serializers.ChoiceField(choices=InvestmentState.choices), component_name="InvestmentStateEnum")
class InvestmentStateField(serializers.ChoiceField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=InvestmentState.choices, **kwargs)


@extend_schema_field(serializers.ChoiceField(choices=PaymentStatus.choices), component_name="PaymentStatusEnum")
class PaymentStatusField(serializers.ChoiceField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=PaymentStatus.choices, **kwargs)


def latest_payment(commitment: Commitment) -> Payment | None:
    """The commitment's current payment: the newest (the selectors prefetch them newest first)."""
    payments = list(commitment.payments.all())
    return max(payments, key=lambda payment: (payment.created_at, payment.pk)) if payments else None


class CommitmentOutput(serializers.ModelSerializer):
    """A commitment as its investor sees it; its state is its investment's."""

    round = serializers.IntegerField(source="investment.round_id")
    round_name = serializers.CharField(source="investment.round.name")
    company = serializers.SlugField(source="investment.round.company.slug")
    company_name = serializers.CharField(source="investment.round.company.legal_name")
    amount = serializers.DecimalField(source="investment.amount", **MONEY)
    currency = serializers.CharField(source="investment.currency")
    state = InvestmentStateField(source="investment.state")
    payment_status = serializers.SerializerMethodField()
    cancellation_cutoff = serializers.SerializerMethodField()

    class Meta:
        model = Commitment
        fields = ["id", "reference", "round", "round_name", "company", "company_name", "amount", "currency",
                  "method", "state", "payment_status", "signed_name", "signed_at", "agreement_sha256",
                  "cancellation_cutoff", "reconfirm_by", "reconfirmed_at", "cancelled_at", "cancel_reason",
                  "created_at"]

    @extend_schema_field(PaymentStatusField(allow_null=True))
    def get_payment_status(self, commitment: Commitment) -> str | None:
        payment = latest_payment(commitment)
        return payment.status if payment is not None else None

    @extend_schema_field(serializers.DateTimeField(allow_null=True))
    def get_cancellation_cutoff(self, commitment: Commitment) -> str | None:
        """Until when the investor may cancel; null when any time before the close."""
        cutoff = services.cancellation_cutoff(commitment.investment.round)
        return serializers.DateTimeField().to_representation(cutoff) if cutoff is not None else None


class PaymentToConfirm(serializers.Serializer):
    """What the browser needs to confirm the payment with the provider (Stripe.js and the client secret)."""

    provider = serializers.CharField()
    provider_id = serializers.CharField(allow_null=True)
    client_secret = serializers.CharField(help_text="Give it only to Stripe.js; never log it or put it in a URL.")
    status = PaymentStatusField()
    failure_code = serializers.CharField()
    failure_message = serializers.CharField()


class CommitmentDetailOutput(CommitmentOutput):
    """A commitment with its current payment, to confirm (again, after a declined card)."""

    payment = serializers.SerializerMethodField()

    class Meta(CommitmentOutput.Meta):
        fields = [*CommitmentOutput.Meta.fields, "payment"]

    @extend_schema_field(PaymentToConfirm(allow_null=True))
    def get_payment(self, commitment: Commitment) -> dict[str, Any] | None:
        payment = latest_payment(commitment)
        return PaymentToConfirm(payment).data if payment is not None else None


class CommitmentCreateInput(serializers.Serializer):
    amount = serializers.DecimalField(**MONEY)
    method = serializers.ChoiceField(choices=PaymentMethod.choices)


class CommitmentSignInput(serializers.Serializer):
    signed_name = serializers.CharField(max_length=200, help_text="Your full legal name, typed, as your signature.")


class CommitmentPayInput(serializers.Serializer):
    """The sandbox's stand-in for the browser: a card number, or a US bank account's routing and account numbers,
    per the commitment's payment method. Stripe's test numbers: https://docs.stripe.com/testing."""

    number = serializers.CharField(max_length=30, required=False, help_text="Card number, for a card payment.")
    routing_number = serializers.CharField(max_length=20, required=False)
    account_number = serializers.CharField(max_length=30, required=False)

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        method = self.context["method"]
        if method == PaymentMethod.CARD and not data.get("number"):
            raise serializers.ValidationError({"number": ["Enter the card number."]})
        if method == PaymentMethod.US_BANK_ACCOUNT:
            missing = {name: ["Enter the bank account's routing and account numbers."]
                       for name in ("routing_number", "account_number") if not data.get(name)}
            if missing:
                raise serializers.ValidationError(missing)
        return data


class PaymentOutput(serializers.ModelSerializer):
    status = PaymentStatusField()

    class Meta:
        model = Payment
        fields = ["id", "provider", "provider_id", "method", "amount", "currency", "status", "last4", "failure_code",
                  "failure_message", "succeeded_at", "created_at"]


class RefundOutput(serializers.ModelSerializer):
    payment = serializers.IntegerField(source="payment_id")

    class Meta:
        model = Refund
        fields = ["id", "payment", "amount", "currency", "reason", "status", "created_at", "succeeded_at"]


class DocumentOutput(serializers.ModelSerializer):
    url = serializers.SerializerMethodField(help_text="Where to download the PDF.")

    class Meta:
        model = Document
        fields = ["kind", "sha256", "created_at", "url"]

    def get_url(self, document: Document) -> str:
        return reverse("api-commitment-document", kwargs={"pk": document.commitment_id, "kind": document.kind})


class RoundCommitmentOutput(serializers.ModelSerializer):
    """A commitment as the company's team sees it, in their round's list."""

    investor_name = serializers.CharField(source="investment.stakeholder.name")
    investor_email = serializers.EmailField(source="investor.email")
    amount = serializers.DecimalField(source="investment.amount", **MONEY)
    currency = serializers.CharField(source="investment.currency")
    state = InvestmentStateField(source="investment.state")
    payment_status = serializers.SerializerMethodField()

    class Meta:
        model = Commitment
        fields = ["id", "reference", "investor_name", "investor_email", "amount", "currency", "method", "state",
                  "payment_status", "signed_at", "reconfirm_by", "reconfirmed_at", "cancelled_at", "cancel_reason",
                  "flagged_at", "flag_reason", "created_at"]

    @extend_schema_field(PaymentStatusField(allow_null=True))
    def get_payment_status(self, commitment: Commitment) -> str | None:
        payment = latest_payment(commitment)
        return payment.status if payment is not None else None


class WebhookReceipt(serializers.Serializer):
    received = serializers.BooleanField()


class TokenOrderOutput(serializers.ModelSerializer):
    """A card order of tokens as its investor sees it. `units` is what the platform's distributor pays the sale, in
    the stablecoin's base units (a dollar a unit), as a string; `refunded_units` what the sale paid back."""

    sale = serializers.IntegerField(source="sale_id")
    sale_name = serializers.CharField(source="sale.name")
    token_symbol = serializers.CharField(source="sale.token.symbol")
    amount = serializers.DecimalField(**MONEY)
    units = serializers.CharField()
    refunded_units = serializers.CharField(allow_null=True)
    state = serializers.ChoiceField(choices=TokenOrderState.choices)
    payment = serializers.SerializerMethodField()

    class Meta:
        model = TokenOrder
        fields = ["id", "reference", "sale", "sale_name", "token_symbol", "wallet", "amount", "currency", "units",
                  "state", "buy_error", "refunded_units", "payment", "created_at"]

    @extend_schema_field(PaymentToConfirm(allow_null=True))
    def get_payment(self, order: TokenOrder) -> dict[str, Any] | None:
        """The card payment to confirm, while the order waits for one."""
        if order.state != TokenOrderState.PENDING_PAYMENT:
            return None
        payment = token_orders.order_payment(order)
        return PaymentToConfirm(payment).data if payment is not None and payment.provider_id else None


class TokenOrderCreateInput(serializers.Serializer):
    wallet = serializers.CharField(max_length=42, help_text="One of your verified wallets that may buy in the sale.")
    amount = serializers.DecimalField(min_value=Decimal("0.01"), help_text="Dollars, to the cent.", **MONEY)
