"""Reads of the equity ledger: the capitalization at any date, derived from the transactions up to it.

A fixed number of queries whatever the number of stakeholders or transactions: the aggregation happens in
PostgreSQL (the running totals the ledger's trigger keeps for today, one grouped query over the history for an
earlier date), the arithmetic in `equity.captable`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any

from django.db import connection
from django.db.models import Count, Exists, Max, Min, OuterRef, Q, QuerySet, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from companies.models import Company
from equity import captable
from equity.captable.holdings import class_row_key, cycle_collector_paused
from equity.captable.rounding import decimal_of, exact, percentages, shares_down, to_cents
from equity.captable.vesting import VestingSchedule
from equity.choices import ClassKind, InvestmentState, Relationship, RoundState, TransactionKind
from equity.models import EquityPlan, EquityTransaction, Investment, Round, ShareClass, Stakeholder

POOL_HOLDER = "Option pool (available)"
NEW_INVESTORS = _("New investors")


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


# What each stock certificate and option grant still holds on a date (its shares less what later rows used
# up), summed per stakeholder, class, kind and exercise price: one row per position, whatever the number of
# certificates. `first` orders the positions by their earliest certificate or grant still holding shares
# (date, then id), as the engine lists holders in order of appearance. Raw SQL because the per-security
# netting is a join against an aggregate, which the ORM would write as a correlated subquery per row.
_POSITIONS_SQL = """
WITH used AS (
    SELECT acts_on_id, SUM(quantity) AS n FROM equity_equitytransaction
     WHERE company_id = %(company)s AND effective_date <= %(as_of)s AND acts_on_id IS NOT NULL
       AND kind = ANY(%(consuming)s)
     GROUP BY acts_on_id),
held AS (
    SELECT t.id, t.effective_date, t.stakeholder_id,
           CASE WHEN t.kind = %(grant)s AND t.plan_id IS NOT NULL THEN 'options'
                WHEN t.kind = %(warrant)s THEN 'warrants' ELSE 'shares' END AS right_kind,
           CASE WHEN t.kind = %(grant)s AND t.plan_id IS NOT NULL THEN plan.share_class_id ELSE t.share_class_id
           END AS share_class_id,
           CASE WHEN (t.kind = %(grant)s AND t.plan_id IS NOT NULL) OR t.kind = %(warrant)s
                THEN COALESCE(t.price_per_share, 0) ELSE 0 END AS exercise_price,
           t.quantity - COALESCE(used.n, 0) AS shares
      FROM equity_equitytransaction t
      LEFT JOIN used ON used.acts_on_id = t.id
      LEFT JOIN equity_equityplan plan ON plan.id = t.plan_id
     WHERE t.company_id = %(company)s AND t.effective_date <= %(as_of)s AND t.kind = ANY(%(holding)s)
       AND t.stakeholder_id IS NOT NULL AND t.quantity > COALESCE(used.n, 0)
       -- a warrant past its expiry date is no longer a right to anything
       AND NOT (t.kind = %(warrant)s AND COALESCE((t.terms ->> 'expiry_date')::date >= %(as_of)s, TRUE) IS FALSE))
SELECT stakeholder.name, held.share_class_id, held.right_kind, held.exercise_price, held.shares
  FROM (SELECT stakeholder_id, share_class_id, right_kind, exercise_price, SUM(shares) AS shares,
               MIN((effective_date - DATE '2000-01-01') * 1099511627776 + id) AS first
          FROM held WHERE share_class_id IS NOT NULL
         GROUP BY stakeholder_id, share_class_id, right_kind, exercise_price) held
  JOIN equity_stakeholder stakeholder ON stakeholder.id = held.stakeholder_id
 ORDER BY held.first
