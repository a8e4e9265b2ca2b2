"""Endpoints of the cap table: reads for members, writes for editors (owners and admins), like the pages; each
write parses its input, then calls one service."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.throttling import UserRateThrottle
from rest_framework.views import APIView

from accounts.requests import AuthenticatedAPIRequest
from companies.choices import CAN_EDIT
from companies.permissions import company_membership_required
from compliance.audit import Actor
from equity import captable, selectors, services
from equity.api import calculations
from equity.api.serializers import (
    AsOfInput,
    CapTableOutput,
    ConvertibleIssueInput,
    OptionGrantInput,
    OptionUseInput,
    PlanAdjustmentInput,
    PlanInput,
    PlanOutput,
    ShareClassInput,
    ShareClassOutput,
    StakeholderInput,
    StakeholderOutput,
    StockCancellationInput,
    StockIssueInput,
    StockRepurchaseInput,
    StockTransferInput,
    TransactionOutput,
    WarrantExerciseInput,
    WarrantIssueInput,
)
from equity.models import EquityPlan, EquityTransaction, Stakeholder


class ShareClassList(APIView):
    @extend_schema(responses=ShareClassOutput(many=True), summary="A company's share classes")
    def get(self, request: AuthenticatedAPIRequest, slug: str) -> Response:
        company = company_membership_required(user=request.user, slug=slug).company
        return Response(ShareClassOutput(selectors.share_class_list(company=company), many=True).data)

    @extend_schema(request=ShareClassInput, responses={201: ShareClassOutput}, summary="Create a share class")
    def post(self, request: AuthenticatedAPIRequest, slug: str) -> Response:
        company = company_membership_required(user=request.user, slug=slug, roles=CAN_EDIT).company
        data = ShareClassInput(data=request.data)
        data.is_valid(raise_exception=True)
        share_class = services.share_class_create(actor=Actor.from_request(request), company=company,
                                                  **data.validated_data)
        return Response(ShareClassOutput(share_class).data, status=status.HTTP_201_CREATED)


class StakeholderList(APIView):
    @extend_schema(responses=StakeholderOutput(many=True), summary="A company's stakeholders")
    def get(self, request: AuthenticatedAPIRequest, slug: str) -> Response:
        company = company_membership_required(user=request.user, slug=slug).company
        return Response(StakeholderOutput(Stakeholder.objects.filter(company=company), many=True).data)

    @extend_schema(request=StakeholderInput, responses={201: StakeholderOutput}, summary="Add a stakeholder")
    def post(self, request: AuthenticatedAPIRequest, slug: str) -> Response:
        company = company_membership_required(user=request.user, slug=slug, roles=CAN_EDIT).company
        data = StakeholderInput(data=request.data)
        data.is_valid(raise_exception=True)
        stakeholder = services.stakeholder_create(actor=Actor.from_request(request), company=company,
                                                  **data.validated_data)
        return Response(StakeholderOutput(stakeholder).data, status=status.HTTP_201_CREATED)


class TransactionList(APIView):
    @extend_schema(responses=TransactionOutput(many=True), summary="A company's equity ledger, oldest first")
    def get(self, request: AuthenticatedAPIRequest, slug: str) -> Response:
        company = company_membership_required(user=request.user, slug=slug).company
        return Response(TransactionOutput(selectors.transaction_list(company=company), many=True).data)


class CapTable(APIView):
    @extend_schema(parameters=[AsOfInput], responses=CapTableOutput, summary="The cap table as of a date")
    def get(self, request: AuthenticatedAPIRequest, slug: str) -> Response:
        company = company_membership_required(user=request.user, slug=slug).company
        query = AsOfInput(data=request.query_params)
        query.is_valid(raise_exception=True)
        as_of = query.validated_data.get("as_of") or timezone.localdate()
        table = selectors.cap_table(company=company, as_of=as_of)
        return Response(CapTableOutput({
            "as_of": as_of, "total_outstanding": table.total_outstanding,
            "total_fully_diluted": table.total_fully_diluted, "by_stakeholder": table.by_stakeholder,
            "by_class": table.by_class,
        }).data)


class PlanList(APIView):
    @extend_schema(responses=PlanOutput(many=True), summary="A company's option pools, with what is left to grant")
    def get(self, request: AuthenticatedAPIRequest, slug: str) -> Response:
        company = company_membership_required(user=request.user, slug=slug).company
        plans = list(EquityPlan.objects.filter(company=company).select_related("share_class").order_by("name"))
        for plan in plans:
            plan.available = services.pool_available(plan)  # type: ignore[attr-defined]
        return Response(PlanOutput(plans, many=True).data)

    @extend_schema(request=PlanInput, responses={201: PlanOutput}, summary="Create an option pool")
    def post(self, request: AuthenticatedAPIRequest, slug: str) -> Response:
        company = company_membership_required(user=request.user, slug=slug, roles=CAN_EDIT).company
        data = PlanInput(data=request.data, context={"company": company})
        data.is_valid(raise_exception=True)
        plan = services.plan_create(actor=Actor.from_request(request), **data.validated_data)
        plan.available = services.pool_available(plan)  # type: ignore[attr-defined]
        return Response(PlanOutput(plan).data, status=status.HTTP_201_CREATED)


class LedgerWrite(APIView):
    """Appends one kind of ledger entry: an editor of the company only, input checked against the company's own
    stakeholders, classes, pools and securities, then one service call; the new entry comes back (201)."""

    input: type[serializers.Serializer]

    def record(self, actor: Actor, data: dict[str, Any]) -> EquityTransaction:
        raise NotImplementedError

    def post(self, request: AuthenticatedAPIRequest, slug: str) -> Response:
        company = company_membership_required(user=request.user, slug=slug, roles=CAN_EDIT).company
        data = self.input(data=request.data, context={"company": company})
        data.is_valid(raise_exception=True)
        row = self.record(Actor.from_request(request), dict(data.validated_data))
        return Response(TransactionOutput(row).data, status=status.HTTP_201_CREATED)


@extend_schema(request=PlanAdjustmentInput, responses={201: TransactionOutput},
               summary="Grow or shrink an option pool")
class PlanAdjustment(LedgerWrite):
    input = PlanAdjustmentInput

    def record(self, actor: Actor, data: dict[str, Any]) -> EquityTransaction:
        return services.plan_adjust(actor=actor, **data)


@extend_schema(request=StockIssueInput, responses={201: TransactionOutput}, summary="Issue stock")
class StockIssuance(LedgerWrite):
    input = StockIssueInput

    def record(self, actor: Actor, data: dict[str, Any]) -> EquityTransaction:
        return services.stock_issue(actor=actor, **data)


@extend_schema(request=OptionGrantInput, responses={201: TransactionOutput}, summary="Grant options from a pool")
class OptionGrant(LedgerWrite):
    input = OptionGrantInput

    def record(self, actor: Actor, data: dict[str, Any]) -> EquityTransaction:
        return services.option_grant(actor=actor, **data)


@extend_schema(request=OptionUseInput, responses={201: TransactionOutput},
               summary="Exercise options into stock of the pool's class")
class OptionExercise(LedgerWrite):
    input = OptionUseInput

    def record(self, actor: Actor, data: dict[str, Any]) -> EquityTransaction:
        return services.option_exercise(actor=actor, **data)


@extend_schema(request=OptionUseInput, responses={201: TransactionOutput},
               summary="Cancel options (they return to the pool)")
class OptionCancellation(LedgerWrite):
    input = OptionUseInput

    def record(self, actor: Actor, data: dict[str, Any]) -> EquityTransaction:
        return services.option_cancel(actor=actor, **data)


@extend_schema(request=StockCancellationInput, responses={201: TransactionOutput}, summary="Cancel stock")
class StockCancellation(LedgerWrite):
    input = StockCancellationInput

    def record(self, actor: Actor, data: dict[str, Any]) -> EquityTransaction:
        return services.stock_cancel(actor=actor, **data)


@extend_schema(request=StockRepurchaseInput, responses={201: TransactionOutput},
               summary="Repurchase stock at a price")
class StockRepurchase(LedgerWrite):
    input = StockRepurchaseInput

    def record(self, actor: Actor, data: dict[str, Any]) -> EquityTransaction:
        return services.stock_cancel(actor=actor, **data)


@extend_schema(request=StockTransferInput, responses={201: TransactionOutput},
               summary="Transfer stock to another stakeholder")
class StockTransfer(LedgerWrite):
    input = StockTransferInput

    def record(self, actor: Actor, data: dict[str, Any]) -> EquityTransaction:
        return services.stock_transfer(actor=actor, **data)


@extend_schema(request=ConvertibleIssueInput, responses={201: TransactionOutput},
               summary="Record a SAFE or a convertible note")
class ConvertibleIssuance(LedgerWrite):
    input = ConvertibleIssueInput

    def record(self, actor: Actor, data: dict[str, Any]) -> EquityTransaction:
        return services.convertible_issue(actor=actor, **data)


@extend_schema(request=WarrantIssueInput, responses={201: TransactionOutput}, summary="Issue a warrant")
class WarrantIssuance(LedgerWrite):
    input = WarrantIssueInput

    def record(self, actor: Actor, data: dict[str, Any]) -> EquityTransaction:
        return services.warrant_issue(actor=actor, **data)


@extend_schema(request=WarrantExerciseInput, responses={201: TransactionOutput},
               summary="Exercise a warrant into stock of its class")
class WarrantExercise(LedgerWrite):
    input = WarrantExerciseInput

    def record(self, actor: Actor, data: dict[str, Any]) -> EquityTransaction:
        return services.warrant_exercise(actor=actor, **data)


class CalculationThrottle(UserRateThrottle):
    """Calculations are exact arithmetic on whatever the caller sends: a rate per user (settings
    `DEFAULT_THROTTLE_RATES["calculations"]`, 60 a minute by default), on top of the input size limits."""

    scope = "calculations"

    def get_rate(self) -> str:
        return str(api_settings.DEFAULT_THROTTLE_RATES.get(self.scope) or "60/min")


def _engine_refusal(error: ValueError) -> serializers.ValidationError:
    """The engine's refusal (InfeasibleRound, inconsistent terms) as a 400 with its message."""
    return serializers.ValidationError({"detail": [str(error)]})


