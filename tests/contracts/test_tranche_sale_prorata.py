"""Pro-rata allocation of an oversubscribed sale, token rounding, and the parallel-friendly storage layout."""

import pytest
from eth_abi import encode
from eth_utils import keccak, to_checksum_address
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contracts import load_artifact
from contracts.sale import Allocation, Eligibility

ETHER = 10**18
HARD_CAP = 10 * ETHER
SHARDS = 8
# Awkward amounts so that every floor() in the allocation actually drops something.
CONTRIBUTIONS = (4 * ETHER, 3_333_333_333_333_333_333, 2_718_281_828_459_045_235, 1_414_213_562_373_095_049)


@pytest.fixture
def pro_rata(deploy_sale, accounts):
    sale = deploy_sale(allocation=Allocation.PRO_RATA, shardCount=SHARDS)
    sale.allowlist(*(i.address for i in accounts.investors))
    return sale


def _claim(sale, wallet):
    return sale.chain.send(sale.sale.functions.claim(wallet), sale.accounts.outsider.address)


def test_oversubscription_is_accepted_and_tracked_in_shards(pro_rata, accounts):
    wallets = [i.address for i in accounts.investors]
    pro_rata.open()
    for wallet, amount in zip(wallets, CONTRIBUTIONS, strict=True):
        pro_rata.buy(wallet, amount)
    total = sum(CONTRIBUTIONS)
    assert total > HARD_CAP
    assert pro_rata.sale.functions.totalRaised().call() == total
    expected_shards = [0] * SHARDS
    for wallet, amount in zip(wallets, CONTRIBUTIONS, strict=True):
        shard = int(wallet, 16) % SHARDS
        assert pro_rata.sale.functions.shardOf(wallet).call() == shard
        expected_shards[shard] += amount
    assert [pro_rata.sale.functions.shardTotal(i).call() for i in range(SHARDS)] == expected_shards


def test_each_investor_gets_floor_of_c_h_over_t_and_the_rest_back(pro_rata, accounts):
    wallets = [i.address for i in accounts.investors]
    pro_rata.open()
    for wallet, amount in zip(wallets, CONTRIBUTIONS, strict=True):
        pro_rata.buy(wallet, amount)
    pro_rata.close()
    total = sum(CONTRIBUTIONS)
    receipt = pro_rata.finalize()
    assert pro_rata.events(receipt, "Finalized") == [
        {"totalContributed": total, "acceptedTotal": HARD_CAP, "tokensForSale": HARD_CAP * 1000}
    ]
    accepted = 0
    for wallet, contributed in zip(wallets, CONTRIBUTIONS, strict=True):
        paid = contributed * HARD_CAP // total  # rounded against the investor
        assert pro_rata.sale.functions.allocationOf(wallet).call() == [paid, paid * 1000, contributed - paid]
        before = pro_rata.chain.balance(wallet)
        receipt = _claim(pro_rata, wallet)
        assert pro_rata.events(receipt, "Claimed") == [
            {"wallet": wallet, "tokens": paid * 1000, "paid": paid}
        ]
        assert pro_rata.events(receipt, "Refunded") == [{"wallet": wallet, "amount": contributed - paid}]
        assert pro_rata.chain.balance(wallet) - before == contributed - paid
        assert pro_rata.tokens(wallet) == paid * 1000
        accepted += paid
    assert HARD_CAP - len(wallets) < accepted <= HARD_CAP  # never more than H sold
    treasury_before = pro_rata.chain.balance(accounts.treasury.address)
    pro_rata.chain.send(pro_rata.sale.functions.withdrawProceeds(), accounts.outsider.address)
    assert pro_rata.chain.balance(accounts.treasury.address) - treasury_before == accepted
    # Every wei is accounted for: refunds + proceeds == total paid in.
    assert pro_rata.chain.balance(pro_rata.sale.address) == 0
    # The tokens the rounding left over go back with the sweep.
    assert pro_rata.tokens(pro_rata.sale.address) == (HARD_CAP - accepted) * 1000


def test_undersubscribed_pro_rata_sale_allocates_in_full(pro_rata, accounts):
    alice, bob = accounts.investors[0].address, accounts.investors[1].address
    pro_rata.open()
    pro_rata.buy(alice, 3 * ETHER)
    pro_rata.buy(bob, 2 * ETHER)
    pro_rata.close()
    pro_rata.finalize()
    receipt = _claim(pro_rata, alice)
    assert pro_rata.events(receipt, "Refunded") == []
    assert pro_rata.tokens(alice) == 3 * ETHER * 1000


def test_pro_rata_sale_cannot_finalize_before_the_end_even_when_full(pro_rata, accounts, reverts):
    pro_rata.open()
    for investor in accounts.investors[:3]:
        pro_rata.buy(investor.address, 4 * ETHER)
    with reverts(pro_rata.sale, "SaleNotEnded", pro_rata.end):
        pro_rata.finalize()


