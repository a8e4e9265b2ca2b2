from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils.translation import gettext_lazy as _

from accounts.models import User, Wallet
from compliance.admin import AuditedAdmin


@admin.register(User)
class UserAdmin(AuditedAdmin, DjangoUserAdmin):
    ordering = ["email"]
    list_display = ["email", "full_name", "is_compliance_officer", "is_staff", "is_superuser", "is_active", "date_joined"]
    list_filter = ["is_compliance_officer", "is_staff", "is_superuser", "is_active"]
    search_fields = ["email", "full_name"]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        (_("Profile"), {"fields": ("full_name", "preferred_language")}),
        (_("Roles"), {"fields": ("is_active", "is_compliance_officer", "is_staff", "is_superuser", "groups")}),
        (_("Dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)


@admin.register(Wallet)
class WalletAdmin(AuditedAdmin):
    list_display = ["address", "chain_id", "user", "label", "verified_at", "removed_at"]
    search_fields = ["address", "user__email"]
    list_filter = ["chain_id"]
    raw_id_fields = ["user"]
    readonly_fields = ["address", "chain_id", "message", "signature", "verified_at"]
