"""Reads of the equity ledger: the capitalization at any date, derived from the transactions up to it.

A fixed number of queries whatever the number of stakeholders or transactions: the aggregation happens in
PostgreSQL (one grouped query for what each security has used up), the arithmetic in `equity.captable`.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.db.models import QuerySet, Sum

from companies.models import Company
from equity import captable
from equity.choices import ClassKind, TransactionKind
from equity.models import EquityPlan, EquityTransaction, ShareClass

POOL_HOLDER = "Option pool (available)"


def share_class_list(*, company: Company) -> QuerySet[ShareClass]:
    return ShareClass.objects.filter(company=company).order_by("-seniority", "name")


def transaction_list(*, company: Company) -> QuerySet[EquityTransaction]:
    return (EquityTransaction.objects.filter(company=company)
            .select_related("stakeholder", "share_class", "plan", "acts_on").order_by("effective_date", "pk"))


def _engine_class(share_class: ShareClass) -> captable.ShareClass:
    return captable.ShareClass(
        name=share_class.name,
        kind=captable.ClassKind.PREFERRED if share_class.kind == ClassKind.PREFERRED else captable.ClassKind.COMMON,
        original_issue_price=share_class.original_issue_price, liquidation_multiple=share_class.liquidation_multiple,
        participating=share_class.participating, participation_cap=share_class.participation_cap,
        seniority=share_class.seniority, conversion_ratio=share_class.conversion_ratio,
    )


def capitalization_as_of(*, company: Company, as_of: date) -> captable.Capitalization:
    """Every holding on `as_of`: stock certificates and option grants less what later rows used up, and each
    pool's ungranted reserve."""
    rows = EquityTransaction.objects.filter(company=company, effective_date__lte=as_of)
    used = dict(
        rows.filter(kind__in=TransactionKind.consuming(), acts_on__isnull=False)
        .values_list("acts_on").annotate(n=Sum("quantity")).order_by()
    )
    classes = list(share_class_list(company=company))
    positions: list[captable.Position] = []
    holdings = rows.filter(kind__in=[*TransactionKind.creating_stock(), TransactionKind.OPTION_GRANT]).select_related(
        "stakeholder", "share_class", "plan__share_class")
    for row in holdings:
        left = row.quantity - used.get(row.pk, 0)
        if left <= 0 or row.stakeholder is None:
            continue
        if row.kind == TransactionKind.OPTION_GRANT and row.plan is not None:
            positions.append(captable.Position(row.stakeholder.name, row.plan.share_class.name, left,
                                               captable.PositionKind.OPTIONS, row.price_per_share or Decimal(0)))
        elif row.share_class is not None:
            positions.append(captable.Position(row.stakeholder.name, row.share_class.name, left))
    pools = (rows.filter(plan__isnull=False, kind__in=[TransactionKind.PLAN_ADJUSTMENT, TransactionKind.OPTION_GRANT,
                                                       TransactionKind.OPTION_CANCELLATION])
             .values("plan", "kind").annotate(n=Sum("quantity")).order_by())
    available: dict[int, int] = {}
    for entry in pools:
        sign = -1 if entry["kind"] == TransactionKind.OPTION_GRANT else 1
        available[entry["plan"]] = available.get(entry["plan"], 0) + sign * entry["n"]
    for plan in EquityPlan.objects.filter(pk__in=available).select_related("share_class"):
        if available[plan.pk] > 0:
            positions.append(captable.Position(POOL_HOLDER, plan.share_class.name, available[plan.pk],
                                               captable.PositionKind.POOL))
    return captable.Capitalization(tuple(_engine_class(c) for c in classes), tuple(positions))


def cap_table(*, company: Company, as_of: date) -> captable.Holdings:
    return captable.holdings(capitalization_as_of(company=company, as_of=as_of))


def convertible_list_outstanding(*, company: Company, as_of: date) -> QuerySet[EquityTransaction]:
    """SAFEs and notes issued by `as_of` and not converted by then."""
    converted = EquityTransaction.objects.filter(company=company, kind=TransactionKind.CONVERSION,
                                                 effective_date__lte=as_of).values("acts_on")
    return (EquityTransaction.objects.filter(company=company, kind=TransactionKind.CONVERTIBLE_ISSUANCE,
                                             effective_date__lte=as_of)
            .exclude(pk__in=converted).select_related("stakeholder").order_by("effective_date", "pk"))


def convertibles_for_engine(*, company: Company, as_of: date) -> list[captable.Convertible]:
    """The SAFEs and notes still outstanding on `as_of`, as the engine's instruments."""
    def decimal_or(value: str | None, default: Decimal | None) -> Decimal | None:
        return Decimal(value) if value not in (None, "") else default

    instruments = []
    for row in convertible_list_outstanding(company=company, as_of=as_of):
        terms = row.terms
        instruments.append(captable.Convertible(
            name=row.security_ref, holder=row.stakeholder.name if row.stakeholder else row.security_ref,
            kind=captable.InstrumentKind(terms["instrument"]), amount=row.amount or Decimal(0),
            valuation_cap=decimal_or(terms.get("valuation_cap"), None),
            discount=decimal_or(terms.get("discount"), Decimal(0)) or Decimal(0), issue_date=row.effective_date,
            interest_rate=decimal_or(terms.get("interest_rate"), Decimal(0)) or Decimal(0),
            mfn=bool(terms.get("mfn")), pro_rata=bool(terms.get("pro_rata")),
        ))
    return instruments
