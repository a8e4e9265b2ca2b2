"""What each outbox purpose sends, and what its confirmation (or failure) changes in the database.

Three registries, filled by decorators:
- `@builder("sale.deploy")`: `fn(intent) -> Call(to, data, value)`; `to` is None for a contract creation. Called
  when the intent is signed, so it reads the rows as they are then (the token's address, once confirmed).
- `@on_confirmed("sale.deploy")`: `fn(intent)`, run in the same database transaction as the intent's CONFIRMED
  state (`intent.contract_address`, `intent.block_number` are set).
- `@on_failed("sale.deploy")`: `fn(intent)`, run in the same transaction as its FAILED state (`intent.error`).

A builder raises `BuildRefused` when the intent can never be sent as it stands (the intent becomes FAILED with
the message). Any module of `tokens/chain/` may register purposes; the outbox imports them all before working.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime
from typing import NamedTuple, TypeVar

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from contracts.sale import (
    DEFAULT_ADMIN_ROLE,
    DISTRIBUTOR_ROLE,
    ETH,
    MINTER_ROLE,
    Allocation,
    Eligibility,
    SaleConfig,
)
from tokens import services
from tokens.chain import client, keys
from tokens.choices import (
    AllocationMode,
    ContractKind,
    DeployStatus,
    EligibilityMode,
    SaleState,
)
from tokens.models import ChainIntent, Sale, Token, WatchedContract
from tokens.tasks import warrants_convert_at_launch


class Call(NamedTuple):
    to: str | None  # None: create a contract
    data: bytes
    value: int = 0


class BuildRefused(Exception):
    """The intent cannot be sent as it stands; its message is what the founder reads."""


Builder = Callable[[ChainIntent], Call]
Hook = Callable[[ChainIntent], None]
F = TypeVar("F", bound=Callable[..., object])

BUILDERS: dict[str, Builder] = {}
CONFIRMED_HOOKS: dict[str, Hook] = {}
FAILED_HOOKS: dict[str, Hook] = {}


def _register(registry: dict[str, F], kind: str, purpose: str) -> Callable[[F], F]:
    def decorate(fn: F) -> F:
        if purpose in registry and registry[purpose] is not fn:
            raise RuntimeError(f"two {kind} for the outbox purpose {purpose!r}")
        registry[purpose] = fn
        return fn

    return decorate


def builder(purpose: str) -> Callable[[Builder], Builder]:
    return _register(BUILDERS, "builders", purpose)


def on_confirmed(purpose: str) -> Callable[[Hook], Hook]:
    return _register(CONFIRMED_HOOKS, "confirmation hooks", purpose)


def on_failed(purpose: str) -> Callable[[Hook], Hook]:
    return _register(FAILED_HOOKS, "failure hooks", purpose)


def object_pk(intent: ChainIntent, model_name: str) -> int:
    """The primary key in `intent.object_key` ("sale:12", or "sale:12:2" for a sale's second pause), checking the
    model's name."""
    name, _, rest = intent.object_key.partition(":")
    pk = rest.partition(":")[0]
    if name != model_name:
        raise BuildRefused(f"{intent.purpose} names {intent.object_key}, not a {model_name}")
    return int(pk)


def _token(intent: ChainIntent) -> Token:
    return Token.objects.get(pk=object_pk(intent, "token"))


def _sale(intent: ChainIntent) -> Sale:
    return Sale.objects.select_related("token").get(pk=object_pk(intent, "sale"))


def _hex(data: str) -> bytes:
    return bytes.fromhex(data.removeprefix("0x"))


def calldata(contract_name: str, address: str, function: str, *args: object) -> bytes:
    """The call of `function(*args)` on the deployed `contract_name` at `address`, ABI-encoded."""
    if not address:
        raise BuildRefused(f"{contract_name} has no address yet")
    return _hex(client.contract(contract_name, address).encode_abi(function, args=list(args)))


def constructor_data(contract_name: str, *args: object) -> bytes:
    """`contract_name`'s bytecode with its constructor arguments: the data of a contract creation."""
    return _hex(client.contract(contract_name).constructor(*args).data_in_transaction)


def _unix(moment: datetime) -> int:
    return int(moment.timestamp())


# --- the deployment of a sale and its token (tokens.services.sale_deploy writes these intents) ---------------


def sale_config(sale: Sale) -> SaleConfig:
    """TrancheSale's constructor argument for `sale`, as the database says it now."""
    token = sale.token
    if not token.address:
        raise BuildRefused("The token has no address yet.")
    eligibility = {
        EligibilityMode.ALLOWLIST: Eligibility.ALLOWLIST,
        EligibilityMode.MERKLE: Eligibility.MERKLE,
        EligibilityMode.VOUCHER: Eligibility.VOUCHER,
    }[EligibilityMode(sale.eligibility_mode)]
    allocation = {
        AllocationMode.FIRST_COME_FIRST_SERVED: Allocation.FIRST_COME_FIRST_SERVED,
        AllocationMode.PRO_RATA: Allocation.PRO_RATA,
    }[AllocationMode(sale.allocation_mode)]
    return SaleConfig(
        token=token.address,
        paymentToken=sale.payment_token_address or ETH,
        treasury=sale.treasury_address,
        admin=token.admin_address,
        operator=keys.address("eligibility", token.chain_id),
        distributor=keys.address("distributor", token.chain_id),
        voucherSigner=keys.address("voucher", token.chain_id),
        price=int(sale.price),
        start=_unix(sale.starts_at),
        end=_unix(sale.ends_at),
        finalizeGracePeriod=int(sale.finalize_grace.total_seconds()),
        claimPeriod=int(sale.claim_period.total_seconds()),
        softCap=int(sale.soft_cap),
        hardCap=int(sale.hard_cap),
        minPerInvestor=int(sale.min_per_investor),
        maxPerInvestor=int(sale.max_per_investor),
        eligibility=eligibility,
        allocation=allocation,
        shardCount=sale.shard_count,
        merkleRoot=_hex(sale.merkle_root) if sale.merkle_root else bytes(32),
    )


def distributor_ceiling(token: Token) -> int:
    """What the distributor may ever mint: the investor pool (converted warrants) plus every allocation."""
    allocated = token.allocations.aggregate(total=Sum("amount"))["total"] or 0
    return int(token.investor_pool) + int(allocated)


@builder("token.deploy")
def token_deploy(intent: ChainIntent) -> Call:
    token = _token(intent)
    lockup_end = _unix(token.lockup_end) if token.lockup_end else 0
    deployer = keys.address("deployer", token.chain_id)
    data = constructor_data("TrancheToken", token.name, token.symbol, int(token.supply_cap), deployer, lockup_end)
    return Call(None, data)


@builder("sale.deploy")
def sale_deploy(intent: ChainIntent) -> Call:
    return Call(None, constructor_data("TrancheSale", sale_config(_sale(intent)).as_tuple()))


@builder("sale.grant_minter")
def sale_grant_minter(intent: ChainIntent) -> Call:
    sale = _sale(intent)
    if not sale.address:
        raise BuildRefused("The sale has no address yet.")
    return Call(sale.token.address, calldata("TrancheToken", sale.token.address, "grantRole", MINTER_ROLE,
                                              sale.address))


@builder("token.grant_distributor")
def token_grant_distributor(intent: ChainIntent) -> Call:
    token = _token(intent)
    distributor = keys.address("distributor", token.chain_id)
    return Call(token.address, calldata("TrancheToken", token.address, "grantRole", DISTRIBUTOR_ROLE,
                                         distributor))


@builder("token.distributor_ceiling")
def token_distributor_ceiling(intent: ChainIntent) -> Call:
    token = _token(intent)
    ceiling = int(intent.params.get("ceiling", distributor_ceiling(token)))
    return Call(token.address, calldata("TrancheToken", token.address, "setDistributorCeiling", ceiling))


@builder("token.handover_admin")
def token_handover_admin(intent: ChainIntent) -> Call:
    token = _token(intent)
    return Call(token.address, calldata("TrancheToken", token.address, "grantRole", DEFAULT_ADMIN_ROLE,
                                         token.admin_address))


@builder("token.renounce_admin")
def token_renounce_admin(intent: ChainIntent) -> Call:
    token = _token(intent)
    deployer = keys.address("deployer", token.chain_id)
    return Call(token.address, calldata("TrancheToken", token.address, "renounceRole", DEFAULT_ADMIN_ROLE,
                                         deployer))


def _watch(*, chain_id: int, address: str, kind: str, block: int, token: Token | None = None,
           sale: Sale | None = None) -> None:
    WatchedContract.objects.get_or_create(
        chain_id=chain_id, address__iexact=address,
        defaults={"address": address, "kind": kind, "start_block": block, "token": token, "sale": sale})


@on_confirmed("token.deploy")
def token_deployed(intent: ChainIntent) -> None:
    token = Token.objects.select_for_update().get(pk=object_pk(intent, "token"))
    token.address = intent.contract_address
    token.deploy_block = intent.block_number
    token.save(update_fields=["address", "deploy_block"])
    _watch(chain_id=token.chain_id, address=token.address, kind=ContractKind.TOKEN,
           block=int(intent.block_number or 0), token=token)


@on_confirmed("sale.deploy")
def sale_deployed(intent: ChainIntent) -> None:
    sale = Sale.objects.select_for_update().get(pk=object_pk(intent, "sale"))
    sale.address = intent.contract_address
    sale.deploy_block = intent.block_number
    sale.save(update_fields=["address", "deploy_block"])
    _watch(chain_id=intent.chain_id, address=sale.address, kind=ContractKind.SALE,
           block=int(intent.block_number or 0), sale=sale)


@on_confirmed("token.distributor_ceiling")
def token_ceiling_set(intent: ChainIntent) -> None:
    token = Token.objects.select_for_update().get(pk=object_pk(intent, "token"))
    if "ceiling" in intent.params:
        token.distributor_ceiling = int(intent.params["ceiling"])
        token.save(update_fields=["distributor_ceiling"])


@on_confirmed("token.renounce_admin")
def token_launched(intent: ChainIntent) -> None:
    """The last step: the token is the company's, and the sales that were deploying with it are scheduled."""
    token = Token.objects.select_for_update().get(pk=object_pk(intent, "token"))
    token.deploy_status = DeployStatus.DEPLOYED
    token.save(update_fields=["deploy_status"])
    now = timezone.now()
    for sale in Sale.objects.select_for_update().filter(token=token, state=SaleState.DEPLOYING).order_by("pk"):
        services.sale_opened(sale, now)
    # The company's token warrants convert at launch into allocations their holders claim.
    transaction.on_commit(functools.partial(warrants_convert_at_launch.delay, token.pk))


DEPLOYMENT_PURPOSES = ("token.deploy", "sale.deploy", "sale.grant_minter", "token.grant_distributor",
                       "token.distributor_ceiling", "token.handover_admin", "token.renounce_admin")


def deployment_failed(intent: ChainIntent) -> None:
    """A step of a sale's deployment failed: the token shows FAILED and its deploying sales go back to DRAFT, so
    the founder reads the error on the progress page, may change the terms and deploy again (`sale_deploy`
    re-arms the failed intents). What was already confirmed on-chain stays (a deployed token keeps its address)."""
    if intent.object_key.startswith("sale:"):
        token_id = Sale.objects.values_list("token_id", flat=True).get(pk=object_pk(intent, "sale"))
    else:
        token_id = object_pk(intent, "token")
    token = Token.objects.select_for_update().get(pk=token_id)
    if token.deploy_status != DeployStatus.DEPLOYED:
        token.deploy_status = DeployStatus.FAILED
        token.save(update_fields=["deploy_status"])
    Sale.objects.filter(token=token, state=SaleState.DEPLOYING).update(state=SaleState.DRAFT)


for _purpose in DEPLOYMENT_PURPOSES:
    on_failed(_purpose)(deployment_failed)

