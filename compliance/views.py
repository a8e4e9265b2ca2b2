from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import render

from accounts.requests import AuthenticatedRequest
from compliance.filters import AuditEventFilter
from compliance.permissions import compliance_staff_required
from compliance.selectors import audit_action_names, audit_event_list


@compliance_staff_required
def audit_log(request: AuthenticatedRequest) -> HttpResponse:
    filterset = AuditEventFilter(request.GET or None, queryset=audit_event_list())
    page = Paginator(filterset.qs, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {"filter": filterset, "page": page, "actions": audit_action_names(), "query": query.urlencode()}
    template = "compliance/_audit_rows.html" if request.htmx else "compliance/audit_log.html"
    return render(request, template, context)
