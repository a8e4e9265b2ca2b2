from __future__ import annotations

from rest_framework import serializers

from accounts.models import User


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
