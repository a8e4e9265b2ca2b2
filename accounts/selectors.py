"""Reads for accounts: the wallets a person has linked and verified."""

from __future__ import annotations

from django.db.models import QuerySet

from accounts.models import User, Wallet


def wallet_list(*, user: User) -> QuerySet[Wallet]:
    """The person's linked wallets (removed ones are history, not listed), newest first."""
    return Wallet.objects.active().filter(user=user).order_by("-verified_at", "-pk")


def wallet_get(*, user: User, pk: int) -> Wallet | None:
    """One of the person's linked wallets; None for anyone else's, so callers answer 404 and reveal nothing."""
    return wallet_list(user=user).filter(pk=pk).first()


def wallet_owner(*, chain_id: int, address: str) -> User | None:
    """Whose verified wallet `address` is on `chain_id` (compared case-insensitively), if anyone's."""
    wallet = Wallet.objects.active().select_related("user").filter(chain_id=chain_id, address__iexact=address).first()
    return wallet.user if wallet is not None else None
