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


class WalletQuerySet(models.QuerySet["Wallet"]):
    def active(self) -> WalletQuerySet:
        return self.filter(removed_at__isnull=True)


class Wallet(models.Model):
    """An Ethereum address its owner proved to control by signing an EIP-4361 (Sign-In with Ethereum) message.

    One address on one chain belongs to one person at a time. A removed wallet keeps its row (purchases and the
    audit log may point at it) and frees the address for linking again.
    """

    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="wallets", verbose_name=_("owner"))
    address = models.CharField(_("address"), max_length=42, help_text=_("Stored checksummed (EIP-55)."))
    chain_id = models.PositiveBigIntegerField(_("chain id"))
    label = models.CharField(_("label"), max_length=100, blank=True)
    # The signed message and its signature: the evidence that the owner controlled the address.
    message = models.TextField(_("signed message"))
    signature = models.CharField(_("signature"), max_length=132)
    verified_at = models.DateTimeField(_("verified at"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    removed_at = models.DateTimeField(_("removed at"), null=True, blank=True)

    objects = WalletQuerySet.as_manager()

    class Meta:
        verbose_name = _("wallet")
        verbose_name_plural = _("wallets")
        constraints = [
            models.UniqueConstraint(
                "chain_id", Lower("address"), condition=models.Q(removed_at__isnull=True),
                name="accounts_wallet_active_address_unique",
            ),
            models.CheckConstraint(condition=models.Q(address__regex=r"^0x[0-9a-fA-F]{40}$"),
                                   name="accounts_wallet_address_format"),
        ]
        indexes = [models.Index(fields=["user", "removed_at"], name="accounts_wallet_user_idx")]

    def __str__(self) -> str:
        return f"{self.address} ({self.chain_id})"


class WalletNonce(models.Model):
    """A one-time nonce for linking one address: used once, or it expires. A replayed message finds it used."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="wallet_nonces")
    nonce = models.CharField(_("nonce"), max_length=64, unique=True)
    address = models.CharField(_("address"), max_length=42)
    chain_id = models.PositiveBigIntegerField(_("chain id"))
    issued_at = models.DateTimeField(_("issued at"))
    expires_at = models.DateTimeField(_("expires at"))
    used_at = models.DateTimeField(_("used at"), null=True, blank=True)

    class Meta:
        verbose_name = _("wallet nonce")
        verbose_name_plural = _("wallet nonces")
        constraints = [
            models.CheckConstraint(condition=models.Q(expires_at__gt=models.F("issued_at")),
                                   name="accounts_walletnonce_expires_after_issue"),
        ]

    def __str__(self) -> str:
        return self.nonce
