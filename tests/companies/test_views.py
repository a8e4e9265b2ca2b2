"""Pages and API with bad input: foreign ids, bad forms, unknown companies. Clear answers, nothing changed."""

from __future__ import annotations

from typing import Any

import pytest

from companies.models import Company, Invitation, Membership
from compliance.models import AuditEvent
from tests.factories import CompanyFactory, MembershipFactory

pytestmark = pytest.mark.django_db


def test_a_membership_of_another_company_cannot_be_changed_through_this_one(cast: Any, client_for: Any) -> None:
    foreign = MembershipFactory(company=CompanyFactory(legal_name="Other Co"), role="viewer")
    client = client_for(cast.owner)
    slug = cast.company.slug
    assert client.post(f"/companies/{slug}/team/{foreign.pk}/role/", {"role": "owner"}).status_code == 404
    assert client.post(f"/companies/{slug}/team/{foreign.pk}/remove/").status_code == 404
    foreign.refresh_from_db()
    assert foreign.role == "viewer"


def test_an_invitation_of_another_company_cannot_be_withdrawn_through_this_one(cast: Any, client_for: Any) -> None:
    other = MembershipFactory(company=CompanyFactory(legal_name="Other Co"), role="owner")
    invitation = Invitation.objects.create(company=other.company, email="x@y.example", role="viewer",
                                           expires_at="2099-01-01T00:00:00Z")
    response = client_for(cast.owner).post(f"/companies/{cast.company.slug}/invitations/{invitation.pk}/revoke/")
    assert response.status_code == 404
    invitation.refresh_from_db()
    assert invitation.revoked_at is None


def test_unknown_companies_are_404_on_pages_and_api(cast: Any, client_for: Any) -> None:
    client = client_for(cast.owner)
    assert client.get("/companies/no-such-company/").status_code == 404
    assert client.get("/c/no-such-company/").status_code == 404
    assert client.get("/api/v1/companies/no-such-company/").status_code == 404
    assert client.get("/api/v1/public/companies/no-such-company/").status_code == 404


def test_the_api_refuses_bad_company_input_with_field_errors(cast: Any, client_for: Any) -> None:
    client = client_for(cast.investor)
    before = Company.objects.count()
    response = client.post("/api/v1/companies/", {"legal_name": "", "jurisdiction": "XX"},
                           content_type="application/json")
    assert response.status_code == 400
    assert set(response.json()) == {"legal_name", "jurisdiction"}
    duplicate = client.post("/api/v1/companies/", {"legal_name": cast.company.legal_name, "jurisdiction": "US-DE"},
                            content_type="application/json")
    assert duplicate.status_code == 400
    assert "already registered" in duplicate.json()["legal_name"][0]
    assert Company.objects.count() == before


def test_the_invite_form_shows_a_duplicate_address_beside_the_field(cast: Any, client_for: Any) -> None:
    client = client_for(cast.admin)
    response = client.post(f"/companies/{cast.company.slug}/team/", {"email": cast.viewer.email, "role": "viewer"})
    assert response.status_code == 400
    assert "already a member" in response.content.decode()
    assert 'id="id_email_error"' in response.content.decode()
    assert not Invitation.objects.exists()


def test_an_admin_cannot_invite_an_owner_through_the_form(cast: Any, client_for: Any) -> None:
    response = client_for(cast.admin).post(f"/companies/{cast.company.slug}/team/",
                                           {"email": "boss@x.example", "role": "owner"})
    assert response.status_code == 400
    assert "Only an owner can invite another owner" in response.content.decode()
    assert not Invitation.objects.exists()


def test_an_invalid_role_is_refused_and_nothing_is_audited(cast: Any, client_for: Any) -> None:
    viewer = Membership.objects.get(user=cast.viewer)
    before = AuditEvent.objects.count()
    client_for(cast.owner).post(f"/companies/{cast.company.slug}/team/{viewer.pk}/role/", {"role": "emperor"})
    viewer.refresh_from_db()
    assert viewer.role == "viewer"
    assert AuditEvent.objects.count() == before


def test_an_oversized_logo_is_refused(cast: Any, client_for: Any, settings: Any) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.COMPANY_LOGO_MAX_BYTES = 100
    from io import BytesIO

    from PIL import Image

    buffer = BytesIO()
    Image.new("RGB", (64, 64), "white").save(buffer, "PNG")
    png = buffer.getvalue()
    assert len(png) > 100
    response = client_for(cast.owner).post(
        f"/companies/{cast.company.slug}/edit/",
        {"legal_name": cast.company.legal_name, "jurisdiction": "US-DE", "logo": SimpleUploadedFile("l.png", png)},
    )
    assert response.status_code == 200
    assert "The logo must be at most 100\xa0bytes" in response.content.decode()
    cast.company.refresh_from_db()
    assert not cast.company.logo
