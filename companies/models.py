from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from companies.choices import Jurisdiction, Role


class Company(models.Model):
    """The issuer: it keeps a cap table and opens raises of shares, SAFEs and tokens."""

    legal_name = models.CharField(_("legal name"), max_length=200)
    slug = models.SlugField(_("web address"), max_length=80, unique=True)
    jurisdiction = models.CharField(_("jurisdiction"), max_length=8, choices=Jurisdiction.choices)
    incorporation_date = models.DateField(_("incorporation date"), null=True, blank=True)
    website = models.URLField(_("website"), blank=True)
    logo = models.ImageField(_("logo"), upload_to="logos/", blank=True)
    pitch = models.CharField(
        _("short pitch"), max_length=280, blank=True, help_text=_("One or two sentences investors see first.")
    )
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["legal_name"]
        verbose_name = _("company")
        verbose_name_plural = _("companies")
        constraints = [
            models.UniqueConstraint(Lower("legal_name"), "jurisdiction", name="companies_company_name_unique"),
        ]

    def __str__(self) -> str:
        return self.legal_name

    def get_absolute_url(self) -> str:
        return reverse("companies:detail", kwargs={"slug": self.slug})

    def get_public_url(self) -> str:
        return reverse("companies:public", kwargs={"slug": self.slug})


class Membership(models.Model):
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(_("role"), max_length=10, choices=Role.choices)
    title = models.CharField(_("title"), max_length=100, blank=True, help_text=_("For example, CEO or CTO."))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["company", "created_at"]
        constraints = [
            models.UniqueConstraint(fields=["company", "user"], name="companies_membership_unique"),
            models.CheckConstraint(condition=models.Q(role__in=Role.values), name="companies_membership_role_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.company} ({self.get_role_display()})"


class InvitationQuerySet(models.QuerySet["Invitation"]):
    def pending(self) -> InvitationQuerySet:
        return self.filter(accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=timezone.now())


class Invitation(models.Model):
    """An invitation by e-mail to join a company. The link carries a signed, expiring token of its id."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField(_("e-mail address"))
    role = models.CharField(_("role"), max_length=10, choices=Role.choices)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = InvitationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # At most one open invitation per address and company; accepted or revoked ones are history.
            models.UniqueConstraint(
                "company", Lower("email"),
                condition=models.Q(accepted_at__isnull=True, revoked_at__isnull=True),
                name="companies_invitation_one_open",
            ),
            models.CheckConstraint(condition=models.Q(role__in=Role.values), name="companies_invitation_role_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.email} → {self.company}"

    @property
    def status(self) -> str:
        if self.accepted_at:
            return "accepted"
        if self.revoked_at:
            return "revoked"
        if self.expires_at <= timezone.now():
            return "expired"
        return "pending"
