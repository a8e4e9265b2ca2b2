"""The storage layout pays off on the devnet's parallel schedulers: pro-rata purchases from buyers in different
shards execute in parallel with no conflict, while first-come-first-served purchases all conflict on the running
total. Each test starts its own devnet (the parallel schedulers need blocks of at least 16 transactions)."""

from collections.abc import Iterator

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3

from contracts.sale import Allocation
from devnet.testing import node_process
from tests.contracts.support import Chain, SaleUnderTest, deploy_sale, dev_accounts

ETHER = 10**18
BUYERS = 32
SHARDS = 64


def _buyers_in_distinct_shards() -> list[LocalAccount]:
    buyers: list[LocalAccount] = []
    shards: set[int] = set()
    seed = 0
    while len(buyers) < BUYERS:
        account = Account.from_key(Web3.keccak(text=f"tranche-buyer-{seed}"))
        seed += 1
        if int(account.address, 16) % SHARDS not in shards:
            shards.add(int(account.address, 16) % SHARDS)
            buyers.append(account)
    return buyers


def _devnet(scheduler: str) -> Iterator[Chain]:
    with node_process(scheduler=scheduler, workers=2) as url:
        yield Chain(Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": 60})))


@pytest.fixture
def block_stm() -> Iterator[Chain]:
    yield from _devnet("block-stm")


@pytest.fixture
def sharded() -> Iterator[Chain]:
    yield from _devnet("sharded")


def _one_block_of_purchases(chain: Chain, **config: object) -> tuple[SaleUnderTest, dict[str, object]]:
    """Fund 32 new buyers, deploy a sale, mine all 32 purchases (signed raw transactions) in one block."""
    accounts = dev_accounts()
    buyers = _buyers_in_distinct_shards()
    w3 = chain.w3
    for buyer in buyers:
        chain.w3.eth.wait_for_transaction_receipt(
            w3.eth.send_transaction({"from": accounts.outsider.address, "to": buyer.address, "value": ETHER})
        )
    sale = deploy_sale(chain, accounts, **config)
    sale.allowlist(*(b.address for b in buyers))
    sale.open()
    stablecoin = sale.stablecoin
    amount = 100 * 10**6 if stablecoin is not None else ETHER // 10

    def signed(buyer: LocalAccount, function: object, nonce: int, value: int = 0) -> bytes:
        transaction = function.build_transaction(  # type: ignore[attr-defined]
            {
                "from": buyer.address,
                "value": value,
                "gas": 200_000,
                "gasPrice": 2 * w3.eth.gas_price,
                "nonce": nonce,
                "chainId": w3.eth.chain_id,
            }
        )
        return bytes(buyer.sign_transaction(transaction).raw_transaction)

    nonce = 0
    if stablecoin is not None:
        for buyer in buyers:
            for step, call in enumerate(
                [
                    stablecoin.functions.mint(buyer.address, amount),
                    stablecoin.functions.approve(sale.sale.address, amount),
                ]
            ):
                w3.eth.wait_for_transaction_receipt(w3.eth.send_raw_transaction(signed(buyer, call, step)))
        nonce = 2
    value = 0 if stablecoin is not None else amount
    raw = [signed(buyer, sale.sale.functions.buy(amount), nonce, value) for buyer in buyers]
    w3.provider.make_request("evm_setAutomine", [False])  # type: ignore[arg-type]
    try:
        hashes = [w3.eth.send_raw_transaction(r) for r in raw]
    finally:
        w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
        w3.provider.make_request("evm_setAutomine", [True])  # type: ignore[arg-type]
    receipts = [w3.eth.wait_for_transaction_receipt(h) for h in hashes]
    assert {r["blockNumber"] for r in receipts} == {receipts[0]["blockNumber"]}
    assert all(r["status"] == 1 for r in receipts)
    assert sale.sale.functions.totalRaised().call() == BUYERS * amount
    metrics = w3.provider.make_request("devnet_metrics", [])["result"]  # type: ignore[arg-type]
    assert metrics["number"] == receipts[0]["blockNumber"]
    return sale, metrics


def test_pro_rata_purchases_run_in_parallel_without_conflict_on_block_stm(block_stm):
    _, metrics = _one_block_of_purchases(block_stm, allocation=Allocation.PRO_RATA, shardCount=SHARDS)
    assert (metrics["scheduler"], metrics["transactions"], metrics["conflicts"]) == ("block-stm", BUYERS, 0)


def test_pro_rata_purchases_run_in_parallel_without_conflict_on_sharded(sharded):
    _, metrics = _one_block_of_purchases(sharded, allocation=Allocation.PRO_RATA, shardCount=SHARDS)
    assert (metrics["scheduler"], metrics["transactions"], metrics["conflicts"]) == ("sharded", BUYERS, 0)


def test_pro_rata_stablecoin_purchases_run_in_parallel_without_conflict(block_stm):
    """Each shard has its own payment vault: no stablecoin balance is written by two buyers' purchases."""
    _, metrics = _one_block_of_purchases(
        block_stm, stablecoin=True, allocation=Allocation.PRO_RATA, shardCount=SHARDS
    )
    assert (metrics["scheduler"], metrics["transactions"], metrics["conflicts"]) == ("block-stm", BUYERS, 0)


def test_first_come_first_served_purchases_conflict_on_the_running_total(block_stm):
    _, metrics = _one_block_of_purchases(block_stm, hardCap=100 * ETHER)
    assert metrics["scheduler"] == "block-stm"
    # The running total serializes the block: nearly every purchase the worker process ran ahead read a total
    # that an earlier purchase then changed. With 2 workers that is its share, about half the block;
    # the coordinator's own share runs at the commit point and cannot conflict.
    assert metrics["conflicts"] >= BUYERS * 2 // 5
