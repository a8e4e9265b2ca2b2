"""The KYC review: what an applicant and compliance officers may do to an application, and when.

Every function is one transaction that locks the application, checks that the move is allowed from the
current state by this person, changes it, and writes the audit log. A refused move raises ValidationError
(or PermissionDenied) with a message a person can act on, and changes nothing.

    draft ──submit──▶ submitted ──assign──▶ in review ──approve──▶ approved
                                               │  ├──approve (high risk)──▶ awaiting second approval ──approve (another officer)──▶ approved
                                               │  ├──reject──▶ rejected ──submit (if resubmission allowed)──▶ resubmitted
                                               │  └──request information──▶ needs information ──submit──▶ resubmitted
    resubmitted ──assign──▶ in review;   approved ──identity changed──▶ resubmitted
"""

from __future__ import annotations

import hashlib
from datetime import date
from decimal import Decimal
from typing import Any

import filetype
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from compliance.audit import Actor
from compliance.choices import (
    EDITABLE_BY_APPLICANT,
    OPEN_FOR_REVIEW,
    DocumentKind,
    HitStatus,
    KycState,
    RiskLevel,
    ScreeningList,
)
from compliance.models import KycApplication, KycDocument, KycMessage, ScreeningHit
from compliance.screening import risk_level
from compliance.services.audit import audit_record, model_changes

IDENTITY_FIELDS = (
    "legal_name", "date_of_birth", "country_of_residence", "address_line1", "address_line2", "city", "region",
    "postal_code", "tax_residency", "document_type", "document_number", "document_expiry",
)
PROFILE_FIELDS = ("accreditation", "annual_income", "net_worth", "invested_elsewhere_12m")
REQUIRED_FIELDS = (
    "legal_name", "date_of_birth", "country_of_residence", "address_line1", "city", "postal_code", "tax_residency",
    "document_type", "document_number", "document_expiry", "annual_income", "net_worth",
)
# What uploads may be, decided from the bytes (a renamed executable is still an executable).
ALLOWED_CONTENT_TYPES = {"application/pdf", "image/jpeg", "image/png", "image/webp"}
MINIMUM_AGE_YEARS = 18


def _lock(application: KycApplication) -> KycApplication:
    return KycApplication.objects.select_for_update().get(pk=application.pk)


def _require_applicant(actor: Actor, application: KycApplication) -> User:
    if actor.user is None or actor.user.pk != application.user_id:
        raise PermissionDenied(_("Only the applicant can do this."))
    return actor.user


def _require_officer(actor: Actor, application: KycApplication | None = None) -> User:
    if actor.user is None or not actor.user.is_compliance_staff:
        raise PermissionDenied(_("Only compliance staff can do this."))
    if application is not None and application.user_id == actor.user.pk:
        raise PermissionDenied(_("You cannot review your own application."))
    return actor.user


def _refuse(message: str) -> ValidationError:
    return ValidationError(message, code="transition")


def _audit(actor: Actor, action: str, application: KycApplication, **changes: Any) -> None:
    audit_record(actor=actor, action=f"kyc.{action}", target=application, changes=changes)


def _notify(application: KycApplication, event: str) -> None:
    from compliance.tasks import kyc_notify

    transaction.on_commit(lambda: kyc_notify.delay(application.pk, event))


def _eligibility_follow(application: KycApplication) -> None:
    """After commit, the person's wallets gain or lose eligibility in token sales (tokens.eligibility)."""
    from tokens.tasks import eligibility_refresh_investor

    transaction.on_commit(lambda: eligibility_refresh_investor.delay(application.user_id))


def kyc_application_for(*, actor: Actor) -> KycApplication:
    """The signed-in person's application, created as a draft on first visit."""
    if actor.user is None:
        raise PermissionDenied
    application, created = KycApplication.objects.get_or_create(
        user=actor.user, defaults={"legal_name": actor.user.full_name}
    )
    if created:
        with transaction.atomic():
            _audit(actor, "create", application)
    return application


