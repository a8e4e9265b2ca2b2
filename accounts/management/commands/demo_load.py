"""Load the people and companies of shared/JOURNEYS.md so a newcomer can take every journey at once.

Idempotent: running it again finds what exists and creates only what is missing. Each later capability adds
its journey's data here (the cap table, the rounds, the KYC queue, the token sale).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from allauth.mfa.utils import decrypt
from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.models import User
from companies import services as company_services
from companies.choices import Role
from companies.models import Company, Membership
from compliance.audit import Actor
from compliance.demo import load_kyc_demo
from equity.demo import load_equity_demo
from tokens.demo import load_token_demo


@dataclass(frozen=True)
class DemoPerson:
    email: str
    full_name: str
    role: str  # what the printed table says this person is for
    compliance_officer: bool = False
    platform_admin: bool = False


PEOPLE = [
    DemoPerson("mei@lumen.example", "Mei Chen", "founder, owner of Lumen Labs"),
    DemoPerson("leo@lumen.example", "Leo Park", "co-founder, admin of Lumen Labs"),
    DemoPerson("dana@counsel.example", "Dana Ortiz", "Lumen's lawyer, viewer"),
    DemoPerson("nora@quill.example", "Nora Quinn", "founder of another company (Quill Robotics)"),
    DemoPerson("sam@example.com", "Sam Rivera", "investor (Ohio, not accredited)"),
    DemoPerson("priya@example.com", "Priya Nair", "investor (tokens)"),
    DemoPerson("ana@tranche.example", "Ana Costa", "compliance officer", compliance_officer=True),
    DemoPerson("ben@tranche.example", "Ben Okafor", "compliance officer (second approver)", compliance_officer=True),
    DemoPerson("admin@tranche.example", "Platform Admin", "platform admin", platform_admin=True),
]

LUMEN = {
    "legal_name": "Lumen Labs, Inc.",
    "jurisdiction": "US-DE",
    "incorporation_date": date(2025, 3, 3),
    "website": "https://lumen.example",
    "pitch": "Lumen builds photonic chips that cut the energy of AI inference tenfold.",
}
QUILL = {
    "legal_name": "Quill Robotics Ltd",
    "jurisdiction": "GB",
    "incorporation_date": date(2024, 9, 16),
    "website": "https://quill.example",
    "pitch": "Warehouse robots that learn a new pick in one demonstration.",
}


class Command(BaseCommand):
    help = "Load the demo people and companies (idempotent)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--chain-empty", action="store_true",
                            help="the devnet starts from an empty chain: forget its old deployments, deploy again")

    def handle(self, *args: Any, **options: Any) -> None:
        with transaction.atomic():
            users = {person.email: self._person(person) for person in PEOPLE}
            lumen = self._company(users["mei@lumen.example"], LUMEN, title="CEO")
            load_equity_demo(company=lumen, owner=users["mei@lumen.example"])
            self._member(lumen, users["leo@lumen.example"], Role.ADMIN, "CTO")
            self._member(lumen, users["dana@counsel.example"], Role.VIEWER, "Counsel")
            self._company(users["nora@quill.example"], QUILL, title="CEO")
            queue = load_kyc_demo()
            token = load_token_demo(company=lumen, owner=users["mei@lumen.example"],
                                    chain_empty=options["chain_empty"])
        self._print(users)
        self.stdout.write(f"KYC review queue: {queue} applications (log in as ana@ or ben@tranche.example).")
        sale = token.sales.order_by("pk").first()
        if sale is not None and sale.state != "draft":
            self.stdout.write(f"Token sale: {sale.name} ({sale.get_state_display()}).")
        else:
            self.stdout.write(f"Token sale: the worker deploys the devnet's test dollar, then {token.symbol} and its "
                              "public sale (paid in test dollars, by wallet or by card).")

    def _person(self, person: DemoPerson) -> User:
        user = User.objects.filter(email__iexact=person.email).first()
        if user is None:
            user = User.objects.create_user(
                email=person.email,
                password=settings.DEMO_PASSWORD,
                full_name=person.full_name,
                is_compliance_officer=person.compliance_officer,
                is_staff=person.platform_admin,
                is_superuser=person.platform_admin,
            )
        EmailAddress.objects.get_or_create(user=user, email=user.email, defaults={"verified": True, "primary": True})
        if user.requires_two_factor and not Authenticator.objects.filter(user=user, type="totp").exists():
            TOTP.activate(user, generate_totp_secret())
        return user

    def _company(self, owner: User, fields: dict[str, Any], *, title: str) -> Company:
        company = Company.objects.filter(legal_name=fields["legal_name"]).first()
        if company is None:
            company = company_services.company_create(actor=Actor(user=owner), founder_title=title, **fields)
        return company

    def _member(self, company: Company, user: User, role: Role, title: str) -> None:
        Membership.objects.get_or_create(company=company, user=user, defaults={"role": role, "title": title})

    def _print(self, users: dict[str, User]) -> None:
        out = self.stdout
        out.write(self.style.SUCCESS(f"Demo accounts (password for all: {settings.DEMO_PASSWORD})"))
        for person in PEOPLE:
            out.write(f"  {person.email:26s} {person.role}")
        out.write("")
        out.write("Staff accounts log in with a second factor. Add these TOTP secrets to an authenticator app:")
        for person in PEOPLE:
            user = users[person.email]
            totp = Authenticator.objects.filter(user=user, type="totp").first()
            if totp is not None:
                secret = decrypt(totp.data["secret"])
                out.write(f"  {person.email:26s} {secret}")
                out.write(f"  {'':26s} otpauth://totp/Tranche:{person.email}?secret={secret}&issuer=Tranche")
