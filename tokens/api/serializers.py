"""Input and output of the token API. Every on-chain amount is a string of base units (JSON numbers lose
precision past 2^53); addresses are checksummed."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from equity.api.serializers import CompanyScopedPrimaryKey
from equity.models import Investment, Stakeholder
from tokens.choices import AllocationKind, WarrantKind
from tokens.models import Purchase, Sale, Token, TokenAllocation, TokenWarrant

UINT256_MAX = 2**256 - 1


@extend_schema_field({"type": "string", "pattern": r"^[0-9]+$", "example": "1000000000000000000"})
class BaseUnits(serializers.Field):
    """A token or wei amount: a string of digits in, a string out."""

    default_error_messages = {"invalid": _("Give a whole number of base units as a string of digits.")}

    def to_representation(self, value: Any) -> str:
        return str(int(value))

    def to_internal_value(self, data: Any) -> int:
        if not isinstance(data, str) or not data.isascii() or not data.isdigit():  # a JSON number may be rounded
            self.fail("invalid")
        value = int(data)
        if value > UINT256_MAX:
            self.fail("invalid")
        return value


class TokenOutput(serializers.ModelSerializer):
    supply_cap = BaseUnits()
    investor_pool = BaseUnits()
    distributor_ceiling = BaseUnits()

    class Meta:
        model = Token
        fields = ["id", "name", "symbol", "decimals", "supply_cap", "investor_pool", "distributor_ceiling",
                  "admin_address", "lockup_end", "chain_id", "address", "deploy_status", "deploy_block"]


class SaleOutput(serializers.ModelSerializer):
    price = BaseUnits()
    soft_cap = BaseUnits()
    hard_cap = BaseUnits()
    min_per_investor = BaseUnits()
    max_per_investor = BaseUnits()
    accepted_total = BaseUnits(allow_null=True)
    tokens_for_sale = BaseUnits(allow_null=True)

    class Meta:
        model = Sale
        fields = ["id", "token", "name", "state", "payment_asset", "payment_token_address", "payment_symbol",
                  "payment_decimals", "price", "soft_cap", "hard_cap", "min_per_investor", "max_per_investor",
                  "starts_at", "ends_at", "allocation_mode", "eligibility_mode", "exemption", "jurisdictions",
                  "accepts_card", "address", "deploy_block", "accepted_total", "tokens_for_sale"]


class PurchaseOutput(serializers.ModelSerializer):
    amount = BaseUnits()
    tokens = BaseUnits()

    class Meta:
        model = Purchase
        fields = ["id", "sale", "wallet", "payer", "amount", "tokens", "tx_hash", "block_number", "removed"]


class WarrantOutput(serializers.ModelSerializer):
    token_amount = BaseUnits(allow_null=True)
    stakeholder_name = serializers.CharField(source="stakeholder.name", read_only=True)

    class Meta:
        model = TokenWarrant
        fields = ["id", "stakeholder", "stakeholder_name", "investment", "security_ref", "kind", "token_amount",
                  "price_per_token", "currency", "state", "converted_at"]


class WarrantInput(serializers.Serializer):
    stakeholder = CompanyScopedPrimaryKey(queryset=Stakeholder.objects.all())
    investment = serializers.PrimaryKeyRelatedField(queryset=Investment.objects.all(), required=False,
                                                    allow_null=True)
    kind = serializers.ChoiceField(choices=WarrantKind.choices)
    token_amount = BaseUnits(required=False, allow_null=True, help_text="Base units, for a fixed warrant.")
    price_per_token = serializers.DecimalField(max_digits=20, decimal_places=10, min_value=Decimal(0),
                                               required=False, allow_null=True)

    def validate_investment(self, investment: Investment | None) -> Investment | None:
        if investment is not None and investment.round.company_id != self.context["company"].pk:
            raise serializers.ValidationError(_("This investment is not in one of the company's rounds."))
        return investment


class VestingOutput(serializers.Serializer):
    vested = BaseUnits()
    released = BaseUnits()
    releasable = BaseUnits()


class AllocationOutput(serializers.ModelSerializer):
    amount = BaseUnits()
    released = BaseUnits()
    vesting = serializers.SerializerMethodField()

    class Meta:
        model = TokenAllocation
        fields = ["id", "token", "kind", "label", "stakeholder", "beneficiary_address", "amount", "vesting_start",
                  "cliff", "duration", "vesting_address", "released", "warrant", "exercise_price", "state", "vesting"]

    @extend_schema_field(VestingOutput(allow_null=True))
    def get_vesting(self, allocation: TokenAllocation) -> dict[str, str] | None:
        from tokens.allocations import allocation_vesting

        status = allocation_vesting(allocation)
        if status is None:
            return None
        return {"vested": str(status.vested), "released": str(status.released), "releasable": str(status.releasable)}


class AllocationInput(serializers.Serializer):
    kind = serializers.ChoiceField(choices=[(k.value, k.label) for k in AllocationKind
                                            if k != AllocationKind.INVESTOR])
    label = serializers.CharField(max_length=200)  # type: ignore[assignment]  # the field, not the form label
    stakeholder = CompanyScopedPrimaryKey(queryset=Stakeholder.objects.all(), required=False, allow_null=True)
    beneficiary_address = serializers.CharField(max_length=42)
    amount = BaseUnits()
    vesting_start = serializers.DateTimeField()
    cliff = serializers.DurationField()
    duration = serializers.DurationField()


class ClaimInput(serializers.Serializer):
    wallet = serializers.IntegerField(help_text="The id of one of your verified wallets.")


class WarrantConversionOutput(serializers.Serializer):
    allocations = AllocationOutput(many=True)
    converted_to_nothing = serializers.ListField(child=serializers.IntegerField())
    waiting_for_payment = serializers.ListField(child=serializers.IntegerField(),
                                                help_text="Priced warrants: converted into allocations that wait for their "
                                                          "holders to pay the exercise price.")


class CombinedRowOutput(serializers.Serializer):
    holder = serializers.CharField()
    stakeholder = serializers.IntegerField(source="stakeholder.pk", allow_null=True, default=None)
    shares = serializers.IntegerField()
    options = serializers.IntegerField()
    warrants = serializers.IntegerField()
    safes = serializers.DecimalField(max_digits=20, decimal_places=2)
    company_fully_diluted = serializers.IntegerField()
    company_percent = serializers.DecimalField(max_digits=7, decimal_places=2)
    token_warrants = serializers.IntegerField()
    token_warrant_tokens = BaseUnits()
    allocations = serializers.DictField(child=BaseUnits())
    balance = BaseUnits()
    token_fully_diluted = BaseUnits()
    token_percent = serializers.DecimalField(max_digits=9, decimal_places=4)


class CombinedCapTableOutput(serializers.Serializer):
    as_of = serializers.DateField()
    token = TokenOutput(allow_null=True)
    rows = CombinedRowOutput(many=True)
    total = CombinedRowOutput()
    unattributed_balance = BaseUnits()


class PortfolioSaleOutput(serializers.Serializer):
    sale = serializers.IntegerField(source="sale.pk")
    token = serializers.CharField(source="sale.token.symbol")
    payment_symbol = serializers.CharField(source="sale.payment_symbol")
    paid = BaseUnits()
    tokens = BaseUnits()
    claimed = BaseUnits()
    claimable = BaseUnits()
    refunded = BaseUnits()
    refundable = BaseUnits()
    value = BaseUnits(help_text="The tokens at the sale's price, in payment base units.")


class PortfolioAllocationOutput(serializers.Serializer):
    allocation = AllocationOutput()
    value = BaseUnits(allow_null=True)
    can_claim = serializers.BooleanField()


class PortfolioBalanceOutput(serializers.Serializer):
    token = serializers.CharField(source="token.symbol")
    wallet = serializers.CharField()
    balance = BaseUnits()
    value = BaseUnits(allow_null=True)


class PortfolioShareOutput(serializers.Serializer):
    company = serializers.CharField(source="company.slug")
    fully_diluted = serializers.IntegerField()
    price = serializers.DecimalField(max_digits=20, decimal_places=10, allow_null=True)
    value = serializers.DecimalField(max_digits=24, decimal_places=2, allow_null=True)


class PortfolioHistoryOutput(serializers.Serializer):
    what = serializers.CharField()
    token = serializers.CharField(source="token.symbol")
    amount = BaseUnits()
    tx_hash = serializers.CharField()
    block_number = serializers.IntegerField(allow_null=True)


class PortfolioOutput(serializers.Serializer):
    sales = PortfolioSaleOutput(many=True)
    allocations = PortfolioAllocationOutput(many=True)
    balances = PortfolioBalanceOutput(many=True)
    shares = PortfolioShareOutput(many=True)
    history = PortfolioHistoryOutput(many=True)
