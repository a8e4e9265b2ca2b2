"""The KYC state machine: every allowed move, the refused ones (clear error, nothing changed), the uploads."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from compliance.audit import Actor
from compliance.choices import HitStatus, KycState, RiskLevel
from compliance.models import AuditEvent, KycApplication, KycDocument, ScreeningHit
from compliance.services import kyc
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PDF = b"%PDF-1.7\n" + b"1 0 obj <<>> endobj\n" * 4
ELF = b"\x7fELF\x02\x01\x01" + b"\x00" * 64
PE = b"MZ" + b"\x90\x00" * 40

IDENTITY = {
    "legal_name": "Sam Rivera", "date_of_birth": date(1992, 5, 17), "country_of_residence": "US",
    "address_line1": "12 Elm Street", "city": "Columbus", "region": "OH", "postal_code": "43004",
    "tax_residency": "US", "document_type": "passport", "document_number": "X1234567",
    "document_expiry": date(2031, 1, 1), "annual_income": Decimal("150000"), "net_worth": Decimal("80000"),
}


def me(user: Any) -> Actor:
    return Actor(user=user, ip_address="198.51.100.9")


def upload(name: str, content: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content)


@pytest.fixture
def officers() -> tuple[Any, Any]:
    return UserFactory(is_compliance_officer=True), UserFactory(is_compliance_officer=True)


@pytest.fixture
def draft(settings: Any, tmp_path: Any) -> KycApplication:
    settings.PRIVATE_MEDIA_ROOT = tmp_path
    sam = UserFactory(email="sam@example.com")
    application = kyc.kyc_application_for(actor=me(sam))
    kyc.kyc_application_update(actor=me(sam), application=application, **IDENTITY)
    kyc.kyc_document_add(actor=me(sam), application=application, kind="identity", upload=upload("passport.png", PNG))
    kyc.kyc_document_add(actor=me(sam), application=application, kind="proof_of_address", upload=upload("bill.pdf", PDF))
    return application


def submitted(draft: KycApplication) -> KycApplication:
    return kyc.kyc_application_submit(actor=me(draft.user), application=draft)


def in_review(draft: KycApplication, officer: Any) -> KycApplication:
    return kyc.kyc_application_assign(actor=me(officer), application=submitted(draft), assignee=officer)


def assert_unchanged(application: KycApplication, state: str, events: int) -> None:
    application.refresh_from_db()
    assert application.state == state
    assert AuditEvent.objects.count() == events


def test_the_happy_path_submit_assign_approve(draft: KycApplication, officers: Any) -> None:
    ana, _ = officers
    application = submitted(draft)
    assert application.state == KycState.SUBMITTED
    application = kyc.kyc_application_assign(actor=me(ana), application=application, assignee=ana)
    assert (application.state, application.assignee) == (KycState.IN_REVIEW, ana)
    application = kyc.kyc_application_approve(actor=me(ana), application=application)
    assert application.state == KycState.APPROVED
    assert application.is_approved
    assert application.approval_expires_at > timezone.now() + timedelta(days=364)
    actions = list(AuditEvent.objects.filter(target_id=str(application.pk)).values_list("action", flat=True))
    assert actions[:4] == ["kyc.approve", "kyc.assign", "kyc.submit", "kyc.document_add"]


def test_an_incomplete_application_cannot_be_submitted(settings: Any, tmp_path: Any) -> None:
    settings.PRIVATE_MEDIA_ROOT = tmp_path
    user = UserFactory()
    application = kyc.kyc_application_for(actor=me(user))
    with pytest.raises(ValidationError) as refused:
        kyc.kyc_application_submit(actor=me(user), application=application)
    assert {"date_of_birth", "documents", "document_number"} <= set(refused.value.message_dict)
    application.refresh_from_db()
    assert application.state == KycState.DRAFT


def test_an_expired_document_or_a_minor_cannot_submit(draft: KycApplication) -> None:
    sam = draft.user
    kyc.kyc_application_update(actor=me(sam), application=draft, document_expiry=timezone.localdate() - timedelta(days=1),
                               date_of_birth=timezone.localdate() - timedelta(days=365 * 17))
    with pytest.raises(ValidationError) as refused:
        kyc.kyc_application_submit(actor=me(sam), application=draft)
    assert set(refused.value.message_dict) == {"document_expiry", "date_of_birth"}


def test_high_risk_needs_two_different_officers(draft: KycApplication, officers: Any) -> None:
    ana, ben = officers
    application = in_review(draft, ana)
    KycApplication.objects.filter(pk=application.pk).update(risk_level=RiskLevel.HIGH)
    application.refresh_from_db()
    application = kyc.kyc_application_approve(actor=me(ana), application=application)
    assert application.state == KycState.AWAITING_SECOND_APPROVAL
    assert not application.is_approved
    events = AuditEvent.objects.count()
    with pytest.raises(ValidationError, match="second officer"):
        kyc.kyc_application_approve(actor=me(ana), application=application)
    assert_unchanged(application, KycState.AWAITING_SECOND_APPROVAL, events)
    application = kyc.kyc_application_approve(actor=me(ben), application=application)
    assert application.state == KycState.APPROVED
    assert (application.first_approver, application.decided_by) == (ana, ben)


def test_an_officer_cannot_review_their_own_application(officers: Any, settings: Any, tmp_path: Any) -> None:
    settings.PRIVATE_MEDIA_ROOT = tmp_path
    ana, ben = officers
    application = kyc.kyc_application_for(actor=me(ana))
    kyc.kyc_application_update(actor=me(ana), application=application, **IDENTITY)
    kyc.kyc_document_add(actor=me(ana), application=application, kind="identity", upload=upload("id.png", PNG))
    kyc.kyc_document_add(actor=me(ana), application=application, kind="selfie", upload=upload("me.png", PNG))
    kyc.kyc_application_submit(actor=me(ana), application=application)
    with pytest.raises(PermissionDenied, match="own application"):
        kyc.kyc_application_assign(actor=me(ana), application=application, assignee=ana)
    with pytest.raises(ValidationError, match="own application"):
        kyc.kyc_application_assign(actor=me(ben), application=application, assignee=ana)
    kyc.kyc_application_assign(actor=me(ben), application=application, assignee=ben)
    with pytest.raises(PermissionDenied, match="own application"):
        kyc.kyc_application_approve(actor=me(ana), application=application)


def test_a_rejected_application_cannot_be_approved_without_resubmission(draft: KycApplication, officers: Any) -> None:
    ana, _ = officers
    application = kyc.kyc_application_reject(actor=me(ana), application=in_review(draft, ana),
                                             reason="The passport scan is unreadable.", allow_resubmission=True)
    events = AuditEvent.objects.count()
    with pytest.raises(ValidationError, match="in review"):
        kyc.kyc_application_approve(actor=me(ana), application=application)
    assert_unchanged(application, KycState.REJECTED, events)
    # The applicant sees the reason, corrects and resubmits; then it can be reviewed again.
    assert application.messages.get().body == "The passport scan is unreadable."
    kyc.kyc_document_add(actor=me(draft.user), application=application, kind="identity", upload=upload("p2.png", PNG))
    application = kyc.kyc_application_submit(actor=me(draft.user), application=application)
    assert application.state == KycState.RESUBMITTED
    application = kyc.kyc_application_assign(actor=me(ana), application=application, assignee=ana)
    assert kyc.kyc_application_approve(actor=me(ana), application=application).state == KycState.APPROVED


def test_a_final_rejection_cannot_be_resubmitted(draft: KycApplication, officers: Any) -> None:
    ana, _ = officers
    application = kyc.kyc_application_reject(actor=me(ana), application=in_review(draft, ana),
                                             reason="Forged document.", allow_resubmission=False)
    with pytest.raises(ValidationError, match="cannot be resubmitted"):
        kyc.kyc_application_submit(actor=me(draft.user), application=application)
    with pytest.raises(ValidationError, match="cannot be resubmitted"):
        kyc.kyc_application_update(actor=me(draft.user), application=application, legal_name="Someone Else")
    application.refresh_from_db()
    assert application.legal_name == "Sam Rivera"


def test_request_information_then_resubmission(draft: KycApplication, officers: Any) -> None:
    ana, _ = officers
    application = kyc.kyc_application_request_information(
        actor=me(ana), application=in_review(draft, ana), message="Please upload a utility bill from this year.")
    assert application.state == KycState.NEEDS_INFORMATION
    kyc.kyc_document_add(actor=me(draft.user), application=application, kind="proof_of_address",
                         upload=upload("bill-2026.pdf", PDF))
    assert KycDocument.objects.filter(application=application, kind="proof_of_address").count() == 2
    assert KycDocument.objects.filter(application=application, kind="proof_of_address",
                                      replaced_at__isnull=True).count() == 1
    assert kyc.kyc_application_submit(actor=me(draft.user), application=application).state == KycState.RESUBMITTED


def test_only_the_assigned_officer_decides_and_investors_never_do(draft: KycApplication, officers: Any) -> None:
    ana, ben = officers
    application = in_review(draft, ana)
    events = AuditEvent.objects.count()
    with pytest.raises(ValidationError, match="Assign the application to yourself"):
        kyc.kyc_application_approve(actor=me(ben), application=application)
    with pytest.raises(PermissionDenied):
        kyc.kyc_application_approve(actor=me(UserFactory()), application=application)
    with pytest.raises(PermissionDenied):
        kyc.kyc_application_approve(actor=me(draft.user), application=application)
    assert_unchanged(application, KycState.IN_REVIEW, events)


def test_open_hits_block_approval_and_a_confirmed_sanction_is_final(draft: KycApplication, officers: Any) -> None:
    ana, _ = officers
    application = in_review(draft, ana)
    hit = ScreeningHit.objects.create(application=application, list_name="sanctions", entry_id="36",
                                      matched_name="Samuel Riviera", score=82)
    with pytest.raises(ValidationError, match="every screening hit"):
        kyc.kyc_application_approve(actor=me(ana), application=application)
    with pytest.raises(ValidationError, match="Say why"):
        kyc.kyc_hit_resolve(actor=me(ana), hit=hit, status=HitStatus.CLEARED, note=" ")
    kyc.kyc_hit_resolve(actor=me(ana), hit=hit, status=HitStatus.CONFIRMED, note="Same date of birth and city.")
    with pytest.raises(ValidationError, match="sanctions match"):
        kyc.kyc_application_approve(actor=me(ana), application=application)
    application.refresh_from_db()
    assert application.risk_level == RiskLevel.HIGH


def test_a_cleared_hit_lets_the_officer_approve(draft: KycApplication, officers: Any) -> None:
    ana, _ = officers
    application = in_review(draft, ana)
    hit = ScreeningHit.objects.create(application=application, list_name="sanctions", entry_id="36",
                                      matched_name="Samuel Riviera", score=74)
    kyc.kyc_hit_resolve(actor=me(ana), hit=hit, status=HitStatus.CLEARED, note="Different date of birth and country.")
    assert kyc.kyc_application_approve(actor=me(ana), application=application).state == KycState.APPROVED


def test_changing_identity_after_approval_reopens_review_but_income_does_not(
    draft: KycApplication, officers: Any
) -> None:
    ana, _ = officers
    application = kyc.kyc_application_approve(actor=me(ana), application=in_review(draft, ana))
    application = kyc.kyc_application_update(actor=me(draft.user), application=application, annual_income=Decimal("160000"))
    assert application.state == KycState.APPROVED
    application = kyc.kyc_application_update(actor=me(draft.user), application=application, legal_name="Samuel Rivera")
    assert application.state == KycState.RESUBMITTED
    assert not application.is_approved


def test_an_application_under_review_cannot_be_edited(draft: KycApplication, officers: Any) -> None:
    ana, _ = officers
    application = in_review(draft, ana)
    with pytest.raises(ValidationError, match="being reviewed"):
        kyc.kyc_application_update(actor=me(draft.user), application=application, legal_name="X")
    with pytest.raises(ValidationError, match="being reviewed"):
        kyc.kyc_document_add(actor=me(draft.user), application=application, kind="selfie", upload=upload("s.png", PNG))


@pytest.mark.parametrize(("name", "content", "message"), [
    ("passport.pdf", ELF, "content is not one"),
    ("passport.png", PE, "content is not one"),
    ("notes.png", b"just some text pretending to be an image", "content is not one"),
    ("empty.png", b"", "empty"),
])
def test_uploads_are_checked_by_content(draft: KycApplication, name: str, content: bytes, message: str) -> None:
    before = KycDocument.objects.count()
    with pytest.raises(ValidationError, match=message):
        kyc.kyc_document_add(actor=me(draft.user), application=draft, kind="selfie", upload=upload(name, content))
    assert KycDocument.objects.count() == before


def test_an_oversized_upload_is_refused(draft: KycApplication, settings: Any) -> None:
    settings.KYC_DOCUMENT_MAX_BYTES = 1024 * 1024
    with pytest.raises(ValidationError, match="too large"):
        kyc.kyc_document_add(actor=me(draft.user), application=draft, kind="selfie",
                             upload=upload("big.png", PNG + b"\x00" * (1024 * 1024)))


def test_nobody_adds_files_to_someone_elses_application(draft: KycApplication) -> None:
    with pytest.raises(PermissionDenied):
        kyc.kyc_document_add(actor=me(UserFactory()), application=draft, kind="selfie", upload=upload("s.png", PNG))


def test_documents_are_hashed_and_stored_outside_the_public_media(draft: KycApplication, settings: Any) -> None:
    import hashlib

    document = draft.documents.get(kind="identity")
    assert document.sha256 == hashlib.sha256(PNG).hexdigest()
    assert document.content_type == "image/png"
    assert str(settings.MEDIA_ROOT) not in document.file.path
    assert document.file.path.startswith(str(settings.PRIVATE_MEDIA_ROOT))


def test_applicants_cannot_write_internal_notes(draft: KycApplication, officers: Any) -> None:
    ana, _ = officers
    with pytest.raises(PermissionDenied):
        kyc.kyc_message_add(actor=me(draft.user), application=draft, body="psst", internal=True)
    kyc.kyc_message_add(actor=me(ana), application=draft, body="Looks fine.", internal=True)
    kyc.kyc_message_add(actor=me(draft.user), application=draft, body="When will I hear back?", internal=False)
    assert list(draft.messages.values_list("internal", flat=True)) == [True, False]
