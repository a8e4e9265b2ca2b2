"""The equity pages a founder reads, against the real database: the cap table, the ledger, a stakeholder, the
exit waterfall and their CSV files, asserting the numbers a person sees."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from equity import selectors, services
from equity.models import Stakeholder
from tests.equity.lumen import lumen_after_seed
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db

AS_OF = date(2026, 6, 1)


@pytest.fixture
def lumen(client_for: Any) -> Any:
    """Lumen Labs after its seed (tests/equity/lumen.py), and its owner's signed-in client."""
    owner = MembershipFactory(role="owner", company__legal_name="Lumen Labs, Inc.")
    lumen = lumen_after_seed(owner)
    lumen.client = client_for(owner.user)
    return lumen


def text(response: Any) -> str:
    """The page's visible text, tags removed and white space collapsed."""
    body = re.sub(r"<script.*?</script>", " ", response.content.decode(), flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body)).strip()


def rows_of(response: Any) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.content.decode())))


# --- the cap table -------------------------------------------------------------------------------------------

def test_the_cap_table_links_each_stakeholder_and_shows_classes_and_the_latest_entries(lumen: Any) -> None:
    response = lumen.client.get(f"{lumen.base}/?as_of=2026-06-01")
    page = text(response)
    assert f'href="{lumen.base}/stakeholders/{lumen.mei.pk}/?as_of=2026-06-01">Mei Chen</a>' in response.content.decode()
    assert "Mei Chen Founder 8,000,000 80.00% 8,000,000 72.73%" in page
    assert "Seed Fund Investor 2,000,000 20.00% 2,000,000 18.18%" in page
    # By class, outstanding and fully diluted
    assert "Common 8,000,000 80.00% 8,000,000 72.73%" in page
    assert "Series Seed Preferred 2,000,000 20.00% 2,000,000 18.18%" in page
    assert "Options (Common) 0 0.00% 150,000 1.36%" in page
    assert "Options available 0 0.00% 850,000 7.73%" in page
    # The latest transactions, newest first, and the way to the whole ledger
    assert page.index("2026-03-01 Stock issuance CS-2") < page.index("2025-03-03 Stock issuance CS-1")
    assert f'href="{lumen.base}/ledger/"' in response.content.decode()


def test_the_cap_table_shows_only_the_last_ten_entries_in_a_fixed_number_of_queries(lumen: Any) -> None:
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert lumen.client.get(f"{lumen.base}/?as_of=2026-06-01").status_code == 200
        return len(captured)

    before = queries()
    for n in range(15):
        holder = services.stakeholder_create(actor=lumen.actor, company=lumen.company, name=f"Angel {n}")
        services.stock_issue(actor=lumen.actor, stakeholder=holder, share_class=lumen.common, quantity=1_000 + n,
                             effective_date=date(2026, 4, 1) + timedelta(days=n))
    assert queries() == before
    response = lumen.client.get(f"{lumen.base}/?as_of=2026-06-01")
    assert len(response.context["ledger"]) == 10
    assert response.context["ledger"][0].stakeholder.name == "Angel 14"
    assert "Stock issuance CS-1 " not in text(response).split("Latest transactions")[1]


def test_the_dilution_chart_follows_the_financings(lumen: Any) -> None:
    points = selectors.dilution_series(company=lumen.company, as_of=AS_OF)
    assert [(p.day, p.label) for p in points] == [
        (date(2025, 3, 3), "Common"), (date(2026, 3, 1), "Series Seed Preferred"), (AS_OF, "As of")]
    assert points[0].percents == {"founders": Decimal("100.00"), "employees": 0, "investors": 0, "others": 0}
    # The seed: the founder diluted to 72.73% by the investors' 18.18% and the pool's 9.09%
    assert points[1].percents == {"founders": Decimal("72.73"), "employees": Decimal("9.09"),
                                  "investors": Decimal("18.18"), "others": 0}
    # Options exercised and transferred shares move ownership, the total stays 100.00
    services.option_exercise(actor=lumen.actor, grant=lumen.grant, quantity=50_000, effective_date=date(2026, 5, 1))
    certificate = selectors.transaction_list(company=lumen.company).get(security_ref="CS-1")
    services.stock_transfer(actor=lumen.actor, certificate=certificate, to=lumen.fund, quantity=1_100_000,
                            effective_date=date(2026, 5, 2))
    today = selectors.dilution_series(company=lumen.company, as_of=AS_OF)[-1]
    assert today.percents == {"founders": Decimal("62.73"), "employees": Decimal("9.09"),
                              "investors": Decimal("28.18"), "others": 0}
    response = lumen.client.get(f"{lumen.base}/?as_of=2026-06-01")
    chart = json.loads(re.search(r'id="dilution-data" type="application/json">(.*?)</script>',
                                 response.content.decode()).group(1))
    assert chart["labels"] == ["Common", "Series Seed Preferred", "As of"]
    assert chart["dates"] == ["2025-03-03", "2026-03-01", "2026-06-01"]
    assert chart["groups"][0] == {"label": "Founders", "values": [100.0, 72.73, 62.73]}
    assert [g["label"] for g in chart["groups"]] == ["Founders", "Employees and pool", "Investors"]


