from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction
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
from equity import captable, selectors, services
from equity.forms import (
    CompanyScopedForm,
    ConvertibleForm,
    OptionGrantForm,
    PlanForm,
    RoundModelForm,
    ShareClassForm,
    StakeholderForm,
    StockIssueForm,
)
from equity.models import Stakeholder


def _as_of(request: AuthenticatedRequest) -> date:
    """The `as_of` date of the query string; today when it is missing or not a date."""
    try:
        return date.fromisoformat(request.GET.get("as_of", "")) if request.GET.get("as_of") else timezone.localdate()
    except ValueError:
        return timezone.localdate()


@login_required
def cap_table(request: AuthenticatedRequest, slug: str) -> HttpResponse:
    """The cap table on a date (today by default): by stakeholder and by class, outstanding and fully diluted,
    the SAFEs and notes still to convert, and the ledger it is derived from."""
    membership = company_membership_required(user=request.user, slug=slug)
    company = membership.company
    as_of = _as_of(request)
    table = selectors.cap_table(company=company, as_of=as_of)
    relationships = {s.name: s.get_relationship_display() for s in Stakeholder.objects.filter(company=company)}
    context = {
        "company": company, "membership": membership, "can_edit": membership.role in CAN_EDIT, "as_of": as_of,
        "table": table, "relationships": relationships,
        "convertibles": selectors.convertible_list_outstanding(company=company, as_of=as_of),
        "ledger": selectors.transaction_list(company=company).filter(effective_date__lte=as_of),
        "chart": {"labels": [row.key for row in table.by_stakeholder],
                  "values": [float(row.fully_diluted_percent) for row in table.by_stakeholder]},
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


def _without_empty_class(capitalization: captable.Capitalization, series: str) -> captable.Capitalization:
    """A class authorized for the round but not issued yet is the round's own series: leave it to the engine."""
    if any(p.share_class == series for p in capitalization.positions):
        return capitalization
    classes = tuple(c for c in capitalization.share_classes if c.name != series)
    return captable.Capitalization(classes, capitalization.positions)


@login_required
def round_model(request: AuthenticatedRequest, slug: str) -> HttpResponse:
    """Model a priced round: the price per share, each SAFE's conversion and the cap table after, live."""
    membership = company_membership_required(user=request.user, slug=slug)
    company = membership.company
    form = RoundModelForm(request.GET or None, initial={"closing_date": timezone.localdate()})
    result, problem = None, None
    data = form.cleaned_data if form.is_bound and form.is_valid() else (None if form.is_bound else {
        name: field.initial for name, field in form.fields.items()})
    if data:
        closing = data.get("closing_date") or timezone.localdate()
        target = data.get("pool_target")
        try:
            result = captable.pro_forma(
                _without_empty_class(selectors.capitalization_as_of(company=company, as_of=closing), data["series"]),
                captable.PricedRound(
                    series=data["series"], investments=(captable.Investment("New investors", Decimal(data["new_money"])),),
                    pre_money=Decimal(data["pre_money"]), closing_date=closing,
                    pool=captable.PoolTopUp(target=Decimal(target) / 100) if target else None,
                ),
                selectors.convertibles_for_engine(company=company, as_of=closing),
            )
        except ValueError as error:  # InfeasibleRound included: terms that no price satisfies
            problem = str(error)
    context = {"company": company, "membership": membership, "can_edit": membership.role in CAN_EDIT,
               "form": form, "result": result, "problem": problem}
    template = "equity/_round_result.html" if request.htmx else "equity/round_model.html"
    return render(request, template, context)


@login_required
def cap_table_csv(request: AuthenticatedRequest, slug: str) -> HttpResponse:
    """The cap table by stakeholder as CSV, for a spreadsheet or a lawyer: exact counts, percentages to 4 places."""
    membership = company_membership_required(user=request.user, slug=slug)
    company = membership.company
    as_of = _as_of(request)
    table = selectors.cap_table(company=company, as_of=as_of)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{company.slug}-cap-table-{as_of.isoformat()}.csv"'
    writer = csv.writer(response)
    writer.writerow(["stakeholder", "outstanding", "outstanding_percent", "fully_diluted", "fully_diluted_percent"])
    for row in table.by_stakeholder:
        writer.writerow([row.key, row.outstanding, _percent(row.outstanding_ownership), row.fully_diluted,
                         _percent(row.fully_diluted_ownership)])
    writer.writerow(["Total", table.total_outstanding, "100.0000", table.total_fully_diluted, "100.0000"])
    return response


def _percent(fraction: Fraction) -> str:
    return str((Decimal(fraction.numerator) / Decimal(fraction.denominator) * 100).quantize(Decimal("0.0001")))
