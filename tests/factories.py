from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import factory
from allauth.account.models import EmailAddress
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.utils import timezone

from accounts.models import User
from companies.models import Company, Membership
from compliance.models import KycApplication

PASSWORD = "correct-horse-battery-42"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.com")
    full_name = factory.Faker("name")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def verified(self, create: bool, extracted: Any, **kwargs: Any) -> None:
        if create:
            self.save()
            EmailAddress.objects.create(user=self, email=self.email, verified=True, primary=True)

    @factory.post_generation
    def two_factor(self, create: bool, extracted: Any, **kwargs: Any) -> None:
        if create and extracted:
            TOTP.activate(self, generate_totp_secret())


class CompanyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Company
        django_get_or_create = ("slug",)

    legal_name = factory.Sequence(lambda n: f"Company {n}, Inc.")
    slug = factory.LazyAttribute(lambda o: o.legal_name.lower().replace(",", "").replace(".", "").replace(" ", "-"))
    jurisdiction = "US-DE"
    incorporation_date = date(2025, 3, 3)
    pitch = "We build things investors like."


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    company = factory.SubFactory(CompanyFactory)
    user = factory.SubFactory(UserFactory)
    role = "owner"


def kyc_approved(user: User, *, legal_name: str = "", country: str = "FR", region: str = "",
                 accreditation: str = "not_accredited", income: str = "150000",
                 net_worth: str = "80000") -> KycApplication:
    """An application compliance approved (as journey 3 leaves it), valid for 300 days."""
    now = timezone.now()
    return KycApplication.objects.create(
        user=user, state="approved", legal_name=legal_name or user.full_name, country_of_residence=country,
        region=region, annual_income=Decimal(income), net_worth=Decimal(net_worth), accreditation=accreditation,
        submitted_at=now, decided_at=now, approval_expires_at=now + timedelta(days=300))
