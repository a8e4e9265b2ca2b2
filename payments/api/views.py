"""Investing over the API, through the same services as the pages.

- An investor commits to an open round, signs the subscription agreement (only then is the provider asked for the
  payment, as on the pages), pays (in the sandbox; with Stripe the browser confirms the payment with Stripe.js),
  cancels or reconfirms, and reads their payments, refunds and documents. Another investor's commitment is not
  found (404), as if it did not exist.
- The company's team reads a round's commitments; its editors decline one.
- The payment provider's webhooks arrive here, unauthenticated: the signature is the proof.

No view runs in a transaction of its own (ATOMIC_REQUESTS is off): the services open theirs, and the provider is
called only after they commit (`..._outside_transaction`).
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.permissions import AllowAny
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.requests import AuthenticatedAPIRequest
from companies.choices import CAN_EDIT, Role
from companies.models import Membership
from companies.permissions import company_membership_required
from compliance.audit import Actor
from equity.choices import InvestmentState, RoundState
from equity.models import Round
from payments import selectors, services, token_orders, warrant_exercises
from payments.api.serializers import (
    CommitmentCreateInput,
    CommitmentDetailOutput,
    CommitmentOutput,
    CommitmentPayInput,
    CommitmentSignInput,
    DocumentOutput,
    PaymentOutput,
    PaymentToConfirm,
    RefundOutput,
    RoundCommitmentOutput,
    TokenOrderCreateInput,
    TokenOrderOutput,
    WebhookReceipt,
    latest_payment,
)
from payments.choices import DocumentKind, PaymentMethod, TokenOrderState
from payments.filters import CommitmentFilter
from payments.models import Commitment, Document, Payment, Refund, TokenOrder
from payments.providers import payment_provider
from payments.providers.base import InvalidSignature, ProviderError
from payments.providers.sandbox import SandboxProvider
from tokens import selectors as token_selectors
from tokens.models import Sale as TokenSale
from tokens.models import TokenAllocation
from tokens.warrants import holder_is

logger = logging.getLogger(__name__)

INVESTOR = ["commitments"]
TOKEN_ORDERS = ["token orders"]


# --- the investor ------------------------------------------------------------------------------------------------


def _own_commitment(request: AuthenticatedAPIRequest, pk: int) -> Commitment:
    commitment = selectors.commitment_get_for_investor(user=request.user, pk=pk)
    if commitment is None:
        raise Http404
    return commitment


def _detail(request: AuthenticatedAPIRequest, pk: int) -> dict[str, Any]:
    """The commitment as it is now, read again after a service changed it."""
    return CommitmentDetailOutput(_own_commitment(request, pk)).data


def _current_payment(commitment: Commitment) -> Payment:
    """The payment to collect; `investment_commit` writes one with every commitment."""
    payment = latest_payment(commitment)
    if payment is None:
        raise Payment.DoesNotExist(f"{commitment} has no payment")
    return payment


def _ask_provider(payment: Payment) -> Payment:
    """Ask the provider for a payment written here (idempotent: the payment's key is the provider's idempotency key).
    A provider that does not answer leaves the payment without a client secret; reading it again asks again."""
    try:
        return services.payment_create_outside_transaction(payment=payment, provider=payment_provider(payment.provider))
    except ProviderError:
        logger.exception("The payment provider did not create payment %s", payment.key)
        return payment


def _payment_at_provider(commitment: Commitment) -> bool:
    """Once the agreement is signed, ask the provider for the payment the commitment wrote, as the pages do.
    Returns whether it asked."""
    payment = _current_payment(commitment)
    if payment.provider_id or commitment.signed_at is None \
            or commitment.investment.state != InvestmentState.PENDING_PAYMENT:
        return False
    _ask_provider(payment)
    return True


class CommitmentList(APIView):
    @extend_schema(responses=CommitmentOutput(many=True), summary="Your commitments, newest first", tags=INVESTOR,
                   operation_id="commitment_list")
    def get(self, request: AuthenticatedAPIRequest) -> Response:
        commitments = selectors.commitment_list_for_investor(user=request.user)
        return Response(CommitmentOutput(commitments, many=True).data)


class CommitmentCreate(APIView):
    @extend_schema(
        request=CommitmentCreateInput, responses={201: CommitmentDetailOutput}, tags=INVESTOR,
        operation_id="commitment_create", summary="Commit to an open round",
        description="Checks the round, your eligibility and your Regulation Crowdfunding limit, and writes the "
                    "commitment and the payment to collect. Next, sign the subscription agreement: only then is "
                    "the payment provider asked for the payment, and `payment.client_secret` given.")
    def post(self, request: AuthenticatedAPIRequest, pk: int) -> Response:
        # A draft round is not published: not found, like a round that does not exist.
        round = get_object_or_404(Round.objects.exclude(state=RoundState.DRAFT), pk=pk)
        data = CommitmentCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        commitment = services.investment_commit(actor=Actor.from_request(request), round=round,
                                                provider=payment_provider(), **data.validated_data)
        return Response(_detail(request, commitment.pk), status=status.HTTP_201_CREATED)


class CommitmentDetail(APIView):
    @extend_schema(
        responses=CommitmentDetailOutput, tags=INVESTOR, operation_id="commitment_retrieve",
        summary="One of your commitments, with its payment",
        description="A signed commitment whose payment the provider has not created yet (it did not answer when "
                    "you signed) is asked for again here.")
    def get(self, request: AuthenticatedAPIRequest, pk: int) -> Response:
        commitment = _own_commitment(request, pk)
        if _payment_at_provider(commitment):
            commitment = _own_commitment(request, pk)
        return Response(CommitmentDetailOutput(commitment).data)


class CommitmentSign(APIView):
    @extend_schema(
        request=CommitmentSignInput, responses=CommitmentDetailOutput, tags=INVESTOR,
        operation_id="commitment_sign", summary="Sign the subscription agreement",
        description="Signs by typing your full legal name; the agreement's SHA-256 is kept with the name, the time "
                    "and your address, and the signed agreement is among the commitment's documents. The answer "
                    "carries the payment's `client_secret` for Stripe.js.")
    def post(self, request: AuthenticatedAPIRequest, pk: int) -> Response:
        commitment = _own_commitment(request, pk)
        data = CommitmentSignInput(data=request.data)
        data.is_valid(raise_exception=True)
        services.commitment_sign(actor=Actor.from_request(request), commitment=commitment,
                                 signed_name=data.validated_data["signed_name"],
                                 agreement_pdf=services.agreement_pdf(commitment))
        _payment_at_provider(_own_commitment(request, pk))
        return Response(_detail(request, pk))


class CommitmentCancel(APIView):
    @extend_schema(
        request=None, responses=CommitmentDetailOutput, tags=INVESTOR, operation_id="commitment_cancel",
        summary="Cancel a commitment",
        description="For any reason, until the cancellation cut-off (48 hours before a Regulation Crowdfunding "
                    "deadline). Money already paid is refunded.")
    def post(self, request: AuthenticatedAPIRequest, pk: int) -> Response:
        services.commitment_cancel(actor=Actor.from_request(request), commitment=_own_commitment(request, pk))
        return Response(_detail(request, pk))


class CommitmentReconfirm(APIView):
    @extend_schema(
        request=None, responses=CommitmentDetailOutput, tags=INVESTOR, operation_id="commitment_reconfirm",
        summary="Reconfirm a commitment after a material change",
        description="Before `reconfirm_by`; a commitment not reconfirmed by then is cancelled and refunded.")
    def post(self, request: AuthenticatedAPIRequest, pk: int) -> Response:
        services.commitment_reconfirm(actor=Actor.from_request(request), commitment=_own_commitment(request, pk))
        return Response(_detail(request, pk))


class CommitmentPay(APIView):
    @extend_schema(
        request=CommitmentPayInput, responses=CommitmentDetailOutput, tags=INVESTOR, operation_id="commitment_pay",
        summary="Pay a signed commitment (sandbox only)",
        description="Stands in for the browser in the sandbox: a card number, or a bank account's routing and "
                    "account numbers, per the commitment's method (Stripe's test numbers). A declined card is not "
                    "an error of the request: the answer is 200 with `payment_status` `failed` and the payment's "
                    "`failure_message`, and the card can be tried again. A bank debit answers `processing` until "
                    "it settles. With Stripe the browser confirms with Stripe.js, and this answers 400.")
    def post(self, request: AuthenticatedAPIRequest, pk: int) -> Response:
        commitment = _own_commitment(request, pk)
        payment = _current_payment(commitment)
        provider = payment_provider(payment.provider)
        if not isinstance(provider, SandboxProvider):
            raise ValidationError(_("Pay in the browser: Stripe.js confirms the payment with its client secret. "
                                    "Only the sandbox takes card and bank numbers here."))
        if commitment.investment.state != InvestmentState.PENDING_PAYMENT:
            raise ValidationError(_("This commitment is %(state)s; there is nothing to pay.")
                                  % {"state": commitment.investment.get_state_display().lower()})
        # The pages ask for the signature before the payment; so does the API.
        if commitment.signed_at is None:
            raise ValidationError(_("Sign the subscription agreement first."))
        data = CommitmentPayInput(data=request.data, context={"method": commitment.method})
        data.is_valid(raise_exception=True)
        if not payment.provider_id:  # the provider did not answer when the agreement was signed
            payment = services.payment_create_outside_transaction(payment=payment, provider=provider)
        try:
            if commitment.method == PaymentMethod.CARD:
                answer = provider.confirm_card(payment.provider_id or "", number=data.validated_data["number"])
            else:
                answer = provider.confirm_bank_account(payment.provider_id or "",
                                                       routing_number=data.validated_data["routing_number"],
                                                       account_number=data.validated_data["account_number"])
        except ProviderError as error:
            field = {"invalid_number": "number", "invalid_bank_account": "account_number"}.get(error.code, "detail")
            raise serializers.ValidationError({field: [str(error)]}) from error
        services.payment_apply(data=answer, provider=provider)
        return Response(_detail(request, pk))


class WarrantExercise(APIView):
    @extend_schema(
        request=None, responses={201: PaymentToConfirm}, tags=INVESTOR, operation_id="token_warrant_exercise",
        summary="Pay a priced token warrant's exercise price",
        description="For a converted priced warrant awaiting payment (`state` `unpaid` in the token allocations): "
                    "writes the payment of its `exercise_price` (or finds the one still open) and asks the payment "
                    "provider for it. Confirm it with Stripe.js and the `client_secret`; once it succeeds the "
                    "allocation is `claimable`.")
    def post(self, request: AuthenticatedAPIRequest, pk: int) -> Response:
        # Another person's allocation does not exist for them (404), as another's commitment.
        allocation = get_object_or_404(TokenAllocation.objects.filter(holder_is(request.user)), pk=pk)
        payment = warrant_exercises.exercise_start(actor=Actor.from_request(request), allocation=allocation,
                                                   provider=payment_provider())
        return Response(PaymentToConfirm(_ask_provider(payment)).data, status=status.HTTP_201_CREATED)


# --- tokens by card ---------------------------------------------------------------------------------------------


def _own_order(request: AuthenticatedAPIRequest, pk: int) -> TokenOrder:
    """The investor's own card order; anyone else's does not exist for them (404)."""
    return get_object_or_404(TokenOrder.objects.select_related("sale__token").filter(investor=request.user), pk=pk)


def _order_at_provider(order: TokenOrder) -> TokenOrder:
    """An order waiting for its card payment: the provider is asked for the payment if it has not answered yet."""
    payment = token_orders.order_payment(order)
    if order.state == TokenOrderState.PENDING_PAYMENT and payment is not None and not payment.provider_id:
        _ask_provider(payment)
    return order


class TokenOrderList(APIView):
    @extend_schema(responses=TokenOrderOutput(many=True), tags=TOKEN_ORDERS, operation_id="token_order_list",
                   summary="Your card orders of tokens, newest first")
    def get(self, request: AuthenticatedAPIRequest) -> Response:
        orders = TokenOrder.objects.filter(investor=request.user).select_related("sale__token").order_by(
            "-created_at", "-pk")
        return Response(TokenOrderOutput(orders, many=True).data)


class TokenOrderCreate(APIView):
    @extend_schema(
        request=TokenOrderCreateInput, responses={201: TokenOrderOutput}, tags=TOKEN_ORDERS,
        operation_id="token_order_create", summary="Order a sale's tokens, paid by card",
        description="For a sale that takes cards: checks your eligibility, the wallet (one of your verified wallets "
                    "that may buy in the sale) and what you may still buy, writes the order and asks the payment "
                    "provider for the payment. Confirm it with Stripe.js and `payment.client_secret`; once it "
                    "succeeds the platform buys the tokens for the wallet.")
    def post(self, request: AuthenticatedAPIRequest, pk: int) -> Response:
        sale = get_object_or_404(TokenSale.objects.filter(state__in=token_selectors.PUBLIC_STATES), pk=pk)
        data = TokenOrderCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        order = token_orders.token_order_create(actor=Actor.from_request(request), sale=sale,
                                                provider=payment_provider(), **data.validated_data)
        return Response(TokenOrderOutput(_order_at_provider(_own_order(request, order.pk))).data,
                        status=status.HTTP_201_CREATED)


class TokenOrderDetail(APIView):
    @extend_schema(responses=TokenOrderOutput, tags=TOKEN_ORDERS, operation_id="token_order_retrieve",
                   summary="One of your card orders of tokens",
                   description="An order whose payment the provider has not created yet is asked for again here.")
    def get(self, request: AuthenticatedAPIRequest, pk: int) -> Response:
        return Response(TokenOrderOutput(_order_at_provider(_own_order(request, pk))).data)


class TokenOrderCancel(APIView):
    @extend_schema(request=None, responses=TokenOrderOutput, tags=TOKEN_ORDERS, operation_id="token_order_cancel",
                   summary="Cancel a card order not paid for",
                   description="A payment that goes through anyway is refunded.")
    def post(self, request: AuthenticatedAPIRequest, pk: int) -> Response:
        token_orders.token_order_cancel(actor=Actor.from_request(request), order=_own_order(request, pk))
        return Response(TokenOrderOutput(_own_order(request, pk)).data)


class CommitmentPaymentList(APIView):
    @extend_schema(responses=PaymentOutput(many=True), summary="A commitment's payments, newest first",
                   tags=INVESTOR, operation_id="commitment_payment_list")
    def get(self, request: AuthenticatedAPIRequest, pk: int) -> Response:
        return Response(PaymentOutput(_own_commitment(request, pk).payments.all(), many=True).data)


class CommitmentRefundList(APIView):
    @extend_schema(responses=RefundOutput(many=True), summary="Money sent back to you for a commitment",
                   tags=INVESTOR, operation_id="commitment_refund_list")
    def get(self, request: AuthenticatedAPIRequest, pk: int) -> Response:
        commitment = _own_commitment(request, pk)
        refunds = Refund.objects.filter(payment__commitment=commitment).order_by("-created_at", "-pk")
        return Response(RefundOutput(refunds, many=True).data)


# --- documents: the investor's, and the company's team's -----------------------------------------------------------


def _commitment_for_documents(request: AuthenticatedAPIRequest, pk: int) -> Commitment:
    """The investor's commitment, or one in a round of a company the user is a member of; otherwise not found."""
    commitment = get_object_or_404(Commitment.objects.select_related("investment__round"), pk=pk)
    if commitment.investor_id == request.user.pk or Membership.objects.filter(
            company_id=commitment.investment.round.company_id, user=request.user).exists():
        return commitment
    raise Http404


