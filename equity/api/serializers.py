from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from equity.choices import ClassKind, Relationship, StakeholderKind, TransactionKind
from equity.models import EquityPlan, EquityTransaction, ShareClass, Stakeholder


class ShareClassOutput(serializers.ModelSerializer):
    class Meta:
        model = ShareClass
        fields = ["id", "name", "kind", "authorized_shares", "par_value", "original_issue_price",
                  "liquidation_multiple", "participating", "participation_cap", "conversion_ratio", "seniority"]


class StakeholderOutput(serializers.ModelSerializer):
    class Meta:
        model = Stakeholder
        fields = ["id", "name", "kind", "relationship", "email"]


class TransactionOutput(serializers.ModelSerializer):
    stakeholder = serializers.CharField(source="stakeholder.name", default=None)
    share_class = serializers.CharField(source="share_class.name", default=None)
    plan = serializers.CharField(source="plan.name", default=None)
    acts_on = serializers.CharField(source="acts_on.security_ref", default=None)

    class Meta:
        model = EquityTransaction
        fields = ["id", "kind", "effective_date", "security_ref", "acts_on", "stakeholder", "share_class", "plan",
                  "quantity", "price_per_share", "amount", "currency", "vesting_start", "vesting_months",
                  "vesting_cliff_months", "terms", "memo"]


class CapTableRowOutput(serializers.Serializer):
    name = serializers.CharField(source="key")
    outstanding = serializers.IntegerField()
    fully_diluted = serializers.IntegerField()
    fully_diluted_percent = serializers.DecimalField(max_digits=7, decimal_places=2)


class CapTableOutput(serializers.Serializer):
    as_of = serializers.DateField()
    total_outstanding = serializers.IntegerField()
    total_fully_diluted = serializers.IntegerField()
    by_stakeholder = CapTableRowOutput(many=True)
    by_class = CapTableRowOutput(many=True)


class AsOfInput(serializers.Serializer):
    as_of = serializers.DateField(required=False)


# --- writes: one input serializer per operation; ids and security references only of the company in context ---

MAX_SHARES = 10**15  # a quadrillion: above any real cap table, below what a BigIntegerField holds


class CompanyScopedPrimaryKey(serializers.PrimaryKeyRelatedField):
    """An id of one of the company's own rows (`context["company"]`); another company's id does not exist."""

    def get_queryset(self) -> Any:
        queryset: Any = super().get_queryset()
        return queryset.filter(company=self.context["company"])


class SecurityReference(serializers.SlugRelatedField):
    """A security of the company's ledger by its reference (CS-1, OPT-2, W-1, CN-3), of the given kinds."""

    default_error_messages = {
        "does_not_exist": _("This cap table has no {what} {value}."),
        "invalid": _("Give a security reference such as CS-1."),
    }

    def __init__(self, *, kinds: list[str], what: str | Promise, **kwargs: Any) -> None:
        self.kinds, self.what = kinds, what
        super().__init__(slug_field="security_ref", queryset=EquityTransaction.objects.all(), **kwargs)

    def get_queryset(self) -> Any:
        return EquityTransaction.objects.filter(company=self.context["company"], kind__in=self.kinds)

    def to_internal_value(self, data: Any) -> Any:
        try:
            return self.get_queryset().get(security_ref=str(data))
        except EquityTransaction.DoesNotExist:
            self.fail("does_not_exist", what=self.what, value=str(data))


