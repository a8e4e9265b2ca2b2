from __future__ import annotations

import django_filters
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from compliance.models import AuditEvent


class AuditEventFilter(django_filters.FilterSet):
    """One filter for the audit log page and the audit API."""

    q = django_filters.CharFilter(label=_("Search"), method="search")
    action = django_filters.CharFilter(label=_("Action"), lookup_expr="startswith")
    actor = django_filters.CharFilter(label=_("Actor"), field_name="actor_label", lookup_expr="icontains")
    company = django_filters.NumberFilter(label=_("Company"), field_name="company_id")
    since = django_filters.DateFilter(label=_("From"), field_name="created_at", lookup_expr="date__gte")
    until = django_filters.DateFilter(label=_("To"), field_name="created_at", lookup_expr="date__lte")
    ip = django_filters.CharFilter(label=_("IP address"), field_name="ip_address")

    class Meta:
        model = AuditEvent
        fields = ["action", "actor", "company", "since", "until", "ip"]

    def search(self, queryset: QuerySet[AuditEvent], name: str, value: str) -> QuerySet[AuditEvent]:
        return queryset.filter(
            Q(actor_label__icontains=value) | Q(target_label__icontains=value) | Q(action__icontains=value)
        )