class ProFormaCalculation(APIView):
    throttle_classes = [CalculationThrottle]

    @extend_schema(
        request=calculations.ProFormaInput, responses=calculations.ProFormaOutput,
        summary="Model a priced round (nothing is saved)",
        description="The price per share, each investor's new shares, each SAFE's and note's conversion with the "
                    "price it converted at, the pool top-up and the ownership table after the round, from a "
                    "capitalization, convertibles and the round's terms sent in the request.")
    def post(self, request: AuthenticatedAPIRequest) -> Response:
        data = calculations.ProFormaInput(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            capitalization = calculations.capitalization_from(data.validated_data)
            result = captable.pro_forma(capitalization, calculations.round_from(data.validated_data, capitalization),
                                        calculations.convertibles_from(data.validated_data))
        except ValueError as error:  # InfeasibleRound included
            raise _engine_refusal(error) from error
        return Response(calculations.ProFormaOutput(calculations.pro_forma_output(result)).data)


class WaterfallCalculation(APIView):
    throttle_classes = [CalculationThrottle]

    @extend_schema(
        request=calculations.WaterfallInput, responses=calculations.WaterfallOutput,
        summary="Who receives what at an exit (nothing is saved)",
        description="Each position's and holder's proceeds in cents that add up exactly to the amount distributed, "
                    "with every preferred position's choice (preference or convert) and every option's (exercise "
                    "or not) made as its holder would.")
    def post(self, request: AuthenticatedAPIRequest) -> Response:
        data = calculations.WaterfallInput(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            capitalization = calculations.capitalization_from(data.validated_data)
            result = captable.waterfall(capitalization, data.validated_data["exit_value"])
        except ValueError as error:
            raise _engine_refusal(error) from error
        return Response(calculations.WaterfallOutput(calculations.waterfall_output(capitalization, result)).data)
