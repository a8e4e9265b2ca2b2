from __future__ import annotations

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils.translation import gettext_lazy as _
from django_countries.fields import CountryField

from compliance.choices import (
    Accreditation,
    DocumentKind,
    DocumentType,
    Exemption,
    HitStatus,
    KycState,
    RiskLevel,
    ScreeningList,
)
from compliance.storage import PrivateStorage


class AuditEvent(models.Model):
    """One state change made by a person: who, what, on which object, what changed, when and from where.

    Append-only: a database trigger (migration 0002) refuses UPDATE and DELETE on this table, so not even a
    bug or an admin action can rewrite history. For the same reason a person or company with history cannot
    be deleted (PROTECT): deactivate the account instead.
    """

    created_at = models.DateTimeField(_("time"), auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("actor"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="+",
    )
    # Kept beside the foreign key so the record still says who it was if the account is later removed.
    actor_label = models.CharField(_("actor"), max_length=254, blank=True)
    action = models.CharField(_("action"), max_length=64, db_index=True)
    target_type = models.ForeignKey(ContentType, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    target_id = models.CharField(max_length=64, blank=True)
    target_label = models.CharField(_("object"), max_length=255, blank=True)
    company = models.ForeignKey(
        "companies.Company", null=True, blank=True, on_delete=models.PROTECT, related_name="audit_events"
    )
    changes = models.JSONField(_("changes"), default=dict, blank=True)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        indexes = [models.Index(fields=["target_type", "target_id"])]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.actor_label} {self.action} {self.target_label}"


class KycApplication(models.Model):
    """An investor's identity check. One per person; it goes through review again after a change."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="kyc_application")
    state = models.CharField(_("state"), max_length=32, choices=KycState.choices, default=KycState.DRAFT, db_index=True)
    # Identity
    legal_name = models.CharField(_("legal name"), max_length=200, blank=True)
    date_of_birth = models.DateField(_("date of birth"), null=True, blank=True)
    country_of_residence = CountryField(_("country of residence"), blank=True)
    address_line1 = models.CharField(_("address"), max_length=200, blank=True)
    address_line2 = models.CharField(_("address (line 2)"), max_length=200, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    region = models.CharField(_("state or region"), max_length=100, blank=True)
    postal_code = models.CharField(_("postal code"), max_length=20, blank=True)
    tax_residency = CountryField(_("tax residency"), blank=True)
    document_type = models.CharField(_("document type"), max_length=20, choices=DocumentType.choices, blank=True)
    document_number = models.CharField(_("document number"), max_length=50, blank=True)
    document_expiry = models.DateField(_("document expiry"), null=True, blank=True)
    # Investor profile: what the investment limits and exemptions need
    accreditation = models.CharField(
        _("accreditation"), max_length=20, choices=Accreditation.choices, default=Accreditation.NOT_ACCREDITED
    )
    annual_income = models.DecimalField(_("annual income (USD)"), max_digits=20, decimal_places=2, null=True, blank=True)
    net_worth = models.DecimalField(_("net worth (USD)"), max_digits=20, decimal_places=2, null=True, blank=True)
    invested_elsewhere_12m = models.DecimalField(
        _("invested in Regulation Crowdfunding offerings elsewhere in the last 12 months (USD)"),
        max_digits=20, decimal_places=2, default=0,
    )
    # Review
    risk_level = models.CharField(_("risk"), max_length=10, choices=RiskLevel.choices, blank=True, db_index=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="kyc_assignments"
    )
    first_approver = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    resubmission_allowed = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    submitted_at = models.DateTimeField(null=True, blank=True, db_index=True)
    assigned_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    approval_expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["submitted_at", "pk"]
        constraints = [
            models.CheckConstraint(condition=models.Q(state__in=KycState.values), name="compliance_kyc_state_valid"),
            models.CheckConstraint(
                condition=~models.Q(state=KycState.APPROVED) | models.Q(approval_expires_at__isnull=False),
                name="compliance_kyc_approved_has_expiry",
            ),
            models.CheckConstraint(
                condition=models.Q(annual_income__gte=0) | models.Q(annual_income__isnull=True),
                name="compliance_kyc_income_not_negative",
            ),
            models.CheckConstraint(
                condition=models.Q(net_worth__gte=0) | models.Q(net_worth__isnull=True),
                name="compliance_kyc_net_worth_not_negative",
            ),
        ]
        indexes = [models.Index(fields=["state", "submitted_at"])]

    def __str__(self) -> str:
        return f"KYC {self.legal_name or self.user}"

    @property
    def is_approved(self) -> bool:
        from django.utils import timezone

        return (
            self.state == KycState.APPROVED
            and self.approval_expires_at is not None
            and self.approval_expires_at > timezone.now()
        )


class KycDocument(models.Model):
    application = models.ForeignKey(KycApplication, on_delete=models.PROTECT, related_name="documents")
    kind = models.CharField(_("kind"), max_length=20, choices=DocumentKind.choices)
    file = models.FileField(upload_to="kyc/%Y/%m/", storage=PrivateStorage())
    original_name = models.CharField(max_length=255)
    content_type = models.CharField(max_length=100)  # detected from the content, never from the name
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64, db_index=True)
    uploaded_at = models.DateTimeField(auto_now_add=True)
    # A replaced document stays (the history shows what was reviewed); only the newest of a kind is current.
    replaced_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["kind", "-uploaded_at"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.original_name}"


class KycMessage(models.Model):
    """A message on an application: to the applicant, from the applicant, or an internal note staff only see."""

    application = models.ForeignKey(KycApplication, on_delete=models.PROTECT, related_name="messages")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    body = models.TextField(_("message"))
    internal = models.BooleanField(_("internal note"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{'note' if self.internal else 'message'} on {self.application_id}"


class ScreeningListEntry(models.Model):
    """One name on a sanctions or PEP list, as loaded by `manage.py screening_lists_load`."""

    list_name = models.CharField(max_length=20, choices=ScreeningList.choices)
    entry_id = models.CharField(max_length=50)
    name = models.CharField(max_length=300)
    aliases = models.JSONField(default=list)
    kind = models.CharField(max_length=20, default="individual")  # individual, entity, vessel, aircraft
    # As the lists give them, several joined by "|": full dates, years or ranges; ISO country codes or names.
    date_of_birth = models.CharField(max_length=200, blank=True)
    country = models.CharField(max_length=200, blank=True)
    program = models.CharField(max_length=200, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["list_name", "entry_id"], name="compliance_screening_entry_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.list_name}:{self.entry_id} {self.name}"


class ScreeningHit(models.Model):
    application = models.ForeignKey(KycApplication, on_delete=models.PROTECT, related_name="hits")
    list_name = models.CharField(max_length=20, choices=ScreeningList.choices)
    entry_id = models.CharField(max_length=50)
    matched_name = models.CharField(max_length=300)
    score = models.PositiveSmallIntegerField()
    reasons = models.JSONField(default=list)
    status = models.CharField(max_length=10, choices=HitStatus.choices, default=HitStatus.OPEN)
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    resolved_at = models.DateTimeField(null=True, blank=True)
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-score", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["application", "list_name", "entry_id"], name="compliance_hit_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.matched_name} ({self.score})"


class InvestmentRecord(models.Model):
    """The investment ledger the Regulation Crowdfunding limit reads: every commitment and token purchase in a
    Reg CF offering writes a row; a cancellation or refund writes a negative row that points at the original."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="investment_records")
    amount = models.DecimalField(max_digits=20, decimal_places=2)
    currency = models.CharField(max_length=3, default="USD")
    exemption = models.CharField(max_length=20, choices=Exemption.choices)
    offering = models.CharField(max_length=200, help_text="What was bought: a round or a token sale reference.")
    occurred_at = models.DateTimeField()
    reverses = models.OneToOneField("self", null=True, blank=True, on_delete=models.PROTECT, related_name="reversal")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-occurred_at", "pk"]
        indexes = [models.Index(fields=["user", "exemption", "occurred_at"])]

    def __str__(self) -> str:
        return f"{self.user_id} {self.amount} {self.currency} {self.exemption}"
