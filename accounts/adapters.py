from __future__ import annotations

import base64
import hashlib
from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.mfa.adapter import DefaultMFAAdapter
from cryptography.fernet import Fernet
from django.conf import settings
from django.http import HttpRequest

from accounts.models import User


class AccountAdapter(DefaultAccountAdapter):
    """allauth's hooks: keep the full name given at sign-up and the language the person was browsing in."""

    def save_user(self, request: HttpRequest, user: User, form: Any, commit: bool = True) -> User:
        user = super().save_user(request, user, form, commit=False)
        user.full_name = form.cleaned_data.get("full_name", "").strip()
        user.preferred_language = getattr(request, "LANGUAGE_CODE", "") or ""
        if commit:
            user.save()
        return user


class MFAAdapter(DefaultMFAAdapter):
    """TOTP secrets are encrypted at rest (Fernet, key from MFA_ENCRYPTION_KEY or derived from SECRET_KEY)."""

    def _fernet(self) -> Fernet:
        secret = settings.MFA_ENCRYPTION_KEY or settings.SECRET_KEY
        key = base64.urlsafe_b64encode(hashlib.sha256(f"tranche.mfa:{secret}".encode()).digest())
        return Fernet(key)

    def encrypt(self, text: str) -> str:
        return self._fernet().encrypt(text.encode()).decode()

    def decrypt(self, encrypted_text: str) -> str:
        return self._fernet().decrypt(encrypted_text.encode()).decode()
