"""The running totals the ledger's trigger keeps (migration 0004) against the history they summarise.

Today's cap table reads `Position` rows; a past date nets the history (`capitalization_from_history`). Both
must give the same capitalization, position by position and in the same order, after every kind of row, for
generated ledgers written row by row (in statement order and reversed), under concurrent writers, and when a
plan moves to another class.
"""

from __future__ import annotations

import threading
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from bench import equity as bench_equity
from compliance.audit import Actor
from equity import selectors, services
from equity.captable import Capitalization, Position, PositionKind
from equity.models import EquityPlan, EquityTransaction, SecurityBalance, ShareClass, Stakeholder
from equity.models import Position as PositionTotal
from tests.factories import CompanyFactory, MembershipFactory

HISTORY_QUERY = "WITH used AS"  # the start of the history query (selectors._POSITIONS_SQL)


def _today_and_history(company: Any, as_of: date) -> tuple[Capitalization, Capitalization]:
    """The capitalization as the pages read it, checked to come from the running totals, and from the history."""
    with CaptureQueriesContext(connection) as queries:
        today = selectors.capitalization_as_of(company=company, as_of=as_of)
    assert not any(HISTORY_QUERY in query["sql"] for query in queries.captured_queries)
    return today, selectors.capitalization_from_history(company=company, as_of=as_of)


def _balances_match_the_history(company: Any) -> None:
    balances = dict(SecurityBalance.objects.filter(security__company=company).values_list("security_id", "remaining"))
    securities = EquityTransaction.objects.filter(company=company, kind__in=[
        "stock_issuance", "stock_transfer", "option_exercise", "warrant_exercise", "conversion", "option_grant",
        "warrant_issuance"])
    assert balances == {security.pk: services.remaining(security) for security in securities}


