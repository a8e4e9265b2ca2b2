from __future__ import annotations

from rest_framework import serializers

from compliance.models import AuditEvent


class AuditEventOutput(serializers.ModelSerializer):
    target_type: serializers.SlugRelatedField = serializers.SlugRelatedField(slug_field="model", read_only=True)

    class Meta:
        model = AuditEvent
        fields = ["id", "created_at", "actor", "actor_label", "action", "target_type", "target_id", "target_label",
                  "company", "changes", "ip_address"]
