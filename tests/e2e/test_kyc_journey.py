"""Journeys 2 (onboarding) and 3 in a real browser: an investor submits the identity check with files; the
screening finds a politically exposed person; officer Ana confirms the hit and approves; the high-risk case
waits for officer Ben, who confirms; the investor sees that they are approved."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from PIL import Image

from compliance.models import KycApplication
from tests.factories import UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def passport_scan(folder: Path) -> Path:
    image = Image.new("RGB", (480, 320), (233, 238, 246))
    path = folder / "passport.png"
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    path.write_bytes(buffer.getvalue())
    return path


def test_an_investor_is_approved_by_two_officers(live_server: Any, signed_in: Any, shot: Any, tmp_path: Path) -> None:
    call_command("screening_lists_load", stdout=io.StringIO())
    viktor = UserFactory(email="viktor@example.com", full_name="Viktor Petrov")
    ana = UserFactory(email="ana@tranche.example", full_name="Ana Costa", is_compliance_officer=True, two_factor=True)
    ben = UserFactory(email="ben@tranche.example", full_name="Ben Okafor", is_compliance_officer=True, two_factor=True)
    base = live_server.url

    investor = signed_in(viktor)
    investor.goto(base + "/kyc/")
    investor.fill("#id_legal_name", "Viktor Petrov")
    investor.fill("#id_date_of_birth", "1961-04-12")
    investor.select_option("#id_country_of_residence", "RU")
    investor.fill("#id_address_line1", "Tverskaya 1")
    investor.fill("#id_city", "Moscow")
    investor.fill("#id_postal_code", "125009")
    investor.select_option("#id_tax_residency", "RU")
    shot(investor, "identity")
    investor.get_by_role("button", name="Save and continue").click()
    investor.wait_for_url("**/kyc/?step=document")
    investor.select_option("#id_document_type", "passport")
    investor.fill("#id_document_number", "RU7654321")
    investor.fill("#id_document_expiry", "2031-06-30")
    investor.set_input_files("#id_identity_file", str(passport_scan(tmp_path)))
    investor.check("input[name=second_kind][value=selfie]")
    investor.set_input_files("#id_second_file", str(passport_scan(tmp_path)))
    shot(investor, "document")
    investor.get_by_role("button", name="Save and continue").click()
    investor.wait_for_url("**/kyc/?step=profile")
    investor.fill("#id_annual_income", "2400000")
    investor.fill("#id_net_worth", "3000000")
    investor.get_by_role("button", name="Save and continue").click()
    investor.wait_for_url("**/kyc/?step=review")
    shot(investor, "review")
    investor.get_by_role("button", name="Submit for review").click()
    investor.wait_for_url("**/kyc/")
    assert investor.get_by_text("with our compliance team").is_visible()
    shot(investor, "submitted")
    application = KycApplication.objects.get(user=viktor)
    assert application.risk_level == "high"  # the screening ran after the submission committed

    # Ana takes it from the queue, confirms the PEP hit and approves: it waits for a second officer.
    officer = signed_in(ana)
    officer.goto(base + "/compliance/queue/")
    row = officer.get_by_role("row").filter(has_text="Viktor Petrov")
    assert row.get_by_text("High").is_visible()
    shot(officer, "queue")
    row.get_by_role("button", name="Assign to me").click()
    officer.goto(base + f"/compliance/queue/{application.pk}/")
    officer.select_option(f"#hit-{application.hits.get().pk}-status", "confirmed")
    officer.fill(f"#hit-{application.hits.get().pk}-note", "Same name, date of birth and country as PEP-0001.")
    officer.get_by_role("button", name="Save").first.click()
    assert officer.get_by_text("Screening hit resolved").is_visible()
    shot(officer, "hit-confirmed")
    officer.get_by_role("button", name="Approve").click()
    assert officer.get_by_text("Awaiting second approval").first.is_visible()
    shot(officer, "awaiting-second-approval")
    application.refresh_from_db()
    assert (application.state, application.first_approver) == ("awaiting_second_approval", ana)

    # Ana cannot confirm her own approval; Ben can.
    officer.goto(base + f"/compliance/queue/{application.pk}/")
    officer.get_by_role("button", name="Confirm approval").click()
    assert officer.get_by_text("needs a second officer").is_visible()
    second = signed_in(ben)
    second.goto(base + f"/compliance/queue/{application.pk}/")
    second.get_by_role("button", name="Confirm approval").click()
    assert second.get_by_text("Approval recorded").is_visible()
    shot(second, "approved-by-second-officer")

    investor.goto(base + "/kyc/")
    assert investor.get_by_text("You are approved to invest until").is_visible()
    shot(investor, "investor-approved")
    application.refresh_from_db()
    assert (application.state, application.decided_by) == ("approved", ben)
