from __future__ import annotations

from rest_framework import serializers

from accounts.models import User, Wallet


class MeOutput(serializers.ModelSerializer):
    roles = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = ["id", "email", "full_name", "preferred_language", "roles"]

    def get_roles(self, user: User) -> list[str]:
        roles = ["investor"]
        if user.memberships.exists():
            roles.append("founder")
        if user.is_compliance_officer:
            roles.append("compliance_officer")
        if user.is_platform_admin:
            roles.append("platform_admin")
        return roles


class WalletOutput(serializers.ModelSerializer):
    class Meta:
        model = Wallet
        fields = ["id", "address", "chain_id", "label", "verified_at", "created_at"]


class WalletNonceInput(serializers.Serializer):
    address = serializers.CharField(max_length=64, help_text="The address to link, in any letter case.")
    chain_id = serializers.IntegerField(required=False, min_value=1, help_text="Defaults to the platform's chain.")


class WalletNonceOutput(serializers.Serializer):
    nonce = serializers.CharField()
    expires_at = serializers.DateTimeField()
    message = serializers.CharField(help_text="The EIP-4361 message to sign with personal_sign (EIP-191).")


class WalletLinkInput(serializers.Serializer):
    message = serializers.CharField(max_length=4000, trim_whitespace=False)
    signature = serializers.CharField(max_length=140)
    label = serializers.CharField(max_length=100, allow_blank=True, default="")  # type: ignore[assignment]  # a field, not Field.label