class ShareClassInput(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    kind = serializers.ChoiceField(choices=ClassKind.choices)
    authorized_shares = serializers.IntegerField(min_value=1, max_value=MAX_SHARES)
    par_value = serializers.DecimalField(max_digits=20, decimal_places=10, min_value=Decimal(0), default=Decimal(0))
    original_issue_price = serializers.DecimalField(max_digits=20, decimal_places=10, min_value=Decimal(0), default=Decimal(0))
    liquidation_multiple = serializers.DecimalField(max_digits=6, decimal_places=2, min_value=Decimal(0),
                                                    default=Decimal(1))
    participating = serializers.BooleanField(default=False)
    participation_cap = serializers.DecimalField(max_digits=6, decimal_places=2, required=False, allow_null=True,
                                                 help_text="Total return of a participating share, preference "
                                                           "included, as a multiple of the issue price.")
    conversion_ratio = serializers.DecimalField(max_digits=12, decimal_places=6, min_value=Decimal("0.000001"),
                                                default=Decimal(1))
    seniority = serializers.IntegerField(min_value=0, max_value=32767, default=0,
                                         help_text="Higher is paid first; equal seniority is pari passu.")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        cap = attrs.get("participation_cap")
        if cap is not None and not attrs["participating"]:
            raise serializers.ValidationError({"participation_cap": _("Only a participating class has a cap.")})
        if cap is not None and cap < attrs["liquidation_multiple"]:
            raise serializers.ValidationError({"participation_cap": _(
                "The cap includes the preference, so it cannot be below the liquidation multiple.")})
        return attrs


class StakeholderInput(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    kind = serializers.ChoiceField(choices=StakeholderKind.choices, default=StakeholderKind.INDIVIDUAL)
    relationship = serializers.ChoiceField(choices=Relationship.choices, default=Relationship.INVESTOR)
    email = serializers.EmailField(required=False, default="")


class PlanOutput(serializers.ModelSerializer):
    share_class = serializers.CharField(source="share_class.name")
    available = serializers.IntegerField(help_text="Shares of the pool not granted.")

    class Meta:
        model = EquityPlan
        fields = ["id", "name", "share_class", "available"]


class PlanInput(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    share_class = CompanyScopedPrimaryKey(queryset=ShareClass.objects.all())
    reserved = serializers.IntegerField(min_value=1, max_value=MAX_SHARES)
    effective_date = serializers.DateField()


class PlanAdjustmentInput(serializers.Serializer):
    plan = CompanyScopedPrimaryKey(queryset=EquityPlan.objects.all())
    quantity = serializers.IntegerField(min_value=-MAX_SHARES, max_value=MAX_SHARES,
                                        help_text="Positive grows the pool, negative shrinks it.")
    effective_date = serializers.DateField()


class StockIssueInput(serializers.Serializer):
    stakeholder = CompanyScopedPrimaryKey(queryset=Stakeholder.objects.all())
    share_class = CompanyScopedPrimaryKey(queryset=ShareClass.objects.all())
    quantity = serializers.IntegerField(min_value=1, max_value=MAX_SHARES)
    effective_date = serializers.DateField()
    price_per_share = serializers.DecimalField(max_digits=20, decimal_places=10, min_value=Decimal(0), required=False, allow_null=True)
    vesting_start = serializers.DateField(required=False, allow_null=True)
    vesting_months = serializers.IntegerField(min_value=1, max_value=600, required=False, allow_null=True)
    vesting_cliff_months = serializers.IntegerField(min_value=0, max_value=600, required=False, allow_null=True)
    memo = serializers.CharField(max_length=300, required=False, allow_blank=True)


class OptionGrantInput(serializers.Serializer):
    plan = CompanyScopedPrimaryKey(queryset=EquityPlan.objects.all())
    stakeholder = CompanyScopedPrimaryKey(queryset=Stakeholder.objects.all())
    quantity = serializers.IntegerField(min_value=1, max_value=MAX_SHARES)
    exercise_price = serializers.DecimalField(max_digits=20, decimal_places=10, min_value=Decimal(0))
    effective_date = serializers.DateField()
    vesting_start = serializers.DateField(required=False, allow_null=True)
    vesting_months = serializers.IntegerField(min_value=1, max_value=600, default=48)
    vesting_cliff_months = serializers.IntegerField(min_value=0, max_value=600, default=12)


class _UseSecurityInput(serializers.Serializer):
    quantity = serializers.IntegerField(min_value=1, max_value=MAX_SHARES)
    effective_date = serializers.DateField()


class OptionUseInput(_UseSecurityInput):
    grant = SecurityReference(kinds=[TransactionKind.OPTION_GRANT], what=_("option grant"))


class StockCancellationInput(_UseSecurityInput):
    certificate = SecurityReference(kinds=TransactionKind.creating_stock(), what=_("stock certificate"))


class StockRepurchaseInput(StockCancellationInput):
    repurchase_price = serializers.DecimalField(max_digits=20, decimal_places=10, min_value=Decimal(0))


class StockTransferInput(StockCancellationInput):
    to = CompanyScopedPrimaryKey(queryset=Stakeholder.objects.all())
    price_per_share = serializers.DecimalField(max_digits=20, decimal_places=10, min_value=Decimal(0), required=False, allow_null=True)


class ConvertibleIssueInput(serializers.Serializer):
    stakeholder = CompanyScopedPrimaryKey(queryset=Stakeholder.objects.all())
    instrument = serializers.ChoiceField(choices=["post_money_safe", "pre_money_safe", "convertible_note"])
    amount = serializers.DecimalField(max_digits=20, decimal_places=2, min_value=Decimal("0.01"))
    effective_date = serializers.DateField()
    valuation_cap = serializers.DecimalField(max_digits=20, decimal_places=2, min_value=Decimal("0.01"), required=False, allow_null=True)
    discount = serializers.DecimalField(max_digits=11, decimal_places=10, required=False, allow_null=True,
                                        help_text="A fraction: 0.20 for 20% off the round price.")
    interest_rate = serializers.DecimalField(max_digits=11, decimal_places=10, min_value=Decimal(0), required=False,
                                             allow_null=True, help_text="A yearly fraction: 0.05 for 5%.")
    mfn = serializers.BooleanField(default=False)
    pro_rata = serializers.BooleanField(default=False)


class WarrantIssueInput(serializers.Serializer):
    stakeholder = CompanyScopedPrimaryKey(queryset=Stakeholder.objects.all())
    share_class = CompanyScopedPrimaryKey(queryset=ShareClass.objects.all())
    quantity = serializers.IntegerField(min_value=1, max_value=MAX_SHARES)
    exercise_price = serializers.DecimalField(max_digits=20, decimal_places=10, min_value=Decimal(0))
    effective_date = serializers.DateField()
    expiry_date = serializers.DateField(required=False, allow_null=True)
    memo = serializers.CharField(max_length=300, required=False, allow_blank=True)


class WarrantExerciseInput(_UseSecurityInput):
    warrant = SecurityReference(kinds=[TransactionKind.WARRANT_ISSUANCE], what=_("warrant"))
