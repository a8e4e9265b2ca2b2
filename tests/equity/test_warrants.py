"""Warrants on the ledger: issued with an exercise price and an expiry, exercised into stock of their class at
most once per share, never beyond the class's authorized shares or after they expire."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from compliance.audit import Actor
from compliance.models import AuditEvent
from equity import selectors, services
from equity.models import EquityTransaction
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db

DAY = date(2025, 3, 3)


@pytest.fixture
def lumen() -> Any:
    owner = MembershipFactory(role="owner")
    actor = Actor(user=owner.user)
    common = services.share_class_create(actor=actor, company=owner.company, name="Common", kind="common",
                                         authorized_shares=10_000_000)
    founder = services.stakeholder_create(actor=actor, company=owner.company, name="Mei Chen", relationship="founder")
    services.stock_issue(actor=actor, stakeholder=founder, share_class=common, quantity=9_000_000, effective_date=DAY)
    lender = services.stakeholder_create(actor=actor, company=owner.company, name="Venture Debt Fund",
                                         kind="entity")
    return type("Lumen", (), {"actor": actor, "company": owner.company, "common": common, "lender": lender,
                              "owner": owner})


def test_a_warrant_is_exercised_into_stock_of_its_class(lumen: Any) -> None:
    warrant = services.warrant_issue(actor=lumen.actor, stakeholder=lumen.lender, share_class=lumen.common,
                                     quantity=600_000, exercise_price=Decimal("0.50"), effective_date=DAY,
                                     expiry_date=date(2035, 3, 3))
    assert (warrant.security_ref, warrant.kind, warrant.terms) == ("W-1", "warrant_issuance",
                                                                  {"expiry_date": "2035-03-03"})
    assert services.issued_shares(lumen.common) == 9_000_000  # a warrant issues no stock until it is exercised

    certificate = services.warrant_exercise(actor=lumen.actor, warrant=warrant, quantity=250_000,
                                            effective_date=date(2026, 1, 5))
    assert (certificate.kind, certificate.security_ref, certificate.acts_on_id) == ("warrant_exercise", "CS-2",
                                                                                    warrant.pk)
    assert certificate.price_per_share == Decimal("0.50")
    assert certificate.share_class == lumen.common
    assert services.remaining(warrant) == 350_000
    assert services.issued_shares(lumen.common) == 9_250_000
    table = {row.key: row for row in selectors.cap_table(company=lumen.company, as_of=date(2026, 1, 5)).by_stakeholder}
    assert table["Venture Debt Fund"].outstanding == 250_000
    with pytest.raises(ValidationError, match="350,000 shares left"):
        services.warrant_exercise(actor=lumen.actor, warrant=warrant, quantity=350_001, effective_date=date(2026, 2, 1))
    actions = set(AuditEvent.objects.filter(company_id=lumen.company.pk).values_list("action", flat=True))
    assert {"equity.warrant_issuance", "equity.warrant_exercise"} <= actions


def test_exercise_is_refused_beyond_authorized_after_expiry_and_for_other_securities(lumen: Any) -> None:
    warrant = services.warrant_issue(actor=lumen.actor, stakeholder=lumen.lender, share_class=lumen.common,
                                     quantity=2_000_000, exercise_price=Decimal("0.50"), effective_date=DAY,
                                     expiry_date=date(2027, 3, 3))
    with pytest.raises(ValidationError, match="1,000,000 shares left to issue"):
        services.warrant_exercise(actor=lumen.actor, warrant=warrant, quantity=1_000_001, effective_date=date(2026, 1, 5))
    with pytest.raises(ValidationError, match="expired on 2027-03-03"):
        services.warrant_exercise(actor=lumen.actor, warrant=warrant, quantity=1, effective_date=date(2027, 3, 4))
    services.warrant_exercise(actor=lumen.actor, warrant=warrant, quantity=1, effective_date=date(2027, 3, 3))
    stock = EquityTransaction.objects.get(kind="stock_issuance")
    with pytest.raises(ValidationError, match="Only a warrant"):
        services.warrant_exercise(actor=lumen.actor, warrant=stock, quantity=1, effective_date=date(2026, 1, 5))
    assert EquityTransaction.objects.filter(kind="warrant_exercise").count() == 1


def test_bad_warrant_terms_and_outsiders_are_refused(lumen: Any) -> None:
    with pytest.raises(ValidationError, match="expire after"):
        services.warrant_issue(actor=lumen.actor, stakeholder=lumen.lender, share_class=lumen.common, quantity=1,
                               exercise_price=Decimal(1), effective_date=DAY, expiry_date=DAY)
    with pytest.raises(ValidationError, match="above zero"):
        services.warrant_issue(actor=lumen.actor, stakeholder=lumen.lender, share_class=lumen.common, quantity=0,
                               exercise_price=Decimal(1), effective_date=DAY)
    warrant = services.warrant_issue(actor=lumen.actor, stakeholder=lumen.lender, share_class=lumen.common,
                                     quantity=10, exercise_price=Decimal(1), effective_date=DAY)
    viewer = MembershipFactory(company=lumen.company, role="viewer")
    with pytest.raises(PermissionDenied):
        services.warrant_exercise(actor=Actor(user=viewer.user), warrant=warrant, quantity=1, effective_date=DAY)
    with pytest.raises(PermissionDenied):
        services.warrant_issue(actor=Actor(user=viewer.user), stakeholder=lumen.lender, share_class=lumen.common,
                               quantity=1, exercise_price=Decimal(1), effective_date=DAY)
    assert EquityTransaction.objects.filter(kind__startswith="warrant").count() == 1


def test_an_outstanding_warrant_counts_in_the_fully_diluted_cap_table(lumen: Any) -> None:
    services.warrant_issue(actor=lumen.actor, stakeholder=lumen.lender, share_class=lumen.common, quantity=600_000,
                           exercise_price=Decimal("0.50"), effective_date=DAY)
    table = selectors.cap_table(company=lumen.company, as_of=DAY)
    assert table.total_outstanding == 9_000_000
    assert table.total_fully_diluted == 9_600_000
    # A warrant counts until its expiry date and not after.
    later = DAY + timedelta(days=30)
    services.warrant_issue(actor=lumen.actor, stakeholder=lumen.lender, share_class=lumen.common, quantity=100_000,
                           exercise_price=Decimal("0.50"), effective_date=DAY, expiry_date=later)
    assert selectors.cap_table(company=lumen.company, as_of=later).total_fully_diluted == 9_700_000
    assert selectors.cap_table(company=lumen.company, as_of=later + timedelta(days=1)).total_fully_diluted == 9_600_000