def test_the_cap_table_by_class_as_csv(lumen: Any) -> None:
    response = lumen.client.get(f"{lumen.base}/by-class.csv?as_of=2026-06-01")
    assert response["Content-Disposition"].endswith('-cap-table-by-class-2026-06-01.csv"')
    assert rows_of(response) == [
        ["class", "outstanding", "outstanding_percent", "fully_diluted", "fully_diluted_percent"],
        ["Common", "8000000", "80.0000", "8000000", "72.7273"],
        ["Options (Common)", "0", "0.0000", "150000", "1.3636"],
        ["Series Seed Preferred", "2000000", "20.0000", "2000000", "18.1818"],
        ["Options available", "0", "0.0000", "850000", "7.7273"],
        ["Total", "10000000", "100.0000", "11000000", "100.0000"],
    ]


# --- the ledger ----------------------------------------------------------------------------------------------

def test_the_ledger_filters_by_kind_stakeholder_class_dates_and_security(lumen: Any) -> None:
    ledger = f"{lumen.base}/ledger/"
    everything = lumen.client.get(ledger)
    assert "5 transactions" in text(everything)
    assert "$250,000.00" in text(everything)
    assert "$0.00001" in text(everything)

    def refs(query: str) -> list[str]:
        return [row.security_ref for row in lumen.client.get(f"{ledger}?{query}").context["page"]]

    assert refs("kind=option_grant") == ["OPT-1"]
    assert refs(f"stakeholder={lumen.mei.pk}") == ["CS-1"]
    assert refs(f"share_class={lumen.seed.pk}") == ["CS-2"]
    assert refs(f"share_class={lumen.common.pk}") == ["CS-1", f"PLAN-{lumen.plan.pk}", "OPT-1"]
    assert refs("date_from=2025-05-01&date_to=2025-12-31") == ["OPT-1", "CN-1"]
    services.option_exercise(actor=lumen.actor, grant=lumen.grant, quantity=10_000, effective_date=date(2026, 5, 1))
    assert refs("security=opt-1") == ["OPT-1", "CS-3"]  # the grant and the certificate its exercise created
    # Another company's stakeholder is neither offered nor accepted.
    other = MembershipFactory(role="owner").company
    stranger = Stakeholder.objects.create(company=other, name="Stranger")
    response = lumen.client.get(f"{ledger}?stakeholder={stranger.pk}")
    assert "Stranger" not in response.content.decode()
    assert "Select a valid choice" in text(response)


def test_the_ledger_is_paginated_and_a_filter_change_updates_only_the_rows(lumen: Any) -> None:
    for _ in range(55):
        services.plan_adjust(actor=lumen.actor, plan=lumen.plan, quantity=1, effective_date=date(2026, 4, 1))
    first = lumen.client.get(f"{lumen.base}/ledger/")
    assert "60 transactions Page 1 of 2" in text(first)
    assert len(first.context["page"]) == 50
    second = lumen.client.get(f"{lumen.base}/ledger/?kind=plan_adjustment&page=2", HTTP_HX_REQUEST="true")
    assert "<html" not in second.content.decode()  # the rows only, swapped in place
    assert "56 transactions Previous Page 2 of 2" in text(second)
    assert len(second.context["page"]) == 6
    assert 'href="?kind=plan_adjustment&amp;page=1"' in second.content.decode()
    # The CSV link follows the filters
    assert f'href="{lumen.base}/ledger.csv?kind=plan_adjustment"' in second.content.decode()


