"""A later sale of a launched token: the company's own address grants the sale its minter role.

After launch the platform holds no admin role on the token (see `tokens.services`), so it cannot let a new sale mint.
The deployment page gives the company the one transaction its admin address (a multisig, a hardware wallet) sends:
`grantRole(MINTER_ROLE, sale)` on the token. Beat then asks the chain, at a block with `CHAIN_CONFIRMATIONS` on top,
whether the sale holds the role, and opens the sale when it does (`tokens.services.sale_minter_granted`).
"""

from __future__ import annotations

from django.conf import settings

from contracts.sale import MINTER_ROLE
from tokens import services
from tokens.chain import client
from tokens.chain.builders import Call, calldata
from tokens.choices import SaleState
from tokens.models import Sale


def minter_grant_call(sale: Sale) -> Call:
    """The transaction the token's admin sends: `token.grantRole(MINTER_ROLE, sale)`."""
    token = sale.token
    return Call(token.address, calldata("TrancheToken", token.address, "grantRole", MINTER_ROLE, sale.address))


def sales_awaiting_minter() -> int:
    """Open every deployed later sale whose minter role the chain shows, confirmed; returns how many opened."""
    waiting = list(Sale.objects.select_related("token").filter(
        state=SaleState.DEPLOYING, minter_by_company=True).exclude(address="").order_by("pk"))
    if not waiting:
        return 0
    w3 = client.web3()
    block = w3.eth.block_number - max(0, settings.CHAIN_CONFIRMATIONS)
    opened = 0
    for sale in waiting:
        token = client.contract("TrancheToken", sale.token.address, w3=w3)
        if token.functions.hasRole(MINTER_ROLE, sale.address).call(block_identifier=block):
            services.sale_minter_granted(sale=sale, block=block)
            opened += 1
    return opened