"""

# The same positions once no ledger row is dated after `as_of`: the running totals of migration 0004, in the
# same order (`first` is the same place in the ledger). Only warrants may need adding up, when one holder has
# warrants at one price with different expiry dates.
_LATEST_POSITIONS_SQL = """
SELECT stakeholder_id, share_class_id, kind, CASE WHEN kind = 'shares' THEN NULL ELSE exercise_price END, shares
  FROM equity_position
 WHERE company_id = %(company)s AND shares > 0 AND stakeholder_id IS NOT NULL
   AND (expiry_date IS NULL OR expiry_date >= %(as_of)s)
 ORDER BY first
"""

_KINDS = {kind.value: kind for kind in captable.PositionKind}


def _positions_from_history(*, company: Company, as_of: date, class_names: dict[int, str]) -> list[captable.Position]:
    positions: list[captable.Position] = []
    with connection.cursor() as cursor:
        cursor.execute(_POSITIONS_SQL, {
            "company": company.pk, "as_of": as_of, "grant": TransactionKind.OPTION_GRANT.value,
            "warrant": TransactionKind.WARRANT_ISSUANCE.value,
            "consuming": [str(kind) for kind in TransactionKind.consuming()],
            "holding": [str(kind) for kind in [*TransactionKind.creating_stock(), TransactionKind.OPTION_GRANT,
                                               TransactionKind.WARRANT_ISSUANCE]],
        })
        for holder, class_id, right, exercise_price, shares in cursor.fetchall():
            if right == "shares":
                positions.append(captable.Position(holder, class_names[class_id], int(shares)))
            else:
                positions.append(captable.Position(holder, class_names[class_id], int(shares), _KINDS[right],
                                                   exercise_price))
    rows = EquityTransaction.objects.filter(company=company, effective_date__lte=as_of)
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
    return positions


def _positions_latest(*, company: Company, as_of: date, class_names: dict[int, str]) -> list[captable.Position]:
    positions: list[captable.Position] = []
    warrants: dict[tuple[str, str, Decimal], int] = {}  # a holder's warrants at one price: their index
    shares_kind, warrants_kind = captable.PositionKind.SHARES, captable.PositionKind.WARRANTS
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, name FROM equity_stakeholder WHERE company_id = %s", [company.pk])
        names = dict(cursor.fetchall())
        cursor.execute(_LATEST_POSITIONS_SQL, {"company": company.pk, "as_of": as_of})
        for holder_id, class_id, right, exercise_price, shares in cursor:
            kind = _KINDS[right]
            if kind is shares_kind:
                positions.append(captable.Position(names[holder_id], class_names[class_id], shares))
                continue
            position = captable.Position(names[holder_id], class_names[class_id], shares, kind, exercise_price)
            if kind is warrants_kind:
                key = (position.holder, position.share_class, exercise_price)
                if key in warrants:
                    earlier = positions[warrants[key]]
                    positions[warrants[key]] = replace(earlier, shares=earlier.shares + shares)
                    continue
                warrants[key] = len(positions)
            positions.append(position)
        cursor.execute("""SELECT pool.share_class_id, pool.shares FROM equity_position pool
                            JOIN equity_equityplan plan ON plan.id = pool.plan_id
                           WHERE pool.company_id = %s AND pool.kind = 'pool' AND pool.shares > 0
                           ORDER BY plan.company_id, plan.name""", [company.pk])
        for class_id, shares in cursor.fetchall():
            positions.append(captable.Position(POOL_HOLDER, class_names[class_id], shares, captable.PositionKind.POOL))
    return positions


def capitalization_as_of(*, company: Company, as_of: date) -> captable.Capitalization:
    """Every holding on `as_of`: stock certificates, option grants and unexpired warrants less what later rows
    used up, summed per stakeholder, class and exercise price, and each pool's ungranted reserve.

    A handful of queries whatever the size of the ledger. When no ledger row is dated after `as_of` (the cap
    table of today), the positions are the running totals the ledger's trigger keeps (migration 0004): one row
    per position, read in index order (a cap table of 10,000 stakeholders and a million transactions in about
    half a second; `bench/equity.py`). For an earlier date, `capitalization_from_history`. A position's
    as-converted count applies the conversion ratio to its total, as the NVCA charter does for fractional
    shares.
    """
    latest = EquityTransaction.objects.filter(company=company).aggregate(latest=Max("effective_date"))["latest"]
    if latest is not None and latest > as_of:
        return capitalization_from_history(company=company, as_of=as_of)
    return _capitalization(company=company, as_of=as_of, positions=_positions_latest)


def capitalization_from_history(*, company: Company, as_of: date) -> captable.Capitalization:
    """The same capitalization computed from every transaction up to `as_of`: PostgreSQL nets each security
    against the rows that used it and sums the positions, so Python still sees one row per position rather
    than one per certificate (seconds at a million transactions). What `capitalization_as_of` reads for a past
    date, and the reference the running totals are checked against."""
    return _capitalization(company=company, as_of=as_of, positions=_positions_from_history)


def _capitalization(*, company: Company, as_of: date,
                    positions: Callable[..., list[captable.Position]]) -> captable.Capitalization:
    classes = list(share_class_list(company=company))
    class_names = {share_class.pk: share_class.name for share_class in classes}
    with cycle_collector_paused():
        found = positions(company=company, as_of=as_of, class_names=class_names)
        return captable.Capitalization(tuple(_engine_class(c) for c in classes), tuple(found))


def cap_table(*, company: Company, as_of: date) -> captable.Holdings:
    return captable.holdings(capitalization_as_of(company=company, as_of=as_of))


def convertible_list_outstanding(*, company: Company, as_of: date) -> QuerySet[EquityTransaction]:
    """SAFEs and notes issued by `as_of` and not converted by then."""
    converted = EquityTransaction.objects.filter(acts_on=OuterRef("pk"), kind=TransactionKind.CONVERSION,
                                                 effective_date__lte=as_of)
    return (EquityTransaction.objects.filter(company=company, kind=TransactionKind.CONVERTIBLE_ISSUANCE,
                                             effective_date__lte=as_of)
            .filter(~Exists(converted)).select_related("stakeholder").order_by("effective_date", "pk"))


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


# --- rounds -----------------------------------------------------------------------------------------------

def round_list(*, company: Company) -> QuerySet[Round]:
    return Round.objects.filter(company=company).annotate(
        raised=Coalesce(Sum("investments__amount", filter=Q(investments__state__in=InvestmentState.counting())),
                        Decimal(0)),
    ).order_by("-created_at")


def round_raised(*, round: Round) -> Decimal:
    """What counts against the round's maximum: every commitment not cancelled, refunded or reversed."""
    total = round.investments.filter(state__in=InvestmentState.counting()).aggregate(n=Sum("amount"))["n"]
    return total or Decimal(0)