@transaction.atomic
def kyc_application_update(*, actor: Actor, application: KycApplication, **fields: Any) -> KycApplication:
    """Change declared data. A draft or an application that needs information changes freely; an approved one
    goes back to review when identity or accreditation changes (income and net worth only move the limit)."""
    _require_applicant(actor, application)
    application = _lock(application)
    unknown = set(fields) - set(IDENTITY_FIELDS) - set(PROFILE_FIELDS)
    if unknown:
        raise ValueError(f"not declared data: {sorted(unknown)}")
    _require_editable(application, allow_approved=True)
    changes = model_changes(application, fields)
    if not changes:
        return application
    _validate_declared(application)
    reopened = application.state == KycState.APPROVED and bool(set(changes) & {*IDENTITY_FIELDS, "accreditation"})
    if reopened:
        application.state = KycState.RESUBMITTED
        application.submitted_at = timezone.now()
        application.approval_expires_at = None
        application.first_approver = None
    application.save()
    _audit(actor, "update", application, **changes, **({"state": "resubmitted"} if reopened else {}))
    if reopened:
        _notify(application, "reopened")
        _eligibility_follow(application)
    return application


def applicant_may_edit(application: KycApplication) -> bool:
    """Whether the applicant can change data and documents and submit (the pages show the form or the status)."""
    return application.state in EDITABLE_BY_APPLICANT or (
        application.state == KycState.REJECTED and application.resubmission_allowed
    )


def _require_editable(application: KycApplication, *, allow_approved: bool) -> None:
    """The applicant edits a draft, an application the review sent back, or one rejected with a second chance;
    declared data (not documents) may also change after approval, which may re-open the review."""
    if application.state == KycState.REJECTED and not application.resubmission_allowed:
        raise _refuse(_("This application was rejected and cannot be resubmitted."))
    if application.state in EDITABLE_BY_APPLICANT | {KycState.REJECTED}:
        return
    if application.state == KycState.APPROVED and allow_approved:
        return
    raise _refuse(_("Your application is being reviewed; you can change it once the review asks for it."))


def _validate_declared(application: KycApplication) -> None:
    """Field checks that hold for any saved draft (completeness is checked at submission)."""
    errors: dict[str, str] = {}
    today = timezone.localdate()
    if application.date_of_birth and application.date_of_birth >= today:
        errors["date_of_birth"] = _("The date of birth must be in the past.")
    for name in ("annual_income", "net_worth", "invested_elsewhere_12m"):
        value = getattr(application, name)
        if value is not None and Decimal(value) < 0:
            errors[name] = _("Enter an amount of zero or more.")
    if errors:
        raise ValidationError(errors)
    application.full_clean(exclude=["user"], validate_constraints=False)


def _age_on(born: date, day: date) -> int:
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def _current_documents(application: KycApplication) -> dict[str, KycDocument]:
    return {doc.kind: doc for doc in application.documents.filter(replaced_at__isnull=True)}


