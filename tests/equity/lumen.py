"""Lumen Labs after its seed, recorded through the services: the cap table the page tests and the browser
tests of the equity pages read."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from compliance.audit import Actor
from equity import services


def lumen_after_seed(owner: Any) -> Any:
    """Mei's 8,000,000 founder shares (four years, one-year cliff), a 1,000,000-share pool with 150,000 options
    granted to Ada, Seed Fund's 2,000,000 Series Seed Preferred at $1.00 (1× non-participating) and Hannah's
    $250,000 post-money SAFE still outstanding. `owner` is the owner's membership of the company."""
    mei = Actor(user=owner.user)
    company = owner.company
    common = services.share_class_create(actor=mei, company=company, name="Common", kind="common",
                                         authorized_shares=12_000_000, par_value=Decimal("0.00001"))
    seed = services.share_class_create(actor=mei, company=company, name="Series Seed Preferred", kind="preferred",
                                       authorized_shares=4_000_000, original_issue_price=Decimal(1), seniority=1)
    founder = services.stakeholder_create(actor=mei, company=company, name="Mei Chen", relationship="founder")
    services.stock_issue(actor=mei, stakeholder=founder, share_class=common, quantity=8_000_000,
                         effective_date=date(2025, 3, 3), price_per_share=Decimal("0.00001"),
                         vesting_start=date(2025, 3, 3), vesting_months=48, vesting_cliff_months=12)
    plan = services.plan_create(actor=mei, share_class=common, name="2025 Equity Incentive Plan", reserved=1_000_000,
                                effective_date=date(2025, 4, 1))
    ada = services.stakeholder_create(actor=mei, company=company, name="Ada Okonkwo", relationship="employee")
    grant = services.option_grant(actor=mei, plan=plan, stakeholder=ada, quantity=150_000,
                                  exercise_price=Decimal("0.05"), effective_date=date(2025, 5, 12))
    hannah = services.stakeholder_create(actor=mei, company=company, name="Hannah Lee", relationship="investor")
    services.convertible_issue(actor=mei, stakeholder=hannah, instrument="post_money_safe", amount=Decimal(250_000),
                               valuation_cap=Decimal(6_000_000), effective_date=date(2025, 6, 2), pro_rata=True)
    fund = services.stakeholder_create(actor=mei, company=company, name="Seed Fund", relationship="investor",
                                       kind="entity")
    services.stock_issue(actor=mei, stakeholder=fund, share_class=seed, quantity=2_000_000,
                         effective_date=date(2026, 3, 1), price_per_share=Decimal(1))
    return type("Lumen", (), {"actor": mei, "company": company, "common": common, "seed": seed, "mei": founder,
                              "ada": ada, "hannah": hannah, "fund": fund, "plan": plan, "grant": grant,
                              "base": f"/companies/{company.slug}/cap-table"})
