"""Rounds over the API: the same services as the pages, with 400s that name the field and change nothing."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from equity.models import EquityTransaction, Investment, Round
from tests.equity.test_rounds import lumen_before_seed

pytestmark = pytest.mark.django_db


@pytest.fixture
def lumen() -> Any:
    return lumen_before_seed()


def test_a_founder_runs_the_seed_through_the_api(lumen: Any, client_for: Any) -> None:
    api = client_for(lumen.owner.user)
    base = f"/api/v1/companies/{lumen.company.slug}/rounds/"
    created = api.post(base, {
        "name": "Seed", "kind": "priced", "target_amount": "2000000", "minimum_amount": "1000000",
        "maximum_amount": "2500000", "minimum_ticket": "25000", "pre_money_valuation": "8000000",
        "pool_target_percent": "10", "series_name": "Series Seed Preferred", "exemption": "reg_d_506c",
        "jurisdictions": ["us", "GB"], "closes_on": str(timezone.localdate() + timedelta(days=30)),
    }, content_type="application/json")
    assert created.status_code == 201, created.json()
    seed = created.json()
    assert seed["state"] == "draft"
    assert seed["jurisdictions"] == ["US", "GB"]
    assert api.patch(f"{base}{seed['id']}/", {"minimum_ticket": "10000"},
                     content_type="application/json").json()["minimum_ticket"] == "10000.00"
    assert api.post(f"{base}{seed['id']}/open/").json()["state"] == "open"
    fund = api.post(f"/api/v1/companies/{lumen.company.slug}/stakeholders/", {"name": "Northwind Ventures"},
                    content_type="application/json").json()
    recorded = api.post(f"{base}{seed['id']}/investments/", {
        "stakeholder": fund["id"], "amount": "2000000", "received_on": str(timezone.localdate())},
        content_type="application/json")
    assert recorded.status_code == 201
    assert recorded.json()["state"] == "funded"
    assert api.get(f"{base}{seed['id']}/").json()["raised"] == "2000000.00"
    closed = api.post(f"{base}{seed['id']}/close/").json()
    assert closed["state"] == "closed"
    assert Decimal(closed["price_per_share"]) > 0
    assert api.get(f"{base}{seed['id']}/investments/").json()[0]["security"] == "CS-2"
    assert EquityTransaction.objects.filter(company=lumen.company, kind="conversion").count() == 2


def test_bad_round_input_is_a_400_naming_the_field_and_changes_nothing(lumen: Any, client_for: Any) -> None:
    api = client_for(lumen.owner.user)
    base = f"/api/v1/companies/{lumen.company.slug}/rounds/"
    terms = {"name": "Seed", "kind": "priced", "target_amount": "2000000", "minimum_amount": "3000000",
             "maximum_amount": "2500000"}
    refused = api.post(base, terms, content_type="application/json")
    assert refused.status_code == 400
    assert "minimum_amount" in refused.json()
    refused = api.post(base, {**terms, "minimum_amount": "1", "jurisdictions": ["ZZ"]},
                       content_type="application/json")
    assert refused.status_code == 400
    assert "jurisdictions" in refused.json()
    assert not Round.objects.exists()
    draft = api.post(base, {**terms, "minimum_amount": "1"}, content_type="application/json").json()
    not_ready = api.post(f"{base}{draft['id']}/open/")
    assert not_ready.status_code == 400
    assert "pre_money_valuation" in not_ready.json()
    outsider = lumen_before_seed().company.stakeholders.first()
    foreign = api.post(f"{base}{draft['id']}/investments/", {
        "stakeholder": outsider.pk, "amount": "100", "received_on": "2026-01-01"}, content_type="application/json")
    assert foreign.status_code == 400
    assert "stakeholder" in foreign.json()
    assert not Investment.objects.exists()


def test_the_schema_documents_rounds_and_investments(client_for: Any, db: Any) -> None:
    schema = client_for(None).get("/api/v1/schema/", HTTP_ACCEPT="application/json").content.decode()
    for path in ("/rounds/{id}/close/", "/rounds/{id}/investments/", "/rounds/{id}/investments/{investment_pk}/cancel/"):
        assert path in schema