def investment_list(*, round: Round) -> QuerySet[Investment]:
    return round.investments.select_related("stakeholder", "security").order_by("created_at", "pk")


def _without_empty_class(capitalization: captable.Capitalization, series: str) -> captable.Capitalization:
    """A class set up for the round but without shares yet is the round's own series: the engine creates it."""
    if any(p.share_class == series for p in capitalization.positions):
        return capitalization
    classes = tuple(c for c in capitalization.share_classes if c.name != series)
    return captable.Capitalization(classes, capitalization.positions)


def round_terms(*, round: Round, investments: Sequence[captable.Investment], closing_date: date) -> captable.PricedRound:
    """A priced round's terms as the engine reads them, with the given investments."""
    pool: captable.PoolTopUp | None = None
    if round.pool_target_percent:
        pool = captable.PoolTopUp(target=round.pool_target_percent / 100)
    elif round.pool_new_shares:
        pool = captable.PoolTopUp(new_shares=round.pool_new_shares)
    return captable.PricedRound(
        series=round.series_name, investments=tuple(investments), pre_money=round.pre_money_valuation,
        closing_date=closing_date, pool=pool, liquidation_multiple=round.liquidation_multiple,
        participating=round.participating, participation_cap=round.participation_cap,
    )


def round_pro_forma(
    *, round: Round, closing_date: date, investments: Sequence[captable.Investment] | None = None,
) -> captable.ProForma:
    """The priced round's outcome on `closing_date`: with the given investments, or with the round's funded and
    accepted ones (or, before any, its target from "New investors"). Raises ValueError when the terms cannot be
    met."""
    if investments is None:
        investments = [captable.Investment(item.stakeholder.name, item.amount) for item in
                       round.investments.filter(state__in=[InvestmentState.FUNDED, InvestmentState.ACCEPTED])
                       .select_related("stakeholder").order_by("pk")]
        if not investments:
            investments = [captable.Investment(str(NEW_INVESTORS), round.target_amount)]
    return captable.pro_forma(
        _without_empty_class(capitalization_as_of(company=round.company, as_of=closing_date), round.series_name),
        round_terms(round=round, investments=investments, closing_date=closing_date),
        convertibles_for_engine(company=round.company, as_of=closing_date),
    )


