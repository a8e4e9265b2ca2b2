"""The cap table of a large company: 10,000 stakeholders and 1,000,000 ledger transactions.

A synthetic company is generated (ten years of priced rounds, SAFEs that convert, an option plan with grants,
exercises and forfeitures, secondary transfers, repurchases and pool top-ups), consistent by construction, and
loaded with COPY into a throw-away database (Django's test database machinery, `<name>_equity_bench`). The
per-row ledger triggers would make a million single inserts slow, so the load runs with
`session_replication_role = replica`; afterwards one query checks what the invariant triggers would have
checked, and `equity_positions_rebuild` computes the running totals the positions trigger would have kept
(migration 0004). Before measuring, the cap table from those totals is checked against the one computed from
the history, position by position.

Measured in the same run, best of a few repetitions:
- end to end: the capitalization from the database, the fully diluted table and one pro-forma (a priced round
  with a pool top-up that converts the outstanding SAFEs);
- the engine alone on the capitalization already loaded;
- the floor: PostgreSQL's own `GROUP BY` sum over the same rows;
- once, the cap table as of a past date (half a year before the last transaction), which nets the history;
- the same company at a tenth of the size, for the growth ratio;
- the cap table page's query count at both sizes (Django's test client, signed in as an owner).
"""

from __future__ import annotations

import io
import json
import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from bench.result import Result

SMALL = (1_000, 100_000)  # stakeholders, transactions
LARGE = (10_000, 1_000_000)
START = date(2016, 1, 4)
END = date(2025, 12, 31)
AS_OF = date(2026, 1, 1)
REPEATS = 3
SERIES = ["Series Seed Preferred", "Series A Preferred", "Series B Preferred", "Series C Preferred",
          "Series D Preferred"]
POOL_START = 2_000_000
OUTSTANDING_SAFES = 2  # left unconverted at the end: the pro-forma converts them


# --- the company ---------------------------------------------------------------------------------------------

@dataclass
class Company:
    """A generated ledger. Rows refer to stakeholders, classes, plans and earlier rows by index."""

    stakeholders: list[tuple[str, str, str]] = field(default_factory=list)  # name, kind, relationship
    classes: list[dict[str, Any]] = field(default_factory=list)
    plans: list[tuple[str, int]] = field(default_factory=list)  # name, class index
    # kind, date, security, acts_on row, stakeholder, class, plan, quantity, price, amount, terms
    rows: list[tuple[Any, ...]] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)


