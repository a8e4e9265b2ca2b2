"""Demo data for journey 1: Lumen Labs' cap table before its seed round (idempotent).

Common and Series Seed Preferred; Mei's 8,000,000 founder shares vesting over four years with a one-year
cliff; a 1,000,000-share option pool with grants to two employees; two angels' post-money SAFEs; and the seed
round open ($2M at an $8M pre-money, the pool topped up to 10%) with a lead investor's wire recorded, so that the
next investors and the founder's close can follow.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from django.utils import timezone

from accounts.models import User
from companies.models import Company
from compliance.audit import Actor
from equity import services
from equity.models import Round, ShareClass, Stakeholder

FOUNDED = date(2025, 3, 3)


def load_equity_demo(*, company: Company, owner: User) -> None:
    if not ShareClass.objects.filter(company=company).exists():
        _load_cap_table(company=company, owner=owner)
    if not Round.objects.filter(company=company).exists():
        _open_seed_round(company=company, owner=owner)


def _open_seed_round(*, company: Company, owner: User) -> None:
    mei = Actor(user=owner)
    today = timezone.localdate()
    seed = services.round_create(
        actor=mei, company=company, name="Seed", kind="priced", target_amount=Decimal(2_000_000),
        minimum_amount=Decimal(1_000_000), maximum_amount=Decimal(2_500_000), minimum_ticket=Decimal(1_000),
        closes_on=today + timedelta(days=45), exemption="reg_cf", jurisdictions=["US", "GB", "CA"],
        pre_money_valuation=Decimal(8_000_000), pool_target_percent=Decimal(10), series_name="Series Seed Preferred")
    seed = services.round_open(actor=mei, round=seed)
    lead = services.stakeholder_create(actor=mei, company=company, name="Northwind Ventures", kind="entity")
    services.investment_record(actor=mei, round=seed, stakeholder=lead, amount=Decimal(1_200_000),
                               received_on=today, reference="NWV-2026-001")


def _load_cap_table(*, company: Company, owner: User) -> None:
    mei = Actor(user=owner)
    common = services.share_class_create(actor=mei, company=company, name="Common", kind="common",
                                         authorized_shares=12_000_000, par_value=Decimal("0.00001"))
    services.share_class_create(actor=mei, company=company, name="Series Seed Preferred", kind="preferred",
                                authorized_shares=4_000_000, par_value=Decimal("0.00001"), seniority=1)
    founder = services.stakeholder_create(actor=mei, company=company, name="Mei Chen", relationship="founder",
                                          email=owner.email, user=owner)
    services.stock_issue(actor=mei, stakeholder=founder, share_class=common, quantity=8_000_000,
                         effective_date=FOUNDED, price_per_share=Decimal("0.00001"), vesting_start=FOUNDED,
                         vesting_months=48, vesting_cliff_months=12, memo="Founder stock purchase agreement")
    plan = services.plan_create(actor=mei, share_class=common, name="2025 Equity Incentive Plan", reserved=1_000_000,
                                effective_date=date(2025, 4, 1))
    for name, shares, granted in [("Ada Okonkwo", 150_000, date(2025, 5, 12)), ("Tomás Reyes", 100_000, date(2025, 7, 1))]:
        employee = services.stakeholder_create(actor=mei, company=company, name=name, relationship="employee")
        services.option_grant(actor=mei, plan=plan, stakeholder=employee, quantity=shares,
                              exercise_price=Decimal("0.05"), effective_date=granted)
    for name, amount, cap, day in [("Hannah Lee", "250000", "6000000", date(2025, 6, 2)),
                                   ("Rafael Costa", "150000", "8000000", date(2025, 9, 15))]:
        angel = Stakeholder.objects.create(company=company, name=name, relationship="investor")
        services.convertible_issue(actor=mei, stakeholder=angel, instrument="post_money_safe", amount=Decimal(amount),
                                   valuation_cap=Decimal(cap), effective_date=day, pro_rata=True)