# --- the founder's pages: ledger, stakeholder, dilution, waterfall ----------------------------------------------

def transaction_list_recent(*, company: Company, as_of: date, limit: int = 10) -> list[EquityTransaction]:
    """The last `limit` entries of the ledger up to `as_of`, newest first (the cap table page's short list)."""
    return list(transaction_list(company=company).filter(effective_date__lte=as_of)
                .order_by("-effective_date", "-pk")[:limit])


def stakeholder_transaction_list(*, stakeholder: Stakeholder) -> QuerySet[EquityTransaction]:
    """Every row naming the stakeholder or acting on one of their securities (a transfer away, an exercise)."""
    return transaction_list(company=stakeholder.company).filter(
        Q(stakeholder=stakeholder) | Q(acts_on__stakeholder=stakeholder))


@dataclass(frozen=True)
class StakeholderHoldings:
    rows: tuple[captable.HoldingsRow, ...]  # by class, as on the cap table's by-class lines
    total: captable.HoldingsRow


def stakeholder_holdings(*, stakeholder: Stakeholder, as_of: date) -> StakeholderHoldings:
    """What the stakeholder holds on `as_of`, by class, with ownership of the whole company."""
    capitalization = capitalization_as_of(company=stakeholder.company, as_of=as_of)
    total_outstanding, total_fd = capitalization.outstanding(), capitalization.fully_diluted()
    grouped: dict[str, list[int]] = {}
    for position in capitalization.positions:
        if position.holder != stakeholder.name:
            continue
        counts = grouped.setdefault(class_row_key(position), [0, 0])
        shares = capitalization.as_converted(position)
        counts[0] += shares if position.kind is captable.PositionKind.SHARES else 0
        counts[1] += shares

    def row(key: str, outstanding: int, fully_diluted: int) -> captable.HoldingsRow:
        fd_ownership = Fraction(fully_diluted, total_fd) if total_fd else Fraction(0)
        return captable.HoldingsRow(
            key=key, outstanding=outstanding, fully_diluted=fully_diluted,
            outstanding_ownership=Fraction(outstanding, total_outstanding) if total_outstanding else Fraction(0),
            fully_diluted_ownership=fd_ownership,
            fully_diluted_percent=decimal_of(fd_ownership * 100, 2))

    rows = tuple(row(key, *counts) for key, counts in grouped.items())
    return StakeholderHoldings(rows, row("Total", sum(r.outstanding for r in rows), sum(r.fully_diluted for r in rows)))


@dataclass(frozen=True)
class Security:
    """A security the stakeholder was issued, and what has happened to it by the date asked."""

    row: EquityTransaction
    exercised: int
    cancelled: int  # cancelled, forfeited or repurchased
    transferred: int
    converted: bool
    vesting: VestingSchedule | None
    vested: int | None  # of what was not cancelled
    unvested: int | None

    @property
    def remaining(self) -> int:
        return self.row.quantity - self.exercised - self.cancelled - self.transferred

    @property
    def exercisable(self) -> int | None:
        return None if self.vested is None else max(0, min(self.remaining, self.vested - self.exercised))


