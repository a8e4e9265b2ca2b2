"""Everything that changes a company, its team or its invitations. Each function is one transaction and writes
the audit log; views and the API only parse input and check permission, then call one of these."""

from __future__ import annotations

from datetime import date

from django.conf import settings
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from companies.choices import CAN_EDIT, CAN_INVITE, CAN_MANAGE_OWNERS, Role
from companies.models import Company, Invitation, Membership
from compliance.audit import Actor
from compliance.services import audit_record, model_changes

INVITATION_SALT = "companies.invitation"


def _require_role(actor: Actor, company: Company, allowed: set[Role]) -> Membership:
    if actor.user is None:
        raise PermissionDenied
    membership = Membership.objects.filter(company=company, user=actor.user).first()
    if membership is None or membership.role not in allowed:
        raise PermissionDenied(_("Your role in this company does not allow this."))
    return membership


def _unique_slug(legal_name: str) -> str:
    base = slugify(legal_name.replace(",", " ").replace(".", " "))[:70] or "company"
    slug, n = base, 2
    while Company.objects.filter(slug=slug).exists():
        slug, n = f"{base}-{n}", n + 1
    return slug


def _save_company(company: Company) -> None:
    """Validate and save; a name already taken in the jurisdiction is an error on the name field.

    The check gives the readable message; the unique constraint still decides when two requests race.
    """
    taken = _("A company with this name is already registered in this jurisdiction.")
    company.full_clean(validate_constraints=False)
    same_name = Company.objects.filter(legal_name__iexact=company.legal_name, jurisdiction=company.jurisdiction)
    if same_name.exclude(pk=company.pk).exists():
        raise ValidationError({"legal_name": taken})
    try:
        with transaction.atomic():
            company.save()
    except IntegrityError as error:
        raise ValidationError({"legal_name": taken}) from error


@transaction.atomic
def company_create(
    *,
    actor: Actor,
    legal_name: str,
    jurisdiction: str,
    incorporation_date: date | None = None,
    website: str = "",
    pitch: str = "",
    logo: UploadedFile | None = None,
    founder_title: str = "",
) -> Company:
    """Create a company; its creator becomes the first owner."""
    if actor.user is None:
        raise PermissionDenied
    company = Company(
        legal_name=legal_name.strip(),
        slug=_unique_slug(legal_name),
        jurisdiction=jurisdiction,
        incorporation_date=incorporation_date,
        website=website,
        pitch=pitch.strip(),
        created_by=actor.user,
    )
    if logo is not None:
        company.logo = logo
    _save_company(company)
    membership = Membership.objects.create(company=company, user=actor.user, role=Role.OWNER, title=founder_title)
    audit_record(
        actor=actor, action="company.create", target=company, company_id=company.pk,
        changes={"legal_name": company.legal_name, "jurisdiction": jurisdiction, "owner": membership.user.email},
    )
    return company


@transaction.atomic
def company_update(*, actor: Actor, company: Company, **fields: object) -> Company:
    _require_role(actor, company, CAN_EDIT)
    company = Company.objects.select_for_update().get(pk=company.pk)
    logo = fields.pop("logo", None)
    changes = model_changes(company, fields)
    if logo is not None:
        changes["logo"] = [company.logo.name or None, getattr(logo, "name", None)]
        company.logo = logo
    if logo is False:  # the form's "clear" box
        changes["logo"] = [company.logo.name or None, None]
        company.logo = None
    if not changes:
        return company
    _save_company(company)
    audit_record(actor=actor, action="company.update", target=company, company_id=company.pk, changes=changes)
    return company


def invitation_token(invitation: Invitation) -> str:
    return signing.dumps({"invitation": invitation.pk}, salt=INVITATION_SALT)


def invitation_url(invitation: Invitation) -> str:
    return settings.SITE_URL.rstrip("/") + reverse("companies:invitation", kwargs={"token": invitation_token(invitation)})


@transaction.atomic
def invitation_create(*, actor: Actor, company: Company, email: str, role: str) -> Invitation:
    """Invite someone by e-mail. Only owners may invite owners; an address already on the team is refused."""
    inviter = _require_role(actor, company, CAN_INVITE)
    email = email.strip().lower()
    if role not in Role.values:
        raise ValidationError({"role": _("Choose owner, admin or viewer.")})
    if role == Role.OWNER and inviter.role not in CAN_MANAGE_OWNERS:
        raise PermissionDenied(_("Only an owner can invite another owner."))
    if Membership.objects.filter(company=company, user__email__iexact=email).exists():
        raise ValidationError({"email": _("This person is already a member of the company.")})
    open_invitations = Invitation.objects.select_for_update().filter(
        company=company, email__iexact=email, accepted_at__isnull=True, revoked_at__isnull=True
    )
    for previous in open_invitations:
        if previous.status == "pending":
            raise ValidationError({"email": _("An invitation to this address is already waiting to be accepted.")})
        previous.revoked_at = timezone.now()  # expired: make room for the new one
        previous.save(update_fields=["revoked_at"])
    invitation = Invitation(
        company=company, email=email, role=role, invited_by=actor.user,
        expires_at=timezone.now() + settings.COMPANY_INVITATION_MAX_AGE,
    )
    invitation.full_clean(exclude=["company"])
    try:
        with transaction.atomic():
            invitation.save()
    except IntegrityError as error:  # a concurrent invitation to the same address won the race
        raise ValidationError({"email": _("An invitation to this address is already waiting to be accepted.")}) from error
    audit_record(
        actor=actor, action="invitation.create", target=invitation, company_id=company.pk,
        changes={"email": email, "role": role},
    )
    from companies.tasks import invitation_send

    transaction.on_commit(lambda: invitation_send.delay(invitation.pk))
    return invitation


