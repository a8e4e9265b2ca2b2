"""The token API: members of a company read its tokens, sales, purchases, warrants, allocations and the combined
cap table; editors (owners and admins) issue and convert warrants and plan and deploy allocations; a holder claims
a converted warrant with one of their wallets and reads their own portfolio. Each write calls one service, as the
pages do; another company's rows are 404."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import Wallet
from accounts.requests import AuthenticatedAPIRequest
from companies.choices import CAN_EDIT
from companies.models import Company
from companies.permissions import company_membership_required
from compliance.audit import Actor
from equity.api.serializers import AsOfInput
from tokens import allocations, warrants
from tokens.api.serializers import (
    AllocationInput,
    AllocationOutput,
    ClaimInput,
    CombinedCapTableOutput,
    PortfolioOutput,
    PurchaseOutput,
    SaleOutput,
    TokenOutput,
    WarrantConversionOutput,
    WarrantInput,
    WarrantOutput,
)
from tokens.captable import combined_cap_table
from tokens.models import Purchase, Sale, Token, TokenAllocation, TokenWarrant
from tokens.portfolio import token_portfolio
from tokens.warrants import holder_is


def _company(request: AuthenticatedAPIRequest, slug: str, *, edit: bool = False) -> Company:
    return company_membership_required(user=request.user, slug=slug, roles=CAN_EDIT if edit else None).company


def _token(company: Company, pk: int) -> Token:
    return get_object_or_404(Token, company=company, pk=pk)


class TokenList(APIView):
    @extend_schema(responses=TokenOutput(many=True), summary="A company's tokens")
    def get(self, request: AuthenticatedAPIRequest, slug: str) -> Response:
        company = _company(request, slug)
        return Response(TokenOutput(Token.objects.filter(company=company).order_by("pk"), many=True).data)


class SaleList(APIView):
    @extend_schema(responses=SaleOutput(many=True), summary="A token's sales")
    def get(self, request: AuthenticatedAPIRequest, slug: str, pk: int) -> Response:
        token = _token(_company(request, slug), pk)
        return Response(SaleOutput(Sale.objects.filter(token=token).order_by("starts_at", "pk"), many=True).data)


class PurchaseList(APIView):
    @extend_schema(responses=PurchaseOutput(many=True), summary="A sale's purchases, as the chain recorded them")
    def get(self, request: AuthenticatedAPIRequest, slug: str, pk: int) -> Response:
        company = _company(request, slug)
        sale = get_object_or_404(Sale, token__company=company, pk=pk)
        rows = Purchase.objects.filter(sale=sale).order_by("block_number", "pk")
        return Response(PurchaseOutput(rows, many=True).data)


class WarrantList(APIView):
    @extend_schema(responses=WarrantOutput(many=True), summary="A company's token warrants")
    def get(self, request: AuthenticatedAPIRequest, slug: str) -> Response:
        company = _company(request, slug)
        rows = TokenWarrant.objects.filter(company=company).select_related("stakeholder").order_by("pk")
        return Response(WarrantOutput(rows, many=True).data)

    @extend_schema(request=WarrantInput, responses={201: WarrantOutput}, summary="Issue a token warrant")
    def post(self, request: AuthenticatedAPIRequest, slug: str) -> Response:
        company = _company(request, slug, edit=True)
        data = WarrantInput(data=request.data, context={"company": company})
        data.is_valid(raise_exception=True)
        warrant = warrants.warrant_issue(actor=Actor.from_request(request), company=company, **data.validated_data)
        return Response(WarrantOutput(warrant).data, status=status.HTTP_201_CREATED)


class WarrantConvert(APIView):
    @extend_schema(request=None, responses=WarrantConversionOutput,
                   summary="Convert the outstanding token warrants into allocations (the token must be live)")
    def post(self, request: AuthenticatedAPIRequest, slug: str, pk: int) -> Response:
        token = _token(_company(request, slug, edit=True), pk)
        result = warrants.warrants_convert(actor=Actor.from_request(request), token=token)
        return Response(WarrantConversionOutput({
            "allocations": result.allocations, "converted_to_nothing": [w.pk for w in result.nothing],
            "waiting_for_payment": [w.pk for w in result.waiting]}).data)


class AllocationList(APIView):
    @extend_schema(responses=AllocationOutput(many=True), summary="A token's allocations, with vesting amounts")
    def get(self, request: AuthenticatedAPIRequest, slug: str, pk: int) -> Response:
        token = _token(_company(request, slug), pk)
        rows = TokenAllocation.objects.filter(token=token).select_related("token").order_by("pk")
        return Response(AllocationOutput(rows, many=True).data)

    @extend_schema(request=AllocationInput, responses={201: AllocationOutput},
                   summary="Plan a team, advisor or treasury allocation vesting through its own wallet")
    def post(self, request: AuthenticatedAPIRequest, slug: str, pk: int) -> Response:
        company = _company(request, slug, edit=True)
        token = _token(company, pk)
        data = AllocationInput(data=request.data, context={"company": company})
        data.is_valid(raise_exception=True)
        allocation = allocations.allocation_create(actor=Actor.from_request(request), token=token,
                                                   **data.validated_data)
        return Response(AllocationOutput(allocation).data, status=status.HTTP_201_CREATED)


class AllocationDeploy(APIView):
    @extend_schema(request=None, responses={202: AllocationOutput(many=True)},
                   summary="Deploy and fund a vesting wallet for every planned allocation")
    def post(self, request: AuthenticatedAPIRequest, slug: str, pk: int) -> Response:
        token = _token(_company(request, slug, edit=True), pk)
        deploying = allocations.allocations_deploy(actor=Actor.from_request(request), token=token)
        return Response(AllocationOutput(deploying, many=True).data, status=status.HTTP_202_ACCEPTED)


class AllocationClaim(APIView):
    @extend_schema(request=ClaimInput, responses={202: AllocationOutput},
                   summary="Claim a converted token warrant into one of your verified wallets")
    def post(self, request: AuthenticatedAPIRequest, pk: int) -> Response:
        # Another person's allocation does not exist for them (404), as another's commitment.
        allocation = get_object_or_404(TokenAllocation.objects.filter(holder_is(request.user)), pk=pk)
        data = ClaimInput(data=request.data)
        data.is_valid(raise_exception=True)
        wallet = Wallet.objects.filter(pk=data.validated_data["wallet"]).first()
        if wallet is None:
            return Response({"wallet": ["No such wallet."]}, status=status.HTTP_400_BAD_REQUEST)
        allocation = warrants.allocation_claim(actor=Actor.from_request(request), allocation=allocation, wallet=wallet)
        return Response(AllocationOutput(allocation).data, status=status.HTTP_202_ACCEPTED)


class CombinedCapTable(APIView):
    @extend_schema(parameters=[AsOfInput], responses=CombinedCapTableOutput,
                   summary="Shares and tokens side by side, per stakeholder")
    def get(self, request: AuthenticatedAPIRequest, slug: str) -> Response:
        company = _company(request, slug)
        query = AsOfInput(data=request.query_params)
        query.is_valid(raise_exception=True)
        as_of = query.validated_data.get("as_of") or timezone.localdate()
        return Response(CombinedCapTableOutput(combined_cap_table(company, as_of)).data)


class Portfolio(APIView):
    @extend_schema(responses=PortfolioOutput, summary="Your tokens and shares, valued, with their history")
    def get(self, request: AuthenticatedAPIRequest) -> Response:
        return Response(PortfolioOutput(token_portfolio(user=request.user)).data)
