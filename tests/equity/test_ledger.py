"""The equity ledger against the real database: services refuse what would break it, and the triggers hold
the same rules for any other writer; the cap table at any date comes from the ledger."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DatabaseError, IntegrityError, connection, transaction

from compliance.audit import Actor
from compliance.models import AuditEvent
from equity import selectors, services
from equity.models import EquityTransaction, ShareClass
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db

DAY = date(2025, 3, 3)


@pytest.fixture
def lumen() -> Any:
    """Journey 1's start: Lumen's common stock, Mei's 8,000,000 founder shares, a 1,000,000-share pool."""
    owner = MembershipFactory(role="owner")
    mei = Actor(user=owner.user)
    company = owner.company
    common = services.share_class_create(actor=mei, company=company, name="Common", kind="common",
                                         authorized_shares=10_000_000, par_value=Decimal("0.00001"))
    founder = services.stakeholder_create(actor=mei, company=company, name="Mei Chen", relationship="founder")
    certificate = services.stock_issue(actor=mei, stakeholder=founder, share_class=common, quantity=8_000_000,
                                       effective_date=DAY, price_per_share=Decimal("0.00001"), vesting_start=DAY,
                                       vesting_months=48, vesting_cliff_months=12)
    plan = services.plan_create(actor=mei, share_class=common, name="2025 Equity Incentive Plan", reserved=1_000_000,
                                effective_date=DAY)
    return type("Lumen", (), {"actor": mei, "company": company, "common": common, "founder": founder,
                              "certificate": certificate, "plan": plan, "owner": owner})


def test_the_cap_table_comes_from_the_ledger(lumen: Any) -> None:
    ada = services.stakeholder_create(actor=lumen.actor, company=lumen.company, name="Ada Engineer",
                                      relationship="employee")
    services.option_grant(actor=lumen.actor, plan=lumen.plan, stakeholder=ada, quantity=250_000,
                          exercise_price=Decimal("0.10"), effective_date=date(2025, 6, 1))
    table = selectors.cap_table(company=lumen.company, as_of=date(2025, 12, 31))
    by_holder = {row.key: row for row in table.by_stakeholder}
    assert table.total_outstanding == 8_000_000
    assert table.total_fully_diluted == 9_000_000
    assert by_holder["Mei Chen"].outstanding == 8_000_000
    assert by_holder["Ada Engineer"].fully_diluted == 250_000
    assert by_holder["Option pool (available)"].fully_diluted == 750_000
    assert sum(row.fully_diluted_ownership for row in table.by_stakeholder) == 1
    # Before the grant, the whole pool is available: the table is as of a date.
    earlier = {row.key: row for row in selectors.cap_table(company=lumen.company, as_of=date(2025, 5, 31)).by_stakeholder}
    assert "Ada Engineer" not in earlier
    assert earlier["Option pool (available)"].fully_diluted == 1_000_000


def test_issuing_beyond_authorized_is_refused_by_the_service_and_by_the_database(lumen: Any) -> None:
    investor = services.stakeholder_create(actor=lumen.actor, company=lumen.company, name="Angel")
    with pytest.raises(ValidationError, match="2,000,000 shares left"):
        services.stock_issue(actor=lumen.actor, stakeholder=investor, share_class=lumen.common,
                             quantity=2_000_001, effective_date=DAY)
    with pytest.raises(IntegrityError, match="exceed the 10000000 authorized"), transaction.atomic():
        EquityTransaction.objects.create(company=lumen.company, kind="stock_issuance", effective_date=DAY,
                                         security_ref="CS-X", stakeholder=investor, share_class=lumen.common,
                                         quantity=2_000_001)
    assert selectors.cap_table(company=lumen.company, as_of=DAY).total_outstanding == 8_000_000


