"""The equity ledger: share classes, stakeholders, option plans, and an append-only list of transactions.

Who owns what, at any date, is derived from the transactions up to that date
(`equity.selectors.capitalization_as_of`), and database triggers (migration 0002) refuse a transaction that
would issue more shares of a class than are authorized or leave anyone holding a negative amount. `Position` and
`SecurityBalance` are the ledger's running totals, kept by another trigger (migration 0004) so that today's cap
table reads one row per position instead of netting the whole history; nothing in Python writes them.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

from compliance.choices import Exemption
from equity.choices import (
    ClassKind,
    InvestmentSource,
    InvestmentState,
    Relationship,
    RoundKind,
    RoundState,
    SafeInstrument,
    StakeholderKind,
    TransactionKind,
)


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


POSITION_KINDS = [("shares", "shares"), ("options", "options"), ("warrants", "warrants"), ("pool", "pool")]


class Position(models.Model):
    """What the whole ledger adds up to for one stakeholder, class, kind of right and exercise price (and, for a
    warrant, expiry date), or for one option pool's ungranted reserve: the cap table's position as of the
    latest transaction, kept by the trigger of migration 0004 in the same transaction as the ledger row.

    `share_class` is the class the right is over (an option grant's plan's class). `first` is the place in the
    ledger (date, then id) of the earliest security that still holds shares, the order in which the cap table
    lists holders; empty when nothing is left.
    """

    company = models.ForeignKey("companies.Company", on_delete=models.PROTECT, related_name="+")
    stakeholder = models.ForeignKey(Stakeholder, null=True, on_delete=models.PROTECT, related_name="+")
    share_class = models.ForeignKey(ShareClass, on_delete=models.PROTECT, related_name="+")
    plan = models.ForeignKey(EquityPlan, null=True, on_delete=models.PROTECT, related_name="+")  # a pool's plan
    kind = models.CharField(max_length=8, choices=POSITION_KINDS)
    exercise_price = models.DecimalField(max_digits=20, decimal_places=10, default=0)
    expiry_date = models.DateField(null=True)
    shares = models.BigIntegerField()
    first = models.BigIntegerField(null=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["stakeholder", "share_class", "kind", "exercise_price", "expiry_date"],
                                    condition=models.Q(stakeholder__isnull=False), nulls_distinct=False,
                                    name="equity_position_unique"),
            models.UniqueConstraint(fields=["plan"], condition=models.Q(kind="pool"), name="equity_position_pool_unique"),
            # A pool may dip below zero within a statement of several rows (a grant written before the adjustment
            # that funds it); the ledger's own trigger holds it at zero or more once the row is in.
            models.CheckConstraint(condition=models.Q(shares__gte=0) | models.Q(kind="pool"),
                                   name="equity_position_not_negative"),
        ]
        indexes = [models.Index(fields=["company", "first"], condition=models.Q(shares__gt=0),
                                name="equity_position_listed")]

    def __str__(self) -> str:
        return f"{self.kind} {self.shares}"


class SecurityBalance(models.Model):
    """What one stock certificate, option grant or warrant has left (its shares less what later rows used up),
    kept by the same trigger as `Position`, which it belongs to. `sequence` is its place in the ledger."""

    security = models.OneToOneField(EquityTransaction, primary_key=True, on_delete=models.PROTECT, related_name="+")
    position = models.ForeignKey(Position, on_delete=models.PROTECT, related_name="+")
    remaining = models.BigIntegerField()
    sequence = models.BigIntegerField()

    class Meta:
        constraints = [models.CheckConstraint(condition=models.Q(remaining__gte=0),
                                              name="equity_securitybalance_not_negative")]
        indexes = [models.Index(fields=["position", "sequence"], condition=models.Q(remaining__gt=0),
                                name="equity_securitybalance_live")]

    def __str__(self) -> str:
        return f"{self.security_id}: {self.remaining}"



class Round(models.Model):
    """A raise: a priced equity round or a SAFE round, with its offering terms.

    Editable only as a draft. Investments count against `maximum_amount` under a row lock on the round
    (`equity.services.investment_record`). Closing is one transaction that writes the ledger: a priced round
    issues the new series, converts the outstanding SAFEs and notes and tops up the pool; a SAFE round issues
    the SAFEs. `price_per_share` and `share_class` are set then.
    """

    company = models.ForeignKey("companies.Company", on_delete=models.PROTECT, related_name="rounds")
    name = models.CharField(_("name"), max_length=100, help_text=_("For example, Seed or Series A."))
    kind = models.CharField(_("kind"), max_length=10, choices=RoundKind.choices, default=RoundKind.PRICED)
    state = models.CharField(_("state"), max_length=10, choices=RoundState.choices, default=RoundState.DRAFT)
    currency = models.CharField(max_length=3, default="USD")
    target_amount = models.DecimalField(_("target"), max_digits=20, decimal_places=2)
    minimum_amount = models.DecimalField(_("minimum to close"), max_digits=20, decimal_places=2)
    maximum_amount = models.DecimalField(_("maximum"), max_digits=20, decimal_places=2)
    minimum_ticket = models.DecimalField(_("minimum investment"), max_digits=20, decimal_places=2, default=0)
    opens_on = models.DateField(_("opens on"), null=True, blank=True)
    closes_on = models.DateField(_("deadline"), null=True, blank=True)
    exemption = models.CharField(_("exemption"), max_length=12, choices=Exemption.choices, default=Exemption.REG_D_506B)
    jurisdictions = models.JSONField(_("open to"), default=list, blank=True,
                                     help_text=_("ISO country codes, or US-XX for a US state."))
    # A priced round's terms.
    pre_money_valuation = models.DecimalField(_("pre-money valuation"), max_digits=20, decimal_places=2, null=True, blank=True)
    pool_target_percent = models.DecimalField(
        _("available pool after the round (%)"), max_digits=5, decimal_places=2, null=True, blank=True)
    pool_new_shares = models.BigIntegerField(_("new pool shares"), null=True, blank=True)
    series_name = models.CharField(_("new series"), max_length=100, blank=True)
    liquidation_multiple = models.DecimalField(_("liquidation preference (×)"), max_digits=6, decimal_places=2,
                                               default=1)
    participating = models.BooleanField(_("participating"), default=False)
    participation_cap = models.DecimalField(_("participation cap (×)"), max_digits=6, decimal_places=2, null=True,
                                            blank=True)
    # A SAFE round's terms.
    instrument = models.CharField(_("instrument"), max_length=20, choices=SafeInstrument.choices, blank=True)
    valuation_cap = models.DecimalField(_("valuation cap"), max_digits=20, decimal_places=2, null=True, blank=True)
    discount = models.DecimalField(_("discount"), max_digits=5, decimal_places=4, null=True, blank=True)
    mfn = models.BooleanField(_("most favoured nation"), default=False)
    pro_rata = models.BooleanField(_("pro rata right"), default=False)
    # Set at close.
    price_per_share = models.DecimalField(_("price per share"), max_digits=20, decimal_places=10, null=True,
                                          blank=True)
    share_class = models.ForeignKey(ShareClass, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="rounds")
    closed_on = models.DateField(_("closed on"), null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    opened_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["company", "-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(minimum_amount__gt=0, minimum_amount__lte=models.F("target_amount"),
                                   target_amount__lte=models.F("maximum_amount"), minimum_ticket__gte=0,
                                   minimum_ticket__lte=models.F("maximum_amount")),
                name="equity_round_amounts_ordered",
            ),
            models.CheckConstraint(
                condition=models.Q(opens_on__isnull=True) | models.Q(closes_on__isnull=True)
                | models.Q(opens_on__lte=models.F("closes_on")),
                name="equity_round_dates_ordered",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Investment(models.Model):
    """Money an investor puts into a round: recorded by the company (a wire) or committed on the platform.

    `security` is the ledger row it became at close: the stock issuance of a priced round, the SAFE of a SAFE
    round.
    """

    round = models.ForeignKey(Round, on_delete=models.PROTECT, related_name="investments")
    stakeholder = models.ForeignKey(Stakeholder, on_delete=models.PROTECT, related_name="investments")
    investor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="investments")
    amount = models.DecimalField(_("amount"), max_digits=20, decimal_places=2)
    currency = models.CharField(max_length=3, default="USD")
    source = models.CharField(_("source"), max_length=10, choices=InvestmentSource.choices)
    state = models.CharField(_("state"), max_length=16, choices=InvestmentState.choices)
    received_on = models.DateField(_("received on"), null=True, blank=True)
    reference = models.CharField(_("reference"), max_length=100, blank=True,
                                 help_text=_("The wire's reference, for reconciliation."))
    security = models.OneToOneField(EquityTransaction, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="investment")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["round", "created_at", "pk"]
        constraints = [models.CheckConstraint(condition=models.Q(amount__gt=0), name="equity_investment_positive")]
        indexes = [models.Index(fields=["round", "state"])]

    def __str__(self) -> str:
        return f"{self.stakeholder} {self.amount} {self.currency}"
