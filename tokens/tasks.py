"""Celery tasks of token sales: each loads what it needs and calls one function; they are safe to run twice."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings
from django.db import DatabaseError


@shared_task(acks_late=True)
def outbox_work() -> int:
    """Sign, send, re-send, replace and confirm what the outbox holds; returns how many intents moved."""
    from tokens.chain import outbox

    return outbox.outbox_work()


@shared_task(acks_late=True)
def chain_scan(chain_id: int | None = None) -> int:
    """Read new logs of every watched contract into events and projections; returns how many were stored."""
    from tokens.chain import scanner

    return scanner.chain_scan(chain_id or settings.CHAIN_ID)


@shared_task(acks_late=True)
def allowlist_reconcile() -> int:
    """Compare the on-chain allowlists of live sales with the database and repair drift."""
    from tokens.chain import eligibility

    return eligibility.allowlist_reconcile()


@shared_task(acks_late=True)
def sales_advance() -> int:
    """Move deployed sales along the clock (scheduled → live → succeeded or failed)."""
    from tokens import services

    return services.sales_advance()


@shared_task(acks_late=True)
def sales_awaiting_minter() -> int:
    """Open the later sales of launched tokens whose minter role the company has granted."""
    from tokens.chain import minter

    return minter.sales_awaiting_minter()


@shared_task(acks_late=True, autoretry_for=(DatabaseError,), retry_backoff=True, max_retries=5)
def eligibility_refresh_investor(user_id: int) -> int:
    """A person's KYC or wallets changed: make their wallets' eligibility in every deployed sale follow; returns
    how many outbox intents that wrote. Queued after commit by the KYC and wallet services."""
    from accounts.models import User
    from tokens import eligibility

    user = User.objects.filter(pk=user_id).first()
    return 0 if user is None else len(eligibility.eligibility_refresh(investor=user))


@shared_task(acks_late=True, autoretry_for=(DatabaseError,), retry_backoff=True, max_retries=5)
def eligibility_refresh_sale(sale_id: int) -> int:
    """Give a sale that became scheduled or live every currently eligible wallet (or take away the ineligible)."""
    from tokens import eligibility
    from tokens.models import Sale

    sale = Sale.objects.filter(pk=sale_id).first()
    return 0 if sale is None else len(eligibility.eligibility_refresh(sale=sale))


@shared_task(acks_late=True, autoretry_for=(DatabaseError,), retry_backoff=True, max_retries=5)
def warrants_convert_at_launch(token_id: int) -> int:
    """The company's token launched: its outstanding token warrants become claimable allocations; returns how
    many. Converting twice converts nothing more, so a retry is harmless."""
    from tokens import warrants

    return len(warrants.warrants_convert_at_launch(token_id).allocations)