def test_the_ledger_csv_has_every_filtered_row_with_exact_numbers(lumen: Any) -> None:
    response = lumen.client.get(f"{lumen.base}/ledger.csv?date_to=2025-12-31")
    rows = rows_of(response)
    assert rows[0] == ["date", "transaction", "security", "acts_on", "stakeholder", "share_class", "option_pool",
                       "shares", "price_per_share", "amount", "currency", "memo"]
    assert rows[1:] == [
        ["2025-03-03", "Stock issuance", "CS-1", "", "Mei Chen", "Common", "", "8000000", "0.00001", "", "USD", ""],
        ["2025-04-01", "Option pool adjustment", f"PLAN-{lumen.plan.pk}", "", "", "", "2025 Equity Incentive Plan",
         "1000000", "", "", "USD", "Pool created"],
        ["2025-05-12", "Option grant", "OPT-1", "", "Ada Okonkwo", "", "2025 Equity Incentive Plan", "150000", "0.05",
         "", "USD", ""],
        ["2025-06-02", "Convertible issuance", "CN-1", "", "Hannah Lee", "", "", "0", "", "250000.00", "USD", ""],
    ]


# --- a stakeholder -------------------------------------------------------------------------------------------

def test_a_stakeholder_page_shows_holdings_vesting_and_history(lumen: Any) -> None:
    response = lumen.client.get(f"{lumen.base}/stakeholders/{lumen.mei.pk}/?as_of=2026-06-01")
    page = text(response)
    assert "Common 8,000,000 80.00% 8,000,000 72.73%" in page
    # 14 whole months of 48 on 1 June 2026: 8,000,000 × 14 / 48 = 2,333,333 (rounded down)
    assert "48 months monthly from 2025-03-03, 12-month cliff" in page
    assert "2,333,333 vested · 5,666,667 unvested" in page
    assert "cliff 2026-03-03 · fully vested 2029-03-03" in page
    assert "Stock issuance CS-1" in page

    ada = text(lumen.client.get(f"{lumen.base}/stakeholders/{lumen.ada.pk}/?as_of=2026-06-01"))
    assert "Options (Common) 0 0.00% 150,000 1.36%" in ada
    assert "37,500 vested · 112,500 unvested · 37,500 exercisable" in ada  # the cliff passed on 2026-05-12
    assert "$0.05 exercise price" in ada
    before_cliff = text(lumen.client.get(f"{lumen.base}/stakeholders/{lumen.ada.pk}/?as_of=2026-05-11"))
    assert "0 vested · 150,000 unvested" in before_cliff

    hannah = text(lumen.client.get(f"{lumen.base}/stakeholders/{lumen.hannah.pk}/"))
    assert "Post-money SAFE cap $6,000,000.00 · pro rata right" in hannah
    assert "$250,000.00" in hannah
    assert "Holds no shares or options on this date." in hannah


def test_a_stakeholder_of_another_company_is_not_found(lumen: Any) -> None:
    other = MembershipFactory(role="owner").company
    stranger = Stakeholder.objects.create(company=other, name="Stranger")
    assert lumen.client.get(f"{lumen.base}/stakeholders/{stranger.pk}/").status_code == 404
    assert lumen.client.get(f"{lumen.base}/stakeholders/{stranger.pk}/securities.csv").status_code == 404


def test_a_stakeholder_s_securities_as_csv(lumen: Any) -> None:
    services.option_exercise(actor=lumen.actor, grant=lumen.grant, quantity=10_000, effective_date=date(2026, 5, 20))
    response = lumen.client.get(f"{lumen.base}/stakeholders/{lumen.ada.pk}/securities.csv?as_of=2026-06-01")
    rows = rows_of(response)
    assert rows[0][:5] == ["security", "type", "issued", "share_class", "shares"]
    header = rows[0]
    grant = dict(zip(header, rows[1], strict=True))
    assert grant == {
        "security": "OPT-1", "type": "Option grant", "issued": "2025-05-12", "share_class": "Common",
        "shares": "150000", "exercised": "10000", "cancelled": "0", "transferred": "0", "remaining": "140000",
        "price_per_share": "0.05", "amount": "", "currency": "USD", "vesting_start": "2025-05-12",
        "vesting_months": "48", "cliff_months": "12", "vested": "37500", "unvested": "112500", "terms": ""}
    certificate = dict(zip(header, rows[2], strict=True))
    assert (certificate["security"], certificate["shares"], certificate["vested"]) == ("CS-3", "10000", "")