@pytest.mark.django_db
def test_every_kind_of_row_keeps_the_totals_equal_to_the_history() -> None:
    owner = MembershipFactory(role="owner")
    actor, company = Actor(user=owner.user), owner.company
    common = services.share_class_create(actor=actor, company=company, name="Common", kind="common",
                                         authorized_shares=20_000_000)
    series_a = services.share_class_create(actor=actor, company=company, name="Series A Preferred", kind="preferred",
                                           authorized_shares=1_000_000, original_issue_price=Decimal(2),
                                           conversion_ratio=Decimal("1.5"), seniority=1)

    def person(name: str) -> Stakeholder:
        return services.stakeholder_create(actor=actor, company=company, name=name)

    mei, ada, bo, fund, angel = (person(name) for name in ("Mei", "Ada", "Bo", "Fund", "Angel"))
    founder_stock = services.stock_issue(actor=actor, stakeholder=mei, share_class=common, quantity=8_000_000,
                                         effective_date=date(2024, 1, 2))
    plan_a = services.plan_create(actor=actor, share_class=common, name="Plan A", reserved=1_000_000,
                                  effective_date=date(2024, 1, 2))
    plan_b = services.plan_create(actor=actor, share_class=common, name="Plan B", reserved=500_000,
                                  effective_date=date(2024, 6, 1))
    services.plan_adjust(actor=actor, plan=plan_b, quantity=-100_000, effective_date=date(2024, 6, 2))
    grant_a = services.option_grant(actor=actor, plan=plan_a, stakeholder=ada, quantity=100_000,
                                    exercise_price=Decimal("0.10"), effective_date=date(2024, 2, 1))
    grant_b = services.option_grant(actor=actor, plan=plan_b, stakeholder=ada, quantity=50_000,
                                    exercise_price=Decimal("0.10"), effective_date=date(2024, 7, 1))
    first_exercise = services.option_exercise(actor=actor, grant=grant_a, quantity=40_000,
                                              effective_date=date(2024, 9, 1))
    services.option_grant(actor=actor, plan=plan_a, stakeholder=bo, quantity=1_000, exercise_price=Decimal("0.20"),
                          effective_date=date(2024, 9, 10))
    services.option_exercise(actor=actor, grant=grant_a, quantity=10_000, effective_date=date(2024, 9, 15))
    services.option_cancel(actor=actor, grant=grant_b, quantity=10_000, effective_date=date(2024, 10, 1))
    to_bo = services.stock_transfer(actor=actor, certificate=founder_stock, to=bo, quantity=500_000,
                                    effective_date=date(2024, 11, 1))
    services.stock_cancel(actor=actor, certificate=to_bo, quantity=100_000, effective_date=date(2024, 12, 1))
    services.stock_cancel(actor=actor, certificate=founder_stock, quantity=200_000, effective_date=date(2025, 1, 2),
                          repurchase_price=Decimal("0.01"))
    # Ada's first exercise certificate goes whole to Bo: her stock position is now led by the second one.
    services.stock_transfer(actor=actor, certificate=first_exercise, to=bo, quantity=40_000,
                            effective_date=date(2025, 2, 1))
    short = services.warrant_issue(actor=actor, stakeholder=fund, share_class=series_a, quantity=30_000,
                                   exercise_price=Decimal(2), effective_date=date(2025, 2, 1),
                                   expiry_date=date(2026, 1, 1))
    services.warrant_issue(actor=actor, stakeholder=fund, share_class=series_a, quantity=20_000,
                           exercise_price=Decimal(2), effective_date=date(2025, 2, 2), expiry_date=date(2030, 1, 1))
    services.warrant_exercise(actor=actor, warrant=short, quantity=5_000, effective_date=date(2025, 3, 1))
    safe = services.convertible_issue(actor=actor, stakeholder=angel, instrument="post_money_safe",
                                      amount=Decimal(100_000), valuation_cap=Decimal(5_000_000),
                                      effective_date=date(2025, 1, 15))
    services.convertible_convert(actor=actor, convertible=safe, share_class=series_a, quantity=50_001,
                                 price_per_share=Decimal(2), converted_amount=Decimal(100_000),
                                 effective_date=date(2025, 4, 1))
    # Recorded last, dated first: Bo now appears before everyone.
    services.stock_issue(actor=actor, stakeholder=bo, share_class=common, quantity=1_000,
                         effective_date=date(2023, 6, 1))

    today, history = _today_and_history(company, date(2025, 12, 31))
    assert today == history
    assert today.positions == history.positions  # the order too, which Capitalization equality includes
    # Holders in order of their earliest security with shares left: Ada's stock now starts with her second
    # exercise (15 September), after Bo's grant of 10 September.
    assert [(p.holder, p.kind.value) for p in today.positions[:5]] == [
        ("Bo", "shares"), ("Mei", "shares"), ("Ada", "options"), ("Bo", "options"), ("Ada", "shares")]
    assert Position("Fund", "Series A Preferred", 45_000, PositionKind.WARRANTS, Decimal(2)) in today.positions
    # Both plans grant Common: one position, 100,000 - 50,000 exercised + 50,000 - 10,000 cancelled.
    assert Position("Ada", "Common", 90_000, PositionKind.OPTIONS, Decimal("0.10")) in today.positions
    assert Position("Bo", "Common", 1_000 + 400_000 + 40_000) in today.positions
    assert Position("Angel", "Series A Preferred", 50_001) in today.positions
    assert today.as_converted(Position("Angel", "Series A Preferred", 50_001)) == 75_001  # floor(50,001 × 1.5)
    assert today.positions[-2:] == (Position(selectors.POOL_HOLDER, "Common", 899_000, PositionKind.POOL),
                                    Position(selectors.POOL_HOLDER, "Common", 360_000, PositionKind.POOL))
    _balances_match_the_history(company)

    # The first warrant expires on 1 January 2026: still no later row, so still the running totals.
    later, later_history = _today_and_history(company, date(2026, 6, 1))
    assert later == later_history
    assert Position("Fund", "Series A Preferred", 20_000, PositionKind.WARRANTS, Decimal(2)) in later.positions

    # Before the transfer to Bo, a later row exists: the history answers, and it shows Mei's whole certificate.
    with CaptureQueriesContext(connection) as queries:
        past = selectors.capitalization_as_of(company=company, as_of=date(2024, 10, 15))
    assert any(HISTORY_QUERY in query["sql"] for query in queries.captured_queries)
    assert Position("Mei", "Common", 8_000_000) in past.positions
    assert selectors.cap_table(company=company, as_of=date(2024, 10, 15)).stakeholder("Bo").outstanding == 1_000


@pytest.mark.django_db
@pytest.mark.parametrize(("seed", "reversed_statements"), [(1, False), (2, True), (3, False)])
def test_a_generated_ledger_written_row_by_row_matches_the_history(seed: int, reversed_statements: bool) -> None:
    """bench/equity.py's company generator at a small size (every kind of row but warrants), written through the
    triggers in statements of 250 rows; reversed, a row acting on a certificate comes before it in its
    statement, so the row triggers see them in that order."""
    generated = bench_equity.generate(60, 2_000, seed=seed)
    company = CompanyFactory(slug=f"generated-{seed}")
    classes = ShareClass.objects.bulk_create([ShareClass(company=company, **spec) for spec in generated.classes])
    plans = EquityPlan.objects.bulk_create([EquityPlan(company=company, name=name, share_class=classes[index])
                                            for name, index in generated.plans])
    holders = Stakeholder.objects.bulk_create([Stakeholder(company=company, name=name, kind=kind, relationship=role)
                                               for name, kind, role in generated.stakeholders])
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence('equity_equitytransaction', 'id'))")
        first = cursor.fetchone()[0]
        cursor.execute("SELECT setval(pg_get_serial_sequence('equity_equitytransaction', 'id'), %s)",
                       [first + len(generated.rows)])
    rows = [
        EquityTransaction(id=first + number, company=company, kind=kind, effective_date=day, security_ref=security,
                          acts_on_id=None if acts_on is None else first + acts_on,
                          stakeholder=None if holder is None else holders[holder],
                          share_class=None if share_class is None else classes[share_class],
                          plan=None if plan is None else plans[plan], quantity=quantity, price_per_share=price,
                          amount=amount, terms=terms or {})
        for number, (kind, day, security, acts_on, holder, share_class, plan, quantity, price, amount, terms)
        in enumerate(generated.rows)]
    for start in range(0, len(rows), 250):
        statement = rows[start:start + 250]
        EquityTransaction.objects.bulk_create(statement[::-1] if reversed_statements else statement)

    today, history = _today_and_history(company, bench_equity.AS_OF)
    assert len(today.positions) > 100
    assert today == history
    _balances_match_the_history(company)

    # What the migration's backfill (and the bench after its COPY) computes is what the trigger kept.
    def totals() -> set[tuple[Any, ...]]:
        return set(PositionTotal.objects.filter(company=company).values_list(
            "stakeholder", "share_class", "plan", "kind", "exercise_price", "expiry_date", "shares", "first"))

    kept = totals()
    with connection.cursor() as cursor:
        cursor.execute("SELECT equity_positions_rebuild(%s)", [company.pk])
    assert totals() == kept


