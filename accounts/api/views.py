from __future__ import annotations

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import selectors, services
from accounts.api.serializers import (
    MeOutput,
    WalletLinkInput,
    WalletNonceInput,
    WalletNonceOutput,
    WalletOutput,
)
from accounts.requests import AuthenticatedAPIRequest
from accounts.views import site_of
from compliance.audit import Actor


class Me(APIView):
    @extend_schema(responses=MeOutput, summary="The signed-in user and their roles")
    def get(self, request: AuthenticatedAPIRequest) -> Response:
        return Response(MeOutput(request.user).data)


class WalletListLink(APIView):
    @extend_schema(responses=WalletOutput(many=True), summary="Your verified wallets")
    def get(self, request: AuthenticatedAPIRequest) -> Response:
        return Response(WalletOutput(selectors.wallet_list(user=request.user), many=True).data)

    @extend_schema(request=WalletLinkInput, responses={201: WalletOutput},
                   summary="Link a wallet: post the EIP-4361 message from /wallets/nonce/, signed by the wallet")
    def post(self, request: AuthenticatedAPIRequest) -> Response:
        data = WalletLinkInput(data=request.data)
        data.is_valid(raise_exception=True)
        domain, scheme = site_of(request)
        wallet = services.wallet_link(actor=Actor.from_request(request), user=request.user, domain=domain,
                                      scheme=scheme, **data.validated_data)
        return Response(WalletOutput(wallet).data, status=status.HTTP_201_CREATED)


class WalletNonceIssue(APIView):
    @extend_schema(request=WalletNonceInput, responses={201: WalletNonceOutput},
                   summary="A one-time nonce and the message to sign for linking a wallet")
    def post(self, request: AuthenticatedAPIRequest) -> Response:
        data = WalletNonceInput(data=request.data)
        data.is_valid(raise_exception=True)
        domain, scheme = site_of(request)
        nonce, message = services.wallet_nonce_issue(actor=Actor.from_request(request), user=request.user,
                                                     domain=domain, scheme=scheme, **data.validated_data)
        output = WalletNonceOutput({"nonce": nonce.nonce, "expires_at": nonce.expires_at, "message": message})
        return Response(output.data, status=status.HTTP_201_CREATED)


class WalletDetail(APIView):
    @extend_schema(responses=WalletOutput, summary="One of your wallets")
    def get(self, request: AuthenticatedAPIRequest, pk: int) -> Response:
        wallet = selectors.wallet_get(user=request.user, pk=pk)
        if wallet is None:
            raise Http404
        return Response(WalletOutput(wallet).data)

    @extend_schema(responses={204: None}, summary="Unlink one of your wallets")
    def delete(self, request: AuthenticatedAPIRequest, pk: int) -> Response:
        wallet = selectors.wallet_get(user=request.user, pk=pk)
        if wallet is None:
            raise Http404
        services.wallet_remove(actor=Actor.from_request(request), wallet=wallet)
        return Response(status=status.HTTP_204_NO_CONTENT)
