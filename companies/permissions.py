"""Company-level access, shared by pages and the API: a member's role decides what they may do."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404

from accounts.models import User
from companies.choices import CAN_EDIT, Role
from companies.models import Company, Membership


def company_membership_required(*, user: User, slug: str, roles: set[Role] | None = None) -> Membership:
    """The user's membership of the company, or PermissionDenied (403) for a non-member or too small a role.

    An unknown company is a 404. Non-members get 403, not 404: the company's existence is public anyway.
    """
    company = Company.objects.filter(slug=slug).first()
    if company is None:
        raise Http404
    membership = Membership.objects.filter(company=company, user=user).select_related("company").first()
    if membership is None or (roles is not None and membership.role not in roles):
        raise PermissionDenied
    return membership


def company_editor_required(*, user: User | None, company: Company, refusal: str) -> None:
    """Services' check: `user` is an owner or admin of `company`, else PermissionDenied with `refusal` (each app
    says in its own words what only editors may do)."""
    if user is None or not Membership.objects.filter(company=company, user=user, role__in=list(CAN_EDIT)).exists():
        raise PermissionDenied(refusal)