class CommitmentDocumentList(APIView):
    @extend_schema(responses=DocumentOutput(many=True), tags=INVESTOR, operation_id="commitment_document_list",
                   summary="A commitment's documents (the investor's, or the company team's)",
                   description="The signed subscription agreement, the payment receipt once the money is in "
                               "escrow, and the certificate after the close.")
    def get(self, request: AuthenticatedAPIRequest, pk: int) -> Response:
        commitment = _commitment_for_documents(request, pk)
        return Response(DocumentOutput(commitment.documents.order_by("created_at", "pk"), many=True).data)


class CommitmentDocumentDownload(APIView):
    # The answer is a file whatever the client accepts; an error is JSON.
    def perform_content_negotiation(self, request: Request, force: bool = False) -> tuple[BaseRenderer, str]:
        return super().perform_content_negotiation(request, force=True)

    @extend_schema(
        parameters=[OpenApiParameter("kind", str, OpenApiParameter.PATH, enum=DocumentKind.values)],
        responses={(200, "application/pdf"): OpenApiTypes.BINARY}, tags=INVESTOR,
        operation_id="commitment_document_download", summary="Download one of a commitment's documents (PDF)")
    def get(self, request: AuthenticatedAPIRequest, pk: int, kind: str) -> FileResponse:
        commitment = _commitment_for_documents(request, pk)
        if kind not in DocumentKind.values:
            raise Http404
        document: Document = get_object_or_404(Document, commitment=commitment, kind=kind)
        response = FileResponse(document.file.open("rb"), content_type="application/pdf", as_attachment=True,
                                filename=f"{commitment.reference}-{kind}.pdf")
        response["Cache-Control"] = "private, no-store"
        response["X-Content-Type-Options"] = "nosniff"
        return response


