from __future__ import annotations

from datetime import timedelta
from typing import Any

import django_filters
from django.db.models import Q, QuerySet
from django.http import QueryDict
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from compliance.choices import OPEN_FOR_REVIEW, KycState, RiskLevel
from compliance.models import AuditEvent, KycApplication


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


class KycQueueFilter(django_filters.FilterSet):
    """The review queue's filters, shared by the queue page and the queue API."""

    state = django_filters.ChoiceFilter(
        label=_("State"), method="by_state", empty_label=None,
        choices=[("open", _("Waiting on compliance")), *[c for c in KycState.choices if c[0] != "draft"],
                 ("all", _("All"))],
    )
    risk = django_filters.ChoiceFilter(label=_("Risk"), field_name="risk_level", choices=RiskLevel.choices,
                                       empty_label=_("Any risk"))
    assignee = django_filters.ChoiceFilter(label=_("Assignee"), method="by_assignee", empty_label=_("Anyone"),
                                           choices=[("me", _("Me")), ("none", _("Unassigned"))])
    country = django_filters.CharFilter(label=_("Country"), field_name="country_of_residence", lookup_expr="iexact")
    older_than_hours = django_filters.NumberFilter(label=_("Waiting longer than (hours)"), method="by_age")
    q = django_filters.CharFilter(label=_("Search"), method="search")

    class Meta:
        model = KycApplication
        fields = ["state", "risk", "assignee", "country", "older_than_hours"]

    def __init__(self, data: QueryDict | None = None, *args: Any, **kwargs: Any) -> None:
        data = data.copy() if data is not None else QueryDict(mutable=True)
        data.setdefault("state", "open")  # the queue opens on what waits for staff
        super().__init__(data, *args, **kwargs)

    def by_state(self, queryset: QuerySet[KycApplication], name: str, value: str) -> QuerySet[KycApplication]:
        if value == "open":
            return queryset.filter(state__in=list(OPEN_FOR_REVIEW))
        return queryset if value == "all" else queryset.filter(state=value)

    def by_assignee(self, queryset: QuerySet[KycApplication], name: str, value: str) -> QuerySet[KycApplication]:
        if value == "none":
            return queryset.filter(assignee__isnull=True)
        user = getattr(self.request, "user", None)
        return queryset.filter(assignee=user) if user is not None and user.is_authenticated else queryset.none()

    def by_age(self, queryset: QuerySet[KycApplication], name: str, value: float) -> QuerySet[KycApplication]:
        return queryset.filter(submitted_at__lt=timezone.now() - timedelta(hours=float(value)))

    def search(self, queryset: QuerySet[KycApplication], name: str, value: str) -> QuerySet[KycApplication]:
        return queryset.filter(Q(legal_name__icontains=value) | Q(user__email__icontains=value))
