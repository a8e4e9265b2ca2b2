from __future__ import annotations

from datetime import date

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone

from accounts.requests import AuthenticatedRequest
from companies.choices import CAN_EDIT
from companies.permissions import company_membership_required
from equity import selectors
from equity.models import Stakeholder


@login_required
def cap_table(request: AuthenticatedRequest, slug: str) -> HttpResponse:
    """The cap table on a date (today by default): by stakeholder and by class, outstanding and fully diluted,
    the SAFEs and notes still to convert, and the ledger it is derived from."""
    membership = company_membership_required(user=request.user, slug=slug)
    company = membership.company
    try:
        as_of = date.fromisoformat(request.GET["as_of"]) if request.GET.get("as_of") else timezone.localdate()
    except ValueError:
        as_of = timezone.localdate()
    table = selectors.cap_table(company=company, as_of=as_of)
    relationships = {s.name: s.get_relationship_display() for s in Stakeholder.objects.filter(company=company)}
    context = {
        "company": company, "membership": membership, "can_edit": membership.role in CAN_EDIT, "as_of": as_of,
        "table": table, "relationships": relationships,
        "convertibles": selectors.convertible_list_outstanding(company=company, as_of=as_of),
        "ledger": selectors.transaction_list(company=company).filter(effective_date__lte=as_of),
    }
    return render(request, "equity/cap_table.html", context)
