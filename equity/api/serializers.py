from __future__ import annotations

from rest_framework import serializers

from equity.models import EquityTransaction, ShareClass, Stakeholder


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
