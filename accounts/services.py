from __future__ import annotations

from django.db import transaction
from rest_framework.authtoken.models import Token

from accounts.models import User
from compliance.audit import Actor
from compliance.services import audit_record, model_changes


@transaction.atomic
def user_update_profile(*, actor: Actor, user: User, full_name: str, preferred_language: str) -> User:
    user = User.objects.select_for_update().get(pk=user.pk)
    changes = model_changes(user, {"full_name": full_name.strip(), "preferred_language": preferred_language})
    if changes:
        user.full_clean()
        user.save(update_fields=list(changes))
        audit_record(actor=actor, action="user.update_profile", target=user, changes=changes)
    return user


@transaction.atomic
def api_token_rotate(*, actor: Actor, user: User) -> Token:
    """Replace the user's API token with a new one; the old one stops working at once."""
    Token.objects.filter(user=user).delete()
    token = Token.objects.create(user=user)
    audit_record(actor=actor, action="user.api_token_rotate", target=user)
    return token


@transaction.atomic
def api_token_revoke(*, actor: Actor, user: User) -> None:
    if Token.objects.filter(user=user).delete()[0]:
        audit_record(actor=actor, action="user.api_token_revoke", target=user)
