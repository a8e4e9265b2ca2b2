"""Reads of the investing side: an investor's commitments and holdings, a round's commitments and their totals."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import (
    Case,
    Count,
    DecimalField,
    F,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    When,
)
from django.db.models.functions import Coalesce, TruncDate

from accounts.models import User
from equity.choices import InvestmentState
from equity.models import Round
from payments.choices import EscrowEntryKind
from payments.models import Commitment, Document, EscrowEntry, Payment


def _with_everything(queryset: QuerySet[Commitment]) -> QuerySet[Commitment]:
    return queryset.select_related(
        "investor", "investment__round__company", "investment__stakeholder", "investment__security__share_class",
    ).prefetch_related(
        Prefetch("payments", queryset=Payment.objects.order_by("-created_at", "-pk")),
        Prefetch("documents", queryset=Document.objects.order_by("kind")),
    )


def commitment_list_for_investor(*, user: User) -> QuerySet[Commitment]:
    return _with_everything(Commitment.objects.filter(investor=user)).order_by("-created_at", "-pk")


def commitment_get_for_investor(*, user: User, pk: int) -> Commitment | None:
    return _with_everything(Commitment.objects.filter(investor=user, pk=pk)).first()


def commitment_list_for_round(*, round: Round) -> QuerySet[Commitment]:
    """A round's commitments, each with `escrow_left`: what escrow still holds of its payments."""
    money = DecimalField(max_digits=20, decimal_places=2)
    left = (EscrowEntry.objects.filter(payment__commitment=OuterRef("pk")).values("payment__commitment")
            .annotate(left=Sum(Case(When(kind=EscrowEntryKind.HOLD, then=F("amount")),
                                    When(kind=EscrowEntryKind.RETURN, then=-F("amount")), default=Decimal(0),
                                    output_field=money)))
            .values("left"))
    return _with_everything(Commitment.objects.filter(investment__round=round)).annotate(
        escrow_left=Coalesce(Subquery(left, output_field=money), Decimal(0), output_field=money),
    ).order_by("-created_at", "-pk")


@dataclass(frozen=True)
class CommitmentTotals:
    funded: Decimal  # in escrow, or accepted at close
    pending: Decimal  # committed, payment not settled yet
    cancelled: Decimal  # cancelled, refunded or reversed
    count: int


def commitment_totals(*, commitments: QuerySet[Commitment]) -> CommitmentTotals:
    row = commitments.aggregate(
        funded=Sum("investment__amount", filter=Q(investment__state__in=[InvestmentState.FUNDED,
                                                                         InvestmentState.ACCEPTED])),
        pending=Sum("investment__amount", filter=Q(investment__state__in=[InvestmentState.PENDING_PAYMENT,
                                                                          InvestmentState.PROCESSING])),
        cancelled=Sum("investment__amount", filter=Q(investment__state__in=[
            InvestmentState.CANCELLED, InvestmentState.REFUNDED, InvestmentState.REVERSED])),
        count=Count("pk"))
    return CommitmentTotals(funded=row["funded"] or Decimal(0), pending=row["pending"] or Decimal(0),
                            cancelled=row["cancelled"] or Decimal(0), count=row["count"])


def commitment_series(*, round: Round) -> list[tuple[date, Decimal, Decimal]]:
    """Money committed to the round over time, per day: (day, committed that day, running total), counting every
    commitment that is still live or accepted."""
    rows = (Commitment.objects.filter(investment__round=round, investment__state__in=InvestmentState.counting())
            .annotate(day=TruncDate("created_at")).values("day").annotate(total=Sum("investment__amount"))
            .order_by("day"))
    series, running = [], Decimal(0)
    for row in rows:
        running += row["total"]
        series.append((row["day"], row["total"], running))
    return series
