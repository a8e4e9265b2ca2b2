from __future__ import annotations

from rest_framework import serializers

from companies.choices import Jurisdiction, Role
from companies.models import Company, Invitation, Membership


class CompanyOutput(serializers.ModelSerializer):
    public_url = serializers.CharField(source="get_public_url", read_only=True)

    class Meta:
        model = Company
        fields = ["id", "slug", "legal_name", "jurisdiction", "incorporation_date", "website", "pitch", "logo",
                  "public_url", "created_at"]


class PublicCompanyOutput(serializers.ModelSerializer):
    class Meta:
        model = Company
        fields = ["slug", "legal_name", "jurisdiction", "incorporation_date", "website", "pitch", "logo"]


class CompanyCreateInput(serializers.Serializer):
    legal_name = serializers.CharField(max_length=200)
    jurisdiction = serializers.ChoiceField(choices=Jurisdiction.choices)
    incorporation_date = serializers.DateField(required=False, allow_null=True)
    website = serializers.URLField(required=False, allow_blank=True, default="")
    pitch = serializers.CharField(required=False, allow_blank=True, max_length=280, default="")
    founder_title = serializers.CharField(required=False, allow_blank=True, max_length=100, default="")


class CompanyUpdateInput(serializers.Serializer):
    legal_name = serializers.CharField(max_length=200, required=False)
    jurisdiction = serializers.ChoiceField(choices=Jurisdiction.choices, required=False)
    incorporation_date = serializers.DateField(required=False, allow_null=True)
    website = serializers.URLField(required=False, allow_blank=True)
    pitch = serializers.CharField(required=False, allow_blank=True, max_length=280)


class MembershipOutput(serializers.ModelSerializer):
    email = serializers.EmailField(source="user.email")
    full_name = serializers.CharField(source="user.full_name")

    class Meta:
        model = Membership
        fields = ["id", "email", "full_name", "role", "title", "created_at"]


class InvitationInput(serializers.Serializer):
    email = serializers.EmailField()
    role = serializers.ChoiceField(choices=Role.choices)


class InvitationOutput(serializers.ModelSerializer):
    status = serializers.CharField(read_only=True)

    class Meta:
        model = Invitation
        fields = ["id", "email", "role", "status", "created_at", "expires_at", "accepted_at"]


class InvitationAcceptInput(serializers.Serializer):
    token = serializers.CharField()