def invitation_from_token(token: str) -> Invitation:
    """The invitation a link points at, or a ValidationError a person can read (tampered, expired, used)."""
    try:
        payload = signing.loads(
            token, salt=INVITATION_SALT, max_age=settings.COMPANY_INVITATION_MAX_AGE
        )
    except signing.SignatureExpired as error:
        raise ValidationError(_("This invitation has expired. Ask the company to send a new one.")) from error
    except signing.BadSignature as error:
        raise ValidationError(_("This invitation link is not valid.")) from error
    invitation = Invitation.objects.select_related("company", "invited_by").filter(pk=payload.get("invitation")).first()
    if invitation is None:
        raise ValidationError(_("This invitation link is not valid."))
    return invitation


@transaction.atomic
def invitation_accept(*, actor: Actor, token: str) -> Membership:
    """Join the company the invitation names. The signed-in user's e-mail must be the invited address."""
    user = actor.user
    if user is None:
        raise PermissionDenied
    invitation = invitation_from_token(token)
    invitation = Invitation.objects.select_for_update().select_related("company").get(pk=invitation.pk)
    status = invitation.status
    if status == "accepted":
        raise ValidationError(_("This invitation has already been used."))
    if status == "revoked":
        raise ValidationError(_("This invitation was withdrawn by the company."))
    if status == "expired":
        raise ValidationError(_("This invitation has expired. Ask the company to send a new one."))
    if invitation.email.lower() != user.email.lower():
        raise ValidationError(
            _("This invitation was sent to %(email)s. Sign in with that address to accept it.")
            % {"email": invitation.email}
        )
    if Membership.objects.filter(company=invitation.company, user=user).exists():
        raise ValidationError(_("You are already a member of this company."))
    membership = Membership.objects.create(company=invitation.company, user=user, role=invitation.role)
    invitation.accepted_at = timezone.now()
    invitation.accepted_by = user
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    audit_record(
        actor=actor, action="invitation.accept", target=invitation, company_id=invitation.company_id,
        changes={"role": invitation.role},
    )
    return membership


@transaction.atomic
def invitation_revoke(*, actor: Actor, invitation: Invitation) -> Invitation:
    _require_role(actor, invitation.company, CAN_INVITE)
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if invitation.status != "pending":
        raise ValidationError(_("Only a pending invitation can be withdrawn."))
    invitation.revoked_at = timezone.now()
    invitation.save(update_fields=["revoked_at"])
    audit_record(actor=actor, action="invitation.revoke", target=invitation, company_id=invitation.company_id)
    return invitation


def _lock_team(company: Company) -> list[Membership]:
    """Lock every membership of the company, in key order, so two owners changing roles cannot race."""
    return list(Membership.objects.select_for_update().filter(company=company).order_by("pk"))


def _owners_after(team: list[Membership], changed: Membership, new_role: str | None) -> int:
    """How many owners the company would have if `changed` took `new_role` (None: if it left)."""
    others = sum(1 for m in team if m.pk != changed.pk and m.role == Role.OWNER)
    return others + (1 if new_role == Role.OWNER else 0)


@transaction.atomic
def membership_change_role(*, actor: Actor, membership: Membership, role: str) -> Membership:
    acting = _require_role(actor, membership.company, CAN_INVITE)
    if role not in Role.values:
        raise ValidationError({"role": _("Choose owner, admin or viewer.")})
    team = _lock_team(membership.company)
    membership = next(m for m in team if m.pk == membership.pk)
    if Role.OWNER in (role, membership.role) and acting.role not in CAN_MANAGE_OWNERS:
        raise PermissionDenied(_("Only an owner can make or unmake an owner."))
    if membership.role == role:
        return membership
    if _owners_after(team, membership, role) == 0:
        raise ValidationError(_("A company must keep at least one owner."))
    old = membership.role
    membership.role = role
    membership.save(update_fields=["role"])
    audit_record(
        actor=actor, action="membership.change_role", target=membership, company_id=membership.company_id,
        changes={"role": [old, role], "member": membership.user.email},
    )
    return membership


@transaction.atomic
def membership_remove(*, actor: Actor, membership: Membership) -> None:
    """Remove a member. Anyone may leave; removing someone else needs owner or admin (owner for an owner)."""
    leaving = actor.user is not None and membership.user_id == actor.user.pk
    if not leaving:
        acting = _require_role(actor, membership.company, CAN_INVITE)
        if membership.role == Role.OWNER and acting.role not in CAN_MANAGE_OWNERS:
            raise PermissionDenied(_("Only an owner can remove an owner."))
    team = _lock_team(membership.company)
    membership = next(m for m in team if m.pk == membership.pk)
    if _owners_after(team, membership, None) == 0:
        raise ValidationError(_("A company must keep at least one owner."))
    audit_record(
        actor=actor, action="membership.remove", target=membership, company_id=membership.company_id,
        changes={"member": membership.user.email, "role": membership.role},
    )
    membership.delete()

