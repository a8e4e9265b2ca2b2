"""Outbox purposes of a deployed sale's life: finalize, pause, resume, refund mode. Sent by the platform's
eligibility manager, which is the sale's OPERATOR (the company's address, the admin, may do the same from its own
wallet). Their effects on the sale's state come from the events the scanner reads, not from here."""

from __future__ import annotations

from tokens.chain import client
from tokens.chain.builders import BuildRefused, Call, builder
from tokens.models import ChainIntent, Sale


def _sale(intent: ChainIntent) -> Sale:
    sale_pk = int(intent.object_key.split(":")[1])
    sale = Sale.objects.get(pk=sale_pk)
    if not sale.address:
        raise BuildRefused("The sale is not deployed.")
    return sale


def _call(sale: Sale, function: str) -> Call:
    data = client.contract("TrancheSale", sale.address).encode_abi(function, args=[])
    return Call(to=sale.address, data=bytes.fromhex(data.removeprefix("0x")))


@builder("sale.finalize")
def finalize(intent: ChainIntent) -> Call:
    return _call(_sale(intent), "finalize")


@builder("sale.pause")
def pause(intent: ChainIntent) -> Call:
    return _call(_sale(intent), "pause")


@builder("sale.unpause")
def unpause(intent: ChainIntent) -> Call:
    return _call(_sale(intent), "unpause")


@builder("sale.enter_refund_mode")
def enter_refund_mode(intent: ChainIntent) -> Call:
    return _call(_sale(intent), "enterRefundMode")
