from django.db import models
from django.utils.translation import gettext_lazy as _


class ClassKind(models.TextChoices):
    COMMON = "common", _("Common")
    PREFERRED = "preferred", _("Preferred")


class StakeholderKind(models.TextChoices):
    INDIVIDUAL = "individual", _("Individual")
    ENTITY = "entity", _("Entity")


class Relationship(models.TextChoices):
    FOUNDER = "founder", _("Founder")
    EMPLOYEE = "employee", _("Employee")
    ADVISOR = "advisor", _("Advisor")
    INVESTOR = "investor", _("Investor")
    OTHER = "other", _("Other")


class TransactionKind(models.TextChoices):
    STOCK_ISSUANCE = "stock_issuance", _("Stock issuance")
    STOCK_TRANSFER = "stock_transfer", _("Stock transfer")
    STOCK_CANCELLATION = "stock_cancellation", _("Stock cancellation")
    STOCK_REPURCHASE = "stock_repurchase", _("Stock repurchase")
    PLAN_ADJUSTMENT = "plan_adjustment", _("Option pool adjustment")
    OPTION_GRANT = "option_grant", _("Option grant")
    OPTION_EXERCISE = "option_exercise", _("Option exercise")
    OPTION_CANCELLATION = "option_cancellation", _("Option cancellation")
    WARRANT_ISSUANCE = "warrant_issuance", _("Warrant issuance")
    WARRANT_EXERCISE = "warrant_exercise", _("Warrant exercise")
    CONVERTIBLE_ISSUANCE = "convertible_issuance", _("Convertible issuance")
    CONVERSION = "conversion", _("Conversion")

    @classmethod
    def creating(cls) -> list[str]:
        """Kinds that create a security, whose `security_ref` must be unique within the company. A transfer, an
        exercise and a conversion create the stock certificate the receiver now holds."""
        return [*cls.creating_stock(), cls.OPTION_GRANT, cls.WARRANT_ISSUANCE, cls.CONVERTIBLE_ISSUANCE]

    @classmethod
    def creating_stock(cls) -> list[str]:
        return [cls.STOCK_ISSUANCE, cls.STOCK_TRANSFER, cls.OPTION_EXERCISE, cls.WARRANT_EXERCISE, cls.CONVERSION]

    @classmethod
    def consuming(cls) -> list[str]:
        """Kinds that use up part of an earlier security (`acts_on`): never more than it has left."""
        return [cls.STOCK_TRANSFER, cls.STOCK_CANCELLATION, cls.STOCK_REPURCHASE, cls.OPTION_EXERCISE,
                cls.OPTION_CANCELLATION, cls.WARRANT_EXERCISE]


class RoundKind(models.TextChoices):
    PRICED = "priced", _("Priced round")
    SAFE = "safe", _("SAFE round")


class RoundState(models.TextChoices):
    """draft → open → closing → closed, or cancelled from any state before closed."""

    DRAFT = "draft", _("Draft")
    OPEN = "open", _("Open")
    CLOSING = "closing", _("Closing")
    CLOSED = "closed", _("Closed")
    CANCELLED = "cancelled", _("Cancelled")


class SafeInstrument(models.TextChoices):
    POST_MONEY_SAFE = "post_money_safe", _("Post-money SAFE")
    PRE_MONEY_SAFE = "pre_money_safe", _("Pre-money SAFE")


class InvestmentSource(models.TextChoices):
    WIRE = "wire", _("Recorded by the company (wire or cheque)")
    PLATFORM = "platform", _("Committed on Tranche")


class InvestmentState(models.TextChoices):
    """A commitment's life. A wire the company records arrives funded; a commitment made on the platform starts
    pending payment. Only `accepted` ever reaches the ledger (at close)."""

    PENDING_PAYMENT = "pending_payment", _("Pending payment")
    PROCESSING = "processing", _("Payment processing")
    FUNDED = "funded", _("Funded")
    ACCEPTED = "accepted", _("Accepted")
    CANCELLED = "cancelled", _("Cancelled")
    REFUNDED = "refunded", _("Refunded")
    REVERSED = "reversed", _("Reversed")

    @classmethod
    def counting(cls) -> list[str]:
        """States whose amount takes room in the round: what counts against its maximum."""
        return [cls.PENDING_PAYMENT, cls.PROCESSING, cls.FUNDED, cls.ACCEPTED]
