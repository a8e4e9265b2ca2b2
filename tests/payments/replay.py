"""Replaying what a provider said, for the tests of disputes: the webhook endpoint drops an event it has seen by its
id, so a replay that must reach the services goes around it."""

from __future__ import annotations

from payments.providers.sandbox import SandboxProvider


def disputes_replayed(sandbox: SandboxProvider, *, backwards: bool = False) -> None:
    """Every dispute event the sandbox ever queued, applied again straight through `dispute_apply` (the webhook
    endpoint drops a replayed event by its id before it gets there), oldest first or `backwards`."""
    from payments import services
    from payments.models import SandboxEvent
    from payments.providers.stripe import webhook_event_from_payload

    events = list(SandboxEvent.objects.filter(type__startswith="charge.dispute.").order_by("pk"))
    for event in reversed(events) if backwards else events:
        dispute = webhook_event_from_payload(event.payload, sandbox.name).dispute
        assert dispute is not None  # noqa: S101 - a test helper
        services.dispute_apply(data=dispute, provider=sandbox)
