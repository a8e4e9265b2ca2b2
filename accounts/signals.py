"""allauth changes accounts through its own views; these receivers put those changes in the audit log."""

from __future__ import annotations

from typing import Any

from allauth.account.signals import (
    email_confirmed,
    password_changed,
    password_reset,
    user_logged_in,
    user_logged_out,
    user_signed_up,
)
from allauth.mfa.signals import authenticator_added, authenticator_removed
from django.db import transaction
from django.dispatch import receiver
from django.http import HttpRequest

from accounts.models import User
from compliance.audit import Actor
from compliance.services import audit_record


def _record(request: HttpRequest | None, user: User, action: str, **changes: Any) -> None:
    actor = Actor.from_request(request) if request is not None else Actor(user=user)
    if actor.user is None:
        actor = Actor(user=user, ip_address=actor.ip_address, user_agent=actor.user_agent)
    with transaction.atomic():
        audit_record(actor=actor, action=action, target=user, changes=changes)


@receiver(user_signed_up)
def _signed_up(sender: Any, request: HttpRequest, user: User, **kwargs: Any) -> None:
    _record(request, user, "user.sign_up", email=user.email)


@receiver(user_logged_in)
def _logged_in(sender: Any, request: HttpRequest, user: User, **kwargs: Any) -> None:
    _record(request, user, "user.log_in")


@receiver(user_logged_out)
def _logged_out(sender: Any, request: HttpRequest, user: User | None, **kwargs: Any) -> None:
    if user is not None:
        _record(request, user, "user.log_out")


@receiver(email_confirmed)
def _email_confirmed(sender: Any, request: HttpRequest, email_address: Any, **kwargs: Any) -> None:
    _record(request, email_address.user, "user.confirm_email", email=email_address.email)


@receiver(password_changed)
@receiver(password_reset)
def _password(sender: Any, request: HttpRequest, user: User, **kwargs: Any) -> None:
    _record(request, user, "user.change_password")


@receiver(authenticator_added)
def _mfa_added(sender: Any, request: HttpRequest, user: User, authenticator: Any, **kwargs: Any) -> None:
    _record(request, user, "user.two_factor_add", type=authenticator.type)


@receiver(authenticator_removed)
def _mfa_removed(sender: Any, request: HttpRequest, user: User, authenticator: Any, **kwargs: Any) -> None:
    _record(request, user, "user.two_factor_remove", type=authenticator.type)
