from __future__ import annotations

from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import models, transaction

from compliance.audit import Actor
from compliance.models import AuditEvent


def audit_record(
    *,
    actor: Actor,
    action: str,
    target: models.Model | None = None,
    changes: dict[str, Any] | None = None,
    company_id: int | None = None,
) -> AuditEvent:
    """Append one event to the audit log, inside the caller's transaction.

    Called by every service that changes state, so the event commits or rolls back with the change it records.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit_record must run inside the transaction of the change it records")
    return AuditEvent.objects.create(
        actor=actor.user,
        actor_label=actor.label,
        action=action,
        target_type=ContentType.objects.get_for_model(target) if target is not None else None,
        target_id=str(target.pk) if target is not None else "",
        target_label=str(target)[:255] if target is not None else "",
        company_id=company_id,
        changes=changes or {},
        ip_address=actor.ip_address,
        user_agent=actor.user_agent,
    )


def model_changes(instance: models.Model, fields: dict[str, Any]) -> dict[str, list[Any]]:
    """Apply `fields` to `instance` and return {field: [old, new]} for the values that actually changed."""
    changed: dict[str, list[Any]] = {}
    for name, new in fields.items():
        old = getattr(instance, name)
        if old != new:
            changed[name] = [_json_value(old), _json_value(new)]
            setattr(instance, name, new)
    return changed


def _json_value(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if hasattr(value, "name") and hasattr(value, "url"):  # a FieldFile
        return value.name or None
    return str(value)
