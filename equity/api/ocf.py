"""Open Cap Format over the API: download a company's cap table as an OCF package, import one into an empty
cap table. The same services as the pages (`equity.ocf`)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.requests import AuthenticatedAPIRequest
from companies.choices import CAN_EDIT
from companies.models import Company
from companies.permissions import company_membership_required
from compliance.audit import Actor
from equity.ocf import selectors as ocf_selectors
from equity.ocf import services as ocf_services
from equity.ocf.forms import MAX_UPLOAD_BYTES


def ocf_zip_response(company: Company) -> HttpResponse:
    response = HttpResponse(ocf_selectors.ocf_package_zip(company=company), content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{ocf_selectors.ocf_package_filename(company)}"'
    return response


class OcfImportInput(serializers.Serializer):
    package = serializers.FileField(help_text="A zip of OCF files with its Manifest.ocf.json.")

    def validate_package(self, value: UploadedFile) -> UploadedFile:
        if (value.size or 0) > MAX_UPLOAD_BYTES:
            raise serializers.ValidationError("An OCF package may be up to 20 MB.")
        return value


class OcfImportOutput(serializers.Serializer):
    share_classes = serializers.IntegerField()
    stakeholders = serializers.IntegerField()
    plans = serializers.IntegerField()
    transactions = serializers.IntegerField()
    notes = serializers.ListField(child=serializers.CharField(), help_text="What was skipped and why.")


OcfErrorsOutput = inline_serializer("OcfImportErrors", fields={  # `errors` cannot be a field of a Serializer class
    "errors": serializers.ListField(child=serializers.CharField(),
                                    help_text="Each problem, naming the file, the item and the field."),
})


class OcfExport(APIView):
    @extend_schema(
        summary="The cap table as an Open Cap Format package",
        description="A zip (`<slug>.ocf.zip`) of OCF 1.2 files: manifest, stakeholders, stock classes, stock plans, "
                    "vesting terms and transactions, valid against the official schemas.",
        responses={(200, "application/zip"): OpenApiResponse(OpenApiTypes.BINARY, description="The OCF package")},
    )
    def get(self, request: AuthenticatedAPIRequest, slug: str) -> HttpResponse:
        company = company_membership_required(user=request.user, slug=slug).company
        return ocf_zip_response(company)


class OcfImport(APIView):
    parser_classes = [MultiPartParser]

    @extend_schema(
        summary="Import an Open Cap Format package into an empty cap table",
        description="Owners and admins. All or nothing: a package with any problem is refused with every problem "
                    "listed and nothing is written.",
        request={"multipart/form-data": OcfImportInput},
        responses={201: OcfImportOutput, 400: OcfErrorsOutput},
    )
    def post(self, request: AuthenticatedAPIRequest, slug: str) -> Response:
        company = company_membership_required(user=request.user, slug=slug, roles=CAN_EDIT).company
        upload = OcfImportInput(data=request.data)
        if not upload.is_valid():
            return Response({"errors": [f"{field}: {message}" for field, messages in upload.errors.items()
                                        for message in messages]}, status=status.HTTP_400_BAD_REQUEST)
        try:
            result = ocf_services.ocf_zip_import(actor=Actor.from_request(request), company=company,
                                                 data=upload.validated_data["package"].read())
        except ValidationError as error:
            return Response({"errors": error.messages}, status=status.HTTP_400_BAD_REQUEST)
        return Response(OcfImportOutput(result).data, status=status.HTTP_201_CREATED)