@pytest.mark.django_db
def test_a_plan_moved_to_another_class_moves_its_options() -> None:
    owner = MembershipFactory(role="owner")
    actor, company = Actor(user=owner.user), owner.company
    common = services.share_class_create(actor=actor, company=company, name="Common", kind="common",
                                         authorized_shares=10_000_000)
    other = services.share_class_create(actor=actor, company=company, name="Class B Common", kind="common",
                                        authorized_shares=10_000_000)
    plan = services.plan_create(actor=actor, share_class=common, name="Plan", reserved=100_000,
                                effective_date=date(2025, 1, 1))
    ada = services.stakeholder_create(actor=actor, company=company, name="Ada")
    services.option_grant(actor=actor, plan=plan, stakeholder=ada, quantity=10_000, exercise_price=Decimal("0.5"),
                          effective_date=date(2025, 2, 1))
    EquityPlan.objects.filter(pk=plan.pk).update(share_class=other)  # as the admin's change form would

    today, history = _today_and_history(company, date(2025, 12, 31))
    assert today == history
    assert today.positions == (Position("Ada", "Class B Common", 10_000, PositionKind.OPTIONS, Decimal("0.5")),
                               Position(selectors.POOL_HOLDER, "Class B Common", 90_000, PositionKind.POOL))


@pytest.mark.django_db
def test_a_row_cannot_use_a_security_the_ledger_does_not_hold_yet() -> None:
    owner = MembershipFactory(role="owner")
    company = owner.company
    common = ShareClass.objects.create(company=company, name="Common", kind="common", authorized_shares=1_000)
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence('equity_equitytransaction', 'id'))")
        later = cursor.fetchone()[0] + 10  # an id the ledger has not given out: the foreign key waits for commit
    with pytest.raises(IntegrityError, match="not in the ledger yet"), transaction.atomic():
        EquityTransaction.objects.create(company=company, kind="stock_cancellation", effective_date=date(2025, 1, 1),
                                         security_ref="CS-1", acts_on_id=later, share_class=common, quantity=1)


def test_concurrent_writers_keep_the_totals_exact(transactional_db: Any) -> None:
    """Writers that skip the services' company lock, all at once: twelve transfers out of Mei's four
    certificates (three from each: one balance, and one position for all four) and four new certificates for
    Bo. Every change lands on the latest total; none is lost."""
    owner = MembershipFactory(role="owner")
    company = owner.company
    common = ShareClass.objects.create(company=company, name="Common", kind="common", authorized_shares=10_000_000)
    mei = Stakeholder.objects.create(company=company, name="Mei")
    bo = Stakeholder.objects.create(company=company, name="Bo")
    receivers = [Stakeholder.objects.create(company=company, name=f"Receiver {n}") for n in range(12)]
    day = date(2025, 1, 2)
    certificates = [EquityTransaction.objects.create(company=company, kind="stock_issuance", effective_date=day,
                                                     security_ref=f"CS-{n}", stakeholder=mei, share_class=common,
                                                     quantity=250_000) for n in range(4)]
    barrier = threading.Barrier(16)
    failures: list[BaseException] = []

    def write(number: int) -> None:
        try:
            barrier.wait()
            with transaction.atomic():
                if number < 12:
                    EquityTransaction.objects.create(
                        company=company, kind="stock_transfer", effective_date=day, security_ref=f"CS-T{number}",
                        acts_on=certificates[number % 4], stakeholder=receivers[number], share_class=common,
                        quantity=1_000)
                else:
                    EquityTransaction.objects.create(
                        company=company, kind="stock_issuance", effective_date=day, security_ref=f"CS-B{number}",
                        stakeholder=bo, share_class=common, quantity=100)
        except Exception as error:  # reported by the assertion below
            failures.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=write, args=(number,)) for number in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    today, history = _today_and_history(company, date(2025, 12, 31))
    assert today == history
    assert Position("Mei", "Common", 1_000_000 - 12 * 1_000) in today.positions
    assert Position("Bo", "Common", 4 * 100) in today.positions
    assert [SecurityBalance.objects.get(security=certificate).remaining for certificate in certificates] == [247_000] * 4
