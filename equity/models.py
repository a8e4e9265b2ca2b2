"""The equity ledger: share classes, stakeholders, option plans, and an append-only list of transactions.

Nothing here stores a holding. Who owns what, at any date, is derived from the transactions up to that date
(`equity.selectors.capitalization_as_of`), and database triggers (migration 0002) refuse a transaction that
would issue more shares of a class than are authorized or leave anyone holding a negative amount.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

from equity.choices import ClassKind, Relationship, StakeholderKind, TransactionKind


class ShareClass(models.Model):
    company = models.ForeignKey("companies.Company", on_delete=models.PROTECT, related_name="share_classes")
    name = models.CharField(_("name"), max_length=100, help_text=_("For example, Common or Series Seed Preferred."))
    kind = models.CharField(_("kind"), max_length=10, choices=ClassKind.choices)
    authorized_shares = models.BigIntegerField(_("authorized shares"))
    par_value = models.DecimalField(_("par value"), max_digits=20, decimal_places=10, default=0)
    original_issue_price = models.DecimalField(
        _("original issue price"), max_digits=20, decimal_places=10, default=0
    )
    liquidation_multiple = models.DecimalField(_("liquidation preference (×)"), max_digits=6, decimal_places=2,
                                               default=1)
    participating = models.BooleanField(_("participating"), default=False)
    participation_cap = models.DecimalField(_("participation cap (×)"), max_digits=6, decimal_places=2, null=True,
                                            blank=True)
    conversion_ratio = models.DecimalField(_("conversion ratio"), max_digits=12, decimal_places=6, default=1)
    seniority = models.PositiveSmallIntegerField(_("seniority"), default=0,
                                                 help_text=_("Higher is paid first; equal seniority is pari passu."))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["company", "-seniority", "name"]
        verbose_name_plural = _("share classes")
        constraints = [
            models.UniqueConstraint("company", Lower("name"), name="equity_shareclass_name_unique"),
            models.CheckConstraint(condition=models.Q(authorized_shares__gt=0), name="equity_shareclass_authorized_positive"),
            models.CheckConstraint(
                condition=models.Q(par_value__gte=0, original_issue_price__gte=0, liquidation_multiple__gte=0,
                                   conversion_ratio__gt=0),
                name="equity_shareclass_terms_not_negative",
            ),
            models.CheckConstraint(
                condition=models.Q(participation_cap__isnull=True)
                | models.Q(participating=True, participation_cap__gte=models.F("liquidation_multiple")),
                name="equity_shareclass_cap_needs_participation",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Stakeholder(models.Model):
    """A person or entity on the cap table, optionally the platform account of that person."""

    company = models.ForeignKey("companies.Company", on_delete=models.PROTECT, related_name="stakeholders")
    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=12, choices=StakeholderKind.choices, default=StakeholderKind.INDIVIDUAL)
    relationship = models.CharField(_("relationship"), max_length=12, choices=Relationship.choices,
                                    default=Relationship.INVESTOR)
    email = models.EmailField(_("e-mail"), blank=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                             related_name="stakes")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["company", "name"]
        constraints = [models.UniqueConstraint("company", Lower("name"), name="equity_stakeholder_name_unique")]

    def __str__(self) -> str:
        return self.name


class EquityPlan(models.Model):
    """An option pool: shares of a class reserved for grants. Its size moves only through plan adjustments."""

    company = models.ForeignKey("companies.Company", on_delete=models.PROTECT, related_name="equity_plans")
    name = models.CharField(_("name"), max_length=100)
    share_class = models.ForeignKey(ShareClass, on_delete=models.PROTECT, related_name="plans")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["company", "name"]
        constraints = [models.UniqueConstraint("company", Lower("name"), name="equity_plan_name_unique")]

    def __str__(self) -> str:
        return self.name


class EquityTransaction(models.Model):
    """One entry of the ledger. Append-only (a trigger refuses UPDATE and DELETE): a mistake is corrected by a
    further transaction (a cancellation), never by editing history.

    `security_ref` names the security a transaction creates (a stock certificate, an option grant, a warrant,
    a SAFE or note), like Open Cap Format's security_id; later transactions on it (exercise, cancellation,
    transfer, conversion) point at the creating transaction with `acts_on`.
    """

    company = models.ForeignKey("companies.Company", on_delete=models.PROTECT, related_name="equity_transactions")
    kind = models.CharField(_("kind"), max_length=24, choices=TransactionKind.choices)
    effective_date = models.DateField(_("effective date"), db_index=True)
    security_ref = models.CharField(_("security"), max_length=40)
    acts_on = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="followers",
                                 help_text=_("The security this transaction acts on (exercise, cancellation, ...)."))
    stakeholder = models.ForeignKey(Stakeholder, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="transactions")
    share_class = models.ForeignKey(ShareClass, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="transactions")
    plan = models.ForeignKey(EquityPlan, null=True, blank=True, on_delete=models.PROTECT, related_name="transactions")
    quantity = models.BigIntegerField(_("shares"), default=0)
    price_per_share = models.DecimalField(_("price per share"), max_digits=20, decimal_places=10, null=True, blank=True)
    amount = models.DecimalField(_("amount"), max_digits=20, decimal_places=2, null=True, blank=True)
    currency = models.CharField(max_length=3, default="USD")
    vesting_start = models.DateField(null=True, blank=True)
    vesting_months = models.PositiveSmallIntegerField(null=True, blank=True)
    vesting_cliff_months = models.PositiveSmallIntegerField(null=True, blank=True)
    terms = models.JSONField(default=dict, blank=True)  # a convertible's cap, discount, interest, MFN, pro rata
    memo = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["effective_date", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["company", "security_ref"],
                condition=models.Q(kind__in=TransactionKind.creating()),
                name="equity_security_id_unique",
            ),
            models.CheckConstraint(
                condition=models.Q(kind=TransactionKind.PLAN_ADJUSTMENT) | models.Q(quantity__gte=0),
                name="equity_quantity_not_negative",
            ),
            models.CheckConstraint(
                condition=models.Q(price_per_share__isnull=True) | models.Q(price_per_share__gte=0),
                name="equity_price_not_negative",
            ),
            models.CheckConstraint(condition=models.Q(amount__isnull=True) | models.Q(amount__gte=0),
                                   name="equity_amount_not_negative"),
        ]
        indexes = [models.Index(fields=["company", "effective_date"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.security_ref} ({self.quantity})"
