from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api.serializers import MeOutput
from accounts.requests import AuthenticatedAPIRequest


class Me(APIView):
    @extend_schema(responses=MeOutput, summary="The signed-in user and their roles")
    def get(self, request: AuthenticatedAPIRequest) -> Response:
        return Response(MeOutput(request.user).data)
