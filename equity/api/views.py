"""Read endpoints of the cap table; each checks company membership like the pages do."""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.requests import AuthenticatedAPIRequest
from companies.permissions import company_membership_required
from equity import selectors
from equity.api.serializers import (
    AsOfInput,
    CapTableOutput,
    ShareClassOutput,
    StakeholderOutput,
    TransactionOutput,
)
from equity.models import Stakeholder


class ShareClassList(APIView):
    @extend_schema(responses=ShareClassOutput(many=True), summary="A company's share classes")
    def get(self, request: AuthenticatedAPIRequest, slug: str) -> Response:
        company = company_membership_required(user=request.user, slug=slug).company
        return Response(ShareClassOutput(selectors.share_class_list(company=company), many=True).data)


class StakeholderList(APIView):
    @extend_schema(responses=StakeholderOutput(many=True), summary="A company's stakeholders")
    def get(self, request: AuthenticatedAPIRequest, slug: str) -> Response:
        company = company_membership_required(user=request.user, slug=slug).company
        return Response(StakeholderOutput(Stakeholder.objects.filter(company=company), many=True).data)


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
