from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db.models import (
    Avg,
    BooleanField,
    Case,
    Count,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.models import User
from compliance.choices import OPEN_FOR_REVIEW, Accreditation, HitStatus, KycState
from compliance.limits import (
    InvestmentLimit,
    LedgerEntry,
    RegCfThresholds,
    reg_cf_limit,
    twelve_months_before,
)
from compliance.models import AuditEvent, InvestmentRecord, KycApplication, KycDocument, ScreeningHit


def audit_event_list() -> QuerySet[AuditEvent]:
    return AuditEvent.objects.select_related("actor", "company", "target_type").order_by("-created_at", "-pk")


def audit_action_names() -> list[str]:
    return list(AuditEvent.objects.order_by("action").values_list("action", flat=True).distinct())


def kyc_queue(*, sla: timedelta) -> QuerySet[KycApplication]:
    """Applications staff work on, oldest submission first (the queue's natural order), each with its number of
    open screening hits and whether it waits on staff for longer than the SLA.

    The hit count is a correlated subquery, not a join with GROUP BY: a page of 50 rows then walks the
    submission-time index and stops, whatever the size of the table.
    """
    overdue = Q(state__in=list(OPEN_FOR_REVIEW), submitted_at__lt=timezone.now() - sla)
    open_hits = (
        ScreeningHit.objects.filter(application=OuterRef("pk"), status=HitStatus.OPEN)
        .order_by().values("application").annotate(n=Count("pk")).values("n")
    )
    return (
        KycApplication.objects.exclude(state=KycState.DRAFT)
        .select_related("user", "assignee")
        .annotate(
            open_hits=Coalesce(Subquery(open_hits, output_field=IntegerField()), 0),
            past_sla=Case(When(overdue, then=Value(True)), default=Value(False), output_field=BooleanField()),
        )
        .order_by("submitted_at", "pk")
    )


@dataclass(frozen=True)
class QueueSummary:
    """The queue at a glance: applications per state, and over a recent period how fast it moved and how much
    it approved."""

    counts: dict[str, int]
    since: datetime
    submitted: int
    decided: int
    approval_rate: float | None  # approved ÷ decided
    mean_hours_to_assignment: float | None
    mean_hours_to_decision: float | None
    past_sla: int


def _hours(delta: timedelta | None) -> float | None:
    return delta.total_seconds() / 3600 if delta is not None else None


def kyc_queue_summary(*, since: datetime, sla: timedelta) -> QueueSummary:
    """All the figures in one aggregate query (one pass over the table), so the page's query count is fixed."""
    states = [state for state in KycState.values if state != KycState.DRAFT]
    recent = Q(submitted_at__gte=since)
    decided = recent & Q(state__in=[KycState.APPROVED, KycState.REJECTED], decided_at__isnull=False)
    row = KycApplication.objects.exclude(state=KycState.DRAFT).aggregate(
        **{f"state_{state}": Count("pk", filter=Q(state=state)) for state in states},
        submitted=Count("pk", filter=recent),
        decided=Count("pk", filter=decided),
        approved=Count("pk", filter=decided & Q(state=KycState.APPROVED)),
        to_assignment=Avg(F("assigned_at") - F("submitted_at"), filter=recent & Q(assigned_at__isnull=False)),
        to_decision=Avg(F("decided_at") - F("submitted_at"), filter=decided),
        past_sla=Count("pk", filter=Q(state__in=list(OPEN_FOR_REVIEW), submitted_at__lt=timezone.now() - sla)),
    )
    return QueueSummary(
        counts={state: row[f"state_{state}"] for state in states},
        since=since,
        submitted=row["submitted"],
        decided=row["decided"],
        approval_rate=row["approved"] / row["decided"] if row["decided"] else None,
        mean_hours_to_assignment=_hours(row["to_assignment"]),
        mean_hours_to_decision=_hours(row["to_decision"]),
        past_sla=row["past_sla"],
    )


def kyc_history(application: KycApplication) -> QuerySet[AuditEvent]:
    return AuditEvent.objects.filter(
        target_type=ContentType.objects.get_for_model(KycApplication), target_id=str(application.pk)
    ).order_by("created_at", "pk")


def kyc_documents_current(application: KycApplication) -> list[KycDocument]:
    return list(application.documents.filter(replaced_at__isnull=True).order_by("kind"))


def investment_limit_for(*, user: User, now: datetime | None = None) -> InvestmentLimit | None:
    """The person's Regulation Crowdfunding limit over the last 12 months, or None without approved KYC.

    Accredited investors (self-certified or verified) are unlimited; everyone else's limit comes from the income
    and net worth they declared, less what the ledger and their declaration of investments elsewhere count.
    """
    application = KycApplication.objects.filter(user=user).first()
    if application is None or not application.is_approved:
        return None
    now = now or timezone.now()
    ledger = [
        LedgerEntry(amount=row.amount, occurred_at=row.occurred_at, exemption=row.exemption)
        for row in InvestmentRecord.objects.filter(user=user, occurred_at__gte=twelve_months_before(now))
    ]
    return reg_cf_limit(
        accredited=application.accreditation != Accreditation.NOT_ACCREDITED,
        annual_income=application.annual_income or Decimal(0),
        net_worth=application.net_worth or Decimal(0),
        ledger=ledger,
        invested_elsewhere=application.invested_elsewhere_12m,
        now=now,
        thresholds=RegCfThresholds(
            minimum=settings.REG_CF_MINIMUM, threshold=settings.REG_CF_THRESHOLD, cap=settings.REG_CF_CAP
        ),
    )
