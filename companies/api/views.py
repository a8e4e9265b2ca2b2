"""One view per operation; each parses input with its serializer, checks permission, calls one service."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.requests import AuthenticatedAPIRequest
from companies import selectors, services
from companies.api.serializers import (
    CompanyCreateInput,
    CompanyOutput,
    CompanyUpdateInput,
    InvitationAcceptInput,
    InvitationInput,
    InvitationOutput,
    MembershipOutput,
    PublicCompanyOutput,
)
from companies.choices import CAN_EDIT, CAN_INVITE
from companies.models import Company
from companies.permissions import company_membership_required
from compliance.audit import Actor


class CompanyListCreate(APIView):
    @extend_schema(responses=CompanyOutput(many=True), summary="Companies you are a member of")
    def get(self, request: AuthenticatedAPIRequest) -> Response:
        companies = selectors.company_list_for_member(user=request.user)
        return Response(CompanyOutput(companies, many=True, context={"request": request}).data)

    @extend_schema(request=CompanyCreateInput, responses={201: CompanyOutput}, summary="Create a company")
    def post(self, request: AuthenticatedAPIRequest) -> Response:
        data = CompanyCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        company = services.company_create(actor=Actor.from_request(request), **data.validated_data)
        return Response(CompanyOutput(company, context={"request": request}).data, status=status.HTTP_201_CREATED)


class CompanyDetail(APIView):
    @extend_schema(responses=CompanyOutput, summary="A company you are a member of")
    def get(self, request: AuthenticatedAPIRequest, slug: str) -> Response:
        membership = company_membership_required(user=request.user, slug=slug)
        return Response(CompanyOutput(membership.company, context={"request": request}).data)

    @extend_schema(request=CompanyUpdateInput, responses=CompanyOutput, summary="Change a company's details")
    def patch(self, request: AuthenticatedAPIRequest, slug: str) -> Response:
        membership = company_membership_required(user=request.user, slug=slug, roles=CAN_EDIT)
        data = CompanyUpdateInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        company = services.company_update(actor=Actor.from_request(request), company=membership.company,
                                          **data.validated_data)
        return Response(CompanyOutput(company, context={"request": request}).data)


class MemberList(APIView):
    @extend_schema(responses=MembershipOutput(many=True), summary="A company's team")
    def get(self, request: AuthenticatedAPIRequest, slug: str) -> Response:
        membership = company_membership_required(user=request.user, slug=slug)
        return Response(MembershipOutput(selectors.membership_list(company=membership.company), many=True).data)


class InvitationListCreate(APIView):
    @extend_schema(responses=InvitationOutput(many=True), summary="A company's invitations")
    def get(self, request: AuthenticatedAPIRequest, slug: str) -> Response:
        membership = company_membership_required(user=request.user, slug=slug, roles=CAN_INVITE)
        return Response(InvitationOutput(selectors.invitation_list(company=membership.company), many=True).data)

    @extend_schema(request=InvitationInput, responses={201: InvitationOutput}, summary="Invite someone by e-mail")
    def post(self, request: AuthenticatedAPIRequest, slug: str) -> Response:
        membership = company_membership_required(user=request.user, slug=slug, roles=CAN_INVITE)
        data = InvitationInput(data=request.data)
        data.is_valid(raise_exception=True)
        invitation = services.invitation_create(
            actor=Actor.from_request(request), company=membership.company, **data.validated_data
        )
        return Response(InvitationOutput(invitation).data, status=status.HTTP_201_CREATED)


class InvitationAccept(APIView):
    @extend_schema(request=InvitationAcceptInput, responses={201: MembershipOutput}, summary="Accept an invitation")
    def post(self, request: AuthenticatedAPIRequest) -> Response:
        data = InvitationAcceptInput(data=request.data)
        data.is_valid(raise_exception=True)
        membership = services.invitation_accept(actor=Actor.from_request(request), token=data.validated_data["token"])
        return Response(MembershipOutput(membership).data, status=status.HTTP_201_CREATED)


class PublicCompanyList(APIView):
    permission_classes = [AllowAny]

    @extend_schema(responses=PublicCompanyOutput(many=True), summary="Companies on Tranche (public)")
    def get(self, request: AuthenticatedAPIRequest) -> Response:
        companies = selectors.company_list_public()
        return Response(PublicCompanyOutput(companies, many=True, context={"request": request}).data)


class PublicCompanyDetail(APIView):
    permission_classes = [AllowAny]

    @extend_schema(responses=PublicCompanyOutput, summary="A company's public page")
    def get(self, request: AuthenticatedAPIRequest, slug: str) -> Response:
        company = get_object_or_404(Company, slug=slug)
        return Response(PublicCompanyOutput(company, context={"request": request}).data)
