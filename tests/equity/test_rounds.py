"""Rounds against the real database: a draft's terms, opening, investments under the round's maximum (also
under concurrency), and the close that writes the ledger in one transaction exactly as the pro-forma said."""

from __future__ import annotations

import threading
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.utils import timezone

from companies.models import Company
from compliance.audit import Actor
from compliance.models import AuditEvent
from equity import selectors, services
from equity.choices import InvestmentState, RoundState, TransactionKind
from equity.models import EquityTransaction, Investment, Round, ShareClass, Stakeholder
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db

FOUNDED = date(2025, 3, 3)


def lumen_before_seed() -> Any:
    """Journey 1 before the seed: common and an empty Series Seed Preferred, Mei's 8,000,000 shares, a
    1,000,000-share pool with 250,000 granted, and two angels' post-money SAFEs."""
    owner = MembershipFactory(role="owner")
    mei = Actor(user=owner.user)
    company = owner.company
    common = services.share_class_create(actor=mei, company=company, name="Common", kind="common",
                                         authorized_shares=10_000_000, par_value=Decimal("0.00001"))
    services.share_class_create(actor=mei, company=company, name="Series Seed Preferred", kind="preferred",
                                authorized_shares=1_000_000, seniority=1)
    founder = services.stakeholder_create(actor=mei, company=company, name="Mei Chen", relationship="founder")
    services.stock_issue(actor=mei, stakeholder=founder, share_class=common, quantity=8_000_000,
                         effective_date=FOUNDED, vesting_start=FOUNDED, vesting_months=48, vesting_cliff_months=12)
    plan = services.plan_create(actor=mei, share_class=common, name="Equity Incentive Plan", reserved=1_000_000,
                                effective_date=FOUNDED)
    for name, shares in [("Ada Okonkwo", 150_000), ("Tomás Reyes", 100_000)]:
        employee = services.stakeholder_create(actor=mei, company=company, name=name, relationship="employee")
        services.option_grant(actor=mei, plan=plan, stakeholder=employee, quantity=shares,
                              exercise_price=Decimal("0.05"), effective_date=FOUNDED + timedelta(days=60))
    for name, amount, cap in [("Hannah Lee", "250000", "6000000"), ("Rafael Costa", "150000", "8000000")]:
        angel = services.stakeholder_create(actor=mei, company=company, name=name)
        services.convertible_issue(actor=mei, stakeholder=angel, instrument="post_money_safe", amount=Decimal(amount),
                                   valuation_cap=Decimal(cap), effective_date=FOUNDED + timedelta(days=90))
    return type("Lumen", (), {"actor": mei, "company": company, "common": common, "plan": plan, "owner": owner})


@pytest.fixture
def lumen() -> Any:
    return lumen_before_seed()


def seed_terms(**overrides: Any) -> dict[str, Any]:
    """The journey's seed: $2M at an $8M pre-money, the pool topped up to 10%."""
    return {"name": "Seed", "kind": "priced", "target_amount": Decimal(2_000_000),
            "minimum_amount": Decimal(1_000_000), "maximum_amount": Decimal(2_500_000),
            "minimum_ticket": Decimal(25_000), "closes_on": timezone.localdate() + timedelta(days=30),
            "exemption": "reg_d_506b", "jurisdictions": ["US", "GB"], "pre_money_valuation": Decimal(8_000_000),
            "pool_target_percent": Decimal(10), "series_name": "Series Seed Preferred", **overrides}


def open_seed(lumen: Any, **overrides: Any) -> Round:
    draft = services.round_create(actor=lumen.actor, company=lumen.company, **seed_terms(**overrides))
    return services.round_open(actor=lumen.actor, round=draft)


def investor(lumen: Any, name: str) -> Stakeholder:
    return services.stakeholder_create(actor=lumen.actor, company=lumen.company, name=name)


def ledger_snapshot(company: Company) -> list[tuple[Any, ...]]:
    return list(EquityTransaction.objects.filter(company=company).values_list("pk", "kind", "quantity"))


