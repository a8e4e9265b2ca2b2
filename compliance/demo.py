"""Demo data for journeys 2 and 3: approved investors, and a review queue of about forty applications.

Called by `manage.py demo_load`; idempotent (applicants are found by e-mail). Ages are relative to now, so
the queue always has three applications past their SLA, the oldest with a weak sanctions hit to clear, and
a high-risk applicant (a confirmed PEP, large declared amounts) that needs two officers.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.files.base import ContentFile
from django.utils import timezone
from PIL import Image, ImageDraw

from accounts.models import User
from compliance.choices import DocumentKind, KycState, RiskLevel
from compliance.models import KycApplication, KycDocument, KycMessage, ScreeningListEntry
from compliance.services.screening import kyc_application_screen, screening_lists_load

SAMPLE_LISTS = Path(__file__).resolve().parent / "data"


@dataclass(frozen=True)
class DemoApplicant:
    name: str
    country: str
    state: str
    hours_ago: int
    income: int = 85_000
    net_worth: int = 140_000
    assignee: str = ""  # e-mail of the officer, for applications in review
    born: date = date(1985, 3, 14)


QUEUE = [
    # The oldest: a weak sanctions hit on a similar name (SDN 90001 "RIVIERA, Samuel"), to clear.
    DemoApplicant("Samuel Rivers", "US", KycState.SUBMITTED, 80),
    # A politically exposed person (sample PEP-0001) with large declared amounts: high risk, two officers.
    DemoApplicant("Viktor Petrov", "RU", KycState.SUBMITTED, 60, income=2_400_000, net_worth=31_000_000,
                  born=date(1961, 4, 12)),
    DemoApplicant("Hannah Schmidt", "DE", KycState.SUBMITTED, 50),
    *[DemoApplicant(name, country, KycState.SUBMITTED, hours) for name, country, hours in [
        ("Lucas Martin", "FR", 40), ("Aiko Tanaka", "JP", 36), ("Mateo García", "ES", 30), ("Olivia Brown", "US", 28),
        ("Noah Wilson", "CA", 26), ("Chloé Dubois", "FR", 22), ("Ravi Patel", "IN", 20), ("Emma Johansson", "SE", 18),
        ("Liam O'Connor", "IE", 15), ("Sofia Rossi", "IT", 12), ("Ethan Lee", "SG", 9), ("Zanele Dlamini", "ZA", 7),
        ("Mia Novak", "CZ", 5), ("Jonas Berg", "NO", 3), ("Ana Lima", "BR", 2), ("Wei Zhang", "CN", 1),
    ]],
    *[DemoApplicant(name, country, KycState.IN_REVIEW, hours, assignee=officer) for name, country, hours, officer in [
        ("Grace Kim", "KR", 34, "ben@tranche.example"), ("Omar Haddad", "AE", 27, "ben@tranche.example"),
        ("Isabella Silva", "PT", 21, "ana@tranche.example"), ("Daniel Cohen", "IL", 16, "ben@tranche.example"),
        ("Fatima Zahra", "MA", 11, "ana@tranche.example"), ("Henry Clarke", "GB", 6, "ben@tranche.example"),
    ]],
    *[DemoApplicant(name, country, KycState.NEEDS_INFORMATION, hours, assignee="ana@tranche.example")
      for name, country, hours in [("Lena Fischer", "AT", 70), ("Pedro Alves", "BR", 45), ("Nina Petersen", "DK", 33)]],
    *[DemoApplicant(name, country, KycState.APPROVED, hours, assignee=officer) for name, country, hours, officer in [
        ("Tom Becker", "DE", 140, "ana@tranche.example"), ("Yuki Sato", "JP", 120, "ben@tranche.example"),
        ("Carlos Ruiz", "MX", 100, "ana@tranche.example"), ("Ella Walker", "AU", 96, "ben@tranche.example"),
        ("Jakub Nowak", "PL", 90, "ana@tranche.example"), ("Amara Okeke", "NG", 75, "ben@tranche.example"),
    ]],
    *[DemoApplicant(name, country, KycState.REJECTED, hours, assignee="ana@tranche.example")
      for name, country, hours in [("Max Mustermann", "DE", 130), ("John Doe", "US", 110)]],
]

# Approved investors of the other journeys: Sam (journey 2) and Priya (journey 5).
INVESTORS = {
    "sam@example.com": {"legal_name": "Sam Rivera", "country_of_residence": "US", "region": "OH", "city": "Columbus",
                        "postal_code": "43004", "annual_income": Decimal("150000"), "net_worth": Decimal("80000"),
                        "date_of_birth": date(1992, 5, 17)},
    "priya@example.com": {"legal_name": "Priya Nair", "country_of_residence": "SG", "region": "", "city": "Singapore",
                          "postal_code": "049321", "annual_income": Decimal("210000"),
                          "net_worth": Decimal("650000"), "date_of_birth": date(1988, 11, 2),
                          "accreditation": "self_certified"},
}


def passport_image(name: str, number: str, born: date, country: str) -> bytes:
    """A clearly fake passport page, so the review page shows a document beside the declared data."""
    image = Image.new("RGB", (640, 420), (233, 238, 246))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, 640, 64), fill=(31, 95, 191))
    draw.text((24, 22), f"PASSPORT  ·  {country}  ·  SPECIMEN — NOT A REAL DOCUMENT", fill="white")
    draw.rectangle((24, 96, 184, 300), fill=(200, 208, 222), outline=(120, 130, 150))
    draw.text((70, 190), "PHOTO", fill=(90, 100, 120))
    for i, (label, value) in enumerate([("Surname / Given names", name), ("Date of birth", born.isoformat()),
                                        ("Nationality", country), ("Passport No.", number),
                                        ("Date of expiry", "2031-01-01")]):
        draw.text((212, 100 + i * 40), label, fill=(90, 100, 120))
        draw.text((212, 116 + i * 40), value, fill=(20, 24, 32))
    draw.text((24, 360), f"P<{country}{name.upper().replace(' ', '<<')}<<<<<<<<<<<<<<<<<<<<<<<<<<", fill=(20, 24, 32))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


PROOF_OF_ADDRESS_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj "
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 300 144]/Contents 4 0 R/Resources<</Font<</F1 5 0 R>>>>>>"
    b"endobj 4 0 obj<</Length 62>>stream\nBT /F1 14 Tf 24 90 Td (Utility bill - demo proof of address) Tj ET\n"
    b"endstream endobj 5 0 obj<</Type/Font/Subtype/Type1/BaseFont/Helvetica>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF"
)


def _document(application: KycApplication, kind: str, content: bytes, name: str, content_type: str) -> None:
    import hashlib

    if application.documents.filter(kind=kind).exists():
        return
    document = KycDocument(application=application, kind=kind, original_name=name, content_type=content_type,
                           size=len(content), sha256=hashlib.sha256(content).hexdigest())
    document.file.save(document.sha256[:16], ContentFile(content), save=False)
    document.save()


def _application(user: User, *, legal_name: str, country: str, state: str, submitted_hours_ago: int,
                 **fields: Any) -> KycApplication:
    now = timezone.now()
    born: date = fields.pop("date_of_birth", date(1985, 3, 14))
    application, created = KycApplication.objects.get_or_create(user=user, defaults={
        "legal_name": legal_name, "date_of_birth": born, "country_of_residence": country,
        "address_line1": "1 Demo Street", "city": fields.pop("city", "Capital City"),
        "region": fields.pop("region", ""), "postal_code": fields.pop("postal_code", "10001"),
        "tax_residency": country, "document_type": "passport", "document_number": f"P{user.pk:07d}",
        "document_expiry": date(2031, 1, 1), "state": state, "submitted_at": now - timedelta(hours=submitted_hours_ago),
        **fields,
    })
    if created:
        _document(application, DocumentKind.IDENTITY, passport_image(legal_name, f"P{user.pk:07d}", born, country),
                  "passport.png", "image/png")
        _document(application, DocumentKind.PROOF_OF_ADDRESS, PROOF_OF_ADDRESS_PDF, "utility-bill.pdf",
                  "application/pdf")
    return application


def _user(email: str, full_name: str) -> User:
    user = User.objects.filter(email__iexact=email).first()
    if user is None:
        user = User.objects.create_user(email=email, password=settings.DEMO_PASSWORD, full_name=full_name)
        EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
    return user


def load_kyc_demo() -> int:
    """Create what is missing; returns how many applications the queue holds."""
    if not ScreeningListEntry.objects.exists():
        screening_lists_load(sdn_directory=SAMPLE_LISTS, pep_file=SAMPLE_LISTS / "pep.csv")
    now = timezone.now()
    officers = {u.email: u for u in User.objects.filter(is_compliance_officer=True)}
    ana = officers["ana@tranche.example"]
    for email, fields in INVESTORS.items():
        data = dict(fields)
        _application(User.objects.get(email=email), legal_name=str(data.pop("legal_name")),
                     country=str(data.pop("country_of_residence")), state=KycState.APPROVED, submitted_hours_ago=200,
                     assignee=ana, assigned_at=now - timedelta(hours=190), decided_by=ana,
                     decided_at=now - timedelta(hours=180), approval_expires_at=now + settings.KYC_APPROVAL_VALIDITY,
                     risk_level=RiskLevel.LOW, **data)
    for number, applicant in enumerate(QUEUE, start=1):
        submitted = now - timedelta(hours=applicant.hours_ago)
        review: dict[str, Any] = {}
        if applicant.assignee:
            officer = officers[applicant.assignee]
            review = {"assignee": officer, "assigned_at": submitted + timedelta(hours=3)}
            if applicant.state in {KycState.APPROVED, KycState.REJECTED}:
                review |= {"decided_by": officer, "decided_at": submitted + timedelta(hours=20)}
            if applicant.state == KycState.APPROVED:
                review["approval_expires_at"] = submitted + timedelta(hours=20) + settings.KYC_APPROVAL_VALIDITY
        application = _application(
            _user(f"applicant{number:02d}@example.net", applicant.name), legal_name=applicant.name,
            country=applicant.country, state=applicant.state, submitted_hours_ago=applicant.hours_ago,
            annual_income=Decimal(applicant.income), net_worth=Decimal(applicant.net_worth),
            date_of_birth=applicant.born, **review,
        )
        if not application.risk_level:  # screened like a real submission, against the sample lists
            kyc_application_screen(application=application)
        if applicant.state == KycState.NEEDS_INFORMATION and not application.messages.exists():
            KycMessage.objects.create(application=application, author=officers[applicant.assignee], internal=False,
                                      body="Please upload a proof of address dated within the last three months.")
    return KycApplication.objects.exclude(state=KycState.DRAFT).count()
