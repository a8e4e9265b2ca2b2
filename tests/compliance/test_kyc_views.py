"""The KYC pages: an investor's four steps, the queue with its filters and figures, the review page's actions."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from compliance.choices import KycState
from compliance.models import KycApplication, ScreeningHit
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PDF = b"%PDF-1.7\n" + b"x" * 64


def walk_the_form(client: Any) -> None:
    assert client.get("/kyc/").status_code == 200
    response = client.post("/kyc/?step=identity", {
        "legal_name": "Sam Rivera", "date_of_birth": "1992-05-17", "country_of_residence": "US",
        "address_line1": "12 Elm Street", "city": "Columbus", "region": "OH", "postal_code": "43004",
        "tax_residency": "US"})
    assert response["Location"] == "/kyc/?step=document"
    response = client.post("/kyc/?step=document", {
        "document_type": "passport", "document_number": "X1234567", "document_expiry": "2031-01-01",
        "identity_file": SimpleUploadedFile("passport.png", PNG), "second_kind": "proof_of_address",
        "second_file": SimpleUploadedFile("bill.pdf", PDF)})
    assert response["Location"] == "/kyc/?step=profile"
    response = client.post("/kyc/?step=profile", {
        "accreditation": "not_accredited", "annual_income": "150000", "net_worth": "80000",
        "invested_elsewhere_12m": "0"})
    assert response["Location"] == "/kyc/?step=review"
    assert "Sam Rivera" in client.get("/kyc/?step=review").content.decode()
    assert client.post("/kyc/?step=review").status_code == 302


def test_an_investor_completes_and_submits_the_identity_check(client_for: Any) -> None:
    sam = UserFactory(full_name="Sam Rivera")
    client = client_for(sam)
    walk_the_form(client)
    application = KycApplication.objects.get(user=sam)
    assert application.state == KycState.SUBMITTED
    assert application.documents.count() == 2
    page = client.get("/kyc/").content.decode()
    assert "Submitted" in page
    assert "with our compliance team" in page


def test_a_renamed_executable_is_refused_beside_the_file_field(client_for: Any) -> None:
    client = client_for(UserFactory())
    response = client.post("/kyc/?step=document", {
        "document_type": "passport", "document_number": "X1", "document_expiry": "2031-01-01",
        "identity_file": SimpleUploadedFile("passport.png", b"\x7fELF" + b"\x00" * 60), "second_kind": "selfie"})
    assert response.status_code == 400
    assert "content is not one" in response.content.decode()
    assert not KycApplication.objects.get().documents.exists()


def test_an_investor_cannot_open_another_investors_file(client_for: Any) -> None:
    sam, eve = UserFactory(), UserFactory()
    walk_the_form(client_for(sam))
    document = KycApplication.objects.get(user=sam).documents.first()
    assert client_for(sam).get(f"/kyc/documents/{document.pk}/").status_code == 200
    assert client_for(eve).get(f"/kyc/documents/{document.pk}/").status_code == 404
    response = client_for(sam).get(f"/kyc/documents/{document.pk}/")
    assert response["Content-Type"] == "image/png"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "no-store" in response["Cache-Control"]


def test_the_queue_sorts_by_age_counts_states_and_flags_the_sla(client_for: Any, settings: Any) -> None:
    officer = UserFactory(is_compliance_officer=True, two_factor=True)
    now = timezone.now()
    for hours, name in [(2, "Fresh"), (72, "Old"), (30, "Middle")]:
        KycApplication.objects.create(user=UserFactory(), state="submitted", legal_name=name,
                                      submitted_at=now - timedelta(hours=hours))
    page = client_for(officer).get("/compliance/queue/")
    rows = list(page.context["page"])
    assert [a.legal_name for a in rows] == ["Old", "Middle", "Fresh"]
    assert [a.past_sla for a in rows] == [True, False, False]
    assert page.context["counts"]["submitted"] == 3
    assert page.context["figures"].past_sla == 1
    KycApplication.objects.filter(legal_name="Middle").update(state="approved",
                                                              approval_expires_at=now + timedelta(days=300))
    waiting = client_for(officer).get("/compliance/queue/")
    assert [a.legal_name for a in waiting.context["page"]] == ["Old", "Fresh"]  # by default: what waits on staff
    everything = client_for(officer).get("/compliance/queue/", {"state": "all"})
    assert len(everything.context["page"]) == 3
    older = client_for(officer).get("/compliance/queue/", {"older_than_hours": "24", "state": "all"})
    assert [a.legal_name for a in older.context["page"]] == ["Old", "Middle"]
    assert "2 applications" in older.content.decode()
    one = client_for(officer).get("/compliance/queue/", {"q": "Fresh"}).content.decode()
    assert "1 application<" in one  # counted in the singular
    assert "Any risk" in one  # the filters' empty choices read as words, not dashes
    assert "Anyone" in one
    assert "---------" not in one


def test_assign_to_me_then_approve_from_the_review_page(client_for: Any) -> None:
    officer = UserFactory(is_compliance_officer=True, two_factor=True)
    sam = UserFactory()
    walk_the_form(client_for(sam))
    application = KycApplication.objects.get(user=sam)
    ScreeningHit.objects.create(application=application, list_name="sanctions", entry_id="7",
                                matched_name="Samuel Riviera", score=78)
    client = client_for(officer)
    client.post(f"/compliance/queue/{application.pk}/assign/")
    page = client.get(f"/compliance/queue/{application.pk}/").content.decode()
    assert "Samuel Riviera" in page
    refused = client.post(f"/compliance/queue/{application.pk}/approve/", follow=True)
    assert "Clear or confirm every screening hit" in refused.content.decode()
    hit = application.hits.get()
    client.post(f"/compliance/queue/{application.pk}/hits/{hit.pk}/resolve/",
                {"status": "cleared", "note": "Different date of birth."})
    client.post(f"/compliance/queue/{application.pk}/approve/", {"note": ""})
    application.refresh_from_db()
    assert application.state == KycState.APPROVED
    assert "approved to invest" in client_for(sam).get("/kyc/").content.decode()


def test_an_approved_investor_sees_what_they_may_still_invest(client_for: Any) -> None:
    from decimal import Decimal

    from compliance.models import InvestmentRecord

    sam = UserFactory()
    KycApplication.objects.create(
        user=sam, state="approved", legal_name="Sam Rivera", annual_income=Decimal("150000"),
        net_worth=Decimal("80000"), submitted_at=timezone.now(), approval_expires_at=timezone.now() + timedelta(days=300))
    page = client_for(sam).get("/kyc/").content.decode()
    assert "$7,500.00</strong> more" in page  # journey 2: income $150,000, net worth $80,000
    InvestmentRecord.objects.create(user=sam, amount=Decimal("5000"), exemption="reg_cf", offering="Lumen seed",
                                    occurred_at=timezone.now() - timedelta(days=3))
    InvestmentRecord.objects.create(user=sam, amount=Decimal("9000"), exemption="reg_d_506b", offering="Other",
                                    occurred_at=timezone.now() - timedelta(days=3))
    assert "$2,500.00</strong> more" in client_for(sam).get("/kyc/").content.decode()


def test_reassignment_and_the_applicant_hears_of_each_decision(client_for: Any, django_capture_on_commit_callbacks: Any) -> None:
    from django.core import mail

    ana = UserFactory(is_compliance_officer=True, two_factor=True)
    ben = UserFactory(is_compliance_officer=True, two_factor=True)
    sam = UserFactory(email="sam@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        walk_the_form(client_for(sam))
    application = KycApplication.objects.get(user=sam)
    application.hits.all().delete()
    KycApplication.objects.filter(pk=application.pk).update(risk_level="low")
    client_for(ana).post(f"/compliance/queue/{application.pk}/assign/", {"assignee": ben.pk})
    application.refresh_from_db()
    assert application.assignee == ben
    with django_capture_on_commit_callbacks(execute=True):
        client_for(ben).post(f"/compliance/queue/{application.pk}/request-information/",
                             {"message": "Please send a clearer scan."})
    assert [m.subject for m in mail.outbox] == ["Your identity check was submitted",
                                                "Your identity check needs more information"]
    assert mail.outbox[-1].to == ["sam@example.com"]
    assert "Please send a clearer scan." in client_for(sam).get("/kyc/").content.decode()
