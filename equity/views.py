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
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST
from django_countries import countries

from accounts.requests import AuthenticatedRequest
from companies.choices import CAN_EDIT
from companies.models import Company, Membership
from companies.permissions import company_membership_required
from compliance.audit import Actor
from config.forms import form_add_service_errors
from equity import captable, selectors, services
from equity.captable.rounding import decimal_of
from equity.choices import Relationship, RoundKind, RoundState
from equity.filters import EquityTransactionFilter
from equity.forms import (
    ROUND_STEPS,
    CompanyScopedForm,
    ConvertibleForm,
    InvestmentForm,
    OptionGrantForm,
    PlanForm,
    RoundModelForm,
    RoundPricedTermsForm,
    ShareClassForm,
    StakeholderForm,
    StockIssueForm,
)
from equity.models import Investment, Round, Stakeholder
from equity.ocf import selectors as ocf_selectors
from equity.ocf import services as ocf_services
from equity.ocf.forms import OcfImportForm
from payments import services as payment_services
from tokens.captable import combined_cap_table, combined_csv_rows


def _as_of(request: AuthenticatedRequest) -> date:
    """The `as_of` date of the query string; today when it is missing or not a date."""
    try:
        return date.fromisoformat(request.GET.get("as_of", "")) if request.GET.get("as_of") else timezone.localdate()
    except ValueError:
        return timezone.localdate()


@login_required
def cap_table(request: AuthenticatedRequest, slug: str) -> HttpResponse:
    """The cap table on a date (today by default): by stakeholder and by class, outstanding and fully diluted,
    the SAFEs and notes still to convert, how ownership moved at each financing, and the latest ledger entries."""
    membership = company_membership_required(user=request.user, slug=slug)
    company = membership.company
    as_of = _as_of(request)
    table = selectors.cap_table(company=company, as_of=as_of)
    relationship_names = dict(Relationship.choices)
    people = {name: (pk, relationship_names.get(relationship, relationship)) for name, pk, relationship in
              Stakeholder.objects.filter(company=company).values_list("name", "pk", "relationship")}
    dilution = selectors.dilution_series(company=company, as_of=as_of)
    context = {
        "company": company, "membership": membership, "can_edit": membership.role in CAN_EDIT, "as_of": as_of,
        "table": table, "rows": [(row, *people.get(row.key, (None, None))) for row in table.by_stakeholder],
        "convertibles": selectors.convertible_list_outstanding(company=company, as_of=as_of),
        "ledger": selectors.transaction_list_recent(company=company, as_of=as_of),
        "chart": {"labels": [row.key for row in table.by_stakeholder],
                  "values": [float(row.fully_diluted_percent) for row in table.by_stakeholder]},
        "dilution": {"labels": [point.label for point in dilution], "dates": [point.day.isoformat() for point in dilution],
                     "groups": [{"label": str(label), "values": [float(point.percents[key]) for point in dilution]}
                                for key, label in selectors.DILUTION_GROUPS.items()
                                if any(point.percents[key] for point in dilution)]},
        "combined": combined_cap_table(company, as_of),
    }
    return render(request, "equity/cap_table.html", context)


@login_required
def cap_table_combined_csv(request: AuthenticatedRequest, slug: str) -> HttpResponse:
    """Shares and tokens side by side per stakeholder, as CSV: exact counts, token amounts in base units."""
    membership = company_membership_required(user=request.user, slug=slug)
    company = membership.company
    as_of = _as_of(request)
    response, writer = _csv_response(f"{company.slug}-shares-and-tokens-{as_of.isoformat()}.csv")
    writer.writerows(combined_csv_rows(combined_cap_table(company, as_of)))
    return response


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
        sketch = Round(company=company, series_name=data["series"], pre_money_valuation=Decimal(data["pre_money"]),
                       pool_target_percent=Decimal(target) if target else None)  # never saved
        try:
            result = selectors.round_pro_forma(round=sketch, closing_date=closing, investments=[
                captable.Investment(str(selectors.NEW_INVESTORS), Decimal(data["new_money"]))])
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