@transaction.atomic
def kyc_document_add(
    *, actor: Actor, application: KycApplication, kind: str, upload: UploadedFile
) -> KycDocument:
    """Store an identity document, selfie or proof of address privately, checked by content and hashed."""
    _require_applicant(actor, application)
    application = _lock(application)
    _require_editable(application, allow_approved=False)
    if kind not in DocumentKind.values:
        raise ValidationError({"kind": _("Choose the kind of document.")})
    size = upload.size or 0
    if size > settings.KYC_DOCUMENT_MAX_BYTES:
        raise ValidationError({"file": _("The file is too large: at most %(mb)s MB.")
                               % {"mb": settings.KYC_DOCUMENT_MAX_BYTES // (1024 * 1024)}})
    if size == 0:
        raise ValidationError({"file": _("The file is empty.")})
    upload.seek(0)
    head = upload.read(8192)
    detected = filetype.guess_mime(head)
    if detected not in ALLOWED_CONTENT_TYPES:
        raise ValidationError({"file": _("Upload a PDF, JPEG, PNG or WebP file; this file's content is not one.")})
    digest = hashlib.sha256()
    upload.seek(0)
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    now = timezone.now()
    application.documents.filter(kind=kind, replaced_at__isnull=True).update(replaced_at=now)
    document = KycDocument(
        application=application, kind=kind, original_name=(upload.name or "upload")[:255],
        content_type=detected, size=size, sha256=digest.hexdigest(),
    )
    document.file.save(f"{digest.hexdigest()[:16]}", upload, save=False)
    document.save()
    _audit(actor, "document_add", application, kind=kind, sha256=document.sha256, content_type=detected)
    return document


@transaction.atomic
def kyc_application_submit(*, actor: Actor, application: KycApplication) -> KycApplication:
    _require_applicant(actor, application)
    application = _lock(application)
    resubmitting = application.state in {KycState.NEEDS_INFORMATION, KycState.REJECTED}
    if application.state == KycState.REJECTED and not application.resubmission_allowed:
        raise _refuse(_("This application was rejected and cannot be resubmitted."))
    if application.state not in {KycState.DRAFT, KycState.NEEDS_INFORMATION, KycState.REJECTED}:
        raise _refuse(_("This application has already been submitted."))
    _check_complete(application)
    application.state = KycState.RESUBMITTED if resubmitting else KycState.SUBMITTED
    application.submitted_at = timezone.now()
    application.decided_at = None
    application.decided_by = None
    application.first_approver = None
    application.save()
    _audit(actor, "resubmit" if resubmitting else "submit", application, state=application.state)
    from compliance.tasks import kyc_application_screen

    transaction.on_commit(lambda: kyc_application_screen.delay(application.pk))
    _notify(application, "submitted")
    return application


def _check_complete(application: KycApplication) -> None:
    errors: dict[str, str] = {}
    for name in REQUIRED_FIELDS:
        if getattr(application, name) in (None, ""):
            errors[name] = _("This field is required.")
    today = timezone.localdate()
    if application.document_expiry and application.document_expiry <= today:
        errors["document_expiry"] = _("The identity document has expired.")
    if application.date_of_birth and _age_on(application.date_of_birth, today) < MINIMUM_AGE_YEARS:
        errors["date_of_birth"] = _("You must be at least 18 years old to invest.")
    documents = _current_documents(application)
    if DocumentKind.IDENTITY not in documents:
        errors["documents"] = _("Upload a scan of your identity document.")
    elif not ({DocumentKind.SELFIE, DocumentKind.PROOF_OF_ADDRESS} & set(documents)):
        errors["documents"] = _("Upload a selfie or a proof of address.")
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def kyc_application_assign(*, actor: Actor, application: KycApplication, assignee: User) -> KycApplication:
    _require_officer(actor, application)
    application = _lock(application)
    if not assignee.is_compliance_staff:
        raise ValidationError({"assignee": _("Applications can only be assigned to compliance staff.")})
    if assignee.pk == application.user_id:
        raise ValidationError({"assignee": _("Nobody can review their own application.")})
    if application.state not in OPEN_FOR_REVIEW:
        raise _refuse(_("Only an application waiting for review can be assigned."))
    previous = application.assignee.email if application.assignee else None
    application.assignee = assignee
    application.assigned_at = application.assigned_at or timezone.now()
    if application.state in {KycState.SUBMITTED, KycState.RESUBMITTED}:
        application.state = KycState.IN_REVIEW
    application.save()
    _audit(actor, "assign", application, assignee=[previous, assignee.email], state=application.state)
    return application


@transaction.atomic
def kyc_hit_resolve(*, actor: Actor, hit: ScreeningHit, status: str, note: str) -> ScreeningHit:
    """Clear a screening hit (not the same person) or confirm it, with the reviewer's reasoning."""
    application = _lock(hit.application)
    _require_officer(actor, application)
    if application.state not in {KycState.IN_REVIEW, KycState.AWAITING_SECOND_APPROVAL}:
        raise _refuse(_("Assign the application before reviewing its screening hits."))
    if status not in {HitStatus.CLEARED, HitStatus.CONFIRMED}:
        raise ValidationError({"status": _("Choose clear or confirm.")})
    if not note.strip():
        raise ValidationError({"note": _("Say why: the note is part of the audit trail.")})
    hit = ScreeningHit.objects.select_for_update().get(pk=hit.pk)
    old = hit.status
    hit.status, hit.note = status, note.strip()
    hit.resolved_by, hit.resolved_at = actor.user, timezone.now()
    hit.save()
    application.risk_level = kyc_risk_level(application)
    application.save(update_fields=["risk_level"])
    _audit(actor, "hit_resolve", application, hit=hit.matched_name, status=[old, status], note=hit.note,
           risk=application.risk_level)
    return hit


def kyc_risk_level(application: KycApplication) -> str:
    """Low, medium or high from the hits as reviewed so far, the country and the declared amounts
    (`compliance.screening.risk_level`: a confirmed hit or a strong open sanctions hit is high at once)."""
    assessment = risk_level(
        hits=list(application.hits.all()),
        country=str(application.country_of_residence or ""),
        declared_amount=max(application.annual_income or Decimal(0), application.net_worth or Decimal(0)),
        high_risk_countries=settings.KYC_HIGH_RISK_COUNTRIES,
        high_amount=settings.KYC_HIGH_RISK_AMOUNT,
    )
    return assessment.level


@transaction.atomic
def kyc_application_approve(*, actor: Actor, application: KycApplication, note: str = "") -> KycApplication:
    """Approve. A high-risk application needs two different officers: the first approval waits for a second."""
    officer = _require_officer(actor, application)
    application = _lock(application)
    if application.state == KycState.IN_REVIEW:
        if application.assignee_id != officer.pk:
            raise _refuse(_("Assign the application to yourself before deciding it."))
        if application.hits.filter(status=HitStatus.OPEN).exists():
            raise _refuse(_("Clear or confirm every screening hit before approving."))
        if application.hits.filter(status=HitStatus.CONFIRMED, list_name=ScreeningList.SANCTIONS).exists():
            raise _refuse(_("A confirmed sanctions match cannot be approved."))
        if application.risk_level == RiskLevel.HIGH:
            application.state = KycState.AWAITING_SECOND_APPROVAL
            application.first_approver = officer
            application.save()
            _audit(actor, "approve_first", application, state=application.state, note=note)
            if note:
                KycMessage.objects.create(application=application, author=officer, body=note, internal=True)
            return application
    elif application.state == KycState.AWAITING_SECOND_APPROVAL:
        if application.first_approver_id == officer.pk:
            raise _refuse(_("A high-risk application needs a second officer: you already approved it."))
    else:
        raise _refuse(_("Only an application in review can be approved."))
    application.state = KycState.APPROVED
    application.decided_by = officer
    application.decided_at = timezone.now()
    application.approval_expires_at = application.decided_at + settings.KYC_APPROVAL_VALIDITY
    application.save()
    _audit(actor, "approve", application, state=application.state, note=note,
           expires=application.approval_expires_at.isoformat())
    if note:
        KycMessage.objects.create(application=application, author=officer, body=note, internal=True)
    _notify(application, "approved")
    _eligibility_follow(application)
    return application


@transaction.atomic
def kyc_application_reject(
    *, actor: Actor, application: KycApplication, reason: str, allow_resubmission: bool
) -> KycApplication:
    officer = _require_officer(actor, application)
    application = _lock(application)
    if application.state not in {KycState.IN_REVIEW, KycState.AWAITING_SECOND_APPROVAL}:
        raise _refuse(_("Only an application in review can be rejected."))
    if application.state == KycState.IN_REVIEW and application.assignee_id != officer.pk:
        raise _refuse(_("Assign the application to yourself before deciding it."))
    if not reason.strip():
        raise ValidationError({"reason": _("Give the applicant a reason.")})
    application.state = KycState.REJECTED
    application.resubmission_allowed = allow_resubmission
    application.decided_by, application.decided_at = officer, timezone.now()
    application.first_approver = None
    application.save()
    KycMessage.objects.create(application=application, author=officer, body=reason.strip(), internal=False)
    _audit(actor, "reject", application, state=application.state, reason=reason.strip(),
           resubmission_allowed=allow_resubmission)
    _notify(application, "rejected")
    _eligibility_follow(application)
    return application


@transaction.atomic
def kyc_application_request_information(*, actor: Actor, application: KycApplication, message: str) -> KycApplication:
    officer = _require_officer(actor, application)
    application = _lock(application)
    if application.state != KycState.IN_REVIEW:
        raise _refuse(_("Only an application in review can be sent back for information."))
    if application.assignee_id != officer.pk:
        raise _refuse(_("Assign the application to yourself before deciding it."))
    if not message.strip():
        raise ValidationError({"message": _("Tell the applicant what is missing.")})
    application.state = KycState.NEEDS_INFORMATION
    application.save()
    KycMessage.objects.create(application=application, author=officer, body=message.strip(), internal=False)
    _audit(actor, "request_information", application, state=application.state, message=message.strip())
    _notify(application, "needs_information")
    return application


@transaction.atomic
def kyc_message_add(*, actor: Actor, application: KycApplication, body: str, internal: bool) -> KycMessage:
    """A message to or from the applicant, or an internal note (staff only; the applicant never sees it)."""
    if actor.user is None:
        raise PermissionDenied
    is_applicant = actor.user.pk == application.user_id
    if not is_applicant:
        _require_officer(actor, application)
    if internal and is_applicant:
        raise PermissionDenied(_("Only compliance staff can write internal notes."))
    if not body.strip():
        raise ValidationError({"body": _("Write a message.")})
    message = KycMessage.objects.create(application=application, author=actor.user, body=body.strip(), internal=internal)
    _audit(actor, "note" if internal else "message", application)
    if not internal and not is_applicant:
        _notify(application, "message")
    return message
