from __future__ import annotations

from django.db.models import QuerySet

from accounts.models import User
from companies.models import Company, Invitation, Membership


def company_list_for_member(*, user: User) -> QuerySet[Company]:
    return Company.objects.filter(memberships__user=user).order_by("legal_name")


def company_list_public() -> QuerySet[Company]:
    return Company.objects.order_by("-created_at")


def membership_get(*, company: Company, user: User) -> Membership | None:
    if not user.is_authenticated:
        return None
    return Membership.objects.filter(company=company, user=user).first()


def membership_list(*, company: Company) -> QuerySet[Membership]:
    return Membership.objects.filter(company=company).select_related("user").order_by("created_at")


def invitation_list(*, company: Company) -> QuerySet[Invitation]:
    return Invitation.objects.filter(company=company).select_related("invited_by").order_by("-created_at")