def generate(stakeholders: int, transactions: int, seed: int) -> Company:  # noqa: C901 - one simulation loop
    """Ten years of a company's ledger, in date order; every consuming row uses what its security has left."""
    rng = random.Random(seed)
    company = Company()
    founders = 3
    employees = stakeholders * 60 // 100
    advisors = stakeholders * 3 // 100
    investors = stakeholders - founders - employees - advisors
    company.stakeholders += [(f"Founder {k + 1}", "individual", "founder") for k in range(founders)]
    company.stakeholders += [(f"Employee {k + 1:05d}", "individual", "employee") for k in range(employees)]
    company.stakeholders += [(f"Advisor {k + 1:04d}", "individual", "advisor") for k in range(advisors)]
    company.stakeholders += [(f"Investor {k + 1:05d}", "entity" if k % 3 else "individual", "investor")
                             for k in range(investors)]
    first_employee, first_advisor, first_investor = founders, founders + employees, founders + employees + advisors
    company.classes.append({"name": "Common Stock", "kind": "common", "original_issue_price": Decimal(0),
                            "seniority": 0})
    for number, name in enumerate(SERIES, start=1):
        company.classes.append({"name": name, "kind": "preferred",
                                "original_issue_price": Decimal("0.50") * Decimal("2.5") ** (number - 1),
                                "seniority": number})
    company.plans = [("2016 Equity Incentive Plan", 0), ("2021 Equity Incentive Plan", 0)]

    rows = company.rows
    span = (END - START).days
    issued = [0] * len(company.classes)
    most_issued = [0] * len(company.classes)
    pool = [0, 0]
    remaining: dict[int, int] = {}  # row -> shares left, for live certificates and grants
    holder_of: dict[int, int] = {}
    class_of: dict[int, int] = {}
    plan_of: dict[int, int] = {}
    price_of: dict[int, Decimal] = {}
    certificates: list[int] = []  # live stock certificates (swap-removed when used up)
    grants: list[int] = []
    safes: list[int] = []  # outstanding, oldest first
    numbers = {"CS": 0, "OPT": 0, "CN": 0}
    fully_diluted = 0

    def ref(prefix: str) -> str:
        numbers[prefix] += 1
        return f"{prefix}-{numbers[prefix]}"

    def add(kind: str, day: date, security: str, acts_on: int | None, holder: int | None, share_class: int | None,
            plan: int | None, quantity: int, price: Decimal | None = None, amount: Decimal | None = None,
            terms: dict[str, Any] | None = None) -> int:
        rows.append((kind, day, security, acts_on, holder, share_class, plan, quantity, price, amount, terms))
        return len(rows) - 1

    def certificate(kind: str, day: date, acts_on: int | None, holder: int, share_class: int, quantity: int,
                    price: Decimal | None) -> None:
        nonlocal fully_diluted
        row = add(kind, day, ref("CS"), acts_on, holder, share_class, None, quantity, price)
        remaining[row], holder_of[row], class_of[row] = quantity, holder, share_class
        certificates.append(row)
        if kind != "stock_transfer":
            issued[share_class] += quantity
            most_issued[share_class] = max(most_issued[share_class], issued[share_class])
            fully_diluted += quantity

    def use(live: list[int], position: int, quantity: int) -> int:
        row = live[position]
        remaining[row] -= quantity
        if remaining[row] == 0:
            live[position] = live[-1]
            live.pop()
        return row

    def plan_adjust(day: date, plan: int, quantity: int) -> None:
        nonlocal fully_diluted
        add("plan_adjustment", day, f"PLAN-{plan}", None, None, None, plan, quantity)
        pool[plan] += quantity
        fully_diluted += quantity

    # Founders' stock and the first pool, on day one.
    for founder in range(founders):
        certificate("stock_issuance", START, None, founder, 0, 10_000_000, Decimal("0.00001"))
    plan_adjust(START, 0, POOL_START)

    # Secondary transfers between holders are most of the volume; SAFEs are raised in the year before each
    # priced round and convert together at its first closing.
    weights = [("option_grant", 14), ("option_exercise", 7), ("option_cancellation", 5), ("stock_issuance", 22),
               ("stock_transfer", 40), ("stock_cancellation", 3), ("stock_repurchase", 3), ("plan_adjustment", 1),
               ("convertible_issuance", 5)]
    kinds = [kind for kind, _ in weights]
    cumulative = [sum(weight for _, weight in weights[: k + 1]) for k in range(len(weights))]
    total_weight = cumulative[-1]

    def pick() -> str:
        point = rng.random() * total_weight
        for kind, bound in zip(kinds, cumulative, strict=True):
            if point < bound:
                return kind
        return kinds[-1]

    first_closings = [START] + [START + timedelta(days=int(span * ((series - 1) / len(SERIES) + 0.01)))
                                for series in range(1, len(SERIES) + 1)]

    def first_closing(series: int) -> date:
        return first_closings[series]

    converted = 0  # the latest series whose first closing converted the SAFEs
    while len(rows) < transactions - OUTSTANDING_SAFES:
        progress = len(rows) / transactions
        day = START + timedelta(days=int(span * progress))
        series = min(len(SERIES), int(progress * len(SERIES)) + 1)
        if day < first_closing(series):
            series -= 1
        closed = first_closing(series) + timedelta(days=30 * min(2, (day - first_closing(series)).days // 30))
        series_price = company.classes[series]["original_issue_price"]
        if series > converted:
            converted = series
            while safes:  # the round's first closing converts every SAFE, at a 20% discount
                safe = safes.pop(0)
                price = (series_price * Decimal("0.8")).quantize(Decimal("0.0001"))
                certificate("conversion", first_closing(series), safe, rows[safe][4], series,
                            int(rows[safe][9] / price), price)
            continue
        plan = 0 if progress < 0.5 else 1
        exercise_price = (Decimal("0.05") * Decimal("1.4") ** (day.year - START.year)).quantize(Decimal("0.0001"))
        hired = first_employee + max(1, int(employees * min(1.0, 0.05 + progress)))
        kind = pick()
        if kind == "option_exercise" and not grants or kind == "option_cancellation" and not grants:
            kind = "option_grant"
        if kind in {"stock_transfer", "stock_cancellation", "stock_repurchase"} and not certificates:
            kind = "stock_issuance"
        if kind == "convertible_issuance" and ((progress * len(SERIES)) % 1 < 0.5 or progress > 0.8):
            kind = "stock_issuance"  # SAFEs are raised in the months before the next priced round

        if kind == "option_grant":
            quantity = rng.randint(1, 100) * 100
            if rng.random() < 0.1:
                holder = rng.randrange(first_advisor, first_investor)
            else:
                holder = rng.randrange(first_employee, hired)
            if pool[plan] < quantity:
                plan_adjust(day, plan, max(quantity, POOL_START))
            row = add("option_grant", day, ref("OPT"), None, holder, None, plan, quantity, exercise_price)
            remaining[row], holder_of[row], plan_of[row], price_of[row] = quantity, holder, plan, exercise_price
            grants.append(row)
            pool[plan] -= quantity
            fully_diluted += 0  # a grant moves shares from the pool to the holder
        elif kind in {"option_exercise", "option_cancellation"}:
            position = rng.randrange(len(grants))
            grant = grants[position]
            left = remaining[grant]
            whole = rng.random() < (0.5 if kind == "option_exercise" else 0.6)
            quantity = left if whole else rng.randint(1, left)
            use(grants, position, quantity)
            holder, grant_plan = holder_of[grant], plan_of[grant]
            if kind == "option_exercise":
                fully_diluted -= quantity  # the certificate adds it back
                certificate("option_exercise", day, grant, holder, company.plans[grant_plan][1], quantity,
                            price_of[grant])
            else:
                add("option_cancellation", day, rows[grant][2], grant, holder, None, grant_plan, quantity)
                pool[grant_plan] += quantity
        elif kind == "stock_issuance":
            if rng.random() < 0.2:
                holder = rng.randrange(first_employee, hired)
                certificate("stock_issuance", day, None, holder, 0, rng.randint(1, 100) * 100, exercise_price)
            elif series:  # an investor in the current round, at its latest closing
                holder = rng.randrange(first_investor, stakeholders)
                certificate("stock_issuance", closed, None, holder, series, rng.randint(1, 100) * 100, series_price)
            else:
                holder = rng.randrange(first_employee, hired)
                certificate("stock_issuance", day, None, holder, 0, rng.randint(1, 100) * 100, exercise_price)
        elif kind in {"stock_transfer", "stock_cancellation", "stock_repurchase"}:
            position = rng.randrange(len(certificates))
            source = certificates[position]
            left = remaining[source]
            quantity = left if rng.random() < 0.4 else rng.randint(1, left)
            holder, share_class = holder_of[source], class_of[source]
            if kind == "stock_transfer":
                receiver = rng.randrange(first_investor, stakeholders) if rng.random() < 0.7 else rng.randrange(
                    stakeholders)
                if receiver == holder:
                    receiver = (receiver + 1) % stakeholders
                use(certificates, position, quantity)
                certificate("stock_transfer", day, source, receiver, share_class, quantity, series_price)
            else:
                use(certificates, position, quantity)
                price = (company.classes[share_class]["original_issue_price"] or exercise_price
                         if kind == "stock_repurchase" else None)
                add(kind, day, rows[source][2], source, holder, share_class, None, quantity, price)
                issued[share_class] -= quantity
                fully_diluted -= quantity
        elif kind == "plan_adjustment":
            if rng.random() < 0.2 and pool[plan] > 0:
                plan_adjust(day, plan, -rng.randint(1, pool[plan]))
            else:
                plan_adjust(day, plan, rng.randint(1, 50) * 100_000)
        else:
            holder = rng.randrange(first_investor, stakeholders)
            amount = Decimal(rng.randint(1, 40) * 1_000)  # crowdfunded SAFEs are small
            cap = fully_diluted * series_price * rng.choice([6, 8, 10]) // 10_000 * 1000
            terms = {"instrument": "post_money_safe" if rng.random() < 0.8 else "pre_money_safe",
                     "valuation_cap": str(cap), "discount": "0.20" if rng.random() < 0.5 else None,
                     "interest_rate": None, "mfn": False, "pro_rata": rng.random() < 0.3}
            safes.append(add("convertible_issuance", day, ref("CN"), None, holder, None, None, 0, None, amount, terms))
    for number in range(OUTSTANDING_SAFES):  # raised since the last round: the pro-forma converts them
        holder = stakeholders - 1 - number
        terms = {"instrument": "post_money_safe", "valuation_cap": str(fully_diluted * 25), "discount": "0.20",
                 "interest_rate": None, "mfn": False, "pro_rata": number == 0}
        add("convertible_issuance", END, ref("CN"), None, holder, None, None, 0, None, Decimal(500_000 * (number + 1)),
            terms)

    reserved = sum(row[7] for row in rows if row[0] == "plan_adjustment")
    for index, spec in enumerate(company.classes):
        headroom = reserved if index == 0 else 0
        spec["authorized_shares"] = -(-(most_issued[index] + headroom) * 5 // 4 // 1_000_000) * 1_000_000
    for kind, *_ in rows:
        company.counts[kind] = company.counts.get(kind, 0) + 1
    return company


# --- the database --------------------------------------------------------------------------------------------

def _setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("TRANCHE_DEV", "1")
    import django

    django.setup()


def _copy_value(value: Any) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, dict):
        return json.dumps(value)
    return str(value)


def load(generated: Company, slug: str) -> tuple[Any, Any]:
    """Write the company to the database: the few reference rows with the ORM, the ledger with one COPY."""
    from django.db import connection

    from accounts.models import User
    from companies.models import Company as CompanyModel
    from companies.models import Membership
    from equity.models import EquityPlan, ShareClass, Stakeholder

    company = CompanyModel.objects.create(legal_name=f"{slug.title()}, Inc.", slug=slug, jurisdiction="US-DE",
                                          incorporation_date=START)
    owner = User.objects.create_user(email=f"owner@{slug}.example")
    Membership.objects.create(company=company, user=owner, role="owner")
    classes = ShareClass.objects.bulk_create([ShareClass(company=company, **spec) for spec in generated.classes])
    plans = EquityPlan.objects.bulk_create([EquityPlan(company=company, name=name, share_class=classes[index])
                                            for name, index in generated.plans])
    stakeholders = Stakeholder.objects.bulk_create(
        [Stakeholder(company=company, name=name, kind=kind, relationship=relationship)
         for name, kind, relationship in generated.stakeholders], batch_size=5000)
    columns = ("id", "company_id", "kind", "effective_date", "security_ref", "acts_on_id", "stakeholder_id",
               "share_class_id", "plan_id", "quantity", "price_per_share", "amount", "currency", "terms", "memo",
               "created_at")
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence('equity_equitytransaction', 'id'))")
        first = cursor.fetchone()[0]
        cursor.execute("SELECT setval(pg_get_serial_sequence('equity_equitytransaction', 'id'), %s)",
                       [first + len(generated.rows)])
        buffer = io.StringIO()
        for number, (kind, day, security, acts_on, holder, share_class, plan, quantity, price, amount, terms) in (
                enumerate(generated.rows)):
            values = (first + number, company.pk, kind, day, security,
                      None if acts_on is None else first + acts_on,
                      None if holder is None else stakeholders[holder].pk,
                      None if share_class is None else classes[share_class].pk,
                      None if plan is None else plans[plan].pk, quantity, price, amount, "USD", terms or {}, "",
                      "2026-01-01 00:00:00+00")
            buffer.write("\t".join(_copy_value(value) for value in values))
            buffer.write("\n")
        buffer.seek(0)
        # The triggers check every row against the whole ledger: a million of them would take hours. Checked
        # below in one query instead.
        cursor.execute("SET session_replication_role = replica")
        try:
            cursor.cursor.copy_expert(f"COPY equity_equitytransaction ({', '.join(columns)}) FROM STDIN", buffer)
        finally:
            cursor.execute("SET session_replication_role = DEFAULT")
        cursor.execute(CONSISTENCY, {"company": company.pk})
        problems = cursor.fetchone()[0]
        cursor.execute("SELECT equity_positions_rebuild(%s)", [company.pk])
    if problems:
        raise AssertionError(f"{slug}: the generated ledger breaks {problems} of the triggers' rules")
    return company, owner


# What migration 0002's triggers and the foreign keys check, for the whole company at once: a class within its
# authorized shares, no security used beyond what it holds, no pool below zero, every reference to a row of
# the same company, and (as the services require) nothing used before it was issued.
CONSISTENCY = """
WITH issued AS (
    SELECT share_class_id,
           SUM(CASE WHEN kind IN ('stock_issuance', 'stock_transfer', 'option_exercise', 'warrant_exercise',
                                  'conversion') THEN quantity ELSE 0 END)
         - SUM(CASE WHEN kind IN ('stock_transfer', 'stock_cancellation', 'stock_repurchase') THEN quantity
                    ELSE 0 END) AS n
      FROM equity_equitytransaction WHERE company_id = %(company)s AND share_class_id IS NOT NULL
     GROUP BY share_class_id),
used AS (
    SELECT acts_on_id, SUM(quantity) AS n FROM equity_equitytransaction
     WHERE company_id = %(company)s AND kind IN ('stock_transfer', 'stock_cancellation', 'stock_repurchase',
                                                 'option_exercise', 'option_cancellation', 'warrant_exercise')
     GROUP BY acts_on_id),
pools AS (
    SELECT plan_id, SUM(CASE kind WHEN 'plan_adjustment' THEN quantity WHEN 'option_grant' THEN -quantity
                                  WHEN 'option_cancellation' THEN quantity ELSE 0 END) AS n
      FROM equity_equitytransaction WHERE company_id = %(company)s AND plan_id IS NOT NULL GROUP BY plan_id)
SELECT (SELECT COUNT(*) FROM issued JOIN equity_shareclass c ON c.id = issued.share_class_id
         WHERE issued.n > c.authorized_shares OR issued.n < 0)
     + (SELECT COUNT(*) FROM used JOIN equity_equitytransaction s ON s.id = used.acts_on_id WHERE used.n > s.quantity)
     + (SELECT COUNT(*) FROM pools WHERE pools.n < 0)
     + (SELECT COUNT(*) FROM equity_equitytransaction l
          LEFT JOIN equity_equitytransaction s ON s.id = l.acts_on_id
          LEFT JOIN equity_stakeholder h ON h.id = l.stakeholder_id
          LEFT JOIN equity_shareclass c ON c.id = l.share_class_id
          LEFT JOIN equity_equityplan p ON p.id = l.plan_id
         WHERE l.company_id = %(company)s
           AND (l.acts_on_id IS NOT NULL AND (s.company_id IS DISTINCT FROM l.company_id
                                              OR s.effective_date > l.effective_date)
                OR l.stakeholder_id IS NOT NULL AND h.company_id IS DISTINCT FROM l.company_id
                OR l.share_class_id IS NOT NULL AND c.company_id IS DISTINCT FROM l.company_id
                OR l.plan_id IS NOT NULL AND p.company_id IS DISTINCT FROM l.company_id))
"""


# --- the measurements ----------------------------------------------------------------------------------------

FLOOR = """SELECT stakeholder_id, share_class_id, SUM(quantity) FROM equity_equitytransaction
            WHERE company_id = %s AND effective_date <= %s GROUP BY stakeholder_id, share_class_id"""
PAST = date(2025, 6, 30)


def _best(repeats: int, work: Callable[[], object]) -> float:
    timings = []
    for _ in range(repeats):
        started = time.perf_counter()
        work()
        timings.append(time.perf_counter() - started)
    return min(timings)


def _round(capitalization: Any) -> Any:
    """A Series E: new money of a fifth of the pre-money, priced at 1.5× the last round, a 10% pool after."""
    from equity import captable

    pre_money = Decimal(capitalization.fully_diluted()) * Decimal("29.25")
    return captable.PricedRound(
        series="Series E Preferred", pre_money=pre_money.quantize(Decimal(1)), closing_date=AS_OF,
        investments=(captable.Investment("Lead Fund", (pre_money / 8).quantize(Decimal(1))),
                     captable.Investment("Follow Fund", (pre_money / 12).quantize(Decimal(1)))),
        pool=captable.PoolTopUp(target=Decimal("0.10")),
    )


def _measure(company: Any) -> dict[str, float]:
    from django.db import connection

    from equity import captable, selectors

    today = selectors.capitalization_as_of(company=company, as_of=AS_OF)
    if today != selectors.capitalization_from_history(company=company, as_of=AS_OF):
        raise AssertionError(f"{company.slug}: the running totals disagree with the history")
    terms = _round(today)
    del today

    def end_to_end() -> None:
        # What the cap table page and the round modeller read: the fully diluted table and a pro-forma.
        capitalization = selectors.capitalization_as_of(company=company, as_of=AS_OF)
        captable.holdings(capitalization)
        convertibles = selectors.convertibles_for_engine(company=company, as_of=AS_OF)
        captable.pro_forma(capitalization, terms, convertibles)

    capitalization = selectors.capitalization_as_of(company=company, as_of=AS_OF)
    convertibles = selectors.convertibles_for_engine(company=company, as_of=AS_OF)

    def engine() -> None:
        captable.holdings(capitalization)
        captable.pro_forma(capitalization, terms, convertibles)

    def floor() -> None:
        with connection.cursor() as cursor:
            cursor.execute(FLOOR, [company.pk, AS_OF])
            cursor.fetchall()

    def past_date() -> None:
        captable.holdings(selectors.capitalization_as_of(company=company, as_of=PAST))

    floor()  # warm the buffer cache alike for all three
    return {"end_to_end": _best(REPEATS, end_to_end), "engine": _best(REPEATS, engine),
            "floor": _best(REPEATS + 2, floor), "past_date": _best(1, past_date),
            "positions": len(capitalization.positions), "convertibles": len(convertibles)}


def _page_queries(company: Any, owner: Any) -> int:
    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, override_settings
    from django.urls import reverse

    client = Client()
    client.force_login(owner)
    url = reverse("equity:cap_table", kwargs={"slug": company.slug}) + f"?as_of={AS_OF.isoformat()}"
    plain_static = {**settings.STORAGES, "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}  # no collectstatic manifest needed
    with override_settings(STORAGES=plain_static), CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    if response.status_code != 200:
        raise AssertionError(f"{url}: {response.status_code}")
    return len(queries.captured_queries)


def run() -> Result:
    _setup_django()
    from django.db import connection
    from django.test.utils import setup_test_environment, teardown_test_environment

    setup_test_environment()
    old_name = connection.settings_dict["NAME"]
    connection.settings_dict.setdefault("TEST", {})["NAME"] = f"{old_name}_equity_bench"  # never the suite's
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    measured: dict[int, dict[str, float]] = {}
    try:
        for stakeholders, transactions in (SMALL, LARGE):
            generated = generate(stakeholders, transactions, seed=stakeholders)
            company, owner = load(generated, f"bench-{stakeholders}")
            del generated
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
            measured[stakeholders] = _measure(company)
            measured[stakeholders]["page_queries"] = _page_queries(company, owner)
            print(f"   {stakeholders:,} stakeholders: {measured[stakeholders]}", flush=True)
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
        teardown_test_environment()
    small, large = measured[SMALL[0]], measured[LARGE[0]]
    metrics = {
        "captable_1m_seconds": round(large["end_to_end"], 3),
        "captable_1m_engine_seconds": round(large["engine"], 3),
        "captable_1m_sql_aggregate_seconds": round(large["floor"], 3),
        "captable_100k_seconds": round(small["end_to_end"], 3),
        "captable_1m_past_date_seconds": round(large["past_date"], 3),
        "captable_1m_ratio_to_sql_aggregate": round(large["end_to_end"] / large["floor"], 2),
        "captable_growth_ratio_10x": round(large["end_to_end"] / small["end_to_end"], 2),
        "captable_page_queries_1k": small["page_queries"],
        "captable_page_queries_10k": large["page_queries"],
    }
    notes = [
        f"A generated company of {LARGE[0]:,} stakeholders and {LARGE[1]:,} ledger transactions (and one of "
        f"{SMALL[0]:,} and {SMALL[1]:,}), {large['positions']:,} positions after netting; best of {REPEATS}.",
        "End to end: `capitalization_as_of` + the fully diluted table + a pro-forma (Series E, 10% pool target, "
        f"{large['convertibles']} SAFEs converting). Floor: one `GROUP BY stakeholder, class` sum over the same rows.",
        "Today's table reads the running totals kept by the ledger's trigger (checked equal to the history first); "
        f"a past date ({PAST.isoformat()}, `captable_1m_past_date_seconds`, one run) nets the history.",
        "Goals: ratio to the SQL aggregate ≤ 2, growth for 10× the data ≤ 12, page queries equal at both sizes.",
    ]
    return Result(metrics=metrics, notes=notes)
