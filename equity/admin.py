from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from compliance.admin import AuditedAdmin
from equity.models import EquityPlan, EquityTransaction, ShareClass, Stakeholder


@admin.register(ShareClass)
class ShareClassAdmin(AuditedAdmin):
    list_display = ["name", "company", "kind", "authorized_shares", "original_issue_price", "seniority"]
    list_filter = ["kind"]
    search_fields = ["name", "company__legal_name"]


@admin.register(Stakeholder)
class StakeholderAdmin(AuditedAdmin):
    list_display = ["name", "company", "kind", "relationship", "email"]
    search_fields = ["name", "email", "company__legal_name"]
    raw_id_fields = ["user"]


@admin.register(EquityPlan)
class EquityPlanAdmin(AuditedAdmin):
    list_display = ["name", "company", "share_class"]


@admin.register(EquityTransaction)
class EquityTransactionAdmin(admin.ModelAdmin):
    """The ledger, read-only: it changes only through the equity services (and never by editing a row)."""

    list_display = ["effective_date", "company", "kind", "security_ref", "stakeholder", "share_class", "quantity"]
    list_filter = ["kind"]
    search_fields = ["security_ref", "stakeholder__name", "company__legal_name"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
