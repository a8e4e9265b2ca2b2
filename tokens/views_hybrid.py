"""The founder's page of a token's holders beside its sales: token warrants (issue, what each gives today, convert)
and allocations (team, advisor and treasury ones vesting through their own wallet; investors' from converted
warrants). Each form posts to its own view, which calls one service and comes back to the page."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.forms import Form
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from accounts.requests import AuthenticatedRequest
from companies.choices import CAN_EDIT
from companies.permissions import company_membership_required
from compliance.audit import Actor
from config.forms import form_add_service_errors
from tokens import allocations, warrants
from tokens.choices import AllocationKind, AllocationState, DeployStatus, WarrantState
from tokens.forms import AllocationForm, WarrantForm
from tokens.hybrid import VestingStatus
from tokens.models import Token, TokenAllocation, TokenWarrant
from tokens.views import page_context, token_or_404


@dataclass(frozen=True)
class WarrantRow:
    warrant: TokenWarrant
    tokens: int | None  # converted: the allocation's; outstanding: what converting today would give
    allocation: TokenAllocation | None


@dataclass(frozen=True)
class AllocationRow:
    allocation: TokenAllocation
    vesting: VestingStatus | None

    @property
    def cliff_ends(self) -> datetime | None:
        a = self.allocation
        return a.vesting_start + a.cliff if a.vesting_start and a.cliff is not None else None

    @property
    def vesting_ends(self) -> datetime | None:
        a = self.allocation
        return a.vesting_start + a.duration if a.vesting_start and a.duration is not None else None


def _page(request: AuthenticatedRequest, slug: str, pk: int, *, warrant_form: Form | None = None,
          allocation_form: Form | None = None) -> HttpResponse:
    membership = company_membership_required(user=request.user, slug=slug)
    company = membership.company
    token = token_or_404(company, pk)
    warrant_list = list(TokenWarrant.objects.filter(company=company).select_related(
        "stakeholder", "investment__round").order_by("pk"))
    outstanding = [w for w in warrant_list if w.state == WarrantState.OUTSTANDING]
    today = warrants.warrant_tokens_now(company=company, pool=int(token.investor_pool), warrants=outstanding)
    allocated = {a.warrant_id: a for a in TokenAllocation.objects.filter(token=token, warrant__isnull=False)}
    rows = [WarrantRow(w, int(allocated[w.pk].amount) if w.pk in allocated else today.get(w.pk), allocated.get(w.pk))
            for w in warrant_list]
    vesting = [AllocationRow(a, allocations.allocation_vesting(a)) for a in TokenAllocation.objects.filter(
        token=token).exclude(kind=AllocationKind.INVESTOR).select_related("token", "stakeholder").order_by("pk")]
    launched = token.deploy_status == DeployStatus.DEPLOYED
    context = page_context(
        membership, token=token, warrant_rows=rows, vesting_rows=vesting, launched=launched,
        can_convert=launched and bool(outstanding),
        can_deploy_vesting=launched and any(r.allocation.state == AllocationState.PLANNED for r in vesting),
        warrant_form=warrant_form or WarrantForm(token=token, prefix="warrant"),
        allocation_form=allocation_form or AllocationForm(token=token, prefix="allocation"))
    failed = (warrant_form is not None and warrant_form.errors) or (allocation_form is not None and allocation_form.errors)
    return render(request, "tokens/holders.html", context, status=400 if failed else 200)


@login_required
def token_holders(request: AuthenticatedRequest, slug: str, pk: int) -> HttpResponse:
    return _page(request, slug, pk)


def _editor_token(request: AuthenticatedRequest, slug: str, pk: int) -> Token:
    membership = company_membership_required(user=request.user, slug=slug, roles=CAN_EDIT)
    return token_or_404(membership.company, pk)


@login_required
@require_POST
def warrant_new(request: AuthenticatedRequest, slug: str, pk: int) -> HttpResponse:
    def issue(actor: Actor, token: Token, fields: dict[str, Any]) -> str:
        warrant = warrants.warrant_issue(actor=actor, company=token.company, **fields)
        return _("Token warrant issued to %(name)s.") % {"name": warrant.stakeholder.name}

    return _form_post(request, slug, pk, WarrantForm, "warrant", issue)


@login_required
@require_POST
def allocation_new(request: AuthenticatedRequest, slug: str, pk: int) -> HttpResponse:
    def plan(actor: Actor, token: Token, fields: dict[str, Any]) -> str:
        allocation = allocations.allocation_create(actor=actor, token=token, **fields)
        return _("Allocation for %(label)s planned.") % {"label": allocation.label}

    return _form_post(request, slug, pk, AllocationForm, "allocation", plan)


def _form_post(request: AuthenticatedRequest, slug: str, pk: int, form_class: type[WarrantForm | AllocationForm],
               prefix: str, service: Callable[[Actor, Token, dict[str, Any]], str]) -> HttpResponse:
    """One of the page's forms posted: its service's answer comes back as a message, or the form with its errors
    (the field's own, or the service's refusal beside the field it names)."""
    token = _editor_token(request, slug, pk)
    form = form_class(request.POST, token=token, prefix=prefix)
    if form.is_valid():
        fields = form.service_fields()
        if not form.errors:
            try:
                done = service(Actor.from_request(request), token, fields)
            except ValidationError as error:
                form_add_service_errors(form, error)
            else:
                messages.success(request, done)
                return redirect("tokens:token_holders", slug=slug, pk=pk)
    return _page(request, slug, pk, **{f"{prefix}_form": form})


@login_required
@require_POST
def warrants_convert(request: AuthenticatedRequest, slug: str, pk: int) -> HttpResponse:
    def convert(actor: Actor, token: Token) -> str:
        n = len(warrants.warrants_convert(actor=actor, token=token).allocations)
        return ngettext("%(n)s token warrant converted into an allocation its holder claims.",
                        "%(n)s token warrants converted into allocations their holders claim.", n) % {"n": n}

    return _run(request, slug, pk, convert)


@login_required
@require_POST
def allocations_deploy(request: AuthenticatedRequest, slug: str, pk: int) -> HttpResponse:
    def deploy(actor: Actor, token: Token) -> str:
        n = len(allocations.allocations_deploy(actor=actor, token=token))
        return ngettext("Deploying %(n)s vesting wallet: it is funded once its contract confirms.",
                        "Deploying %(n)s vesting wallets: each is funded once its contract confirms.", n) % {"n": n}

    return _run(request, slug, pk, deploy)


@login_required
@require_POST
def exercise_record(request: AuthenticatedRequest, slug: str, pk: int, allocation_pk: int) -> HttpResponse:
    """The company received a priced warrant's exercise price itself: its record lets the holder claim."""
    def record(actor: Actor, token: Token) -> str:
        from payments.warrant_exercises import exercise_recorded

        allocation = get_object_or_404(TokenAllocation.objects.filter(token=token).exclude(exercise_price=None)
                                       .select_related("stakeholder"), pk=allocation_pk)
        exercise_recorded(actor=actor, allocation=allocation, reference=request.POST.get("reference", ""))
        holder = allocation.stakeholder.name if allocation.stakeholder else allocation.label
        return _("Payment recorded: %(name)s can claim the tokens.") % {"name": holder}

    return _run(request, slug, pk, record)


def _run(request: AuthenticatedRequest, slug: str, pk: int, action: Callable[[Actor, Token], str]) -> HttpResponse:
    """Run a page button's service; its refusal, or what it did, comes back as a message."""
    token = _editor_token(request, slug, pk)
    try:
        messages.success(request, action(Actor.from_request(request), token))
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
    return redirect("tokens:token_holders", slug=slug, pk=pk)