# --- the company's team ------------------------------------------------------------------------------------------


def _company_round(request: AuthenticatedAPIRequest, slug: str, pk: int, roles: set[Role] | None = None) -> Round:
    membership = company_membership_required(user=request.user, slug=slug, roles=roles)
    return get_object_or_404(Round, company=membership.company, pk=pk)


@extend_schema_view(get=extend_schema(
    summary="A round's commitments on Tranche, newest first, by state, payment method or investor",
    operation_id="round_commitment_list"))
class RoundCommitmentList(ListAPIView[Commitment]):
    serializer_class = RoundCommitmentOutput
    filterset_class = CommitmentFilter

    def get_queryset(self) -> QuerySet[Commitment]:
        if getattr(self, "swagger_fake_view", False):  # the schema generator asks without a company
            return Commitment.objects.none()
        request: AuthenticatedAPIRequest = self.request  # type: ignore[assignment]
        round = _company_round(request, self.kwargs["slug"], self.kwargs["pk"])
        return selectors.commitment_list_for_round(round=round)


class RoundCommitmentDecline(APIView):
    @extend_schema(request=None, responses=RoundCommitmentOutput, operation_id="round_commitment_decline",
                   summary="Decline a commitment before the close; the investor's money goes back")
    def post(self, request: AuthenticatedAPIRequest, slug: str, pk: int, commitment_pk: int) -> Response:
        round = _company_round(request, slug, pk, CAN_EDIT)
        commitment = get_object_or_404(Commitment, investment__round=round, pk=commitment_pk)
        services.commitment_decline(actor=Actor.from_request(request), commitment=commitment)
        return Response(RoundCommitmentOutput(selectors.commitment_list_for_round(round=round).get(
            pk=commitment.pk)).data)


