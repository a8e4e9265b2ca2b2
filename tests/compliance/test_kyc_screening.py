"""Screening on submission, against the sample lists loaded by `screening_lists_load`."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.core.management import call_command

from compliance.choices import RiskLevel
from compliance.models import KycApplication, ScreeningListEntry
from compliance.services.screening import kyc_application_screen
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _lists() -> None:
    call_command("screening_lists_load", stdout=__import__("io").StringIO())


def application(name: str, born: date, country: str, net_worth: str = "80000") -> KycApplication:
    return KycApplication.objects.create(
        user=UserFactory(), state="submitted", legal_name=name, date_of_birth=born, country_of_residence=country,
        tax_residency=country, annual_income=Decimal("90000"), net_worth=Decimal(net_worth))


def test_the_lists_load_and_reload_without_duplicates() -> None:
    assert ScreeningListEntry.objects.filter(list_name="sanctions").count() == 30
    call_command("screening_lists_load", stdout=__import__("io").StringIO())
    assert ScreeningListEntry.objects.count() == 40


def test_a_confirmed_pep_with_large_amounts_is_high_risk() -> None:
    viktor = application("Viktor Petrov", date(1961, 4, 12), "RU", net_worth="3000000")
    assert kyc_application_screen(application=viktor) == 1
    hit = viktor.hits.get()
    assert (hit.list_name, hit.entry_id, hit.score) == ("pep", "PEP-0001", 100)
    viktor.refresh_from_db()
    assert viktor.risk_level == RiskLevel.HIGH  # open hit + high-risk country + large amounts


def test_a_weak_sanctions_hit_makes_a_medium_risk_until_cleared() -> None:
    sam = application("Sam Rivera", date(1992, 5, 17), "US")
    kyc_application_screen(application=sam)
    hit = sam.hits.get()
    assert hit.matched_name.upper().startswith("RIVIERA")
    assert 80 <= hit.score < 90
    sam.refresh_from_db()
    assert sam.risk_level == RiskLevel.MEDIUM


def test_screening_twice_adds_nothing_and_an_ordinary_name_has_no_hit() -> None:
    sam = application("Sam Rivera", date(1992, 5, 17), "US")
    kyc_application_screen(application=sam)
    assert kyc_application_screen(application=sam) == 0
    priya = application("Priya Sharma", date(1988, 11, 2), "SG")
    assert kyc_application_screen(application=priya) == 0
    priya.refresh_from_db()
    assert priya.risk_level == RiskLevel.LOW


def test_submitting_screens_after_commit(client_for: Any, django_capture_on_commit_callbacks: Any) -> None:
    from tests.compliance.test_kyc_views import walk_the_form

    sam = UserFactory()
    with django_capture_on_commit_callbacks(execute=True):
        walk_the_form(client_for(sam))
    submitted = KycApplication.objects.get(user=sam)
    assert submitted.hits.count() == 1  # "Sam Rivera" is close to a listed name
    assert submitted.risk_level == RiskLevel.MEDIUM
