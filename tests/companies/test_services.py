"""Company services against the real database: what they change, what they refuse, what they audit."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core import mail, signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from companies import services
from companies.models import Company, Invitation, Membership
from compliance.audit import Actor
from compliance.models import AuditEvent
from tests.factories import CompanyFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


def actor(user: object) -> Actor:
    return Actor(user=user, ip_address="203.0.113.7", user_agent="pytest")  # type: ignore[arg-type]


def test_company_create_makes_the_creator_owner_and_audits_it() -> None:
    mei = UserFactory(email="mei@lumen.example")
    company = services.company_create(
        actor=actor(mei), legal_name="Lumen Labs, Inc.", jurisdiction="US-DE", pitch="Photonic chips."
    )
    assert company.slug == "lumen-labs-inc"
    assert Membership.objects.get(company=company).user == mei
    assert Membership.objects.get(company=company).role == "owner"
    event = AuditEvent.objects.get(action="company.create")
    assert (event.actor, event.ip_address, event.company_id) == (mei, "203.0.113.7", company.pk)


def test_company_create_refuses_a_duplicate_name_in_the_same_jurisdiction() -> None:
    mei = UserFactory()
    services.company_create(actor=actor(mei), legal_name="Lumen Labs, Inc.", jurisdiction="US-DE")
    with pytest.raises(ValidationError) as refused:
        services.company_create(actor=actor(mei), legal_name="lumen labs, inc.", jurisdiction="US-DE")
    assert "legal_name" in refused.value.message_dict
    assert Company.objects.count() == 1
    assert AuditEvent.objects.filter(action="company.create").count() == 1
    # The same name elsewhere is another company.
    services.company_create(actor=actor(mei), legal_name="Lumen Labs, Inc.", jurisdiction="GB")
    assert Company.objects.count() == 2


def test_company_create_refuses_an_unknown_jurisdiction_and_changes_nothing() -> None:
    with pytest.raises(ValidationError) as refused:
        services.company_create(actor=actor(UserFactory()), legal_name="Nowhere Ltd", jurisdiction="XX")
    assert "jurisdiction" in refused.value.message_dict
    assert not Company.objects.exists()
    assert not AuditEvent.objects.exists()


def test_company_update_records_old_and_new_values() -> None:
    owner = MembershipFactory(role="owner")
    services.company_update(actor=actor(owner.user), company=owner.company, pitch="New pitch")
    event = AuditEvent.objects.get(action="company.update")
    assert event.changes["pitch"][1] == "New pitch"


def test_a_viewer_cannot_update_the_company() -> None:
    viewer = MembershipFactory(role="viewer")
    with pytest.raises(PermissionDenied):
        services.company_update(actor=actor(viewer.user), company=viewer.company, pitch="Hijacked")
    viewer.company.refresh_from_db()
    assert viewer.company.pitch != "Hijacked"


def test_invitation_is_emailed_with_a_signed_link_and_accepted_by_the_invited_address(
    django_capture_on_commit_callbacks,  # type: ignore[no-untyped-def]
) -> None:
    owner = MembershipFactory(role="owner")
    with django_capture_on_commit_callbacks(execute=True):
        invitation = services.invitation_create(
            actor=actor(owner.user), company=owner.company, email="Leo@Lumen.example", role="admin"
        )
    assert invitation.email == "leo@lumen.example"
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["leo@lumen.example"]
    # The e-mailed link carries a signed token of this invitation (signed when sent: compare what it names).
    token = re.search(r"/invitations/([^/\s]+)/", mail.outbox[0].body).group(1)
    assert services.invitation_from_token(token) == invitation

    leo = UserFactory(email="leo@lumen.example")
    membership = services.invitation_accept(actor=actor(leo), token=token)
    assert (membership.company, membership.role) == (owner.company, "admin")
    invitation.refresh_from_db()
    assert invitation.accepted_by == leo
    assert AuditEvent.objects.filter(action="invitation.accept", actor=leo).exists()


def test_an_invitation_cannot_be_used_twice() -> None:
    owner = MembershipFactory(role="owner")
    invitation = services.invitation_create(actor=actor(owner.user), company=owner.company, email="a@b.example", role="viewer")
    user = UserFactory(email="a@b.example")
    token = services.invitation_token(invitation)
    services.invitation_accept(actor=actor(user), token=token)
    with pytest.raises(ValidationError, match="already been used"):
        services.invitation_accept(actor=actor(user), token=token)
    assert Membership.objects.filter(user=user).count() == 1


def test_an_expired_invitation_is_refused_and_changes_nothing() -> None:
    owner = MembershipFactory(role="owner")
    invitation = services.invitation_create(actor=actor(owner.user), company=owner.company, email="late@x.example", role="admin")
    Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    late = UserFactory(email="late@x.example")
    with pytest.raises(ValidationError, match="expired"):
        services.invitation_accept(actor=actor(late), token=services.invitation_token(invitation))
    assert not Membership.objects.filter(user=late).exists()


def test_a_link_older_than_the_signature_age_is_refused(settings) -> None:  # type: ignore[no-untyped-def]
    owner = MembershipFactory(role="owner")
    invitation = services.invitation_create(actor=actor(owner.user), company=owner.company, email="old@x.example", role="admin")
    token = services.invitation_token(invitation)
    settings.COMPANY_INVITATION_MAX_AGE = timedelta(seconds=-1)
    with pytest.raises(ValidationError, match="expired"):
        services.invitation_from_token(token)


def test_a_tampered_link_is_refused() -> None:
    owner = MembershipFactory(role="owner")
    invitation = services.invitation_create(actor=actor(owner.user), company=owner.company, email="t@x.example", role="admin")
    forged = signing.dumps({"invitation": invitation.pk}, salt="another-salt")
    with pytest.raises(ValidationError, match="not valid"):
        services.invitation_from_token(forged)
    with pytest.raises(ValidationError, match="not valid"):
        services.invitation_from_token(services.invitation_token(invitation)[:-2] + "xx")


def test_an_invitation_for_someone_else_is_refused() -> None:
    owner = MembershipFactory(role="owner")
    invitation = services.invitation_create(actor=actor(owner.user), company=owner.company, email="leo@x.example", role="admin")
    intruder = UserFactory(email="eve@x.example")
    with pytest.raises(ValidationError, match="leo@x.example"):
        services.invitation_accept(actor=actor(intruder), token=services.invitation_token(invitation))
    assert not Membership.objects.filter(user=intruder).exists()


@pytest.mark.parametrize("email", ["", "not-an-email", "a@", "@b.com", "a b@c.com"])
def test_invalid_email_addresses_are_refused(email: str) -> None:
    owner = MembershipFactory(role="owner")
    with pytest.raises(ValidationError):
        services.invitation_create(actor=actor(owner.user), company=owner.company, email=email, role="admin")
    assert not Invitation.objects.exists()
    assert not mail.outbox


def test_inviting_a_member_or_a_pending_address_again_is_refused() -> None:
    owner = MembershipFactory(role="owner")
    with pytest.raises(ValidationError, match="already a member"):
        services.invitation_create(actor=actor(owner.user), company=owner.company, email=owner.user.email.upper(), role="admin")
    services.invitation_create(actor=actor(owner.user), company=owner.company, email="x@y.example", role="admin")
    with pytest.raises(ValidationError, match="already waiting"):
        services.invitation_create(actor=actor(owner.user), company=owner.company, email="X@y.example", role="viewer")
    assert Invitation.objects.count() == 1


def test_an_expired_invitation_can_be_replaced() -> None:
    owner = MembershipFactory(role="owner")
    first = services.invitation_create(actor=actor(owner.user), company=owner.company, email="x@y.example", role="admin")
    Invitation.objects.filter(pk=first.pk).update(expires_at=timezone.now() - timedelta(days=1))
    second = services.invitation_create(actor=actor(owner.user), company=owner.company, email="x@y.example", role="admin")
    first.refresh_from_db()
    assert first.status == "revoked"
    assert second.status == "pending"


def test_only_owners_invite_owners_and_viewers_invite_no_one() -> None:
    company = CompanyFactory()
    admin = MembershipFactory(company=company, role="admin")
    viewer = MembershipFactory(company=company, role="viewer")
    with pytest.raises(PermissionDenied):
        services.invitation_create(actor=actor(admin.user), company=company, email="o@x.example", role="owner")
    with pytest.raises(PermissionDenied):
        services.invitation_create(actor=actor(viewer.user), company=company, email="v@x.example", role="viewer")
    assert not Invitation.objects.exists()


def test_a_founder_of_another_company_cannot_act_on_this_one() -> None:
    company = CompanyFactory()
    MembershipFactory(company=company, role="owner")
    outsider = MembershipFactory(role="owner")  # owner of a different company
    with pytest.raises(PermissionDenied):
        services.invitation_create(actor=actor(outsider.user), company=company, email="x@y.example", role="admin")
    with pytest.raises(PermissionDenied):
        services.company_update(actor=actor(outsider.user), company=company, pitch="Hijacked")


def test_the_last_owner_can_neither_leave_nor_be_demoted() -> None:
    owner = MembershipFactory(role="owner")
    with pytest.raises(ValidationError, match="at least one owner"):
        services.membership_change_role(actor=actor(owner.user), membership=owner, role="admin")
    with pytest.raises(ValidationError, match="at least one owner"):
        services.membership_remove(actor=actor(owner.user), membership=owner)
    owner.refresh_from_db()
    assert owner.role == "owner"


def test_an_admin_cannot_demote_an_owner_but_an_owner_can_promote() -> None:
    company = CompanyFactory()
    owner = MembershipFactory(company=company, role="owner")
    admin = MembershipFactory(company=company, role="admin")
    with pytest.raises(PermissionDenied):
        services.membership_change_role(actor=actor(admin.user), membership=owner, role="viewer")
    services.membership_change_role(actor=actor(owner.user), membership=admin, role="owner")
    admin.refresh_from_db()
    assert admin.role == "owner"
    # With two owners, the first may step down.
    services.membership_change_role(actor=actor(owner.user), membership=owner, role="admin")
    assert AuditEvent.objects.filter(action="membership.change_role").count() == 2


def test_a_member_can_leave_and_an_admin_can_remove_a_viewer() -> None:
    company = CompanyFactory()
    MembershipFactory(company=company, role="owner")
    admin = MembershipFactory(company=company, role="admin")
    viewer = MembershipFactory(company=company, role="viewer")
    services.membership_remove(actor=actor(admin.user), membership=viewer)
    services.membership_remove(actor=actor(admin.user), membership=admin)
    assert list(Membership.objects.filter(company=company).values_list("role", flat=True)) == ["owner"]