# --- the exit waterfall --------------------------------------------------------------------------------------

def test_the_waterfall_below_the_preference_pays_the_preferred_only(lumen: Any) -> None:
    response = lumen.client.get(f"{lumen.base}/waterfall/?exit_value=1500000&as_of=2026-06-01")
    page = text(response)
    assert "Series Seed Preferred Takes its preference 2,000,000 $1,500,000.00 $1,500,000.00 $0.7500" in page
    assert "Options (Common) Not exercised (under water) 150,000 $0.00 $0.00 $0.0000" in page
    assert "Seed Fund 2,000,000 $1,500,000.00 — $1,500,000.00 100.00%" in page
    assert "Mei Chen 8,000,000 $0.00 — $0.00 0.00%" in page
    assert "1 SAFE or note is still outstanding" in page


def test_the_waterfall_above_the_preference_shares_the_rest_with_common(lumen: Any) -> None:
    response = lumen.client.get(f"{lumen.base}/waterfall/?exit_value=4,000,000&as_of=2026-06-01")
    page = text(response)
    # $2,000,000 preference, then $2,007,500 (with $7,500 of exercise money) over 8,150,000 common shares
    assert ("Exit value $4,000,000.00 Exercise proceeds $7,500.00 Distributed $4,007,500.00 "
            "Per common share $0.2463") in page
    assert "Series Seed Preferred Takes its preference 2,000,000 $2,000,000.00 $2,000,000.00 $1.0000" in page
    assert "Mei Chen 8,000,000 $1,970,552.15 — $1,970,552.15 49.26%" in page
    assert "Ada Okonkwo 150,000 $36,947.85 ($7,500.00) $29,447.85 0.74%" in page
    assert "Total $4,007,500.00 ($7,500.00) $4,000,000.00 100.00%" in page


def test_the_waterfall_high_enough_converts_the_preferred(lumen: Any) -> None:
    response = lumen.client.get(f"{lumen.base}/waterfall/?exit_value=20000000&as_of=2026-06-01",
                                HTTP_HX_REQUEST="true")
    assert "<html" not in response.content.decode()
    page = text(response)
    assert "Series Seed Preferred Converts to common 2,000,000 $0.00 $3,942,364.53 $1.9711" in page
    assert "Mei Chen 8,000,000 $15,769,458.13 — $15,769,458.13 78.85%" in page
    chart = json.loads(re.search(r'id="waterfall-data" type="application/json">(.*?)</script>',
                                 response.content.decode()).group(1))
    assert chart["labels"][:2] == ["Mei Chen", "Seed Fund"]
    assert chart["values"][:2] == [15769458.13, 3942364.53]


def test_the_waterfall_csv_and_a_wrong_exit_value(lumen: Any) -> None:
    rows = rows_of(lumen.client.get(f"{lumen.base}/waterfall.csv?exit_value=4000000&as_of=2026-06-01"))
    assert rows[:3] == [["exit_value", "4000000.00"], ["exercise_proceeds", "7500.00"], ["distributed", "4007500.00"]]
    assert ["Mei Chen", "8000000", "common", "0.00", "1970552.15", "0.00", "1970552.15", "49.2638"] in rows
    assert ["Ada Okonkwo", "150000", "exercise", "0.00", "36947.85", "7500.00", "29447.85", "0.7362"] in rows
    assert ["Series Seed Preferred", "2000000", "preference", "2000000.00", "2000000.00", "0.00", "2000000.00",
            "50.0000"] in rows
    page = text(lumen.client.get(f"{lumen.base}/waterfall/?exit_value=lots"))
    assert "Enter the exit value as a number" in page
    assert lumen.client.get(f"{lumen.base}/waterfall.csv?exit_value=-1").status_code == 400


def test_the_waterfall_opens_on_the_seed_s_post_money_and_says_when_nobody_holds_anything(lumen: Any,
                                                                                          client_for: Any) -> None:
    response = lumen.client.get(f"{lumen.base}/waterfall/?as_of=2026-06-01")
    assert response.context["exit_value"] == Decimal(20_000_000)  # $1.00 × 11,000,000 fully diluted, rounded up
    assert response.context["slider_max"] == Decimal(100_000_000)
    empty = MembershipFactory(role="owner")
    page = text(client_for(empty.user).get(f"/companies/{empty.company.slug}/cap-table/waterfall/"))
    assert "nobody holds anything to distribute to" in page
