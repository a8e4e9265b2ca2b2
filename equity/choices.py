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
