from __future__ import annotations

from typing import ClassVar

from django.contrib.auth.models import AbstractUser
from django.contrib.auth.models import UserManager as DjangoUserManager
from django.db import models
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _


class UserQuerySet(models.QuerySet["User"]):
    def compliance_officers(self) -> UserQuerySet:
        return self.filter(is_compliance_officer=True, is_active=True)


class UserManager(DjangoUserManager["User"]):
    """Users log in with their e-mail address; there is no username."""

    use_in_migrations = True

    def get_queryset(self) -> UserQuerySet:
        return UserQuerySet(self.model, using=self._db)

    def _create_user(self, email: str, password: str | None, **extra: object) -> User:
        if not email:
            raise ValueError("An e-mail address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra: object) -> User:  # type: ignore[override]
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra: object) -> User:  # type: ignore[override]
        extra["is_staff"] = True
        extra["is_superuser"] = True
        return self._create_user(email, password, **extra)

    def get_by_natural_key(self, username: str | None) -> User:
        return self.get(email__iexact=username)


class User(AbstractUser):
    """A person who uses Tranche.

    Roles: a *founder* is anyone with a company membership; an *investor* is anyone who invests (everyone may,
    once KYC is approved); a *compliance officer* reviews KYC; a *platform admin* is a Django superuser.
    Compliance officers and platform admins must log in with a second factor.
    """

    # Tranche logs in by e-mail and keeps one full name (names are not always first + last).
    username = None  # type: ignore[assignment]
    first_name = None  # type: ignore[assignment]
    last_name = None  # type: ignore[assignment]
    email = models.EmailField(_("e-mail address"), unique=True)
    full_name = models.CharField(_("full name"), max_length=200, blank=True)
    is_compliance_officer = models.BooleanField(
        _("compliance officer"), default=False, help_text=_("Reviews KYC applications; must use two-factor log-in.")
    )
    preferred_language = models.CharField(_("language"), max_length=10, blank=True)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    objects: ClassVar[UserManager] = UserManager()

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [
            models.UniqueConstraint(Lower("email"), name="accounts_user_email_ci_unique"),
        ]

    def __str__(self) -> str:
        return self.full_name or self.email

    def get_full_name(self) -> str:
        return self.full_name or self.email

    def get_short_name(self) -> str:
        return (self.full_name.split(" ")[0] if self.full_name else self.email.split("@")[0])

    @property
    def is_platform_admin(self) -> bool:
        return self.is_active and self.is_superuser

    @property
    def is_compliance_staff(self) -> bool:
        """Who may see the compliance side: the queue, documents, the audit log."""
        return self.is_active and (self.is_compliance_officer or self.is_superuser)

    @property
    def requires_two_factor(self) -> bool:
        return self.is_compliance_officer or self.is_superuser
