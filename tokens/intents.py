"""The database side of the transaction outbox: write an intent, once.

`intent_enqueue` runs inside the caller's transaction, next to the business change that wants the transaction,
and returns the existing intent when one with the same (chain id, purpose, object) is already there: a retried
task or a double click never asks the chain twice. `tokens/chain/outbox.py` signs, sends and confirms intents.
"""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction

from tokens.choices import IntentState
from tokens.models import ChainIntent


def object_key(obj: Any) -> str:
    """`sale:12`: the model's name and primary key."""
    return f"{obj._meta.model_name}:{obj.pk}"


def intent_enqueue(
    *,
    chain_id: int,
    purpose: str,
    obj: Any | str,
    role: str,
    params: dict[str, Any] | None = None,
    depends_on: ChainIntent | None = None,
) -> ChainIntent:
    key = obj if isinstance(obj, str) else object_key(obj)
    existing = ChainIntent.objects.filter(chain_id=chain_id, purpose=purpose, object_key=key).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            return ChainIntent.objects.create(
                chain_id=chain_id, purpose=purpose, object_key=key, role=role, params=params or {},
                depends_on=depends_on,
            )
    except IntegrityError:
        # Another transaction wrote it between our read and our insert.
        return ChainIntent.objects.get(chain_id=chain_id, purpose=purpose, object_key=key)


def intent_rearm(intent: ChainIntent | None) -> None:
    """Ask again for an intent that failed (the error was seen, maybe its cause fixed): it waits to be signed at a
    fresh nonce; older attempts stay as history. Any other intent is left as it is."""
    if intent is not None and intent.state == IntentState.FAILED:
        intent.state, intent.nonce, intent.signer_address, intent.error = IntentState.PENDING, None, "", ""
        intent.save(update_fields=["state", "nonce", "signer_address", "error", "updated_at"])


def intents_kick() -> None:
    """After commit, ask the worker to work the outbox."""
    from tokens import tasks

    transaction.on_commit(lambda: tasks.outbox_work.delay())
