from __future__ import annotations

from rest_framework.generics import ListAPIView

from compliance.api.serializers import AuditEventOutput
from compliance.filters import AuditEventFilter
from compliance.permissions import IsComplianceStaff
from compliance.selectors import audit_event_list


class AuditEventList(ListAPIView):
    """The audit log, newest first, with the same filters as the audit page. Compliance staff only."""

    permission_classes = [IsComplianceStaff]
    serializer_class = AuditEventOutput
    filterset_class = AuditEventFilter

    def get_queryset(self):
        return audit_event_list()