def stakeholder_security_list(*, stakeholder: Stakeholder, as_of: date) -> list[Security]:
    """The stakeholder's certificates, option grants, warrants, SAFEs and notes, with vesting on `as_of`."""
    def used(*kinds: str) -> Coalesce:
        return Coalesce(Sum("followers__quantity", filter=Q(followers__kind__in=kinds,
                                                             followers__effective_date__lte=as_of)), 0)

    rows = (EquityTransaction.objects.filter(stakeholder=stakeholder, kind__in=TransactionKind.creating(),
                                             effective_date__lte=as_of)
            .select_related("share_class", "plan__share_class", "acts_on")
            .annotate(exercised=used(TransactionKind.OPTION_EXERCISE, TransactionKind.WARRANT_EXERCISE),
                      cancelled=used(TransactionKind.OPTION_CANCELLATION, TransactionKind.STOCK_CANCELLATION,
                                     TransactionKind.STOCK_REPURCHASE),
                      transferred=used(TransactionKind.STOCK_TRANSFER),
                      conversions=Count("followers", filter=Q(followers__kind=TransactionKind.CONVERSION,
                                                              followers__effective_date__lte=as_of)))
            .order_by("effective_date", "pk"))
    securities = []
    for row in rows:
        schedule, vested, unvested = None, None, None
        if row.vesting_months is not None and row.vesting_start is not None:
            schedule = VestingSchedule(total=row.quantity, start=row.vesting_start, months=row.vesting_months,
                                       cliff_months=min(row.vesting_cliff_months or 0, row.vesting_months))
            kept = row.quantity - row.cancelled
            vested = min(schedule.vested_on(as_of), kept)
            unvested = kept - vested
        securities.append(Security(
            row=row, exercised=row.exercised, cancelled=row.cancelled,
            transferred=row.transferred, converted=row.conversions > 0,
            vesting=schedule, vested=vested, unvested=unvested))
    return securities


DILUTION_GROUPS: dict[str, Any] = {
    "founders": _("Founders"), "employees": _("Employees and pool"), "investors": _("Investors"), "others": _("Others"),
}
_GROUP_OF = {Relationship.FOUNDER: "founders", Relationship.EMPLOYEE: "employees", Relationship.INVESTOR: "investors"}


@dataclass(frozen=True)
class DilutionPoint:
    day: date
    label: str
    percents: dict[str, Decimal]  # fully diluted ownership by group, adding up to 100.00


def dilution_events(*, company: Company, as_of: date) -> list[tuple[date, str]]:
    """The financing events up to `as_of`: the first issuance, each date a share class first received shares
    and each date SAFEs or notes converted (labelled with the class, or with the round that closed that day),
    then `as_of` itself."""
    rows = EquityTransaction.objects.filter(company=company, effective_date__lte=as_of)
    labels: dict[date, list[str]] = {}
    firsts = (rows.filter(kind__in=TransactionKind.creating_stock(), share_class__isnull=False)
              .values_list("share_class__name").annotate(day=Min("effective_date")).order_by())
    conversions = (rows.filter(kind=TransactionKind.CONVERSION, share_class__isnull=False)
                   .values_list("share_class__name", "effective_date").distinct())
    for name, day in [*firsts, *conversions]:
        if name not in labels.setdefault(day, []):
            labels[day].append(name)
    first = rows.filter(kind__in=[*TransactionKind.creating_stock(), TransactionKind.OPTION_GRANT]).aggregate(
        day=Min("effective_date"))["day"]
    if first is not None and first not in labels:
        labels[first] = [str(_("First issuance"))]
    # A closed round names its day: "Seed" reads better than the series and its shadow series.
    for name, closed_on in Round.objects.filter(company=company, state=RoundState.CLOSED,
                                                closed_on__lte=as_of).values_list("name", "closed_on"):
        if closed_on is not None:
            labels[closed_on] = [name]
    events = [(day, ", ".join(names)) for day, names in sorted(labels.items())]
    if not events or events[-1][0] != as_of:
        events.append((as_of, str(_("Today")) if as_of == timezone.localdate() else str(_("As of"))))
    return events


