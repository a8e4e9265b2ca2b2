from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db import models, transaction
from django.forms import ModelForm
from django.http import HttpRequest

from compliance.audit import Actor
from compliance.models import AuditEvent
from compliance.services import audit_record


class AuditedAdmin(admin.ModelAdmin):
    """Django admin changes made by staff go into the audit log like any other change."""

    def save_model(self, request: HttpRequest, obj: Any, form: ModelForm, change: bool) -> None:
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            changes = {name: str(form.cleaned_data.get(name)) for name in form.changed_data}
            action = f"admin.{obj._meta.model_name}.{'change' if change else 'add'}"
            audit_record(actor=Actor.from_request(request), action=action, target=obj, changes=changes)

    def delete_model(self, request: HttpRequest, obj: models.Model) -> None:
        with transaction.atomic():
            audit_record(actor=Actor.from_request(request), action=f"admin.{obj._meta.model_name}.delete", target=obj)
            super().delete_model(request, obj)


class ReadOnlyAdmin(admin.ModelAdmin):
    """For append-only records (the audit log, the equity ledger): browsable, never added, edited or deleted here."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "actor_label", "action", "target_label", "company", "ip_address"]
    list_filter = ["action"]
    search_fields = ["actor_label", "target_label", "action"]
    date_hierarchy = "created_at"