def test_closing_a_priced_round_writes_exactly_the_pro_forma(lumen: Any) -> None:
    seed = open_seed(lumen)
    today = timezone.localdate()
    services.investment_record(actor=lumen.actor, round=seed, stakeholder=investor(lumen, "Northwind Ventures"),
                               amount=Decimal(1_500_000), received_on=today, reference="WIRE-1")
    services.investment_record(actor=lumen.actor, round=seed, stakeholder=investor(lumen, "Priya Raman"),
                               amount=Decimal(500_000), received_on=today)
    expected = selectors.round_pro_forma(round=seed, closing_date=today)

    closed = services.round_close(actor=lumen.actor, round=seed)

    assert closed.state == RoundState.CLOSED
    assert closed.closed_on == today
    assert closed.price_per_share == expected.price_per_share
    table = selectors.cap_table(company=lumen.company, as_of=today)
    assert {(r.key, r.fully_diluted) for r in table.by_stakeholder} == {
        (r.key, r.fully_diluted) for r in expected.holdings.by_stakeholder}
    assert table.total_fully_diluted == expected.post_money_shares
    assert sum(row.fully_diluted_ownership for row in table.by_stakeholder) == 1
    # The investors' shares: floor(amount / price) of the series the founder set up before the round.
    series = ShareClass.objects.get(company=lumen.company, name="Series Seed Preferred")
    assert closed.share_class == series
    assert series.original_issue_price == expected.price_per_share
    northwind = Investment.objects.get(stakeholder__name="Northwind Ventures")
    assert northwind.state == InvestmentState.ACCEPTED
    assert northwind.security is not None
    assert northwind.security.share_class == series
    assert northwind.security.quantity == int(Decimal(1_500_000) / expected.price_per_share)
    # Both SAFEs converted once, each at its own price; the pool holds 10% of the post-money, within a share.
    conversions = EquityTransaction.objects.filter(company=lumen.company, kind=TransactionKind.CONVERSION)
    assert {c.stakeholder.name: c.quantity for c in conversions} == {
        c.holder: c.shares for c in expected.conversions}
    assert not selectors.convertible_list_outstanding(company=lumen.company, as_of=today).exists()
    pool = next(r for r in table.by_stakeholder if r.key == selectors.POOL_HOLDER)
    assert pool.fully_diluted == expected.pool_available
    assert abs(Decimal(pool.fully_diluted) / table.total_fully_diluted - Decimal("0.10")) < Decimal("0.000001")
    # The common class was authorized for everything issued or reserved; everything is in the audit log.
    lumen.common.refresh_from_db()
    assert lumen.common.authorized_shares >= 8_000_000 + 1_000_000 + expected.new_pool_shares
    actions = set(AuditEvent.objects.filter(company_id=lumen.company.pk).values_list("action", flat=True))
    assert {"equity.round_close", "equity.conversion", "equity.plan_adjustment"} <= actions


def test_a_safe_round_issues_one_safe_per_investment_on_the_rounds_terms(lumen: Any) -> None:
    draft = services.round_create(actor=lumen.actor, company=lumen.company, **seed_terms(
        name="Bridge", kind="safe", pre_money_valuation=None, pool_target_percent=None, series_name="",
        instrument="post_money_safe", valuation_cap=Decimal(12_000_000), discount=Decimal("0.20")))
    bridge = services.round_open(actor=lumen.actor, round=draft)
    services.investment_record(actor=lumen.actor, round=bridge, stakeholder=investor(lumen, "Angel One"),
                               amount=Decimal(1_000_000), received_on=timezone.localdate())
    services.round_close(actor=lumen.actor, round=bridge)
    safe = EquityTransaction.objects.get(company=lumen.company, kind=TransactionKind.CONVERTIBLE_ISSUANCE,
                                         stakeholder__name="Angel One")
    assert safe.amount == Decimal(1_000_000)
    assert safe.terms["valuation_cap"] == "12000000.00"
    assert safe.terms["discount"] == "0.2000"
    assert Investment.objects.get(round=bridge).security == safe


