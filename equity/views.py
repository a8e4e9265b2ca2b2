from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.requests import AuthenticatedRequest
from companies.choices import CAN_EDIT
from companies.models import Company
from companies.permissions import company_membership_required
from compliance.audit import Actor
from config.forms import form_add_service_errors
from equity import selectors, services
from equity.forms import (
    CompanyScopedForm,
    ConvertibleForm,
    OptionGrantForm,
    PlanForm,
    ShareClassForm,
    StakeholderForm,
    StockIssueForm,
)
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


@dataclass(frozen=True)
class Recorder:
    title: Any
    form: type[CompanyScopedForm]
    record: Callable[[Actor, Company, dict[str, Any]], object]


RECORDERS: dict[str, Recorder] = {
    "share-class": Recorder(gettext_lazy("Add a share class"), ShareClassForm,
                            lambda actor, company, data: services.share_class_create(actor=actor, company=company, **data)),
    "stakeholder": Recorder(gettext_lazy("Add a stakeholder"), StakeholderForm,
                            lambda actor, company, data: services.stakeholder_create(actor=actor, company=company, **data)),
    "issue": Recorder(gettext_lazy("Issue shares"), StockIssueForm,
                      lambda actor, company, data: services.stock_issue(
                          actor=actor, vesting_start=data["effective_date"] if data["vesting_months"] else None, **data)),
    "plan": Recorder(gettext_lazy("Create an option pool"), PlanForm,
                     lambda actor, company, data: services.plan_create(actor=actor, **data)),
    "grant": Recorder(gettext_lazy("Grant options"), OptionGrantForm,
                      lambda actor, company, data: services.option_grant(actor=actor, **data)),
    "convertible": Recorder(gettext_lazy("Record a SAFE or note"), ConvertibleForm,
                            lambda actor, company, data: services.convertible_issue(actor=actor, **data)),
}


@login_required
def ledger_record(request: AuthenticatedRequest, slug: str, what: str) -> HttpResponse:
    """One page per kind of entry a founder records; each calls its service, which checks and audits it."""
    recorder = RECORDERS.get(what)
    if recorder is None:
        raise Http404
    membership = company_membership_required(user=request.user, slug=slug, roles=CAN_EDIT)
    company = membership.company
    form = recorder.form(request.POST or None, company=company)
    if request.method == "POST" and form.is_valid():
        try:
            recorder.record(Actor.from_request(request), company, dict(form.cleaned_data))
        except ValidationError as error:
            form_add_service_errors(form, error)
        else:
            messages.success(request, _("Recorded."))
            return redirect("equity:cap_table", slug=company.slug)
    context = {"company": company, "membership": membership, "can_edit": True, "form": form, "title": recorder.title}
    return render(request, "equity/record.html", context, status=400 if form.errors else 200)