# --- the payment provider ----------------------------------------------------------------------------------------

WEBHOOK_PROVIDERS = ("sandbox", "stripe")


class WebhookReceive(APIView):
    """Stored raw once per event id, then processed by a task: a replay answers 200 and changes nothing. Only
    the configured provider's endpoint answers; the other is not found, so the sandbox's well-known secret never
    signs events in production."""

    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema(
        request={"application/json": OpenApiTypes.OBJECT}, responses={200: WebhookReceipt},
        parameters=[OpenApiParameter("provider", str, OpenApiParameter.PATH, enum=list(WEBHOOK_PROVIDERS)),
                    OpenApiParameter("Stripe-Signature", str, OpenApiParameter.HEADER, required=True)],
        operation_id="webhook_receive", summary="A payment provider's event (Stripe's shape and signature)",
        description="400 `{\"detail\": \"Invalid signature.\"}` when the signature does not verify; nothing is "
                    "stored.")
    def post(self, request: Request, provider: str) -> Response:
        if provider not in WEBHOOK_PROVIDERS or provider != settings.PAYMENTS_PROVIDER:
            raise Http404
        try:
            services.webhook_receive(provider=payment_provider(provider), payload=request.body,
                                     signature=request.headers.get("Stripe-Signature", ""))
        except InvalidSignature:
            return Response({"detail": _("Invalid signature.")}, status=status.HTTP_400_BAD_REQUEST)
        return Response(WebhookReceipt({"received": True}).data)