def test_investments_stay_within_the_rounds_maximum_and_minimum_ticket(lumen: Any) -> None:
    seed = open_seed(lumen)
    fund = investor(lumen, "Northwind Ventures")
    today = timezone.localdate()
    with pytest.raises(ValidationError, match=r"minimum investment is \$25,000.00"):
        services.investment_record(actor=lumen.actor, round=seed, stakeholder=fund, amount=Decimal(10_000),
                                   received_on=today)
    services.investment_record(actor=lumen.actor, round=seed, stakeholder=fund, amount=Decimal(2_400_000),
                               received_on=today)
    with pytest.raises(ValidationError, match=r"\$100,000.00 left of its \$2,500,000.00 maximum"):
        services.investment_record(actor=lumen.actor, round=seed, stakeholder=fund, amount=Decimal(100_001),
                                   received_on=today)
    assert selectors.round_raised(round=seed) == Decimal(2_400_000)


def test_concurrent_investments_never_push_a_round_over_its_maximum(transactional_db: Any) -> None:
    lumen = lumen_before_seed()
    seed = open_seed(lumen, maximum_amount=Decimal(2_500_000))
    funds = [investor(lumen, f"Fund {n}") for n in range(12)]
    barrier = threading.Barrier(len(funds))
    outcomes: list[str] = []

    def invest(fund: Stakeholder) -> None:
        try:
            barrier.wait()
            services.investment_record(actor=lumen.actor, round=seed, stakeholder=fund, amount=Decimal(600_000),
                                       received_on=timezone.localdate())
            outcomes.append("accepted")
        except ValidationError:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=invest, args=(fund,)) for fund in funds]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count("accepted") == 4
    assert outcomes.count("refused") == 8
    assert selectors.round_raised(round=seed) == Decimal(2_400_000)


def test_the_round_follows_its_states(lumen: Any) -> None:
    draft = services.round_create(actor=lumen.actor, company=lumen.company, **seed_terms())
    today = timezone.localdate()
    fund = investor(lumen, "Northwind Ventures")
    with pytest.raises(ValidationError, match="only while the round is open; it is draft"):
        services.investment_record(actor=lumen.actor, round=draft, stakeholder=fund, amount=Decimal(100_000),
                                   received_on=today)
    seed = services.round_open(actor=lumen.actor, round=draft)
    with pytest.raises(ValidationError, match="Only a draft round can be changed"):
        services.round_update(actor=lumen.actor, round=seed, pre_money_valuation=Decimal(1))
    services.investment_record(actor=lumen.actor, round=seed, stakeholder=fund, amount=Decimal(1_000_000),
                               received_on=today)
    closing = services.round_start_closing(actor=lumen.actor, round=seed)
    with pytest.raises(ValidationError, match="it is closing"):
        services.investment_record(actor=lumen.actor, round=closing, stakeholder=fund, amount=Decimal(100_000),
                                   received_on=today)
    services.round_close(actor=lumen.actor, round=closing)
    with pytest.raises(ValidationError, match="this one is closed"):
        services.round_close(actor=lumen.actor, round=closing)
    with pytest.raises(ValidationError, match="A closed round cannot be cancelled"):
        services.round_cancel(actor=lumen.actor, round=closing)


def test_a_round_below_its_minimum_does_not_close_and_a_cancelled_one_reaches_no_cap_table(lumen: Any) -> None:
    seed = open_seed(lumen)
    services.investment_record(actor=lumen.actor, round=seed, stakeholder=investor(lumen, "Small Fund"),
                               amount=Decimal(400_000), received_on=timezone.localdate())
    before = ledger_snapshot(lumen.company)
    with pytest.raises(ValidationError, match=r"\$400,000.00 of the \$1,000,000.00 it needs"):
        services.round_close(actor=lumen.actor, round=seed)
    assert ledger_snapshot(lumen.company) == before
    services.round_cancel(actor=lumen.actor, round=seed)
    assert Investment.objects.get(round=seed).state == InvestmentState.CANCELLED
    assert ledger_snapshot(lumen.company) == before