def test_token_amounts_round_down(deploy_sale, accounts):
    """At 0.0007 ETH per token a payment rarely buys a whole number of base units; the buyer gets the floor."""
    sale = deploy_sale(price=7 * 10**14)
    alice = accounts.investors[0].address
    sale.allowlist(alice)
    sale.open()
    paid = ETHER + 1
    sale.buy(alice, paid)
    sale.close()
    sale.finalize()
    _claim(sale, alice)
    assert sale.tokens(alice) == paid * 10**18 // (7 * 10**14)
    assert sale.tokens(alice) * 7 * 10**14 < paid * 10**18


@settings(
    max_examples=6,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    contributions=st.lists(st.integers(min_value=10**17, max_value=4 * ETHER), min_size=2, max_size=4),
    hard_cap=st.integers(min_value=ETHER, max_value=8 * ETHER),
)
def test_pro_rata_never_sells_more_than_the_hard_cap(deploy_sale, accounts, contributions, hard_cap):
    sale = deploy_sale(allocation=Allocation.PRO_RATA, shardCount=3, hardCap=hard_cap, softCap=0)
    wallets = [i.address for i in accounts.investors[: len(contributions)]]
    sale.allowlist(*wallets)
    sale.open()
    for wallet, amount in zip(wallets, contributions, strict=True):
        sale.buy(wallet, amount)
    sale.close()
    sale.finalize()
    total = sum(contributions)
    paid_total = 0
    for wallet, contributed in zip(wallets, contributions, strict=True):
        receipt = _claim(sale, wallet)
        paid = sale.events(receipt, "Claimed")[0]["paid"]
        assert paid == (contributed * hard_cap // total if total > hard_cap else contributed)
        paid_total += paid
    assert paid_total <= min(total, hard_cap)
    assert sum(sale.tokens(w) for w in wallets) <= sale.sale.functions.tokensForSale().call()


# ---------------------------------------------------------------------------------------------- storage


def _slot(name: str) -> int:
    layout = load_artifact("TrancheSale").storage_layout
    return next(entry["slot"] for entry in layout if entry["label"] == name)


def _mapping_slot(key_type: str, key: object, slot: int) -> str:
    return "0x" + keccak(encode([key_type, "uint256"], [key, slot])).hex()


def _word(slot: int) -> str:
    return f"0x{slot:064x}"


def assert_writes_exactly(chain, receipt, contract_address: str, expected: set[str], layout=None) -> None:
    """The transaction changed exactly the `expected` storage slots of the contract.

    With a prestateTracer (anvil) the changed slots are listed by the node. Without one (the devnet) the test
    compares storage before and after the transaction's block (one transaction per block under automine):
    the expected slots changed and every state variable at a fixed slot (totals, state, roles root) did not.
    """
    response = chain.w3.provider.make_request(
        "debug_traceTransaction",
        [
            receipt["transactionHash"].to_0x_hex(),
            {"tracer": "prestateTracer", "tracerConfig": {"diffMode": True}},
        ],
    )
    if "error" not in response:
        # diffMode lists a changed slot in `pre` (unless it was zero) and in `post` (unless it became zero).
        written = {
            _word(int(slot, 16))
            for side in ("pre", "post")
            for address, account in response["result"][side].items()
            if to_checksum_address(address) == contract_address
            for slot in account.get("storage", {})
        }
        assert written == expected
        return
    block = receipt["blockNumber"]
    assert chain.w3.eth.get_block(block)["transactions"] == [receipt["transactionHash"]]
    layout = layout or load_artifact("TrancheSale").storage_layout
    fixed = {_word(e["slot"]) for e in layout if not e["type"].startswith("t_mapping")} - expected

    def value(slot: str, at: int) -> bytes:
        return bytes(chain.w3.eth.get_storage_at(contract_address, int(slot, 16), at))

    assert all(value(slot, block - 1) != value(slot, block) for slot in expected)
    assert all(value(slot, block - 1) == value(slot, block) for slot in fixed)


def test_a_pro_rata_purchase_writes_only_its_buyers_record_and_one_shard(pro_rata, accounts):
    pro_rata.open()
    for investor in accounts.investors:
        receipt = pro_rata.buy(investor.address, ETHER)
        shard = int(investor.address, 16) % SHARDS
        expected = {
            _mapping_slot("address", investor.address, _slot("_positions")),
            _mapping_slot("uint256", shard, _slot("_shards")),
        }
        assert_writes_exactly(pro_rata.chain, receipt, pro_rata.sale.address, expected)


def test_a_voucher_purchase_adds_only_the_investors_total(deploy_sale, accounts):
    from contracts.vouchers import Voucher, sign_voucher

    sale = deploy_sale(allocation=Allocation.PRO_RATA, shardCount=SHARDS, eligibility=Eligibility.VOUCHER)
    alice = accounts.investors[0].address
    voucher = Voucher(investor_id=keccak(text="investor-1"), wallet=alice, max_amount=4 * ETHER, expiry=2**40)
    signature = sign_voucher(
        voucher,
        sale_address=sale.sale.address,
        chain_id=sale.chain.w3.eth.chain_id,
        private_key=accounts.signer.key,
    )
    sale.open()
    receipt = sale.buy(alice, ETHER, voucher=voucher, signature=signature)
    expected = {
        _mapping_slot("address", alice, _slot("_positions")),
        _mapping_slot("uint256", int(alice, 16) % SHARDS, _slot("_shards")),
        _mapping_slot("bytes32", voucher.investor_id, _slot("investorTotals")),
    }
    assert_writes_exactly(sale.chain, receipt, sale.sale.address, expected)


def test_a_first_come_first_served_purchase_also_writes_the_running_total(deploy_sale, accounts):
    sale = deploy_sale()
    alice = accounts.investors[0].address
    sale.allowlist(alice)
    sale.open()
    receipt = sale.buy(alice, ETHER)
    expected = {_mapping_slot("address", alice, _slot("_positions")), _word(_slot("_runningTotal"))}
    assert_writes_exactly(sale.chain, receipt, sale.sale.address, expected)


def test_oversubscribed_stablecoin_sale_refunds_in_the_stablecoin(deploy_sale, accounts):
    sale = deploy_sale(stablecoin=True, allocation=Allocation.PRO_RATA, hardCap=5_000 * 10**6)
    wallets = [i.address for i in accounts.investors[:3]]
    sale.allowlist(*wallets)
    sale.open()
    contributions = [4_000 * 10**6, 2_500 * 10**6 + 1, 1_234_567_891]
    for wallet, amount in zip(wallets, contributions, strict=True):
        sale.buy(wallet, amount)
    sale.close()
    sale.finalize()
    total = sum(contributions)
    for wallet, contributed in zip(wallets, contributions, strict=True):
        _claim(sale, wallet)
        paid = contributed * 5_000 * 10**6 // total
        assert sale.payment_balance(wallet) == contributed - paid
        assert sale.tokens(wallet) == paid * 10**18 // 500_000
    sale.chain.send(sale.sale.functions.withdrawProceeds(), accounts.outsider.address)
    assert sale.held() == 0
    assert sale.payment_balance(accounts.treasury.address) <= 5_000 * 10**6


def test_a_stablecoin_purchase_writes_only_slots_of_its_buyer_and_its_shard(deploy_sale, accounts):
    """Payments go to the vault of the buyer's shard, not to one balance that every purchase would write."""
    sale = deploy_sale(stablecoin=True, allocation=Allocation.PRO_RATA, shardCount=SHARDS)
    coin_layout = {e["label"]: e["slot"] for e in load_artifact("MockStablecoin").storage_layout}
    sale.allowlist(*(i.address for i in accounts.investors))
    sale.open()
    vaults = set()
    for investor in accounts.investors:
        amount = 500 * 10**6
        sale.chain.send(sale.stablecoin.functions.mint(investor.address, amount), investor.address)
        sale.chain.send(sale.stablecoin.functions.approve(sale.sale.address, 2 * amount), investor.address)
        receipt = sale.chain.send(sale.sale.functions.buy(amount), investor.address)
        shard = int(investor.address, 16) % SHARDS
        vault = sale.sale.functions.vaultOf(shard).call()
        vaults.add(vault)
        assert_writes_exactly(
            sale.chain,
            receipt,
            sale.sale.address,
            {
                _mapping_slot("address", investor.address, _slot("_positions")),
                _mapping_slot("uint256", shard, _slot("_shards")),
            },
            layout=load_artifact("TrancheSale").storage_layout,
        )
        allowance = (
            "0x"
            + keccak(
                encode(
                    ["address", "bytes32"],
                    [
                        sale.sale.address,
                        keccak(
                            encode(["address", "uint256"], [investor.address, coin_layout["_allowances"]])
                        ),
                    ],
                )
            ).hex()
        )
        assert_writes_exactly(
            sale.chain,
            receipt,
            sale.stablecoin.address,
            {
                _mapping_slot("address", investor.address, coin_layout["_balances"]),
                _mapping_slot("address", vault, coin_layout["_balances"]),
                allowance,
            },
            layout=load_artifact("MockStablecoin").storage_layout,
        )
    assert len(vaults) == len(accounts.investors)  # these four investors fall in four different shards
