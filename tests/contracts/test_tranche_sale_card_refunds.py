"""Card purchases (`buyFor*`, paid by the platform's distributor): their refunds go back to the distributor.

The investor paid by card, so the platform refunds the card; if the sale also sent the investor the money the
distributor paid, the investor would be refunded twice. Refund mode returns the distributor's part to the
distributor and the rest to the wallet; an oversubscribed pro-rata claim splits the unallocated part in the
same proportion. Tokens are always the wallet's.

Claims and refunds are sent by an outsider, so balances change by exactly the amounts paid out.
"""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contracts.merkle import WalletMerkleTree
from contracts.sale import DISTRIBUTOR_ROLE, Allocation, Eligibility
from contracts.vouchers import Voucher, sign_voucher
from tests.contracts.support import ETH_TERMS, ZERO_ADDRESS
from tests.contracts.test_tranche_sale_prorata import _mapping_slot, _slot, _word, assert_writes_exactly

ETHER = 10**18
TOKENS_PER_WEI = 1_000  # 0.001 ETH per whole token
HARD_CAP = ETH_TERMS["hardCap"]
# Below the soft cap (1 ETH / 1,000 USDC) in both currencies: the sale ends in refund mode.
OWN = {False: 123_456_789_012_345_678, True: 123_456_789}
CARD = {False: (300_000_000_000_000_001, 156_789_012_345_678_900), True: (300_000_001, 156_789_012)}


def _claim(sale, wallet):
    return sale.chain.send(sale.sale.functions.claim(wallet), sale.accounts.outsider.address)


def _refund(sale, wallet):
    return sale.chain.send(sale.sale.functions.refund(wallet), sale.accounts.outsider.address)


def _enter_refund_mode(sale):
    return sale.chain.send(sale.sale.functions.enterRefundMode(), sale.accounts.outsider.address)


def _share(sale, wallet):
    distributor, contributed = sale.sale.functions.distributorShareOf(wallet).call()
    return distributor, contributed


# ---------------------------------------------------------------------------------------------- refund mode


@pytest.mark.parametrize("stablecoin", [False, True], ids=["eth", "stablecoin"])
def test_refund_mode_pays_the_card_part_to_the_distributor_and_the_rest_to_the_wallet(
    deploy_sale, accounts, stablecoin
):
    sale = deploy_sale(stablecoin=stablecoin)
    alice, distributor = accounts.investors[0].address, accounts.distributor.address
    own, (card_1, card_2) = OWN[stablecoin], CARD[stablecoin]
    sale.allowlist(alice)
    sale.open()
    sale.buy_for(alice, card_1)
    sale.buy(alice, own)
    sale.buy_for(alice, card_2)
    total = own + card_1 + card_2
    assert sale.sale.functions.contributionOf(alice).call() == total
    assert _share(sale, alice) == (distributor, card_1 + card_2)
    sale.close()
    _enter_refund_mode(sale)
    alice_before, distributor_before = sale.payment_balance(alice), sale.payment_balance(distributor)

    receipt = _refund(sale, alice)

    # The event the platform's scanner reads still carries the wallet's whole refund.
    assert sale.events(receipt, "Refunded") == [{"wallet": alice, "amount": total}]
    assert sale.events(receipt, "DistributorRefunded") == [
        {"wallet": alice, "distributor": distributor, "amount": card_1 + card_2}
    ]
    assert sale.payment_balance(alice) - alice_before == own
    assert sale.payment_balance(distributor) - distributor_before == card_1 + card_2
    assert sale.held() == 0
    assert sale.sale.functions.settled(alice).call()


@pytest.mark.parametrize("stablecoin", [False, True], ids=["eth", "stablecoin"])
def test_a_pure_card_buyers_refund_goes_wholly_to_the_distributor(deploy_sale, accounts, stablecoin):
    sale = deploy_sale(stablecoin=stablecoin)
    bob, distributor = accounts.investors[1].address, accounts.distributor.address
    card = CARD[stablecoin][0]
    sale.allowlist(bob)
    sale.open()
    sale.buy_for(bob, card)
    sale.close()
    _enter_refund_mode(sale)
    bob_before, distributor_before = sale.payment_balance(bob), sale.payment_balance(distributor)

    receipt = _refund(sale, bob)

    assert sale.events(receipt, "Refunded") == [{"wallet": bob, "amount": card}]
    assert sale.events(receipt, "DistributorRefunded") == [
        {"wallet": bob, "distributor": distributor, "amount": card}
    ]
    assert sale.payment_balance(bob) == bob_before
    assert sale.payment_balance(distributor) - distributor_before == card
    assert sale.held() == 0


