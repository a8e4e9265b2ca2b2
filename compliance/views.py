from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.forms import BaseForm, Form
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from accounts.requests import AuthenticatedRequest
from compliance import selectors
from compliance.audit import Actor
from compliance.choices import DocumentKind, KycState
from compliance.filters import AuditEventFilter, KycQueueFilter
from compliance.forms import (
    ApplicantMessageForm,
    ApproveForm,
    AssignForm,
    DocumentForm,
    HitResolveForm,
    IdentityForm,
    NoteForm,
    ProfileForm,
    RejectForm,
    RequestInformationForm,
)
from compliance.models import KycApplication, KycDocument, ScreeningHit
from compliance.permissions import compliance_staff_required
from compliance.selectors import audit_action_names, audit_event_list, kyc_documents_current
from compliance.services import kyc
from config.forms import form_add_service_errors


@compliance_staff_required
def audit_log(request: AuthenticatedRequest) -> HttpResponse:
    filterset = AuditEventFilter(request.GET or None, queryset=audit_event_list())
    page = Paginator(filterset.qs, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {"filter": filterset, "page": page, "actions": audit_action_names(), "query": query.urlencode()}
    template = "compliance/_audit_rows.html" if request.htmx else "compliance/audit_log.html"
    return render(request, template, context)


# --- the applicant ---------------------------------------------------------------------------------------------

KYC_STEPS = [("identity", gettext_lazy("Identity")), ("document", gettext_lazy("Document")),
             ("profile", gettext_lazy("Investor profile")), ("review", gettext_lazy("Review and submit"))]
STEP_FORMS = {"identity": IdentityForm, "document": DocumentForm, "profile": ProfileForm}


@login_required
def kyc_application(request: AuthenticatedRequest) -> HttpResponse:
    """The investor's identity check: a four-step form while editable, then its status and messages."""
    actor = Actor.from_request(request)
    application = kyc.kyc_application_for(actor=actor)
    editable = kyc.applicant_may_edit(application)
    step = request.GET.get("step") or ("identity" if application.state == KycState.DRAFT else "")
    if not editable or step not in dict(KYC_STEPS):
        return _kyc_status(request, application)
    form = None
    if step in STEP_FORMS:
        form = STEP_FORMS[step](request.POST or None, request.FILES or None, instance=application)
        if request.method == "POST" and form.is_valid():
            try:
                _save_step(actor, application, form)
            except ValidationError as error:
                form_add_service_errors(form, error)
            else:
                next_step = KYC_STEPS[[s for s, _label in KYC_STEPS].index(step) + 1][0]
                return redirect(f"{reverse('compliance:kyc')}?step={next_step}")
    elif request.method == "POST":  # the review step
        try:
            kyc.kyc_application_submit(actor=actor, application=application)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, _("Your identity check is submitted. We will e-mail you when it is decided."))
            return redirect("compliance:kyc")
    context = {
        "application": application, "step": step, "steps": KYC_STEPS, "form": form,
        "documents": kyc_documents_current(application),
        "staff_messages": application.messages.filter(internal=False).select_related("author"),
    }
    return render(request, "compliance/kyc_form.html", context, status=400 if form is not None and form.errors else 200)


def _save_step(actor: Actor, application: KycApplication, form: BaseForm) -> None:
    data = dict(form.cleaned_data)
    files = {DocumentKind.IDENTITY: data.pop("identity_file", None), data.pop("second_kind", ""): data.pop("second_file", None)}
    with transaction.atomic():
        kyc.kyc_application_update(actor=actor, application=application, **data)
        for kind, upload in files.items():
            if upload is not None and kind:
                kyc.kyc_document_add(actor=actor, application=application, kind=kind, upload=upload)


def _kyc_status(request: AuthenticatedRequest, application: KycApplication) -> HttpResponse:
    form = ApplicantMessageForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        kyc.kyc_message_add(actor=Actor.from_request(request), application=application,
                            body=form.cleaned_data["body"], internal=False)
        messages.success(request, _("Your message was sent to the compliance team."))
        return redirect("compliance:kyc")
    context = {
        "application": application, "form": form, "editable": kyc.applicant_may_edit(application),
        "documents": kyc_documents_current(application),
        "thread": application.messages.filter(internal=False).select_related("author"),
        "limit": selectors.investment_limit_for(user=request.user),
    }
    return render(request, "compliance/kyc_status.html", context)


@login_required
def kyc_document(request: AuthenticatedRequest, pk: int) -> FileResponse:
    """Stream a KYC file to its owner or to compliance staff; everyone else gets a 404, as if it did not exist."""
    document = get_object_or_404(KycDocument.objects.select_related("application"), pk=pk)
    if document.application.user_id != request.user.pk and not request.user.is_compliance_staff:
        raise Http404
    response = FileResponse(document.file.open("rb"), content_type=document.content_type)
    response["Content-Disposition"] = f'inline; filename="{document.kind}-{document.pk}"'
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'"
    return response


