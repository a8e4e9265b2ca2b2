from __future__ import annotations

from django.contrib import admin

from companies.models import Company, Invitation, Membership
from compliance.admin import AuditedAdmin


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    raw_id_fields = ["user"]


@admin.register(Company)
class CompanyAdmin(AuditedAdmin):
    list_display = ["legal_name", "jurisdiction", "incorporation_date", "created_at"]
    search_fields = ["legal_name", "slug"]
    list_filter = ["jurisdiction"]
    prepopulated_fields = {"slug": ["legal_name"]}
    inlines = [MembershipInline]


@admin.register(Invitation)
class InvitationAdmin(AuditedAdmin):
    list_display = ["email", "company", "role", "created_at", "expires_at", "accepted_at", "revoked_at"]
    search_fields = ["email", "company__legal_name"]
    raw_id_fields = ["invited_by", "accepted_by"]
