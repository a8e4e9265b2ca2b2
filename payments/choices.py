from django.db import models
from django.utils.translation import gettext_lazy as _


class PaymentMethod(models.TextChoices):
    CARD = "card", _("Card")
    US_BANK_ACCOUNT = "us_bank_account", _("US bank account (ACH)")


class PaymentStatus(models.TextChoices):
    """The platform's words for a payment; each provider maps its own statuses onto them."""

    REQUIRES_PAYMENT = "requires_payment", _("Awaiting payment")
    PROCESSING = "processing", _("Processing")
    SUCCEEDED = "succeeded", _("Paid")
    FAILED = "failed", _("Failed")
    CANCELED = "canceled", _("Cancelled")


class RefundStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SUCCEEDED = "succeeded", _("Refunded")
    FAILED = "failed", _("Failed")


class RefundReason(models.TextChoices):
    CANCELLED = "cancelled", _("Cancelled by the investor")
    NOT_RECONFIRMED = "not_reconfirmed", _("Not reconfirmed after a material change")
    DECLINED = "declined", _("Declined by the company")
    ROUND_FAILED = "round_failed", _("The round did not close")
    NOT_ACCEPTED = "not_accepted", _("Paid after the round stopped taking it")
    NOT_BOUGHT = "not_bought", _("The sale did not take the purchase")
    SALE_REFUNDED = "sale_refunded", _("The token sale refunded its buyers")
    NOT_ALLOCATED = "not_allocated", _("The oversubscribed sale did not allocate all of it")
    # The two below are not asked for by a platform flow, so they are outside the one-live-refund-per-payment rule:
    REMAINDER = "remainder", _("Returned by the company: what a dispute or an outside refund left in escrow")
    AT_PROVIDER = "at_provider", _("Refunded at the payment provider, outside Tranche")


# The refunds that platform flows do not ask for (the others: at most one live per payment, so asking twice refunds
# once).
FLOW_REFUND_EXCLUDED = (RefundReason.REMAINDER, RefundReason.AT_PROVIDER)


class EscrowEntryKind(models.TextChoices):
    HOLD = "hold", _("Held")
    RELEASE = "release", _("Released to the issuer")
    RETURN = "return", _("Returned to the investor")


class DocumentKind(models.TextChoices):
    AGREEMENT = "agreement", _("Subscription agreement")
    RECEIPT = "receipt", _("Payment receipt")
    CERTIFICATE = "certificate", _("Share certificate")


class TokenOrderState(models.TextChoices):
    """A card purchase of tokens: paid by card, then bought on-chain by the platform's distributor."""

    PENDING_PAYMENT = "pending_payment", _("Awaiting payment")
    PAID = "paid", _("Paid: buying on-chain")
    BOUGHT = "bought", _("Bought")
    NOT_BOUGHT = "not_bought", _("Not bought: refunded")
    REFUNDED = "refunded", _("Refunded")
    CANCELLED = "cancelled", _("Cancelled")
