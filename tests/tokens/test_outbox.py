"""The transaction outbox against the real devnet and PostgreSQL: a sale deployed end to end, nonces reconciled,
dropped transactions re-sent with the same bytes, stuck ones replaced at the same nonce, reverts made readable."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from web3 import Web3
from web3.utils.address import get_create_address

from compliance.audit import Actor
from contracts.sale import (
    DEFAULT_ADMIN_ROLE,
    DISTRIBUTOR_ROLE,
    ETH,
    MINTER_ROLE,
    OPERATOR_ROLE,
    VOUCHER_SIGNER_ROLE,
    SaleConfig,
)
from tests.tokens.factories import COMPANY_ADDRESS, founder_actor, outbox_settle, sale_for, token_for
from tokens import services
from tokens.chain import builders, client, keys, minter, outbox
from tokens.choices import ContractKind, DeployStatus, IntentState, SaleState
from tokens.intents import intent_enqueue
from tokens.models import ChainIntent, ChainTransaction, Sale, SignerNonce, Token, WatchedContract

pytestmark = pytest.mark.django_db
DEPLOYMENT = ["token.deploy", "sale.deploy", "sale.grant_minter", "token.grant_distributor",
              "token.distributor_ceiling", "token.handover_admin", "token.renounce_admin"]


@pytest.fixture
def founder() -> Actor:
    return founder_actor()


@pytest.fixture
def deployer() -> str:
    return keys.address("deployer", 31337)


@pytest.fixture
def automine_off(devnet: Web3) -> Any:
    client.rpc("evm_setAutomine", [False], w3=devnet)
    yield
    client.rpc("evm_setAutomine", [True], w3=devnet)
    client.rpc("evm_mine", w3=devnet)  # nothing of this test stays in the pool for the next one


def count(w3: Web3, address: str, block: str = "latest") -> int:
    return int(w3.eth.get_transaction_count(Web3.to_checksum_address(address), block))  # type: ignore[arg-type]


def code_at(w3: Web3, address: str) -> bytes:
    return bytes(w3.eth.get_code(Web3.to_checksum_address(address)))


def token_intent(token: Token, purpose: str = "token.deploy", **kwargs: Any) -> ChainIntent:
    """An intent written by hand, in its own transaction, as a service would (with no kick)."""
    with transaction.atomic():
        return intent_enqueue(chain_id=token.chain_id, purpose=purpose, obj=token, role="deployer", **kwargs)


def test_a_sale_is_deployed_end_to_end_and_the_company_holds_the_admin_role(
        devnet: Web3, founder: Actor, deployer: str) -> None:
    token = token_for(founder, lockup_end=timezone.now() + timedelta(days=365))
    sale = sale_for(founder, token, eligibility_mode="merkle", allocation_mode="pro_rata")
    first_nonce = count(devnet, deployer, "pending")
    services.sale_deploy(actor=founder, sale=sale)

    assert outbox_settle(devnet) == 3 * len(DEPLOYMENT)  # signed, mined, confirmed

    intents = list(ChainIntent.objects.order_by("pk"))
    assert [i.purpose for i in intents] == DEPLOYMENT
    assert {i.state for i in intents} == {IntentState.CONFIRMED}
    assert [i.nonce for i in intents] == list(range(first_nonce, first_nonce + len(DEPLOYMENT)))
    assert all(i.attempts.count() == 1 and i.tx_hash == i.attempts.get().tx_hash for i in intents)
    token.refresh_from_db()
    sale.refresh_from_db()
    assert token.deploy_status == DeployStatus.DEPLOYED
    assert sale.state == SaleState.SCHEDULED
    assert token.address == get_create_address(deployer, first_nonce)
    assert sale.address == get_create_address(deployer, first_nonce + 1)
    assert token.distributor_ceiling == token.investor_pool
    watched = {w.kind: w for w in WatchedContract.objects.all()}
    assert watched[ContractKind.TOKEN].address == token.address
    assert watched[ContractKind.SALE].address == sale.address
    assert watched[ContractKind.SALE].start_block == sale.deploy_block == intents[1].block_number

    chain_token = client.contract("TrancheToken", token.address, w3=devnet).functions
    assert chain_token.hasRole(DEFAULT_ADMIN_ROLE, COMPANY_ADDRESS).call()
    assert not chain_token.hasRole(DEFAULT_ADMIN_ROLE, deployer).call()
    assert chain_token.hasRole(MINTER_ROLE, sale.address).call()
    assert chain_token.hasRole(DISTRIBUTOR_ROLE, keys.address("distributor")).call()
    assert chain_token.distributorCeiling().call() == token.investor_pool
    assert (chain_token.name().call(), chain_token.symbol().call(), chain_token.cap().call()) == (
        "Lumen", "LUMEN", token.supply_cap)
    assert chain_token.lockupEnd().call() == int(token.lockup_end.timestamp())

    chain_sale = client.contract("TrancheSale", sale.address, w3=devnet).functions
    expected = builders.sale_config(sale)
    on_chain = {name: getattr(chain_sale, name)().call() for name in SaleConfig.field_names()
                if name not in {"admin", "operator", "distributor", "voucherSigner"}}
    assert on_chain == {
        "token": token.address, "paymentToken": ETH, "treasury": sale.treasury_address,
        "price": sale.price, "start": int(sale.starts_at.timestamp()), "end": int(sale.ends_at.timestamp()),
        "finalizeGracePeriod": 14 * 86400, "claimPeriod": 180 * 86400, "softCap": sale.soft_cap,
        "hardCap": sale.hard_cap, "minPerInvestor": sale.min_per_investor, "maxPerInvestor": sale.max_per_investor,
        "eligibility": 1, "allocation": 1, "shardCount": sale.shard_count, "merkleRoot": bytes(32),
    }
    assert expected.token == token.address
    assert chain_sale.hasRole(DEFAULT_ADMIN_ROLE, COMPANY_ADDRESS).call()
    assert not chain_sale.hasRole(DEFAULT_ADMIN_ROLE, deployer).call()
    assert chain_sale.hasRole(OPERATOR_ROLE, keys.address("eligibility")).call()
    assert chain_sale.hasRole(VOUCHER_SIGNER_ROLE, keys.address("voucher")).call()
    assert chain_sale.hasRole(DISTRIBUTOR_ROLE, keys.address("distributor")).call()

    # Working it again sends nothing: the deployer's nonce and the attempts stay as they are.
    sent = count(devnet, deployer, "pending")
    assert outbox.outbox_work() == 0
    assert count(devnet, deployer, "pending") == sent == first_nonce + len(DEPLOYMENT)
    assert ChainTransaction.objects.count() == len(DEPLOYMENT)


def test_a_later_sale_of_a_launched_token_opens_once_the_company_grants_it_the_minter_role(
        devnet: Web3, founder: Actor) -> None:
    token = token_for(founder)
    services.sale_deploy(actor=founder, sale=sale_for(founder, token))
    outbox_settle(devnet)
    token.refresh_from_db()
    later = sale_for(founder, token, name="LUMEN second sale")
    later = services.sale_deploy(actor=founder, sale=later)
    # The platform deploys the sale contract only: the token and its roles are the company's now.
    assert [i.purpose for i in services.sale_intents(later)] == ["sale.deploy"]
    assert outbox_settle(devnet) == 3
    later.refresh_from_db()
    assert (later.state, later.minter_by_company) == (SaleState.DEPLOYING, True)
    assert later.address
    assert minter.sales_awaiting_minter() == 0  # not granted yet: nothing opens
    chain_token = client.contract("TrancheToken", token.address, w3=devnet).functions
    assert not chain_token.hasRole(MINTER_ROLE, later.address).call()

    # The deployment page gives the company the transaction its admin address sends.
    browser = Client()
    browser.force_login(founder.user)
    page = browser.get(reverse("tokens:sale_deployment", args=[token.company.slug, later.pk])).content.decode()
    grant = minter.minter_grant_call(later)
    assert "Waiting for the company" in page
    assert f"0x{grant.data.hex()}" in page
    assert grant.to == token.address
    assert "1 of 2 confirmed" in page

    devnet.eth.send_transaction({"from": COMPANY_ADDRESS, "to": grant.to, "data": grant.data})
    assert minter.sales_awaiting_minter() == 0  # seen, but not yet confirmed under CHAIN_CONFIRMATIONS blocks
    client.rpc("evm_mine", w3=devnet)
    assert minter.sales_awaiting_minter() == 1
    assert minter.sales_awaiting_minter() == 0  # once
    later.refresh_from_db()
    assert later.state == SaleState.SCHEDULED  # it starts tomorrow
    assert chain_token.hasRole(MINTER_ROLE, later.address).call()
    page = browser.get(reverse("tokens:sale_deployment", args=[token.company.slug, later.pk])).content.decode()
    assert 'id="deployment-done"' in page
    assert "2 of 2 confirmed" in page


def test_a_sale_whose_start_has_passed_is_live_once_deployed(
        devnet: Web3, founder: Actor, settings: Any) -> None:
    settings.CHAIN_CONFIRMATIONS = 0
    sale = sale_for(founder, token_for(founder))
    services.sale_deploy(actor=founder, sale=sale)
    Sale.objects.filter(pk=sale.pk).update(starts_at=timezone.now() - timedelta(minutes=1))  # time went by
    client.rpc("evm_increaseTime", [120], w3=devnet)
    outbox_settle(devnet)
    sale.refresh_from_db()
    assert sale.state == SaleState.LIVE


@pytest.mark.parametrize("stale_nonce", [None, 50])
def test_the_nonce_is_reconciled_with_the_node_when_someone_else_used_the_key(
        devnet: Web3, founder: Actor, deployer: str, settings: Any, stale_nonce: int | None) -> None:
    settings.CHAIN_CONFIRMATIONS = 0
    if stale_nonce is not None:  # a row left far ahead, say by a chain that was reset
        SignerNonce.objects.create(chain_id=31337, role="deployer", address=deployer, next_nonce=stale_nonce)
    # Someone with the deployer's key sends a transaction the platform knows nothing about.
    before = count(devnet, deployer, "pending")
    account = keys.signer("deployer", 31337)
    signed = account.sign_transaction({"type": 2, "chainId": 31337, "nonce": before, "to": COMPANY_ADDRESS,
                                       "value": 1, "gas": 21_000, "maxFeePerGas": 10**10,
                                       "maxPriorityFeePerGas": 10**9})
    devnet.eth.send_raw_transaction(signed.raw_transaction)
    token = token_for(founder)
    intent = token_intent(token)

    outbox_settle(devnet)

    intent.refresh_from_db()
    assert intent.state == IntentState.CONFIRMED
    assert intent.nonce == before + 1
    assert intent.contract_address == get_create_address(deployer, before + 1)
    assert code_at(devnet, intent.contract_address)
    assert SignerNonce.objects.get(address=deployer).next_nonce == before + 2


def test_an_intent_whose_nonce_another_transaction_took_is_signed_again_at_a_fresh_nonce(
        devnet: Web3, founder: Actor, deployer: str, settings: Any, automine_off: None) -> None:
    settings.CHAIN_CONFIRMATIONS = 0
    intent = token_intent(token_for(founder))
    outbox.outbox_work()  # signed and sent at nonce N, waiting in the pool
    intent.refresh_from_db()
    nonce = intent.nonce
    assert intent.state == IntentState.SIGNED
    # The same key sends something else at that nonce with a higher tip: the pool keeps that one, it is mined.
    other = keys.signer("deployer", 31337).sign_transaction(
        {"type": 2, "chainId": 31337, "nonce": nonce, "to": COMPANY_ADDRESS, "value": 1, "gas": 21_000,
         "maxFeePerGas": 10**11, "maxPriorityFeePerGas": 10**10})
    devnet.eth.send_raw_transaction(other.raw_transaction)
    client.rpc("evm_mine", w3=devnet)
    client.rpc("evm_setAutomine", [True], w3=devnet)

    outbox_settle(devnet)

    intent.refresh_from_db()
    assert intent.state == IntentState.CONFIRMED
    assert intent.nonce == nonce + 1
    assert [a.nonce for a in intent.attempts.order_by("pk")] == [nonce, nonce + 1]
    assert intent.tx_hash == intent.attempts.order_by("pk").last().tx_hash
    assert intent.contract_address == get_create_address(deployer, nonce + 1)
    assert not code_at(devnet, get_create_address(deployer, nonce))


def test_a_dropped_transaction_is_broadcast_again_with_the_same_bytes(
        devnet: Web3, founder: Actor, deployer: str) -> None:
    intent = token_intent(token_for(founder))
    before_sending = client.rpc("evm_snapshot", w3=devnet)
    outbox.outbox_work()
    intent.refresh_from_db()
    attempt = intent.attempts.get()
    assert intent.state == IntentState.MINED  # one block on top is needed before it counts
    # The block is gone and the transaction with it: the node never heard of it.
    assert client.rpc("evm_revert", [before_sending], w3=devnet) is True
    assert devnet.eth.get_transaction_count(deployer) == intent.nonce
    assert client.rpc("eth_getTransactionByHash", [attempt.tx_hash], w3=devnet) is None

    outbox_settle(devnet)

    intent.refresh_from_db()
    assert intent.state == IntentState.CONFIRMED
    assert intent.attempts.count() == 1
    assert intent.tx_hash == attempt.tx_hash
    mined = devnet.eth.get_transaction(attempt.tx_hash)
    assert mined["blockNumber"] == intent.block_number
    assert intent.contract_address == get_create_address(deployer, intent.nonce)
    assert code_at(devnet, intent.contract_address)
    assert Token.objects.get().address == intent.contract_address


def test_a_stuck_transaction_is_replaced_at_the_same_nonce_with_higher_fees(
        devnet: Web3, founder: Actor, deployer: str, settings: Any, automine_off: None) -> None:
    settings.CHAIN_CONFIRMATIONS = 0
    intent = token_intent(token_for(founder))
    outbox.outbox_work()
    assert outbox.outbox_work() == 0  # younger than CHAIN_REPLACE_AFTER: left alone
    assert intent.attempts.count() == 1

    outbox.outbox_work(replace_after=timedelta(0))

    first, second = intent.attempts.order_by("pk")
    assert first.nonce == second.nonce
    assert second.max_priority_fee_per_gas >= first.max_priority_fee_per_gas * 9 // 8
    assert second.max_fee_per_gas >= first.max_fee_per_gas * 9 // 8
    assert bytes(first.raw) != bytes(second.raw)
    client.rpc("evm_mine", w3=devnet)
    client.rpc("evm_setAutomine", [True], w3=devnet)
    outbox_settle(devnet)

    intent.refresh_from_db()
    assert intent.state == IntentState.CONFIRMED
    assert intent.tx_hash == second.tx_hash
    assert devnet.eth.get_transaction_receipt(second.tx_hash)["status"] == 1
    assert client.rpc("eth_getTransactionReceipt", [first.tx_hash], w3=devnet) is None
    assert count(devnet, deployer) == intent.nonce + 1  # exactly one of the two was mined


def _deployed_token(devnet: Web3, founder: Actor) -> Token:
    token = token_for(founder)
    token_intent(token)
    outbox_settle(devnet)
    token.refresh_from_db()
    return token


def test_a_call_that_would_revert_fails_before_sending_with_the_custom_error_named(
        devnet: Web3, founder: Actor, deployer: str, settings: Any) -> None:
    settings.CHAIN_CONFIRMATIONS = 0
    token = _deployed_token(devnet, founder)
    token_intent(token, "token.renounce_admin")
    handover = token_intent(token, "token.handover_admin")  # after the renouncement: no longer allowed
    sent = count(devnet, deployer)

    outbox_settle(devnet)

    handover.refresh_from_db()
    assert handover.state == IntentState.FAILED
    assert handover.error == (
        f"Refused before sending: AccessControlUnauthorizedAccount(account={deployer}, neededRole=0x{'00' * 32})")
    assert handover.attempts.count() == 0
    assert handover.nonce is None
    assert count(devnet, deployer) == sent + 1  # only the renouncement
    token.refresh_from_db()
    assert token.deploy_status == DeployStatus.DEPLOYED  # the renouncement launched it; a later failure does not undo


def test_a_transaction_reverted_on_chain_fails_with_the_reason_replayed(
        devnet: Web3, founder: Actor, deployer: str, settings: Any) -> None:
    settings.CHAIN_CONFIRMATIONS = 0
    token = _deployed_token(devnet, founder)
    client.rpc("evm_setAutomine", [False], w3=devnet)
    try:
        token_intent(token, "token.renounce_admin")
        handover = token_intent(token, "token.handover_admin")
        outbox.outbox_work()  # both estimated against today's state, both signed and sent
        client.rpc("evm_mine", w3=devnet)  # the renouncement first (lower nonce): the handover reverts
    finally:
        client.rpc("evm_setAutomine", [True], w3=devnet)

    outbox_settle(devnet)

    handover.refresh_from_db()
    assert handover.state == IntentState.FAILED
    assert handover.error == (
        f"Reverted on-chain: AccessControlUnauthorizedAccount(account={deployer}, neededRole=0x{'00' * 32})")
    assert devnet.eth.get_transaction_receipt(handover.tx_hash)["status"] == 0


def test_a_failed_step_fails_the_rest_and_the_sale_can_be_deployed_again(
        devnet: Web3, founder: Actor, settings: Any) -> None:
    settings.CHAIN_CONFIRMATIONS = 0
    token = token_for(founder)
    sale = sale_for(founder, token)
    services.sale_deploy(actor=founder, sale=sale)
    # A treasury the contract refuses (the services would never write it; the contract checks it anyway).
    Sale.objects.filter(pk=sale.pk).update(treasury_address="0x" + "00" * 20)

    outbox_settle(devnet)

    states = dict(ChainIntent.objects.values_list("purpose", "state"))
    assert states["token.deploy"] == IntentState.CONFIRMED
    assert states["sale.deploy"] == IntentState.FAILED
    assert {states[p] for p in DEPLOYMENT[2:]} == {IntentState.FAILED}
    errors = dict(ChainIntent.objects.values_list("purpose", "error"))
    assert errors["sale.deploy"] == "Refused before sending: InvalidConfiguration(reason=zero address)"
    assert errors["sale.grant_minter"] == "Not sent: sale.deploy failed."
    token.refresh_from_db()
    sale.refresh_from_db()
    assert (token.deploy_status, sale.state) == (DeployStatus.FAILED, SaleState.DRAFT)
    assert token.address  # the token itself was deployed and stays

    services.sale_update(actor=founder, sale=sale, treasury_address="0x976EA74026E726554dB657fA54763abd0C3a0aa9")
    services.sale_deploy(actor=founder, sale=sale)
    outbox_settle(devnet)

    token.refresh_from_db()
    sale.refresh_from_db()
    assert (token.deploy_status, sale.state) == (DeployStatus.DEPLOYED, SaleState.SCHEDULED)
    assert ChainIntent.objects.filter(state=IntentState.CONFIRMED).count() == len(DEPLOYMENT)
    assert ChainIntent.objects.get(purpose="token.deploy").attempts.count() == 1


def test_a_revert_reason_names_the_custom_error_and_its_arguments() -> None:
    data = bytes.fromhex("e2517d3f") + bytes(12) + bytes.fromhex("f39Fd6e51aad88F6F4ce6aB8827279cffFb92266") + bytes(32)
    assert outbox.revert_reason(data) == (
        "AccessControlUnauthorizedAccount(account=0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266, "
        f"neededRole=0x{'00' * 32})")
    assert outbox.revert_reason(b"") == "reverted without a reason"
    assert outbox.revert_reason(bytes.fromhex("deadbeef")) == "reverted with 0xdeadbeef"