def test_a_pure_card_buyers_wallet_is_not_called_at_all(deploy_sale, accounts):
    """Nothing is sent to the wallet when its part is zero: a wallet that reverts on receipt (here one that calls
    back into the sale) cannot block the distributor's refund."""
    sale = deploy_sale()
    outsider, distributor = accounts.outsider.address, accounts.distributor.address
    investor = sale.chain.deploy("ReentrantInvestor", sale.sale.address, sender=outsider)
    sale.allowlist(investor.address)
    sale.open()
    sale.buy_for(investor.address, ETHER // 2)
    sale.close()
    _enter_refund_mode(sale)
    sale.chain.send(investor.functions.setAttack(1), outsider)  # any ether received would re-enter refund()
    before = sale.chain.balance(distributor)

    _refund(sale, investor.address)

    assert sale.chain.balance(distributor) - before == ETHER // 2
    assert sale.chain.balance(investor.address) == 0
    assert sale.chain.balance(sale.sale.address) == 0


def test_an_own_purchase_alone_is_refunded_to_the_wallet_with_no_distributor_event(deploy_sale, accounts):
    sale = deploy_sale()
    alice, distributor = accounts.investors[0].address, accounts.distributor.address
    sale.allowlist(alice)
    sale.open()
    sale.buy(alice, ETHER // 2)
    assert _share(sale, alice) == (ZERO_ADDRESS, 0)
    sale.close()
    _enter_refund_mode(sale)
    alice_before, distributor_before = sale.chain.balance(alice), sale.chain.balance(distributor)

    receipt = _refund(sale, alice)

    assert sale.events(receipt, "Refunded") == [{"wallet": alice, "amount": ETHER // 2}]
    assert sale.events(receipt, "DistributorRefunded") == []
    assert sale.chain.balance(alice) - alice_before == ETHER // 2
    assert sale.chain.balance(distributor) == distributor_before


def test_refunds_go_to_the_distributor_that_paid_even_after_its_role_is_revoked(deploy_sale, accounts):
    """Rotating the distributor key does not redirect money the old key paid: it goes back where it came from."""
    sale = deploy_sale()
    alice, distributor = accounts.investors[0].address, accounts.distributor.address
    sale.allowlist(alice)
    sale.open()
    sale.buy_for(alice, ETHER // 2)
    sale.chain.send(sale.sale.functions.revokeRole(DISTRIBUTOR_ROLE, distributor), accounts.company.address)
    sale.chain.send(sale.sale.functions.cancel(), accounts.platform.address)
    before = sale.chain.balance(distributor)
    _refund(sale, alice)
    assert sale.chain.balance(distributor) - before == ETHER // 2


def _merkle_sale(deploy_sale, accounts):
    alice = accounts.investors[0].address
    tree = WalletMerkleTree.of([i.address for i in accounts.investors])
    return deploy_sale(eligibility=Eligibility.MERKLE, merkleRoot=tree.root), {"proof": tree.proof(alice)}


def _voucher_sale(deploy_sale, accounts):
    alice = accounts.investors[0].address
    sale = deploy_sale(eligibility=Eligibility.VOUCHER)
    voucher = Voucher(investor_id=b"\x01" * 32, wallet=alice, max_amount=4 * ETHER, expiry=2**40)
    signature = sign_voucher(
        voucher,
        sale_address=sale.sale.address,
        chain_id=sale.chain.w3.eth.chain_id,
        private_key=accounts.signer.key,
    )
    return sale, {"voucher": voucher, "signature": signature}


@pytest.mark.parametrize(
    "make_sale", [_merkle_sale, _voucher_sale], ids=["buyForWithProof", "buyForWithVoucher"]
)
def test_every_card_purchase_function_records_the_distributor(deploy_sale, accounts, make_sale):
    sale, eligibility = make_sale(deploy_sale, accounts)
    alice, distributor = accounts.investors[0].address, accounts.distributor.address
    sale.open()
    sale.buy_for(alice, ETHER // 4, **eligibility)
    sale.buy(alice, ETHER // 8, **eligibility)
    assert _share(sale, alice) == (distributor, ETHER // 4)
    sale.chain.send(sale.sale.functions.cancel(), accounts.platform.address)
    alice_before, distributor_before = sale.chain.balance(alice), sale.chain.balance(distributor)
    _refund(sale, alice)
    assert sale.chain.balance(alice) - alice_before == ETHER // 8
    assert sale.chain.balance(distributor) - distributor_before == ETHER // 4


# ---------------------------------------------------------------------------------------------- one distributor


def test_card_purchases_for_one_wallet_come_from_one_distributor(deploy_sale, accounts, reverts):
    sale = deploy_sale()
    alice, bob = accounts.investors[0].address, accounts.investors[1].address
    distributor, second = accounts.distributor.address, accounts.platform.address
    sale.allowlist(alice, bob)
    sale.chain.send(sale.sale.functions.grantRole(DISTRIBUTOR_ROLE, second), accounts.company.address)
    sale.open()
    sale.buy(alice, ETHER)  # the wallet's own money: no distributor yet
    assert _share(sale, alice) == (ZERO_ADDRESS, 0)
    sale.buy_for(alice, ETHER)
    with reverts(sale.sale, "DistributorMismatch", distributor, second):
        sale.buy_for(alice, ETHER, sender=second)
    sale.buy_for(bob, ETHER, sender=second)  # another wallet may be served by another distributor
    sale.buy_for(alice, ETHER)
    assert _share(sale, alice) == (distributor, 2 * ETHER)
    assert _share(sale, bob) == (second, ETHER)
    assert sale.sale.functions.contributionOf(alice).call() == 3 * ETHER


def test_card_money_per_wallet_above_2_to_the_120_reverts_rather_than_wraps(deploy_sale, accounts, reverts):
    """The card share is kept in 120 bits next to the 128-bit total (one slot). No real currency comes near
    (2**120 wei is about 10**18 ETH), but a sale that allows up to 2**128 - 1 per investor must not wrap it."""
    limit = 2**128 - 1
    sale = deploy_sale(stablecoin=True, hardCap=limit, maxPerInvestor=limit)
    alice = accounts.investors[0].address
    sale.allowlist(alice)
    sale.open()
    sale.buy_for(alice, 2**120 - 1)
    with reverts(sale.sale, "SafeCastOverflowedUintDowncast", 120, 2**120):
        sale.buy_for(alice, 1)
    sale.buy(alice, 2**127)  # the wallet's own money still counts up to the limit
    assert _share(sale, alice) == (accounts.distributor.address, 2**120 - 1)
    assert sale.sale.functions.contributionOf(alice).call() == 2**127 + 2**120 - 1


# ---------------------------------------------------------------------------------------------- claims


def test_a_card_buyers_tokens_go_to_the_wallet_and_its_payment_to_the_treasury(deploy_sale, accounts):
    sale = deploy_sale()
    alice, distributor, treasury = (
        accounts.investors[0].address,
        accounts.distributor.address,
        accounts.treasury.address,
    )
    sale.allowlist(alice)
    sale.open()
    sale.buy(alice, ETHER // 2)
    sale.buy_for(alice, 3 * ETHER // 2)
    sale.close()
    sale.finalize()
    alice_before, distributor_before = sale.chain.balance(alice), sale.chain.balance(distributor)

    receipt = _claim(sale, alice)

    assert sale.events(receipt, "Claimed") == [
        {"wallet": alice, "tokens": 2 * ETHER * TOKENS_PER_WEI, "paid": 2 * ETHER}
    ]
    assert sale.events(receipt, "Refunded") == []
    assert sale.events(receipt, "DistributorRefunded") == []
    assert sale.tokens(alice) == 2 * ETHER * TOKENS_PER_WEI
    assert sale.tokens(distributor) == 0
    assert sale.chain.balance(alice) == alice_before
    assert sale.chain.balance(distributor) == distributor_before
    treasury_before = sale.chain.balance(treasury)
    sale.chain.send(sale.sale.functions.withdrawProceeds(), accounts.outsider.address)
    assert sale.chain.balance(treasury) - treasury_before == 2 * ETHER


def test_an_oversubscribed_claim_splits_the_unallocated_part_exactly(deploy_sale, accounts):
    """Stablecoin, H = 1,000 USDC. Alice paid 100.000001 USDC herself and the distributor 200 USDC for her;
    Bob paid 2,700 USDC himself. T = 3,000.000001 USDC.

    Alice: paid = floor(300,000,001 * 10^9 / 3,000,000,001) = 100,000,000, so 200,000,001 comes back. The
    distributor gets floor(200,000,001 * 200,000,000 / 300,000,001) = floor(133,333,333.56) = 133,333,333;
    Alice gets the rest, 66,666,668 (the rounding's fraction goes to the wallet; the two add up exactly).
    Bob: paid = 899,999,999, refund 1,800,000,001, all his.
    """
    sale = deploy_sale(stablecoin=True, allocation=Allocation.PRO_RATA, hardCap=1_000_000_000)
    alice, bob = accounts.investors[0].address, accounts.investors[1].address
    distributor, treasury = accounts.distributor.address, accounts.treasury.address
    sale.allowlist(alice, bob)
    sale.open()
    sale.buy(alice, 100_000_001)
    sale.buy_for(alice, 200_000_000)
    sale.buy(bob, 2_700_000_000)
    sale.close()
    sale.finalize()
    assert sale.sale.functions.allocationOf(alice).call() == [100_000_000, 200 * 10**18, 200_000_001]

    receipt = _claim(sale, alice)

    assert sale.events(receipt, "Claimed") == [{"wallet": alice, "tokens": 200 * 10**18, "paid": 100_000_000}]
    assert sale.events(receipt, "Refunded") == [{"wallet": alice, "amount": 200_000_001}]
    assert sale.events(receipt, "DistributorRefunded") == [
        {"wallet": alice, "distributor": distributor, "amount": 133_333_333}
    ]
    assert sale.payment_balance(alice) == 66_666_668
    assert sale.payment_balance(distributor) == 133_333_333
    assert sale.tokens(alice) == 200 * 10**18
    assert sale.tokens(distributor) == 0

    receipt = _claim(sale, bob)
    assert sale.events(receipt, "Refunded") == [{"wallet": bob, "amount": 1_800_000_001}]
    assert sale.events(receipt, "DistributorRefunded") == []
    assert sale.payment_balance(bob) == 1_800_000_001
    assert sale.payment_balance(distributor) == 133_333_333

    sale.chain.send(sale.sale.functions.withdrawProceeds(), accounts.outsider.address)
    assert sale.payment_balance(treasury) == 999_999_999
    # 66,666,668 + 133,333,333 + 1,800,000,001 + 999,999,999 = 3,000,000,001: every unit accounted for once.
    assert sale.held() == 0


def test_oversubscribed_eth_claims_split_each_kind_of_position(deploy_sale, accounts):
    """Mixed, pure card and own-money positions in one oversubscribed ETH sale."""
    sale = deploy_sale(allocation=Allocation.PRO_RATA)
    alice, bob, carol, dave = (i.address for i in accounts.investors)
    distributor, treasury = accounts.distributor.address, accounts.treasury.address
    purchases = {  # wallet: (own, card)
        alice: (1_234_567_890_123_456_789, 2_345_678_901_234_567_891),
        bob: (0, 3_333_333_333_333_333_333),
        carol: (2_718_281_828_459_045_235, 0),
        dave: (999_999_999_999_999_999, 1_414_213_562_373_095_049),
    }
    sale.allowlist(*purchases)
    sale.open()
    for wallet, (own, card) in purchases.items():
        if card:
            sale.buy_for(wallet, card)
        if own:
            sale.buy(wallet, own)
    sale.close()
    sale.finalize()
    total = sum(own + card for own, card in purchases.values())
    assert total > HARD_CAP
    distributor_before = sale.chain.balance(distributor)
    rounded = 0
    to_distributor = 0
    for wallet, (own, card) in purchases.items():
        contributed = own + card
        paid = contributed * HARD_CAP // total
        refund = contributed - paid
        share = refund * card // contributed
        rounded += (refund * card) % contributed != 0
        before = sale.chain.balance(wallet)

        receipt = _claim(sale, wallet)

        assert sale.events(receipt, "Claimed") == [
            {"wallet": wallet, "tokens": paid * TOKENS_PER_WEI, "paid": paid}
        ]
        assert sale.events(receipt, "Refunded") == [{"wallet": wallet, "amount": refund}]
        expected = [{"wallet": wallet, "distributor": distributor, "amount": share}] if share else []
        assert sale.events(receipt, "DistributorRefunded") == expected
        assert sale.chain.balance(wallet) - before == refund - share
        assert sale.tokens(wallet) == paid * TOKENS_PER_WEI
        to_distributor += share
    assert rounded >= 2  # alice's and dave's shares are not whole numbers: the floor is exercised
    assert sale.chain.balance(distributor) - distributor_before == to_distributor
    assert sale.tokens(distributor) == 0
    treasury_before = sale.chain.balance(treasury)
    sale.chain.send(sale.sale.functions.withdrawProceeds(), accounts.outsider.address)
    assert sale.chain.balance(treasury) > treasury_before
    assert sale.chain.balance(sale.sale.address) == 0


# One wallet's own money or card money: none, or a purchase of at least the minimum.
_PART = st.one_of(st.just(0), st.integers(min_value=ETH_TERMS["minPerInvestor"], max_value=2 * ETHER))


@settings(
    max_examples=5,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    splits=st.lists(st.tuples(_PART, _PART).filter(any), min_size=2, max_size=3),
    hard_cap=st.integers(min_value=ETHER, max_value=4 * ETHER),
)
def test_claims_pay_out_exactly_what_was_paid_in(deploy_sale, accounts, splits, hard_cap):
    """Whatever the mix, each refund is split without loss, and refunds plus proceeds equal the total paid in."""
    sale = deploy_sale(allocation=Allocation.PRO_RATA, shardCount=3, hardCap=hard_cap, softCap=0)
    wallets = [i.address for i in accounts.investors[: len(splits)]]
    distributor = accounts.distributor.address
    sale.allowlist(*wallets)
    sale.open()
    for wallet, (own, card) in zip(wallets, splits, strict=True):
        if card:
            sale.buy_for(wallet, card)
        if own:
            sale.buy(wallet, own)
    sale.close()
    sale.finalize()
    distributor_before = sale.chain.balance(distributor)
    refunded = to_distributor = 0
    for wallet, (own, card) in zip(wallets, splits, strict=True):
        before = sale.chain.balance(wallet)
        receipt = _claim(sale, wallet)
        refunds = sale.events(receipt, "Refunded")
        refund = refunds[0]["amount"] if refunds else 0
        share = sum(e["amount"] for e in sale.events(receipt, "DistributorRefunded"))
        assert share == refund * card // (own + card)
        assert sale.chain.balance(wallet) - before == refund - share
        refunded += refund
        to_distributor += share
    assert sale.chain.balance(distributor) - distributor_before == to_distributor
    proceeds = sale.sale.functions.settledProceeds().call()
    assert refunded + proceeds == sum(own + card for own, card in splits)
    if proceeds:
        sale.chain.send(sale.sale.functions.withdrawProceeds(), accounts.outsider.address)
    assert sale.chain.balance(sale.sale.address) == 0


# ---------------------------------------------------------------------------------------------- storage


def test_only_a_wallets_first_card_purchase_writes_its_second_slot(deploy_sale, accounts):
    """Card purchases keep the per-buyer write set: the wallet's record (its second slot once) and one shard."""
    sale = deploy_sale(allocation=Allocation.PRO_RATA)
    alice = accounts.investors[0].address
    sale.allowlist(alice)
    position = _mapping_slot("address", alice, _slot("_positions"))
    second = _word(int(position, 16) + 1)
    shard = _mapping_slot("uint256", int(alice, 16) % 8, _slot("_shards"))
    sale.open()

    receipt = sale.buy_for(alice, ETHER)
    assert_writes_exactly(sale.chain, receipt, sale.sale.address, {position, second, shard})

    for receipt in (sale.buy_for(alice, ETHER), sale.buy(alice, ETHER)):
        assert_writes_exactly(sale.chain, receipt, sale.sale.address, {position, shard})
        block = receipt["blockNumber"]
        stored = [
            bytes(sale.chain.w3.eth.get_storage_at(sale.sale.address, int(second, 16), b))
            for b in (block - 1, block)
        ]
        assert stored[0] == stored[1]