def test_options_are_exercised_once_and_cancelled_options_return_to_the_pool(lumen: Any) -> None:
    ada = services.stakeholder_create(actor=lumen.actor, company=lumen.company, name="Ada Engineer")
    grant = services.option_grant(actor=lumen.actor, plan=lumen.plan, stakeholder=ada, quantity=100_000,
                                  exercise_price=Decimal("0.10"), effective_date=DAY)
    services.option_exercise(actor=lumen.actor, grant=grant, quantity=40_000, effective_date=date(2026, 4, 1))
    with pytest.raises(ValidationError, match="60,000 shares left"):
        services.option_exercise(actor=lumen.actor, grant=grant, quantity=60_001, effective_date=date(2026, 4, 2))
    with pytest.raises(IntegrityError, match="used beyond"), transaction.atomic():
        EquityTransaction.objects.create(company=lumen.company, kind="option_exercise", effective_date=DAY,
                                         security_ref="CS-Y", acts_on=grant, stakeholder=ada,
                                         share_class=lumen.common, quantity=60_001)
    services.option_cancel(actor=lumen.actor, grant=grant, quantity=60_000, effective_date=date(2026, 5, 1))
    table = {r.key: r for r in selectors.cap_table(company=lumen.company, as_of=date(2026, 6, 1)).by_stakeholder}
    assert table["Ada Engineer"].outstanding == 40_000
    assert table["Ada Engineer"].fully_diluted == 40_000
    assert table["Option pool (available)"].fully_diluted == 960_000


def test_the_pool_cannot_be_over_granted_or_shrunk_below_its_grants(lumen: Any) -> None:
    ada = services.stakeholder_create(actor=lumen.actor, company=lumen.company, name="Ada Engineer")
    with pytest.raises(ValidationError, match="1,000,000 shares left to grant"):
        services.option_grant(actor=lumen.actor, plan=lumen.plan, stakeholder=ada, quantity=1_000_001,
                              exercise_price=Decimal("0.10"), effective_date=DAY)
    services.option_grant(actor=lumen.actor, plan=lumen.plan, stakeholder=ada, quantity=900_000,
                          exercise_price=Decimal("0.10"), effective_date=DAY)
    with pytest.raises(ValidationError, match="100,000 shares"):
        services.plan_adjust(actor=lumen.actor, plan=lumen.plan, quantity=-100_001, effective_date=DAY)
    with pytest.raises(IntegrityError, match="option pool would be short"), transaction.atomic():
        EquityTransaction.objects.create(company=lumen.company, kind="plan_adjustment", effective_date=DAY,
                                         security_ref="PLAN-X", plan=lumen.plan, quantity=-100_001)


def test_a_transfer_moves_shares_and_the_ledger_is_append_only(lumen: Any) -> None:
    trust = services.stakeholder_create(actor=lumen.actor, company=lumen.company, name="Chen Family Trust",
                                        kind="entity")
    services.stock_transfer(actor=lumen.actor, certificate=lumen.certificate, to=trust, quantity=1_000_000,
                            effective_date=date(2025, 9, 1))
    table = {r.key: r for r in selectors.cap_table(company=lumen.company, as_of=date(2025, 9, 1)).by_stakeholder}
    assert (table["Mei Chen"].outstanding, table["Chen Family Trust"].outstanding) == (7_000_000, 1_000_000)
    assert selectors.cap_table(company=lumen.company, as_of=date(2025, 9, 1)).total_outstanding == 8_000_000
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        EquityTransaction.objects.filter(pk=lumen.certificate.pk).update(quantity=9_000_000)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM equity_equitytransaction WHERE id = %s", [lumen.plan.transactions.first().pk])


def test_only_owners_and_admins_write_the_cap_table(lumen: Any) -> None:
    viewer = MembershipFactory(company=lumen.company, role="viewer")
    outsider = MembershipFactory(role="owner")
    for user in (viewer.user, outsider.user):
        with pytest.raises(PermissionDenied):
            services.stock_issue(actor=Actor(user=user), stakeholder=lumen.founder, share_class=lumen.common,
                                 quantity=1, effective_date=DAY)
    assert EquityTransaction.objects.filter(kind="stock_issuance").count() == 1


