from __future__ import annotations

from django.contrib import admin

from compliance.admin import AuditedAdmin, ReadOnlyAdmin
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
class EquityTransactionAdmin(ReadOnlyAdmin):
    """The ledger changes only through the equity services (and never by editing a row)."""

    list_display = ["effective_date", "company", "kind", "security_ref", "stakeholder", "share_class", "quantity"]
    list_filter = ["kind"]
    search_fields = ["security_ref", "stakeholder__name", "company__legal_name"]
