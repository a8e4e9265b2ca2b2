"""Rounds and investments over the API: members read, editors set a round up, open, record wires, close and
cancel, each through the same service as the pages."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.requests import AuthenticatedAPIRequest
from companies.choices import CAN_EDIT
from companies.permissions import company_membership_required
from compliance.audit import Actor
from compliance.choices import Exemption
from equity import selectors, services
from equity.api.serializers import CompanyScopedPrimaryKey
from equity.choices import RoundKind, SafeInstrument
from equity.models import Investment, Round, Stakeholder
from payments import services as payment_services

MONEY: dict[str, Any] = {"max_digits": 20, "decimal_places": 2}


class RoundOutput(serializers.ModelSerializer):
    raised = serializers.SerializerMethodField()

    class Meta:
        model = Round
        fields = ["id", "name", "kind", "state", "currency", "target_amount", "minimum_amount", "maximum_amount",
                  "minimum_ticket", "raised", "opens_on", "closes_on", "exemption", "jurisdictions",
                  "pre_money_valuation", "pool_target_percent", "pool_new_shares", "series_name",
                  "liquidation_multiple", "participating", "participation_cap", "instrument", "valuation_cap",
                  "discount", "mfn", "pro_rata", "price_per_share", "share_class", "closed_on"]

    @extend_schema_field(serializers.DecimalField(**MONEY))
    def get_raised(self, round: Round) -> str:
        """Money as a string, exact, like every other amount of the API."""
        return f"{selectors.round_raised(round=round):.2f}"


class RoundInput(serializers.Serializer):
    """A draft's terms. On create, name, kind and the amounts are required; on update every field is optional."""

    name = serializers.CharField(max_length=100)
    kind = serializers.ChoiceField(choices=RoundKind.choices)
    target_amount = serializers.DecimalField(**MONEY, min_value=Decimal("0.01"))
    minimum_amount = serializers.DecimalField(**MONEY, min_value=Decimal("0.01"))
    maximum_amount = serializers.DecimalField(**MONEY, min_value=Decimal("0.01"))
    minimum_ticket = serializers.DecimalField(**MONEY, min_value=Decimal(0), required=False)
    opens_on = serializers.DateField(required=False, allow_null=True)
    closes_on = serializers.DateField(required=False, allow_null=True)
    exemption = serializers.ChoiceField(choices=Exemption.choices, required=False)
    jurisdictions = serializers.ListField(child=serializers.CharField(max_length=5), required=False,
                                          help_text="ISO 3166-1 country codes, or US-XX for a US state.")
    pre_money_valuation = serializers.DecimalField(**MONEY, min_value=Decimal("0.01"), required=False,
                                                   allow_null=True)
    pool_target_percent = serializers.DecimalField(max_digits=5, decimal_places=2, required=False, allow_null=True)
    pool_new_shares = serializers.IntegerField(min_value=1, required=False, allow_null=True)
    series_name = serializers.CharField(max_length=100, required=False, allow_blank=True)
    liquidation_multiple = serializers.DecimalField(max_digits=6, decimal_places=2, min_value=Decimal(0),
                                                    required=False)
    participating = serializers.BooleanField(required=False)
    participation_cap = serializers.DecimalField(max_digits=6, decimal_places=2, required=False, allow_null=True)
    instrument = serializers.ChoiceField(choices=SafeInstrument.choices, required=False, allow_blank=True)
    valuation_cap = serializers.DecimalField(**MONEY, min_value=Decimal("0.01"), required=False, allow_null=True)
    discount = serializers.DecimalField(max_digits=5, decimal_places=4, required=False, allow_null=True)
    mfn = serializers.BooleanField(required=False)
    pro_rata = serializers.BooleanField(required=False)

    def validate_jurisdictions(self, value: list[str]) -> list[str]:
        """Codes in upper case; whether each is a country or a US state is the service's rule (`round_create`)."""
        return [code.strip().upper() for code in value]


class InvestmentOutput(serializers.ModelSerializer):
    stakeholder_name = serializers.CharField(source="stakeholder.name", read_only=True)
    security = serializers.CharField(source="security.security_ref", read_only=True, allow_null=True, default=None)

    class Meta:
        model = Investment
        fields = ["id", "stakeholder", "stakeholder_name", "amount", "currency", "source", "state", "received_on",
                  "reference", "security", "created_at"]


