"""The audit log: written with the change it records, never rewritten, browsable and filterable by staff."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import DatabaseError, transaction

from companies import services
from compliance.audit import Actor
from compliance.models import AuditEvent
from compliance.services import audit_record
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_an_event_cannot_be_updated_or_deleted_even_by_raw_sql() -> None:
    user = UserFactory()
    with transaction.atomic():
        event = audit_record(actor=Actor(user=user), action="test.event", target=user)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(action="test.forged")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).delete()
    event.refresh_from_db()
    assert event.action == "test.event"


def test_a_person_with_history_cannot_be_deleted() -> None:
    user = UserFactory()
    with transaction.atomic():
        audit_record(actor=Actor(user=user), action="test.event")
    with pytest.raises(Exception, match="protected"):
        user.delete()


@pytest.mark.django_db(transaction=True)
def test_audit_record_refuses_to_run_outside_a_transaction() -> None:
    with pytest.raises(RuntimeError, match="inside the transaction"):
        audit_record(actor=Actor.system(), action="test.event")


def test_a_failed_change_leaves_no_event() -> None:
    owner = MembershipFactory(role="owner")
    before = AuditEvent.objects.count()
    with pytest.raises(Exception, match="already"):
        services.invitation_create(
            actor=Actor(user=owner.user), company=owner.company, email=owner.user.email, role="admin"
        )
    assert AuditEvent.objects.count() == before


def test_staff_filter_the_log_by_action_and_actor(cast: Any, client_for: Any) -> None:
    services.company_update(actor=Actor(user=cast.owner, ip_address="192.0.2.1"), company=cast.company, pitch="New")
    services.invitation_create(actor=Actor(user=cast.admin), company=cast.company, email="x@y.example", role="viewer")
    client = client_for(cast.compliance_officer)
    page = client.get("/compliance/audit/", {"action": "company.update"})
    rows = list(page.context["page"])
    assert [event.action for event in rows] == ["company.update"]
    assert "192.0.2.1" in page.content.decode()
    by_actor = client.get("/compliance/audit/", {"actor": cast.admin.email})
    assert [event.action for event in by_actor.context["page"]] == ["invitation.create"]
    api = client.get("/api/v1/audit-events/", {"action": "invitation."})
    assert [item["action"] for item in api.json()["results"]] == ["invitation.create"]


def test_a_bad_date_filter_is_an_error_not_a_crash(cast: Any, client_for: Any) -> None:
    response = client_for(cast.compliance_officer).get("/compliance/audit/", {"since": "yesterday"})
    assert response.status_code == 200
    assert "Enter a valid date" in response.content.decode()
