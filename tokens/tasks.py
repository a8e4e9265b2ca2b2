"""Celery tasks of token sales: each loads what it needs and calls one function; they are safe to run twice."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings


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
