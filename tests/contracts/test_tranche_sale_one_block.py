"""Many purchases mined in one block: the hard cap holds in block order, pro-rata shards add up.

Run with TRANCHE_TEST_SCHEDULER=block-stm or sharded to have the devnet execute these blocks in parallel.
"""

import pytest

from contracts.sale import Allocation
from tests.contracts.support import ETH_TERMS

ETHER = 10**18
HARD_CAP = ETH_TERMS["hardCap"]


def _mine_together(chain, sends):
    """Send each (function, sender, value) with automine off, then mine them all in one block."""
    w3 = chain.w3
    w3.provider.make_request("evm_setAutomine", [False])
    try:
        hashes = [function.transact({"from": sender, "value": value}) for function, sender, value in sends]
    finally:
        w3.provider.make_request("evm_mine", [])
        w3.provider.make_request("evm_setAutomine", [True])
    receipts = [w3.eth.wait_for_transaction_receipt(h) for h in hashes]
    assert len({r["blockNumber"] for r in receipts}) == 1
    return receipts


def test_first_come_first_served_never_passes_the_cap_within_a_block(deploy_sale, accounts):
    sale = deploy_sale()
    investors = [i.address for i in accounts.investors]
    sale.allowlist(*investors)
    sale.open()
    # 4 x 4 ETH against a 10 ETH cap, all estimated against the same state and mined together.
    receipts = _mine_together(
        sale.chain, [(sale.sale.functions.buy(4 * ETHER), i, 4 * ETHER) for i in investors]
    )
    by_index = sorted(receipts, key=lambda r: r["transactionIndex"])
    assert [r["status"] for r in by_index] == [1, 1, 0, 0]
    assert sale.sale.functions.totalRaised().call() == 8 * ETHER
    assert sale.chain.balance(sale.sale.address) == 8 * ETHER


@pytest.mark.parametrize("shards", [1, 4, 16])
def test_pro_rata_purchases_in_one_block_all_count(deploy_sale, accounts, shards):
    sale = deploy_sale(allocation=Allocation.PRO_RATA, shardCount=shards)
    investors = [i.address for i in accounts.investors]
    sale.allowlist(*investors)
    sale.open()
    amounts = [4 * ETHER, 3 * ETHER + 1, 2 * ETHER + 7, ETHER + 13]
    sends = [(sale.sale.functions.buy(a), i, a) for i, a in zip(investors, amounts, strict=True)]
    receipts = _mine_together(sale.chain, sends)
    assert all(r["status"] == 1 for r in receipts)
    assert sale.sale.functions.totalRaised().call() == sum(amounts)
    assert sum(sale.sale.functions.shardTotal(i).call() for i in range(shards)) == sum(amounts)
    for investor, amount in zip(investors, amounts, strict=True):
        assert sale.sale.functions.contributionOf(investor).call() == amount
    assert sale.chain.balance(sale.sale.address) == sum(amounts)