def test_a_failure_half_way_through_the_close_leaves_nothing_behind(lumen: Any, monkeypatch: Any) -> None:
    seed = open_seed(lumen)
    services.investment_record(actor=lumen.actor, round=seed, stakeholder=investor(lumen, "Northwind Ventures"),
                               amount=Decimal(2_000_000), received_on=timezone.localdate())
    before = ledger_snapshot(lumen.company)

    def pool_fails(*args: Any, **kwargs: Any) -> None:
        raise ValidationError("the disk is full")

    monkeypatch.setattr(services, "plan_adjust", pool_fails)  # after the shares and the conversions were written
    with pytest.raises(ValidationError, match="the disk is full"):
        services.round_close(actor=lumen.actor, round=seed)
    seed.refresh_from_db()
    assert seed.state == RoundState.OPEN
    assert ledger_snapshot(lumen.company) == before
    assert Investment.objects.get(round=seed).state == InvestmentState.FUNDED


@pytest.mark.parametrize(("overrides", "field"), [
    ({"minimum_amount": Decimal(3_000_000)}, "minimum_amount"),
    ({"maximum_amount": Decimal(1_500_000)}, "maximum_amount"),
    ({"jurisdictions": ["US", "XX"]}, "jurisdictions"),
    ({"pool_target_percent": Decimal(150)}, "pool_target_percent"),
    ({"pool_new_shares": 100}, "pool_new_shares"),
    ({"participation_cap": Decimal(3)}, "participation_cap"),
])
def test_bad_terms_are_refused_with_the_field_named(lumen: Any, overrides: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as refused:
        services.round_create(actor=lumen.actor, company=lumen.company, **seed_terms(**overrides))
    assert field in refused.value.message_dict
    assert not Round.objects.exists()


def test_a_round_opens_only_when_complete_and_workable(lumen: Any) -> None:
    incomplete = services.round_create(actor=lumen.actor, company=lumen.company,
                                       **seed_terms(pre_money_valuation=None, jurisdictions=[], closes_on=None))
    with pytest.raises(ValidationError) as refused:
        services.round_open(actor=lumen.actor, round=incomplete)
    assert {"pre_money_valuation", "jurisdictions", "closes_on"} <= set(refused.value.message_dict)
    # A pool target that leaves no room for anyone else cannot be solved: refused, still a draft.
    greedy = services.round_create(actor=lumen.actor, company=lumen.company, **seed_terms(
        name="Greedy", pool_target_percent=Decimal("99.99"), pre_money_valuation=Decimal(1)))
    with pytest.raises(ValidationError, match="do not work with the cap table"):
        services.round_open(actor=lumen.actor, round=greedy)
    greedy.refresh_from_db()
    assert greedy.state == RoundState.DRAFT


def test_only_the_companys_editors_run_its_rounds(lumen: Any) -> None:
    seed = open_seed(lumen)
    viewer = MembershipFactory(company=lumen.company, role="viewer")
    outsider = MembershipFactory(role="owner")
    for actor in (Actor(user=viewer.user), Actor(user=outsider.user)):
        with pytest.raises(PermissionDenied):
            services.round_close(actor=actor, round=seed)
        with pytest.raises(PermissionDenied):
            services.round_create(actor=actor, company=lumen.company, **seed_terms(name="Other"))
    foreign = services.stakeholder_create(actor=Actor(user=outsider.user), company=outsider.company, name="Stranger")
    with pytest.raises(ValidationError, match="another company"):
        services.investment_record(actor=lumen.actor, round=seed, stakeholder=foreign, amount=Decimal(100_000),
                                   received_on=timezone.localdate())


def test_the_pool_top_up_authorizes_just_enough_common_stock(lumen: Any) -> None:
    # Common authorized for exactly what is issued, granted and reserved: the top-up needs a charter increase.
    services.share_class_authorize(actor=lumen.actor, share_class=lumen.common, authorized_shares=9_000_000)
    seed = open_seed(lumen)
    services.investment_record(actor=lumen.actor, round=seed, stakeholder=investor(lumen, "Northwind Ventures"),
                               amount=Decimal(2_000_000), received_on=timezone.localdate())
    expected = selectors.round_pro_forma(round=seed, closing_date=timezone.localdate())
    services.round_close(actor=lumen.actor, round=seed)
    lumen.common.refresh_from_db()
    # 8,000,000 issued + 250,000 granted and outstanding + 750,000 reserved + the new pool shares.
    assert lumen.common.authorized_shares == 9_000_000 + expected.new_pool_shares
    assert AuditEvent.objects.filter(action="equity.share_class_authorize").count() == 2
