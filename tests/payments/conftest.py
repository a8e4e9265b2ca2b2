"""An approved investor (journey 2's Sam) and Lumen's Regulation Crowdfunding seed round, open, with the sandbox
provider delivering webhook events only when a test says so."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from accounts.models import User
from equity import services as equity_services
from equity.models import Round
from payments.providers.sandbox import SandboxEscrow, SandboxProvider
from tests.equity.test_rounds import lumen_before_seed, seed_terms
from tests.factories import UserFactory, kyc_approved


@pytest.fixture(autouse=True)
def _deliver_by_hand(settings: Any) -> None:
    settings.PAYMENTS_SANDBOX_AUTO_DELIVER = False
    settings.PAYMENTS_PROVIDER = "sandbox"


def approved_investor(name: str = "Sam Rivera", *, income: str = "150000", net_worth: str = "80000",
                      country: str = "US", region: str = "OH", accreditation: str = "not_accredited") -> User:
    """Journey 2's Sam by default: Ohio, income $150,000, net worth $80,000, not accredited: $7,500 a year."""
    user = UserFactory(email=f"{name.split()[0].lower()}-{UserFactory._meta.model.objects.count()}@example.com")
    kyc_approved(user, legal_name=name, country=country, region=region, accreditation=accreditation,
                 income=income, net_worth=net_worth)
    return user


def open_reg_cf_round(**overrides: Any) -> tuple[Any, Round]:
    lumen = lumen_before_seed()
    terms = seed_terms(exemption="reg_cf", minimum_ticket=Decimal(100), jurisdictions=["US", "GB", "CA"],
                       closes_on=timezone.localdate() + timedelta(days=45))
    terms.update(overrides)
    draft = equity_services.round_create(actor=lumen.actor, company=lumen.company, **terms)
    return lumen, equity_services.round_open(actor=lumen.actor, round=draft)


@pytest.fixture
def sandbox() -> SandboxProvider:
    return SandboxProvider()


@pytest.fixture
def escrow() -> SandboxEscrow:
    return SandboxEscrow()