def dilution_series(*, company: Company, as_of: date) -> list[DilutionPoint]:
    """Fully diluted ownership by founders, employees and the pool, investors and others at each financing event.

    Six queries whatever the number of events, stakeholders or transactions: every event is a filtered sum
    of the same grouped query. A preferred class's conversion ratio applies to each group's total.
    """
    events = dilution_events(company=company, as_of=as_of)
    rows = EquityTransaction.objects.filter(company=company, effective_date__lte=as_of)
    sums = {f"at{i}": Coalesce(Sum("quantity", filter=Q(effective_date__lte=day)), 0)
            for i, (day, _label) in enumerate(events)}
    holding_kinds = [*TransactionKind.creating_stock(), TransactionKind.OPTION_GRANT]
    created = (rows.filter(kind__in=holding_kinds, stakeholder__isnull=False)
               .values_list("stakeholder__relationship", Coalesce("plan__share_class_id", "share_class_id"))
               .annotate(**sums).order_by())
    consumed = (rows.filter(kind__in=TransactionKind.consuming(), acts_on__kind__in=holding_kinds,
                            acts_on__stakeholder__isnull=False)
                .values_list("acts_on__stakeholder__relationship",
                             Coalesce("acts_on__plan__share_class_id", "acts_on__share_class_id"))
                .annotate(**sums).order_by())
    pool = (rows.filter(plan__isnull=False, kind__in=[TransactionKind.PLAN_ADJUSTMENT, TransactionKind.OPTION_GRANT,
                                                      TransactionKind.OPTION_CANCELLATION])
            .values_list("plan_id", "plan__share_class_id", "kind").annotate(**sums).order_by())
    ratios = dict(ShareClass.objects.filter(company=company).values_list("pk", "conversion_ratio"))
    counts: list[dict[tuple[str, int], int]] = [{} for _event in events]
    for sign, grouped in ((1, created), (-1, consumed)):
        for relationship, class_id, *at in grouped:
            key = (_GROUP_OF.get(relationship, "others"), class_id)
            for i, shares in enumerate(at):
                counts[i][key] = counts[i].get(key, 0) + sign * shares
    for i in range(len(events)):
        available: dict[tuple[int, int], int] = {}
        for plan_id, class_id, kind, *at in pool:
            sign = -1 if kind == TransactionKind.OPTION_GRANT else 1
            available[plan_id, class_id] = available.get((plan_id, class_id), 0) + sign * at[i]
        for (_plan, class_id), shares in available.items():
            key = ("employees", class_id)
            counts[i][key] = counts[i].get(key, 0) + max(shares, 0)
    points = []
    for (day, label), at_event in zip(events, counts, strict=True):
        by_group: dict[str, int] = dict.fromkeys(DILUTION_GROUPS, 0)
        for (group, class_id), shares in at_event.items():
            by_group[group] += shares_down(shares * exact(ratios.get(class_id, Decimal(1))))
        total = sum(by_group.values())
        points.append(DilutionPoint(day, label, percentages(by_group) if total else dict.fromkeys(by_group, Decimal(0))))
    return points


@dataclass(frozen=True)
class PayoutLine:
    """A waterfall line for a holder or a class: what it receives, and what it chose."""

    key: str
    shares: int
    preference_cents: int
    proceeds_cents: int
    exercise_cost_cents: int
    choice: str  # "preference", "convert", "exercise", "lapse", "common" or "mixed"
    exit_cents: int  # the exit value: what all lines' net proceeds add up to

    @property
    def net_cents(self) -> int:
        return self.proceeds_cents - self.exercise_cost_cents

    @property
    def per_share(self) -> Decimal:
        """Net proceeds per common-equivalent share, to 4 decimals (rounded down)."""
        return decimal_of(Fraction(self.net_cents, 100 * self.shares), 4) if self.shares else Decimal(0)

    @property
    def share_of_exit(self) -> Fraction:
        return Fraction(self.net_cents, self.exit_cents) if self.exit_cents else Fraction(0)