# --- the founder's pages: ledger, stakeholder, waterfall, and their CSV -----------------------------------------

LEDGER_PAGE_SIZE = 50
STAKEHOLDER_HISTORY = 100


def _csv_response(filename: str) -> tuple[HttpResponse, Any]:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response, csv.writer(response)


def _ledger_filter(request: AuthenticatedRequest, company: Company) -> EquityTransactionFilter:
    return EquityTransactionFilter(request.GET or None, queryset=selectors.transaction_list(company=company),
                                   company=company)


@login_required
def ledger(request: AuthenticatedRequest, slug: str) -> HttpResponse:
    """Every transaction of the ledger, filtered and paginated; the table follows the filters live (htmx)."""
    membership = company_membership_required(user=request.user, slug=slug)
    company = membership.company
    filterset = _ledger_filter(request, company)
    page = Paginator(filterset.qs, LEDGER_PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {"company": company, "membership": membership, "can_edit": membership.role in CAN_EDIT,
               "filter": filterset, "page": page, "query": query.urlencode()}
    return render(request, "equity/_ledger_rows.html" if request.htmx else "equity/ledger.html", context)


@login_required
def ledger_csv(request: AuthenticatedRequest, slug: str) -> HttpResponse:
    """The filtered ledger as CSV: every matching row, exact numbers, ISO dates."""
    company = company_membership_required(user=request.user, slug=slug).company
    response, writer = _csv_response(f"{company.slug}-ledger-{timezone.localdate().isoformat()}.csv")
    writer.writerow(["date", "transaction", "security", "acts_on", "stakeholder", "share_class", "option_pool",
                     "shares", "price_per_share", "amount", "currency", "memo"])
    for row in _ledger_filter(request, company).qs.iterator(chunk_size=2000):
        writer.writerow([row.effective_date.isoformat(), row.get_kind_display(), row.security_ref,
                         row.acts_on.security_ref if row.acts_on else "", row.stakeholder or "", row.share_class or "",
                         row.plan or "", row.quantity, _plain(row.price_per_share), _plain(row.amount),
                         row.currency, row.memo])
    return response


@login_required
def cap_table_by_class_csv(request: AuthenticatedRequest, slug: str) -> HttpResponse:
    """The cap table by class as CSV, like the by-stakeholder one."""
    company = company_membership_required(user=request.user, slug=slug).company
    as_of = _as_of(request)
    table = selectors.cap_table(company=company, as_of=as_of)
    response, writer = _csv_response(f"{company.slug}-cap-table-by-class-{as_of.isoformat()}.csv")
    writer.writerow(["class", "outstanding", "outstanding_percent", "fully_diluted", "fully_diluted_percent"])
    for row in table.by_class:
        writer.writerow([row.key, row.outstanding, _percent(row.outstanding_ownership), row.fully_diluted,
                         _percent(row.fully_diluted_ownership)])
    writer.writerow(["Total", table.total_outstanding, "100.0000", table.total_fully_diluted, "100.0000"])
    return response


def _stakeholder(request: AuthenticatedRequest, slug: str, pk: int) -> tuple[Any, Stakeholder]:
    membership = company_membership_required(user=request.user, slug=slug)
    return membership, get_object_or_404(Stakeholder, company=membership.company, pk=pk)


@login_required
def stakeholder_detail(request: AuthenticatedRequest, slug: str, pk: int) -> HttpResponse:
    """One stakeholder: holdings by class, each security with its vesting, and their history in the ledger."""
    membership, stakeholder = _stakeholder(request, slug, pk)
    as_of = _as_of(request)
    history = selectors.stakeholder_transaction_list(stakeholder=stakeholder).filter(effective_date__lte=as_of)
    context = {
        "company": membership.company, "membership": membership, "can_edit": membership.role in CAN_EDIT,
        "stakeholder": stakeholder, "as_of": as_of,
        "holdings": selectors.stakeholder_holdings(stakeholder=stakeholder, as_of=as_of),
        "securities": selectors.stakeholder_security_list(stakeholder=stakeholder, as_of=as_of),
        "history": history[:STAKEHOLDER_HISTORY], "history_count": history.count(),
    }
    return render(request, "equity/stakeholder.html", context)


@login_required
def stakeholder_securities_csv(request: AuthenticatedRequest, slug: str, pk: int) -> HttpResponse:
    """A stakeholder's securities as CSV, with vesting on the date asked."""
    membership, stakeholder = _stakeholder(request, slug, pk)
    as_of = _as_of(request)
    response, writer = _csv_response(
        f"{membership.company.slug}-{slugify(stakeholder.name) or stakeholder.pk}-securities-{as_of.isoformat()}.csv")
    writer.writerow(["security", "type", "issued", "share_class", "shares", "exercised", "cancelled", "transferred",
                     "remaining", "price_per_share", "amount", "currency", "vesting_start", "vesting_months",
                     "cliff_months", "vested", "unvested", "terms"])
    for security in selectors.stakeholder_security_list(stakeholder=stakeholder, as_of=as_of):
        row = security.row
        share_class = row.plan.share_class if row.plan else row.share_class
        terms = "; ".join(f"{key}={value}" for key, value in row.terms.items() if value not in (None, "", False))
        writer.writerow([row.security_ref, row.get_kind_display(), row.effective_date.isoformat(), share_class or "",
                         row.quantity, security.exercised, security.cancelled, security.transferred, security.remaining,
                         _plain(row.price_per_share), _plain(row.amount), row.currency,
                         row.vesting_start.isoformat() if row.vesting_start else "", row.vesting_months or "",
                         row.vesting_cliff_months if row.vesting_months else "",
                         "" if security.vested is None else security.vested,
                         "" if security.unvested is None else security.unvested, terms])
    return response


def _exit_value(request: AuthenticatedRequest, suggested: Decimal) -> tuple[Decimal, str | None]:
    """The exit value asked for (whole cents, not negative), or the suggested one with what was wrong."""
    raw = request.GET.get("exit_value", "").replace(",", "").strip()
    if not raw:
        return suggested, None
    try:
        value = Decimal(raw)
    except ArithmeticError:
        return suggested, _("Enter the exit value as a number, for example 25000000.")
    if not value.is_finite() or value < 0 or value >= Decimal(10) ** 17:
        return suggested, _("Enter an exit value of zero or more.")
    return value.quantize(Decimal("0.01")), None


@login_required
def waterfall(request: AuthenticatedRequest, slug: str) -> HttpResponse:
    """Who receives what if the company is sold for an exit value: a slider, a chart and the payouts table."""
    membership = company_membership_required(user=request.user, slug=slug)
    company = membership.company
    as_of = _as_of(request)
    capitalization = selectors.capitalization_as_of(company=company, as_of=as_of)
    suggested = selectors.exit_value_suggested(capitalization)
    exit_value, problem = _exit_value(request, suggested)
    result = None
    if problem is None:
        try:
            result = selectors.exit_waterfall(capitalization=capitalization, exit_value=exit_value)
        except ValueError as error:  # nobody holds anything yet
            problem = str(error)
    context = {
        "company": company, "membership": membership, "can_edit": membership.role in CAN_EDIT, "as_of": as_of,
        "exit_value": exit_value, "slider_max": max(selectors.nice_round_up(suggested * 4), exit_value),
        "result": result, "problem": problem,
        "common_price": decimal_of(result.waterfall.common_price, 4)
        if result is not None and result.waterfall.common_price is not None else None,
        "convertibles": selectors.convertible_list_outstanding(company=company, as_of=as_of).count(),
        "chart": None if result is None else {
            "labels": [line.key for line in result.by_holder],
            "values": [line.net_cents / 100 for line in result.by_holder],
        },
    }
    template = "equity/_waterfall_result.html" if request.htmx else "equity/waterfall.html"
    return render(request, template, context)


@login_required
def waterfall_csv(request: AuthenticatedRequest, slug: str) -> HttpResponse:
    """The waterfall's payouts by holder and by class as CSV, amounts in the currency's unit with 2 decimals."""
    company = company_membership_required(user=request.user, slug=slug).company
    as_of = _as_of(request)
    capitalization = selectors.capitalization_as_of(company=company, as_of=as_of)
    exit_value, problem = _exit_value(request, selectors.exit_value_suggested(capitalization))
    if problem is not None:
        return HttpResponse(problem, status=400, content_type="text/plain; charset=utf-8")
    try:
        result = selectors.exit_waterfall(capitalization=capitalization, exit_value=exit_value)
    except ValueError as error:
        return HttpResponse(str(error), status=400, content_type="text/plain; charset=utf-8")
    response, writer = _csv_response(f"{company.slug}-waterfall-{exit_value:f}.csv")
    writer.writerow(["exit_value", _plain(result.waterfall.exit_value)])
    writer.writerow(["exercise_proceeds", _plain(result.waterfall.exercise_proceeds)])
    writer.writerow(["distributed", _plain(result.waterfall.distributed)])
    writer.writerow([])
    header = ["shares", "choice", "preference", "proceeds", "exercise_cost", "net", "percent_of_exit"]
    for title, lines in (("holder", result.by_holder), ("class", result.by_class)):
        writer.writerow([title, *header])
        for line in lines:
            writer.writerow([line.key, line.shares, line.choice, _cents(line.preference_cents),
                             _cents(line.proceeds_cents), _cents(line.exercise_cost_cents), _cents(line.net_cents),
                             _percent(line.share_of_exit)])
        writer.writerow([])
    return response


def _plain(value: Decimal | None) -> str:
    """A decimal for a spreadsheet: no thousands separator, no trailing zeros beyond cents."""
    if value is None:
        return ""
    text = f"{value.normalize():f}"
    whole, _dot, decimals = text.partition(".")
    return f"{whole}.{decimals.ljust(2, '0')}"


def _cents(cents: int) -> str:
    return f"{Decimal(cents).scaleb(-2):f}"


# --- rounds ---------------------------------------------------------------------------------------------------

def _round_of(company: Company, pk: int) -> Round:
    return get_object_or_404(Round, company=company, pk=pk)


def _steps(round: Round | None) -> list[tuple[str, Any]]:
    """The wizard's steps for a round of this kind (a new round starts with a priced round's)."""
    terms = "safe-terms" if round is not None and round.kind == RoundKind.SAFE else "priced-terms"
    return [("basics", gettext_lazy("Basics")), (terms, gettext_lazy("Terms")),
            ("offering", gettext_lazy("Offering")), ("review", gettext_lazy("Review"))]


def _round_preview(round: Round) -> tuple[captable.ProForma | None, str | None]:
    """The pro-forma a round's page shows: at the funded investments, or at the target before any."""
    if (round.kind != RoundKind.PRICED or round.state in (RoundState.CLOSED, RoundState.CANCELLED)
            or round.pre_money_valuation is None or not round.series_name):
        return None, None
    closing = max(timezone.localdate(), round.opens_on or timezone.localdate())
    try:
        return selectors.round_pro_forma(round=round, closing_date=closing), None
    except ValueError as error:
        return None, str(error)


@login_required
def round_list(request: AuthenticatedRequest, slug: str) -> HttpResponse:
    membership = company_membership_required(user=request.user, slug=slug)
    company = membership.company
    return render(request, "equity/round_list.html", {
        "company": company, "membership": membership, "can_edit": membership.role in CAN_EDIT,
        "rounds": selectors.round_list(company=company)})


@login_required
def round_edit(request: AuthenticatedRequest, slug: str, step: str, pk: int | None = None) -> HttpResponse:
    """The wizard: basics (a new round is created as a draft), terms with a live pro-forma, the offering. Each
    step saves the draft through the same service; the last leads to the round's page, which is the review."""
    membership = company_membership_required(user=request.user, slug=slug, roles=CAN_EDIT)
    company = membership.company
    round = _round_of(company, pk) if pk is not None else None
    if step not in ROUND_STEPS or (round is None and step != "basics"):
        raise Http404
    if round is not None and round.state != RoundState.DRAFT:
        messages.error(request, _("Only a draft round can be changed."))
        return redirect("equity:round_detail", slug=company.slug, pk=round.pk)
    initial = {name: getattr(round, name) for name in ROUND_STEPS[step].base_fields} if round else {}
    if step == "priced-terms" and not (round and round.series_name):
        initial["series_name"] = "Series Seed Preferred"
        initial["pool_target_percent"] = Decimal(10)
    form = ROUND_STEPS[step](request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        actor = Actor.from_request(request)
        try:
            if round is None:
                round = services.round_create(actor=actor, company=company, **form.cleaned_data)
            else:
                round = services.round_update(actor=actor, round=round, **form.cleaned_data)
        except ValidationError as error:
            form_add_service_errors(form, error)
        else:
            names = [name for name, _label in _steps(round)]
            following = names[names.index(step if step in names else "basics") + 1]
            if following == "review":
                return redirect("equity:round_detail", slug=company.slug, pk=round.pk)
            return redirect("equity:round_edit", slug=company.slug, pk=round.pk, step=following)
    preview, problem = _round_preview(round) if round is not None and step == "priced-terms" else (None, None)
    context = {"company": company, "membership": membership, "can_edit": True, "round": round, "form": form,
               "step": step, "steps": _steps(round), "result": preview, "problem": problem}
    return render(request, "equity/round_edit.html", context, status=400 if form.errors else 200)


@login_required
def round_preview(request: AuthenticatedRequest, slug: str, pk: int) -> HttpResponse:
    """The live pro-forma beside the terms step: the draft with the terms being typed, nothing saved."""
    membership = company_membership_required(user=request.user, slug=slug, roles=CAN_EDIT)
    round = _round_of(membership.company, pk)
    form = RoundPricedTermsForm(request.GET)
    result, problem = None, None
    if form.is_valid():
        for name, value in form.cleaned_data.items():
            setattr(round, name, value)  # an unsaved copy: the preview never writes
        if round.pool_target_percent and round.pool_new_shares:
            problem = _("Give the pool as a percentage or as new shares, not both.")
        else:
            result, problem = _round_preview(round)
    return render(request, "equity/_round_result.html", {"form": form, "result": result, "problem": problem})


@login_required
def round_detail(request: AuthenticatedRequest, slug: str, pk: int) -> HttpResponse:
    """The round: terms, progress, investments, and what the cap table would be if it closed today."""
    membership = company_membership_required(user=request.user, slug=slug)
    round = _round_of(membership.company, pk)
    form = (InvestmentForm(company=membership.company)
            if membership.role in CAN_EDIT and round.state == RoundState.OPEN else None)
    return render(request, "equity/round_detail.html", _round_context(membership, round, form))


def _round_context(membership: Membership, round: Round, investment_form: InvestmentForm | None) -> dict[str, Any]:
    raised = selectors.round_raised(round=round)
    result, problem = _round_preview(round)
    return {
        "company": membership.company, "membership": membership, "can_edit": membership.role in CAN_EDIT,
        "round": round, "raised": raised, "left": max(round.maximum_amount - raised, Decimal(0)),
        "progress": min(100, int(raised * 100 / round.target_amount)),
        "investments": selectors.investment_list(round=round), "result": result, "problem": problem,
        "steps": _steps(round), "investment_form": investment_form, "effect": selectors.round_effect(round=round),
        "jurisdiction_names": [dict(countries).get(code, code) for code in round.jurisdictions],
    }


ROUND_ACTIONS: dict[str, tuple[Callable[..., Round], Any]] = {
    "open": (services.round_open, gettext_lazy("The round is open.")),
    "start-closing": (services.round_start_closing, gettext_lazy("The round is closing: no new investments.")),
    # Closing and cancelling go through payments: they move the investors' money held in escrow with the ledger.
    "close": (payment_services.round_close, gettext_lazy("The round is closed and the cap table updated.")),
    "cancel": (payment_services.round_fail, gettext_lazy("The round is cancelled.")),
}


@login_required
@require_POST
def round_action(request: AuthenticatedRequest, slug: str, pk: int, action: str) -> HttpResponse:
    if action not in ROUND_ACTIONS:
        raise Http404
    membership = company_membership_required(user=request.user, slug=slug, roles=CAN_EDIT)
    round = _round_of(membership.company, pk)
    service, done = ROUND_ACTIONS[action]
    try:
        service(actor=Actor.from_request(request), round=round)
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
    else:
        messages.success(request, done)
    return redirect("equity:round_detail", slug=membership.company.slug, pk=round.pk)


@login_required
@require_POST
def investment_record(request: AuthenticatedRequest, slug: str, pk: int) -> HttpResponse:
    """Record a wire received outside Tranche; a new investor's name adds them to the cap table first."""
    membership = company_membership_required(user=request.user, slug=slug, roles=CAN_EDIT)
    company = membership.company
    round = _round_of(company, pk)
    form = InvestmentForm(request.POST, company=company)
    if form.is_valid():
        actor = Actor.from_request(request)
        data = form.cleaned_data
        try:
            with transaction.atomic():
                stakeholder = data["stakeholder"] or services.stakeholder_create(
                    actor=actor, company=company, name=data["new_investor"].strip(), relationship="investor")
                services.investment_record(actor=actor, round=round, stakeholder=stakeholder, amount=data["amount"],
                                           received_on=data["received_on"], reference=data["reference"])
        except ValidationError as error:
            form_add_service_errors(form, error)
        else:
            messages.success(request, _("Investment recorded."))
            return redirect("equity:round_detail", slug=company.slug, pk=round.pk)
    return render(request, "equity/round_detail.html", _round_context(membership, round, form), status=400)


@login_required
@require_POST
def investment_cancel(request: AuthenticatedRequest, slug: str, pk: int, investment_pk: int) -> HttpResponse:
    membership = company_membership_required(user=request.user, slug=slug, roles=CAN_EDIT)
    round = _round_of(membership.company, pk)
    investment = get_object_or_404(Investment, round=round, pk=investment_pk)
    try:
        services.investment_cancel(actor=Actor.from_request(request), investment=investment)
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
    else:
        messages.success(request, _("Investment cancelled."))
    return redirect("equity:round_detail", slug=membership.company.slug, pk=round.pk)


@login_required
def ocf_export(request: AuthenticatedRequest, slug: str) -> HttpResponse:
    """The whole ledger as an Open Cap Format package (`<slug>.ocf.zip`), for another cap table tool or a lawyer."""
    company = company_membership_required(user=request.user, slug=slug).company
    response = HttpResponse(ocf_selectors.ocf_package_zip(company=company), content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{ocf_selectors.ocf_package_filename(company)}"'
    return response


@login_required
def ocf_import(request: AuthenticatedRequest, slug: str) -> HttpResponse:
    """Upload an OCF package into an empty cap table; every problem is listed, and nothing written, if any."""
    membership = company_membership_required(user=request.user, slug=slug, roles=CAN_EDIT)
    company = membership.company
    form = OcfImportForm(request.POST, request.FILES) if request.method == "POST" else OcfImportForm()
    problems: list[str] = []
    if request.method == "POST" and form.is_valid():
        try:
            result = ocf_services.ocf_zip_import(actor=Actor.from_request(request), company=company,
                                                 data=form.cleaned_data["package"].read())
        except ValidationError as error:
            problems = error.messages
        else:
            messages.success(request, _("Imported %(n)s transactions, %(stakeholders)s stakeholders and %(classes)s "
                                        "share classes.") % {"n": result.transactions, "stakeholders": result.stakeholders,
                                                             "classes": result.share_classes})
            for note in result.notes:
                messages.info(request, note)
            return redirect("equity:cap_table", slug=company.slug)
    context = {"company": company, "membership": membership, "can_edit": True, "form": form, "problems": problems}
    return render(request, "equity/ocf_import.html", context, status=400 if form.errors or problems else 200)
