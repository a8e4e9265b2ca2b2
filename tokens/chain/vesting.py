"""The outbox purposes of allocations: a vesting wallet's deployment and funding, and a converted warrant's
distribution to its holder's wallet; and `released_on_chain`, the wallet's own count of what it released.

Object keys are numbered (`tokenallocation:7:1`) so that a retry after a failure is a new intent.
"""

from __future__ import annotations

from tokens import allocations, warrants
from tokens.chain import client
from tokens.chain.builders import (
    BuildRefused,
    Call,
    builder,
    calldata,
    constructor_data,
    on_confirmed,
    on_failed,
)
from tokens.models import ChainIntent, TokenAllocation


def _allocation_id(intent: ChainIntent) -> int:
    name, _, rest = intent.object_key.partition(":")
    if name != "tokenallocation":
        raise BuildRefused(f"{intent.purpose} names {intent.object_key}, not a token allocation")
    return int(rest.partition(":")[0])


def _allocation(intent: ChainIntent) -> TokenAllocation:
    return TokenAllocation.objects.select_related("token").get(pk=_allocation_id(intent))


def _distribute(allocation: TokenAllocation, to: str, amount: int) -> Call:
    token = allocation.token
    if not token.address:
        raise BuildRefused("The token has no address yet.")
    if not to:
        raise BuildRefused("The allocation has no address to send the tokens to.")
    return Call(token.address, calldata("TrancheToken", token.address, "distribute", to, amount))


@builder(allocations.DEPLOY)
def vesting_deploy(intent: ChainIntent) -> Call:
    params = intent.params
    return Call(None, constructor_data("TrancheVesting", params["beneficiary"], int(params["start"]),
                                       int(params["duration"]), int(params["cliff"])))


@on_confirmed(allocations.DEPLOY)
def vesting_deployed(intent: ChainIntent) -> None:
    allocations.allocation_vesting_deployed(_allocation_id(intent), address=intent.contract_address,
                                            block=int(intent.block_number or 0))


@builder(allocations.FUND)
def allocation_fund(intent: ChainIntent) -> Call:
    allocation = _allocation(intent)
    return _distribute(allocation, allocation.vesting_address, int(intent.params["amount"]))


@on_confirmed(allocations.FUND)
def allocation_funded(intent: ChainIntent) -> None:
    allocations.allocation_funded(_allocation_id(intent))


@on_failed(allocations.DEPLOY)
@on_failed(allocations.FUND)
def allocation_deploy_failed(intent: ChainIntent) -> None:
    allocations.allocation_deploy_failed(_allocation_id(intent))


@builder(warrants.DISTRIBUTE)
def allocation_distribute(intent: ChainIntent) -> Call:
    return _distribute(_allocation(intent), intent.params["to"], int(intent.params["amount"]))


@on_confirmed(warrants.DISTRIBUTE)
def allocation_delivered(intent: ChainIntent) -> None:
    warrants.allocation_delivered(_allocation_id(intent))


@on_failed(warrants.DISTRIBUTE)
def allocation_distribution_failed(intent: ChainIntent) -> None:
    warrants.allocation_distribution_failed(_allocation_id(intent))


def released_on_chain(allocation: TokenAllocation) -> int:
    """`VestingWallet.released(token)`, asked of the node (one allocation's page; lists read the events)."""
    if not allocation.vesting_address or not allocation.token.address:
        return 0
    wallet = client.contract("TrancheVesting", allocation.vesting_address)
    released = wallet.get_function_by_signature("released(address)")  # released() alone counts ether
    return int(released(allocation.token.address).call())
