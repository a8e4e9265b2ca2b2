"""What the outbox sends for tokens bought by card (`payments.token_orders` writes these intents).

- `sale.distributor_approve` (once per sale): the distributor lets the sale take its stablecoin (the sale moves a
  card purchase's payment from the distributor into its vault with `transferFrom`).
- `distributor.fund` (per order, the devnet only): the devnet's stablecoin is minted for the distributor; in
  production the operator keeps the distributor's stablecoin float topped up from the card payments it received.
- `sale.buy_for` (per order): `buyFor` / `buyForWithProof` / `buyForWithVoucher`, as the sale's eligibility mode
  wants, for the order's wallet. Confirmed: the order is bought; refused or reverted: the card is refunded.
- `sale.settle_card` (per card buyer's wallet): `claim(wallet)` or `refund(wallet)` after the end, so the part the
  contract pays back to the distributor reaches the card without waiting for the investor.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import ValidationError

from tokens.chain import keys
from tokens.chain.builders import BuildRefused, Call, builder, calldata, object_pk, on_confirmed, on_failed
from tokens.choices import EligibilityMode, SaleState
from tokens.models import ChainIntent, Sale

if TYPE_CHECKING:
    from payments.models import TokenOrder

MAX_UINT256 = 2**256 - 1


def _order(intent: ChainIntent) -> TokenOrder:
    from payments.models import TokenOrder

    return TokenOrder.objects.select_related("sale__token", "investor").get(pk=object_pk(intent, "tokenorder"))


def _stablecoin(sale: Sale) -> str:
    if not sale.payment_token_address:
        raise BuildRefused("The sale is paid in ether: card purchases need a stablecoin sale.")
    return sale.payment_token_address


@builder("sale.distributor_approve")
def distributor_approve(intent: ChainIntent) -> Call:
    sale = Sale.objects.get(pk=object_pk(intent, "sale"))
    coin = _stablecoin(sale)
    if not sale.address:
        raise BuildRefused("The sale has no address yet.")
    # Any ERC-20's approve has this ABI; the devnet's stablecoin artifact provides it.
    return Call(coin, calldata("MockStablecoin", coin, "approve", sale.address, MAX_UINT256))


@builder("distributor.fund")
def distributor_fund(intent: ChainIntent) -> Call:
    if intent.chain_id != settings.DEVNET_CHAIN_ID:
        raise BuildRefused("Only the devnet's stablecoin can be minted; fund the distributor's float instead.")
    order = _order(intent)
    coin = _stablecoin(order.sale)
    return Call(coin, calldata("MockStablecoin", coin, "mint", keys.address("distributor", intent.chain_id),
                               int(order.units)))


@builder("sale.buy_for")
def buy_for(intent: ChainIntent) -> Call:
    from tokens.eligibility import merkle_proof, voucher_for

    order = _order(intent)
    sale = order.sale
    if not sale.address:
        raise BuildRefused("The sale has no address yet.")
    units = int(order.units)
    mode = sale.eligibility_mode
    try:
        if mode == EligibilityMode.MERKLE:
            proof = [bytes.fromhex(node[2:]) for node in merkle_proof(sale, order.wallet)]
            data = calldata("TrancheSale", sale.address, "buyForWithProof", order.wallet, units, proof)
        elif mode == EligibilityMode.VOUCHER:
            voucher = voucher_for(sale=sale, investor=order.investor, wallet=order.wallet)
            signed = (bytes.fromhex(voucher["investor_id"][2:]), voucher["wallet"], int(voucher["max_amount"]),
                      int(voucher["expiry"]))
            data = calldata("TrancheSale", sale.address, "buyForWithVoucher", order.wallet, units, signed,
                            bytes.fromhex(voucher["signature"][2:]))
        else:
            data = calldata("TrancheSale", sale.address, "buyFor", order.wallet, units)
    except ValidationError as refusal:  # no longer eligible: the card is refunded
        raise BuildRefused(" ".join(refusal.messages)) from refusal
    return Call(sale.address, data)


@on_confirmed("sale.buy_for")
def buy_for_confirmed(intent: ChainIntent) -> None:
    from payments.token_orders import buy_confirmed

    buy_confirmed(object_pk(intent, "tokenorder"))


@on_failed("sale.buy_for")
def buy_for_failed(intent: ChainIntent) -> None:
    from payments.token_orders import buy_failed

    buy_failed(object_pk(intent, "tokenorder"), intent.error)


@builder("sale.settle_card")
def settle_card(intent: ChainIntent) -> Call:
    order = _order(intent)
    sale = order.sale
    function = {SaleState.FINALIZED: "claim", SaleState.FAILED: "refund"}.get(SaleState(sale.state))
    if function is None:
        raise BuildRefused("The sale is neither finalized nor refunding.")
    return Call(sale.address, calldata("TrancheSale", sale.address, function, order.wallet))