@dataclass(frozen=True)
class ExitWaterfall:
    waterfall: captable.Waterfall
    by_holder: tuple[PayoutLine, ...]
    by_class: tuple[PayoutLine, ...]


def exit_value_suggested(capitalization: captable.Capitalization) -> Decimal:
    """An exit worth looking at first: the latest preferred price on every fully diluted share (a round's
    post-money), else 10,000,000; rounded up to 1, 2 or 5 times a power of ten."""
    prices = [c.original_issue_price for c in capitalization.share_classes if c.is_preferred]
    value = max(prices, default=Decimal(0)) * capitalization.fully_diluted() or Decimal(10_000_000)
    return nice_round_up(value)


def nice_round_up(value: Decimal) -> Decimal:
    """The first of 1, 2, 2.5 or 5 times a power of ten at or above `value` (a slider's natural stop)."""
    magnitude = Decimal(10) ** max(0, len(str(int(value))) - 1)
    for step in (1, 2, Decimal("2.5"), 5, 10):
        if value <= step * magnitude:
            return Decimal(step * magnitude).quantize(Decimal(1))
    return value


def exit_waterfall(*, capitalization: captable.Capitalization, exit_value: Decimal) -> ExitWaterfall:
    """The waterfall at `exit_value`, summed by holder and by class (the class lines of the cap table)."""
    result = captable.waterfall(capitalization, exit_value)

    def choice(payout: captable.Payout) -> str:
        if payout.kind in (captable.PositionKind.OPTIONS, captable.PositionKind.WARRANTS):
            return "exercise" if payout.chose_common else "lapse"
        if capitalization.share_class(payout.share_class).is_preferred:
            return "convert" if payout.chose_common else "preference"
        return "common"

    def lines(key: Callable[[captable.Payout], str]) -> tuple[PayoutLine, ...]:
        grouped: dict[str, PayoutLine] = {}
        for payout in result.payouts:
            name = key(payout)
            position = capitalization.positions[payout.index]
            line = grouped.get(name)
            grouped[name] = PayoutLine(
                key=name, shares=(line.shares if line else 0) + capitalization.as_converted(position),
                preference_cents=(line.preference_cents if line else 0) + to_cents(payout.preference),
                proceeds_cents=(line.proceeds_cents if line else 0) + payout.proceeds_cents,
                exercise_cost_cents=(line.exercise_cost_cents if line else 0) + payout.exercise_cost_cents,
                choice=choice(payout) if line is None or line.choice == choice(payout) else "mixed",
                exit_cents=to_cents(result.exit_value))
        return tuple(sorted(grouped.values(), key=lambda line: -line.net_cents))

    return ExitWaterfall(result, lines(lambda p: p.holder),
                         lines(lambda p: class_row_key(capitalization.positions[p.index])))


def round_list_public(*, company: Company) -> QuerySet[Round]:
    """The rounds a company's public page shows: open ones, with what they have raised."""
    return round_list(company=company).filter(state=RoundState.OPEN).order_by("closes_on", "pk")


@dataclass(frozen=True)
class RoundEffect:
    """One holder's fully diluted position the day before a round closed and on the day it closed."""

    holder: str
    before: int
    after: int
    before_percent: Decimal
    after_percent: Decimal


def round_effect(*, round: Round) -> list[RoundEffect]:
    """What a closed round did to the cap table: every holder before and after, the new ones included."""
    if round.closed_on is None:
        return []
    before = captable.holdings(capitalization_as_of(company=round.company, as_of=round.closed_on - timedelta(days=1)))
    after = captable.holdings(capitalization_as_of(company=round.company, as_of=round.closed_on))
    old = {row.key: row for row in before.by_stakeholder}
    rows = []
    for row in after.by_stakeholder:
        previous = old.get(row.key)
        rows.append(RoundEffect(row.key, previous.fully_diluted if previous else 0, row.fully_diluted,
                                previous.fully_diluted_percent if previous else Decimal(0), row.fully_diluted_percent))
    return rows
