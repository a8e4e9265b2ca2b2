"""Recording the cap table through the API: each write calls its service, bad input is a 400 naming the field and
changes nothing, and only the company's owners and admins may write."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from django.test import Client

from accounts.services import api_token_rotate
from compliance.audit import Actor
from compliance.models import AuditEvent
from equity import services
from equity.models import EquityTransaction, ShareClass, Stakeholder
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def founder() -> Any:
    """An owner with an API token, as a script or another tool would call the API."""
    owner = MembershipFactory(role="owner")
    token = api_token_rotate(actor=Actor(user=owner.user), user=owner.user)
    client = Client(HTTP_AUTHORIZATION=f"Token {token.key}")
    base = f"/api/v1/companies/{owner.company.slug}"

    def post(path: str, data: dict[str, Any]) -> Any:
        return client.post(f"{base}/{path}", data, content_type="application/json")

    return type("Founder", (), {"membership": owner, "company": owner.company, "client": client, "base": base,
                                "post": staticmethod(post)})


def ledger_size(company: Any) -> int:
    return EquityTransaction.objects.filter(company=company).count()


def test_a_founder_records_a_whole_cap_table_through_the_api(founder: Any) -> None:
    post = founder.post
    common = post("share-classes/", {"name": "Common", "kind": "common", "authorized_shares": 10_000_000,
                                     "par_value": "0.00001"})
    assert common.status_code == 201, common.content
    assert common.json()["authorized_shares"] == 10_000_000
    seed = post("share-classes/", {"name": "Series Seed Preferred", "kind": "preferred", "authorized_shares": 3_000_000,
                                   "original_issue_price": "1.25", "participating": True, "participation_cap": "3",
                                   "seniority": 1}).json()
    assert (seed["participating"], seed["participation_cap"]) == (True, "3.00")
    people = {}
    for name, relationship in [("Mei Chen", "founder"), ("Ada Engineer", "employee"), ("Hannah Lee", "investor"),
                               ("Chen Family Trust", "other"), ("Bank", "other")]:
        response = post("stakeholders/", {"name": name, "relationship": relationship})
        assert response.status_code == 201
        people[name] = response.json()["id"]

    def write(kind: str, data: dict[str, Any]) -> dict[str, Any]:
        response = post(f"transactions/{kind}/", data)
        assert response.status_code == 201, (kind, response.content)
        return dict(response.json())

    certificate = write("stock-issuance", {"stakeholder": people["Mei Chen"], "share_class": common.json()["id"],
                                           "quantity": 8_000_000, "effective_date": "2025-03-03",
                                           "price_per_share": "0.00001"})
    assert (certificate["security_ref"], certificate["stakeholder"], certificate["quantity"]) == (
        "CS-1", "Mei Chen", 8_000_000)
    plan = post("plans/", {"name": "2025 Plan", "share_class": common.json()["id"], "reserved": 1_000_000,
                           "effective_date": "2025-03-03"})
    assert plan.status_code == 201
    assert plan.json() == {"id": plan.json()["id"], "name": "2025 Plan", "share_class": "Common",
                           "available": 1_000_000}
    write("plan-adjustment", {"plan": plan.json()["id"], "quantity": 500_000, "effective_date": "2025-04-01"})
    grant = write("option-grant", {"plan": plan.json()["id"], "stakeholder": people["Ada Engineer"],
                                   "quantity": 200_000, "exercise_price": "0.10", "effective_date": "2025-05-01"})
    assert (grant["security_ref"], grant["vesting_months"], grant["vesting_cliff_months"]) == ("OPT-1", 48, 12)
    write("option-exercise", {"grant": "OPT-1", "quantity": 50_000, "effective_date": "2026-05-01"})
    write("option-cancellation", {"grant": "OPT-1", "quantity": 100_000, "effective_date": "2026-06-01"})
    write("stock-transfer", {"certificate": "CS-1", "to": people["Chen Family Trust"], "quantity": 1_000_000,
                             "effective_date": "2025-09-01"})
    repurchase = write("stock-repurchase", {"certificate": "CS-2", "quantity": 10_000, "repurchase_price": "0.10",
                                            "effective_date": "2026-07-01"})
    assert (repurchase["kind"], repurchase["price_per_share"]) == ("stock_repurchase", "0.1000000000")
    write("stock-cancellation", {"certificate": "CS-1", "quantity": 100_000, "effective_date": "2026-07-01"})
    safe = write("convertible-issuance", {"stakeholder": people["Hannah Lee"], "instrument": "post_money_safe",
                                          "amount": "250000", "valuation_cap": "6000000", "discount": "0.20",
                                          "effective_date": "2025-06-02"})
    assert safe["terms"]["valuation_cap"] == "6000000.00"
    warrant = write("warrant-issuance", {"stakeholder": people["Bank"], "share_class": common.json()["id"],
                                         "quantity": 40_000, "exercise_price": "0.50", "effective_date": "2025-07-01",
                                         "expiry_date": "2035-07-01"})
    assert (warrant["security_ref"], warrant["terms"]) == ("W-1", {"expiry_date": "2035-07-01"})
    write("warrant-exercise", {"warrant": "W-1", "quantity": 40_000, "effective_date": "2026-08-01"})

    table = founder.client.get(f"{founder.base}/cap-table/", {"as_of": "2026-12-31"}).json()
    by_holder = {row["name"]: row for row in table["by_stakeholder"]}
    assert by_holder["Mei Chen"]["outstanding"] == 8_000_000 - 1_000_000 - 100_000
    assert by_holder["Chen Family Trust"]["outstanding"] == 1_000_000
    assert by_holder["Ada Engineer"]["outstanding"] == 50_000 - 10_000
    assert by_holder["Ada Engineer"]["fully_diluted"] == 40_000 + 50_000
    assert by_holder["Bank"]["outstanding"] == 40_000
    assert by_holder["Option pool (available)"]["fully_diluted"] == 1_500_000 - 200_000 + 100_000
    plans = founder.client.get(f"{founder.base}/plans/").json()
    assert plans[0]["available"] == 1_400_000
    audited = set(AuditEvent.objects.filter(company_id=founder.company.pk).values_list("action", flat=True))
    assert {"equity.stock_repurchase", "equity.stock_transfer", "equity.warrant_exercise",
            "equity.option_cancellation"} <= audited


@pytest.fixture
def lumen(founder: Any) -> Any:
    actor = Actor(user=founder.membership.user)
    common = services.share_class_create(actor=actor, company=founder.company, name="Common", kind="common",
                                         authorized_shares=10_000_000)
    mei = services.stakeholder_create(actor=actor, company=founder.company, name="Mei Chen")
    services.stock_issue(actor=actor, stakeholder=mei, share_class=common, quantity=8_000_000,
                         effective_date=date(2025, 3, 3))
    founder.common, founder.mei = common, mei
    return founder


@pytest.mark.parametrize(("path", "data", "field", "message"), [
    ("transactions/stock-issuance/", {"share_class": "$common", "quantity": 1, "effective_date": "2025-03-03"},
     "stakeholder", "required"),
    ("transactions/stock-issuance/", {"stakeholder": "$mei", "share_class": "$common", "quantity": 2_000_001,
                                      "effective_date": "2025-03-03"}, "quantity", "2,000,000 shares left"),
    ("transactions/stock-issuance/", {"stakeholder": "$mei", "share_class": "$common", "quantity": 0,
                                      "effective_date": "2025-03-03"}, "quantity", "greater than or equal to 1"),
    ("transactions/stock-issuance/", {"stakeholder": "$foreigner", "share_class": "$common", "quantity": 1,
                                      "effective_date": "2025-03-03"}, "stakeholder", "does not exist"),
    ("transactions/stock-issuance/", {"stakeholder": "$mei", "share_class": "$common", "quantity": 1,
                                      "effective_date": "soon"}, "effective_date", "Date has wrong format"),
    ("transactions/option-exercise/", {"grant": "CS-1", "quantity": 1, "effective_date": "2025-03-03"},
     "grant", "no option grant CS-1"),
    ("transactions/stock-cancellation/", {"certificate": "CS-1", "quantity": 8_000_001,
                                          "effective_date": "2025-03-03"}, "quantity", "8,000,000 shares left"),
    ("transactions/stock-cancellation/", {"certificate": "CS-1", "quantity": 1, "effective_date": "2025-03-02"},
     "effective_date", "before the security was issued"),
    ("transactions/stock-transfer/", {"certificate": "CS-1", "to": "$mei", "quantity": 1,
                                      "effective_date": "2025-03-03"}, "to", "another stakeholder"),
    ("transactions/convertible-issuance/", {"stakeholder": "$mei", "instrument": "pre_money_safe", "amount": "100",
                                            "effective_date": "2025-03-03"}, "valuation_cap", "cap, a discount"),
    ("transactions/convertible-issuance/", {"stakeholder": "$mei", "instrument": "bond", "amount": "100",
                                            "effective_date": "2025-03-03"}, "instrument", "not a valid choice"),
    ("transactions/warrant-issuance/", {"stakeholder": "$mei", "share_class": "$common", "quantity": 1,
                                        "exercise_price": "1", "effective_date": "2025-03-03",
                                        "expiry_date": "2025-01-01"}, "expiry_date", "expire after"),
    ("transactions/warrant-exercise/", {"warrant": "W-9", "quantity": 1, "effective_date": "2025-03-03"},
     "warrant", "no warrant W-9"),
    ("share-classes/", {"name": "common", "kind": "common", "authorized_shares": 10}, "name", "already has a class"),
    ("share-classes/", {"name": "Seed", "kind": "preferred", "authorized_shares": 10, "participation_cap": "2"},
     "participation_cap", "Only a participating class"),
    ("share-classes/", {"name": "Seed", "kind": "preferred", "authorized_shares": 0}, "authorized_shares",
     "greater than or equal to 1"),
    ("stakeholders/", {"name": "MEI CHEN"}, "name", "already has a stakeholder"),
    ("plans/", {"name": "Plan", "share_class": "$common", "reserved": 0, "effective_date": "2025-03-03"},
     "reserved", "greater than or equal to 1"),
])
def test_bad_input_is_a_400_naming_the_field_and_changes_nothing(
    lumen: Any, path: str, data: dict[str, Any], field: str, message: str,
) -> None:
    foreign_owner = MembershipFactory(role="owner")
    foreigner = services.stakeholder_create(actor=Actor(user=foreign_owner.user), company=foreign_owner.company,
                                            name="Foreigner")
    ids = {"$mei": lumen.mei.pk, "$common": lumen.common.pk, "$foreigner": foreigner.pk}
    payload = {key: ids.get(value, value) if isinstance(value, str) else value for key, value in data.items()}
    before = (ledger_size(lumen.company), ShareClass.objects.count(), Stakeholder.objects.count())
    response = lumen.post(path, payload)
    assert response.status_code == 400, response.content
    errors = response.json()
    assert field in errors, errors
    assert message in " ".join(errors[field]), errors
    assert (ledger_size(lumen.company), ShareClass.objects.count(), Stakeholder.objects.count()) == before


def test_viewers_outsiders_and_strangers_change_nothing(lumen: Any) -> None:
    data = {"stakeholder": lumen.mei.pk, "share_class": lumen.common.pk, "quantity": 1, "effective_date": "2025-03-03"}
    viewer = MembershipFactory(company=lumen.company, role="viewer").user
    outsider = MembershipFactory(role="owner").user
    for user, expected in [(viewer, 403), (outsider, 403)]:
        client = Client()
        client.force_login(user)
        response = client.post(f"{lumen.base}/transactions/stock-issuance/", data, content_type="application/json")
        assert response.status_code == expected
    assert Client().post(f"{lumen.base}/transactions/stock-issuance/", data,
                         content_type="application/json").status_code == 401
    assert lumen.client.post("/api/v1/companies/no-such-company/transactions/stock-issuance/", data,
                             content_type="application/json").status_code == 404
    assert ledger_size(lumen.company) == 1


def test_a_viewer_reads_the_pools_but_cannot_create_one(lumen: Any) -> None:
    viewer = MembershipFactory(company=lumen.company, role="viewer").user
    client = Client()
    client.force_login(viewer)
    assert client.get(f"{lumen.base}/plans/").json() == []
    response = client.post(f"{lumen.base}/plans/", {"name": "Plan", "share_class": lumen.common.pk, "reserved": 10,
                                                    "effective_date": "2025-03-03"}, content_type="application/json")
    assert response.status_code == 403
    assert not lumen.company.equity_plans.exists()