# --- compliance staff ------------------------------------------------------------------------------------------


@compliance_staff_required
def kyc_queue(request: AuthenticatedRequest) -> HttpResponse:
    filterset = KycQueueFilter(request.GET, queryset=selectors.kyc_queue(sla=settings.KYC_SLA), request=request)
    page = Paginator(filterset.qs, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    now = timezone.now()
    summary = selectors.kyc_queue_summary(since=now - timedelta(days=7), sla=settings.KYC_SLA)
    context = {
        "filter": filterset, "page": page, "query": query.urlencode(), "now": now,
        "counts": summary.counts, "states": KycState, "figures": summary,
    }
    template = "compliance/_queue_rows.html" if request.htmx else "compliance/queue.html"
    return render(request, template, context)


@compliance_staff_required
def kyc_review(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    application = get_object_or_404(KycApplication.objects.select_related("user", "assignee", "first_approver"), pk=pk)
    context = {
        "application": application,
        "documents": kyc_documents_current(application),
        "older_documents": application.documents.filter(replaced_at__isnull=False),
        "hits": application.hits.select_related("resolved_by"),
        "thread": application.messages.select_related("author"),
        "history": selectors.kyc_history(application),
        "approve_form": ApproveForm(), "reject_form": RejectForm(), "info_form": RequestInformationForm(),
        "note_form": NoteForm(), "hit_form": HitResolveForm(), "assign_form": AssignForm(),
        "is_assignee": application.assignee_id == request.user.pk,
        "sla_due": application.submitted_at + settings.KYC_SLA if application.submitted_at else None,
        "now": timezone.now(),
    }
    return render(request, "compliance/review.html", context)


def _review_action(request: AuthenticatedRequest, pk: int, form_class: type[Form] | None,
                   act: Callable[[Actor, KycApplication, dict[str, Any]], object], done: str) -> HttpResponse:
    """Run one reviewer action from a POSTed form, then go back to the application with what happened."""
    application = get_object_or_404(KycApplication, pk=pk)
    data: dict[str, Any] = {}
    if form_class is not None:
        form = form_class(request.POST)
        if not form.is_valid():
            messages.error(request, " ".join(str(e) for errors in form.errors.values() for e in errors))
            return redirect("compliance:review", pk=pk)
        data = form.cleaned_data
    try:
        act(Actor.from_request(request), application, data)
    except (ValidationError, PermissionDenied) as error:
        messages.error(request, " ".join(getattr(error, "messages", None) or [str(error)]))
    else:
        messages.success(request, done)
    return redirect("compliance:review", pk=pk)


@compliance_staff_required
@require_POST
def kyc_assign(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    if request.POST.get("assignee") == "me" or "assignee" not in request.POST:
        return _review_action(request, pk, None, lambda actor, app, data: kyc.kyc_application_assign(
            actor=actor, application=app, assignee=request.user), _("Assigned to you."))
    return _review_action(request, pk, AssignForm, lambda actor, app, data: kyc.kyc_application_assign(
        actor=actor, application=app, assignee=data["assignee"]), _("Reassigned."))


@compliance_staff_required
@require_POST
def kyc_approve(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    return _review_action(request, pk, ApproveForm, lambda actor, app, data: kyc.kyc_application_approve(
        actor=actor, application=app, note=data["note"]), _("Approval recorded."))


@compliance_staff_required
@require_POST
def kyc_reject(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    return _review_action(request, pk, RejectForm, lambda actor, app, data: kyc.kyc_application_reject(
        actor=actor, application=app, reason=data["reason"], allow_resubmission=data["allow_resubmission"]),
        _("The application is rejected and the applicant told why."))


@compliance_staff_required
@require_POST
def kyc_request_information(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    return _review_action(request, pk, RequestInformationForm, lambda actor, app, data: (
        kyc.kyc_application_request_information(actor=actor, application=app, message=data["message"])),
        _("The applicant was asked for more information."))


@compliance_staff_required
@require_POST
def kyc_note(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    return _review_action(request, pk, NoteForm, lambda actor, app, data: kyc.kyc_message_add(
        actor=actor, application=app, body=data["body"], internal=data["internal"]), _("Saved."))


@compliance_staff_required
@require_POST
def kyc_hit_resolve(request: AuthenticatedRequest, pk: int, hit_pk: int) -> HttpResponse:
    hit = get_object_or_404(ScreeningHit, pk=hit_pk, application_id=pk)
    return _review_action(request, pk, HitResolveForm, lambda actor, app, data: kyc.kyc_hit_resolve(
        actor=actor, hit=hit, status=data["status"], note=data["note"]), _("Screening hit resolved."))
