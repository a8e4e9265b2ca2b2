"""Outbox purposes of a deployed sale's life: finalize, pause, resume, refund mode. Sent by the platform's
eligibility manager, which is the sale's OPERATOR (the company's address, the admin, may do the same from its own
wallet). Their effects on the sale's state come from the events the scanner reads, not from here."""

from __future__ import annotations

from tokens.chain.builders import Call, builder, calldata, object_pk
from tokens.models import ChainIntent, Sale


def _call(intent: ChainIntent, function: str) -> Call:
    """`function()` on the sale the intent names (`sale:12`, or `sale:12:2` for its second pause)."""
    address = Sale.objects.values_list("address", flat=True).get(pk=object_pk(intent, "sale"))
    return Call(to=address, data=calldata("TrancheSale", address, function))


@builder("sale.finalize")
def finalize(intent: ChainIntent) -> Call:
    return _call(intent, "finalize")


@builder("sale.pause")
def pause(intent: ChainIntent) -> Call:
    return _call(intent, "pause")


@builder("sale.unpause")
def unpause(intent: ChainIntent) -> Call:
    return _call(intent, "unpause")


@builder("sale.enter_refund_mode")
def enter_refund_mode(intent: ChainIntent) -> Call:
    return _call(intent, "enterRefundMode")