def test_every_ledger_write_is_audited(lumen: Any) -> None:
    actions = set(AuditEvent.objects.filter(company_id=lumen.company.pk).values_list("action", flat=True))
    assert {"equity.share_class_create", "equity.stakeholder_create", "equity.stock_issuance",
            "equity.plan_adjustment"} <= actions


def test_safes_are_recorded_with_their_terms_and_bad_terms_are_refused(lumen: Any) -> None:
    angel = services.stakeholder_create(actor=lumen.actor, company=lumen.company, name="Angel One")
    safe = services.convertible_issue(actor=lumen.actor, stakeholder=angel, instrument="post_money_safe",
                                      amount=Decimal("250000"), valuation_cap=Decimal("6000000"),
                                      effective_date=date(2025, 5, 1))
    assert safe.security_ref == "CN-1"
    assert safe.terms["valuation_cap"] == "6000000"
    with pytest.raises(ValidationError, match="between 0 and 1"):
        services.convertible_issue(actor=lumen.actor, stakeholder=angel, instrument="post_money_safe",
                                   amount=Decimal("1"), discount=Decimal("20"), effective_date=DAY)
    with pytest.raises(ValidationError, match="cap, a discount"):
        services.convertible_issue(actor=lumen.actor, stakeholder=angel, instrument="pre_money_safe",
                                   amount=Decimal("1"), effective_date=DAY)


def test_class_terms_are_checked_by_the_database(lumen: Any) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        ShareClass.objects.create(company=lumen.company, name="Broken", kind="preferred", authorized_shares=10,
                                  participating=False, participation_cap=Decimal("3"))


def test_the_cap_table_page_shows_the_ledger_s_numbers(lumen: Any, client_for: Any) -> None:
    page = client_for(lumen.owner.user).get(f"/companies/{lumen.company.slug}/cap-table/", {"as_of": "2025-12-31"})
    assert page.status_code == 200
    html = page.content.decode()
    assert "8,000,000" in html
    assert "9,000,000" in html  # fully diluted with the pool
    assert "88.89%" in html
    bad_date = client_for(lumen.owner.user).get(f"/companies/{lumen.company.slug}/cap-table/", {"as_of": "nonsense"})
    assert bad_date.status_code == 200


def test_a_founder_records_the_cap_table_in_the_browser(lumen: Any, client_for: Any) -> None:
    client = client_for(lumen.owner.user)
    base = f"/companies/{lumen.company.slug}/cap-table/record"
    assert client.post(f"{base}/share-class/", {
        "name": "Series Seed Preferred", "kind": "preferred", "authorized_shares": "3000000", "par_value": "0.00001",
        "original_issue_price": "0", "liquidation_multiple": "1", "seniority": "1"}).status_code == 302
    assert client.post(f"{base}/stakeholder/", {"name": "Hannah Lee", "kind": "individual",
                                                "relationship": "investor"}).status_code == 302
    hannah = lumen.company.stakeholders.get(name="Hannah Lee")
    assert client.post(f"{base}/convertible/", {
        "stakeholder": hannah.pk, "instrument": "post_money_safe", "amount": "250000", "valuation_cap": "6000000",
        "effective_date": "2025-06-02"}).status_code == 302
    too_many = client.post(f"{base}/issue/", {"stakeholder": hannah.pk, "share_class": lumen.common.pk,
                                             "quantity": "2000001", "effective_date": "2025-06-02"})
    assert too_many.status_code == 400
    assert "2,000,000 shares left" in too_many.content.decode()
    unknown = client.get(f"{base}/nonsense/")
    assert unknown.status_code == 404


def test_a_stakeholder_of_another_company_cannot_be_chosen(lumen: Any, client_for: Any) -> None:
    other = MembershipFactory(role="owner")
    foreign = services.stakeholder_create(actor=Actor(user=other.user), company=other.company, name="Foreigner")
    response = client_for(lumen.owner.user).post(
        f"/companies/{lumen.company.slug}/cap-table/record/issue/",
        {"stakeholder": foreign.pk, "share_class": lumen.common.pk, "quantity": "10", "effective_date": "2025-06-02"})
    assert response.status_code == 400
    assert not EquityTransaction.objects.filter(stakeholder=foreign).exists()


