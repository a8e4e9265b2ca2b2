from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.contenttypes.models import ContentType
from django.db.models import Avg, BooleanField, Case, Count, F, Q, QuerySet, Value, When
from django.utils import timezone

from compliance.choices import OPEN_FOR_REVIEW, HitStatus, KycState
from compliance.models import AuditEvent, KycApplication, KycDocument


def audit_event_list() -> QuerySet[AuditEvent]:
    return AuditEvent.objects.select_related("actor", "company", "target_type").order_by("-created_at", "-pk")


def audit_action_names() -> list[str]:
    return list(AuditEvent.objects.order_by("action").values_list("action", flat=True).distinct())


def kyc_queue(*, sla: timedelta) -> QuerySet[KycApplication]:
    """Applications staff work on, oldest submission first (the queue's natural order), each with its number of
    open screening hits and whether it waits on staff for longer than the SLA."""
    overdue = Q(state__in=list(OPEN_FOR_REVIEW), submitted_at__lt=timezone.now() - sla)
    return (
        KycApplication.objects.exclude(state=KycState.DRAFT)
        .select_related("user", "assignee")
        .annotate(
            open_hits=Count("hits", filter=Q(hits__status=HitStatus.OPEN)),
            past_sla=Case(When(overdue, then=Value(True)), default=Value(False), output_field=BooleanField()),
        )
        .order_by("submitted_at", "pk")
    )


def kyc_state_counts() -> dict[str, int]:
    rows = KycApplication.objects.exclude(state=KycState.DRAFT).values("state").annotate(n=Count("pk"))
    counts = {state: 0 for state in KycState.values if state != KycState.DRAFT}
    counts.update({row["state"]: row["n"] for row in rows})
    return counts


@dataclass(frozen=True)
class QueueFigures:
    """The queue's operations figures over a period: how fast it moves and how much it approves."""

    since: datetime
    submitted: int
    decided: int
    approval_rate: float | None  # approved ÷ decided
    mean_hours_to_assignment: float | None
    mean_hours_to_decision: float | None
    past_sla: int


def kyc_queue_figures(*, since: datetime, sla: timedelta) -> QueueFigures:
    recent = KycApplication.objects.filter(submitted_at__gte=since)
    decided = recent.filter(state__in=[KycState.APPROVED, KycState.REJECTED], decided_at__isnull=False)
    approved = decided.filter(state=KycState.APPROVED).count()
    to_assignment = recent.filter(assigned_at__isnull=False).aggregate(
        mean=Avg(F("assigned_at") - F("submitted_at")))["mean"]
    to_decision = decided.aggregate(mean=Avg(F("decided_at") - F("submitted_at")))["mean"]
    waiting = KycApplication.objects.filter(state__in=list(OPEN_FOR_REVIEW))
    return QueueFigures(
        since=since,
        submitted=recent.count(),
        decided=decided.count(),
        approval_rate=(approved / decided.count()) if decided.count() else None,
        mean_hours_to_assignment=to_assignment.total_seconds() / 3600 if to_assignment else None,
        mean_hours_to_decision=to_decision.total_seconds() / 3600 if to_decision else None,
        past_sla=waiting.filter(submitted_at__lt=timezone.now() - sla).count(),
    )


def kyc_history(application: KycApplication) -> QuerySet[AuditEvent]:
    return AuditEvent.objects.filter(
        target_type=ContentType.objects.get_for_model(KycApplication), target_id=str(application.pk)
    ).order_by("created_at", "pk")


def kyc_documents_current(application: KycApplication) -> list[KycDocument]:
    return list(application.documents.filter(replaced_at__isnull=True).order_by("kind"))