class InvestmentInput(serializers.Serializer):
    stakeholder = CompanyScopedPrimaryKey(queryset=Stakeholder.objects.all())
    amount = serializers.DecimalField(**MONEY, min_value=Decimal("0.01"))
    received_on = serializers.DateField()
    reference = serializers.CharField(max_length=100, required=False, default="", allow_blank=True)


def _round(request: AuthenticatedAPIRequest, slug: str, pk: int, roles: Any = None) -> Round:
    membership = company_membership_required(user=request.user, slug=slug, roles=roles)
    return get_object_or_404(Round, company=membership.company, pk=pk)


class RoundList(APIView):
    @extend_schema(responses=RoundOutput(many=True), summary="A company's rounds, newest first")
    def get(self, request: AuthenticatedAPIRequest, slug: str) -> Response:
        company = company_membership_required(user=request.user, slug=slug).company
        return Response(RoundOutput(selectors.round_list(company=company), many=True).data)

    @extend_schema(request=RoundInput, responses={201: RoundOutput}, summary="Create a draft round")
    def post(self, request: AuthenticatedAPIRequest, slug: str) -> Response:
        company = company_membership_required(user=request.user, slug=slug, roles=CAN_EDIT).company
        data = RoundInput(data=request.data)
        data.is_valid(raise_exception=True)
        round = services.round_create(actor=Actor.from_request(request), company=company, **data.validated_data)
        return Response(RoundOutput(round).data, status=status.HTTP_201_CREATED)


class RoundDetail(APIView):
    @extend_schema(responses=RoundOutput, summary="A round")
    def get(self, request: AuthenticatedAPIRequest, slug: str, pk: int) -> Response:
        return Response(RoundOutput(_round(request, slug, pk)).data)

    @extend_schema(request=RoundInput, responses=RoundOutput, summary="Change a draft round's terms")
    def patch(self, request: AuthenticatedAPIRequest, slug: str, pk: int) -> Response:
        round = _round(request, slug, pk, CAN_EDIT)
        data = RoundInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        round = services.round_update(actor=Actor.from_request(request), round=round, **data.validated_data)
        return Response(RoundOutput(round).data)


# Closing and cancelling go through payments: they move the investors' money held in escrow with the ledger.
ROUND_ACTIONS = {"open": services.round_open, "start-closing": services.round_start_closing,
                 "close": payment_services.round_close, "cancel": payment_services.round_fail}


class RoundAction(APIView):
    """POST open, start-closing, close or cancel. Closing writes the ledger in one transaction."""

    @extend_schema(request=None, responses=RoundOutput, summary="Open, start closing, close or cancel a round")
    def post(self, request: AuthenticatedAPIRequest, slug: str, pk: int, action: str) -> Response:
        round = _round(request, slug, pk, CAN_EDIT)
        round = ROUND_ACTIONS[action](actor=Actor.from_request(request), round=round)
        return Response(RoundOutput(round).data)


class InvestmentList(APIView):
    @extend_schema(responses=InvestmentOutput(many=True), summary="A round's investments")
    def get(self, request: AuthenticatedAPIRequest, slug: str, pk: int) -> Response:
        return Response(InvestmentOutput(selectors.investment_list(round=_round(request, slug, pk)), many=True).data)

    @extend_schema(request=InvestmentInput, responses={201: InvestmentOutput},
                   summary="Record an investment received outside Tranche (a wire)")
    def post(self, request: AuthenticatedAPIRequest, slug: str, pk: int) -> Response:
        round = _round(request, slug, pk, CAN_EDIT)
        data = InvestmentInput(data=request.data, context={"company": round.company})
        data.is_valid(raise_exception=True)
        investment = services.investment_record(actor=Actor.from_request(request), round=round, **data.validated_data)
        return Response(InvestmentOutput(investment).data, status=status.HTTP_201_CREATED)


class InvestmentCancel(APIView):
    @extend_schema(request=None, responses=InvestmentOutput, summary="Cancel a recorded wire before the close")
    def post(self, request: AuthenticatedAPIRequest, slug: str, pk: int, investment_pk: int) -> Response:
        round = _round(request, slug, pk, CAN_EDIT)
        investment = get_object_or_404(Investment, round=round, pk=investment_pk)
        investment = services.investment_cancel(actor=Actor.from_request(request), investment=investment)
        return Response(InvestmentOutput(investment).data)