def test_modelling_a_round_reproduces_the_option_pool_shuffle(client_for: Any) -> None:
    """Venture Hacks, "The Option Pool Shuffle": $2M at an $8M pre-money, 6,000,000 founder shares and a pool of
    20% of the post-money included in the pre-money give $1.00 per share and 10,000,000 shares after."""
    owner = MembershipFactory(role="owner")
    actor = Actor(user=owner.user)
    common = services.share_class_create(actor=actor, company=owner.company, name="Common", kind="common",
                                         authorized_shares=20_000_000)
    founders = services.stakeholder_create(actor=actor, company=owner.company, name="Founders")
    services.stock_issue(actor=actor, stakeholder=founders, share_class=common, quantity=6_000_000, effective_date=DAY)
    services.plan_create(actor=actor, share_class=common, name="Plan", reserved=1, effective_date=DAY)
    page = client_for(owner.user).get(f"/companies/{owner.company.slug}/cap-table/model/", {
        "series": "Series A", "pre_money": "8000000", "new_money": "2000000", "pool_target": "20",
        "closing_date": "2026-01-15"})
    result = page.context["result"]
    assert result.price_per_share == Decimal("1.0000")
    assert result.post_money_shares == 10_000_000
    assert result.effective_pre_money == Decimal("6000000")
    assert '<div class="h2 mb-0" id="price-per-share">$1.0000</div>' in page.content.decode()
    assert client_for(owner.user).get(f"/companies/{owner.company.slug}/cap-table/model/",
                                      {"pre_money": "-5", "new_money": "1", "series": "A"}).context["result"] is None


def test_modelling_journey_1_converts_both_safes(client_for: Any) -> None:
    from equity.demo import load_equity_demo

    owner = MembershipFactory(role="owner")
    load_equity_demo(company=owner.company, owner=owner.user)
    page = client_for(owner.user).get(f"/companies/{owner.company.slug}/cap-table/model/", {
        "series": "Series Seed Preferred", "pre_money": "8000000", "new_money": "2000000", "pool_target": "10",
        "closing_date": "2026-03-01"})
    result = page.context["result"]
    assert [c.holder for c in result.conversions] == ["Hannah Lee", "Rafael Costa"]
    assert sum(row.fully_diluted_ownership for row in result.holdings.by_stakeholder) == 1
    # A post-money SAFE owns amount / cap of the post-money capitalization it converts into, at most.
    hannah = next(c for c in result.conversions if c.holder == "Hannah Lee")
    assert hannah.conversion_price <= hannah.cap_price


def test_the_cap_table_downloads_as_csv(lumen: Any, client_for: Any) -> None:
    import csv
    import io

    response = client_for(lumen.owner.user).get(f"/companies/{lumen.company.slug}/cap-table.csv",
                                                {"as_of": "2025-12-31"})
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][0] == "stakeholder"
    assert ["Mei Chen", "8000000", "100.0000", "8000000", "88.8889"] in rows
    assert rows[-1] == ["Total", "8000000", "100.0000", "9000000", "100.0000"]


def test_the_api_returns_the_cap_table_as_of_a_date(lumen: Any, client_for: Any) -> None:
    client = client_for(lumen.owner.user)
    table = client.get(f"/api/v1/companies/{lumen.company.slug}/cap-table/", {"as_of": "2025-12-31"}).json()
    assert table["total_fully_diluted"] == 9_000_000
    assert {"name": "Mei Chen", "outstanding": 8_000_000, "fully_diluted": 8_000_000,
            "fully_diluted_percent": "88.89"} in table["by_stakeholder"]
    assert client.get(f"/api/v1/companies/{lumen.company.slug}/cap-table/", {"as_of": "soon"}).status_code == 400
    ledger = client.get(f"/api/v1/companies/{lumen.company.slug}/transactions/").json()
    assert [row["kind"] for row in ledger] == ["stock_issuance", "plan_adjustment"]
