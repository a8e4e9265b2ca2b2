"""Who may buy: Merkle proofs (OpenZeppelin StandardMerkleTree layout) and EIP-712 purchase vouchers."""

import pytest
from eth_utils import keccak

from contracts.merkle import StandardMerkleTree, WalletMerkleTree, leaf_hash
from contracts.sale import Eligibility
from contracts.vouchers import Voucher, sign_voucher, voucher_digest

ETHER = 10**18
MAX = 4 * ETHER
OPERATOR_ROLE = keccak(text="OPERATOR_ROLE")
VOUCHER_SIGNER_ROLE = keccak(text="VOUCHER_SIGNER_ROLE")
ALICE_ID = keccak(text="investor:alice")


# ---------------------------------------------------------------------------------------------- Merkle


def test_tree_matches_a_tree_dumped_by_openzeppelin_merkle_tree():
    """`StandardMerkleTree.of(values, ["address", "uint256"]).dump()` of @openzeppelin/merkle-tree."""
    wallet = "0x80d628ff4AC2aFf620C3474663F1e559234bbE0c"
    tree = StandardMerkleTree.of([(wallet, 0), (wallet, 1), (wallet, 2)], ["address", "uint256"])
    assert [node.hex() for node in tree.tree] == [
        "0fecce441c7468f17e3fe4a5f211b77a15b27c9ab3d33317df385dfbe5487034",
        "636ab2686ee3036244cf3d6b5574e051e4b20a3577b008975dbcca6dde2897d2",
        "d90245da324d7908326a3d56a9659741551a4603c397bf4dd373976bd85660e7",
        "36fb17c97ec80bb961ff0adff1af4a2a34847ecc40653c162e327117a76e3ec9",
        "1867c4ebd455913e429523a5c2d4b3a79f58068b5a25af911956245ed03a659d",
    ]
    # treeIndex of each value in the dump: 0 -> 4, 1 -> 3, 2 -> 2
    assert tree.proof((wallet, 0)) == [tree.tree[3], tree.tree[2]]
    assert tree.proof((wallet, 2)) == [tree.tree[1]]


def test_tree_layout_matches_openzeppelin():
    wallets = [f"0x{i:040x}" for i in range(1, 6)]
    tree = WalletMerkleTree.of(wallets)
    assert len(tree.tree) == 2 * len(wallets) - 1
    # Leaves are sorted by hash and stored from the end of the array, as @openzeppelin/merkle-tree does.
    assert list(tree.tree[len(wallets) - 1 :]) == sorted((leaf_hash(w) for w in wallets), reverse=True)
    single = WalletMerkleTree.of(wallets[:1])
    assert single.root == leaf_hash(wallets[0])
    assert single.proof(wallets[0]) == []


@pytest.fixture
def merkle_sale(deploy_sale, accounts):
    members = [i.address for i in accounts.investors[:3]]
    tree = WalletMerkleTree.of(members)
    sale = deploy_sale(eligibility=Eligibility.MERKLE, merkleRoot=tree.root)
    return sale, tree


def test_members_buy_with_their_proof(merkle_sale, accounts):
    sale, tree = merkle_sale
    sale.open()
    for investor in accounts.investors[:3]:
        sale.buy(investor.address, ETHER, proof=tree.proof(investor.address))
    assert sale.sale.functions.totalRaised().call() == 3 * ETHER


def test_proofs_of_others_and_non_members_are_refused(merkle_sale, accounts, reverts):
    sale, tree = merkle_sale
    alice, bob = accounts.investors[0].address, accounts.investors[1].address
    outsider = accounts.investors[3].address
    sale.open()
    with reverts(sale.sale, "InvalidMerkleProof", bob):
        sale.buy(bob, ETHER, proof=tree.proof(alice))
    with reverts(sale.sale, "InvalidMerkleProof", outsider):
        sale.buy(outsider, ETHER, proof=tree.proof(alice))
    with reverts(sale.sale, "InvalidMerkleProof", outsider):
        sale.buy(outsider, ETHER, proof=[])
    with reverts(sale.sale, "WrongEligibilityMode", Eligibility.MERKLE):
        sale.buy(alice, ETHER)


def test_operator_replaces_the_root(merkle_sale, accounts, reverts):
    sale, old_tree = merkle_sale
    alice, newcomer = accounts.investors[0].address, accounts.investors[3].address
    new_tree = WalletMerkleTree.of([newcomer, accounts.investors[1].address])
    with reverts(sale.sale, "AccessControlUnauthorizedAccount", alice, OPERATOR_ROLE):
        sale.sale.functions.setMerkleRoot(new_tree.root).transact({"from": alice})
    receipt = sale.chain.send(sale.sale.functions.setMerkleRoot(new_tree.root), accounts.platform.address)
    assert sale.events(receipt, "MerkleRootUpdated") == [
        {"previousRoot": old_tree.root, "newRoot": new_tree.root}
    ]
    sale.open()
    sale.buy(newcomer, ETHER, proof=new_tree.proof(newcomer))
    with reverts(sale.sale, "InvalidMerkleProof", alice):
        sale.buy(alice, ETHER, proof=old_tree.proof(alice))


def test_distributor_buys_for_a_member_with_the_members_proof(merkle_sale, accounts, reverts):
    sale, tree = merkle_sale
    alice, outsider = accounts.investors[0].address, accounts.investors[3].address
    sale.open()
    sale.buy_for(alice, ETHER, proof=tree.proof(alice))
    assert sale.sale.functions.contributionOf(alice).call() == ETHER
    with reverts(sale.sale, "InvalidMerkleProof", outsider):
        sale.buy_for(outsider, ETHER, proof=tree.proof(alice))


# ---------------------------------------------------------------------------------------------- vouchers


@pytest.fixture
def voucher_sale(deploy_sale):
    return deploy_sale(eligibility=Eligibility.VOUCHER)


def _sign(sale, voucher, key):
    return sign_voucher(
        voucher, sale_address=sale.sale.address, chain_id=sale.chain.w3.eth.chain_id, private_key=key
    )


def _voucher(wallet, *, investor_id=ALICE_ID, max_amount=MAX, expiry=2**40):
    return Voucher(investor_id=investor_id, wallet=wallet, max_amount=max_amount, expiry=expiry)


def test_python_digest_matches_the_contract(voucher_sale, accounts):
    voucher = _voucher(accounts.investors[0].address, max_amount=123, expiry=456)
    digest = voucher_digest(
        voucher, sale_address=voucher_sale.sale.address, chain_id=voucher_sale.chain.w3.eth.chain_id
    )
    assert voucher_sale.sale.functions.hashVoucher(voucher.as_tuple()).call() == digest


def test_a_voucher_lets_its_wallet_buy(voucher_sale, accounts):
    alice = accounts.investors[0].address
    voucher = _voucher(alice)
    voucher_sale.open()
    receipt = voucher_sale.buy(
        alice, ETHER, voucher=voucher, signature=_sign(voucher_sale, voucher, accounts.signer.key)
    )
    assert voucher_sale.events(receipt, "Purchased") == [
        {"beneficiary": alice, "payer": alice, "investorId": ALICE_ID, "amount": ETHER}
    ]
    assert voucher_sale.sale.functions.investorTotals(ALICE_ID).call() == ETHER


def test_an_expired_voucher_is_refused(voucher_sale, accounts, reverts):
    alice = accounts.investors[0].address
    voucher_sale.open()
    expiry = voucher_sale.chain.now() - 1
    voucher = _voucher(alice, expiry=expiry)
    with reverts(voucher_sale.sale, "VoucherExpired", expiry):
        voucher_sale.buy(
            alice, ETHER, voucher=voucher, signature=_sign(voucher_sale, voucher, accounts.signer.key)
        )


def test_a_voucher_from_a_foreign_signer_is_refused(voucher_sale, accounts, reverts):
    alice = accounts.investors[0].address
    voucher = _voucher(alice)
    voucher_sale.open()
    with reverts(voucher_sale.sale, "InvalidVoucherSignature", accounts.outsider.address):
        voucher_sale.buy(
            alice, ETHER, voucher=voucher, signature=_sign(voucher_sale, voucher, accounts.outsider.key)
        )


def test_a_voucher_for_another_sale_is_refused(deploy_sale, voucher_sale, accounts, reverts):
    other = deploy_sale(eligibility=Eligibility.VOUCHER)
    alice = accounts.investors[0].address
    voucher = _voucher(alice)
    voucher_sale.open()
    with reverts(voucher_sale.sale, "InvalidVoucherSignature"):
        voucher_sale.buy(alice, ETHER, voucher=voucher, signature=_sign(other, voucher, accounts.signer.key))


def test_a_tampered_voucher_is_refused(voucher_sale, accounts, reverts):
    alice = accounts.investors[0].address
    signature = _sign(voucher_sale, _voucher(alice, max_amount=ETHER), accounts.signer.key)
    voucher_sale.open()
    with reverts(voucher_sale.sale, "InvalidVoucherSignature"):
        voucher_sale.buy(alice, 2 * ETHER, voucher=_voucher(alice, max_amount=2 * ETHER), signature=signature)


def test_another_wallet_cannot_use_the_voucher(voucher_sale, accounts, reverts):
    alice, mallory = accounts.investors[0].address, accounts.investors[1].address
    voucher = _voucher(alice)
    voucher_sale.open()
    with reverts(voucher_sale.sale, "VoucherWalletMismatch", alice, mallory):
        voucher_sale.buy(
            mallory, ETHER, voucher=voucher, signature=_sign(voucher_sale, voucher, accounts.signer.key)
        )


def test_the_maximum_holds_across_an_investors_wallets(voucher_sale, accounts, reverts):
    first, second = accounts.investors[0].address, accounts.investors[1].address
    key = accounts.signer.key
    first_voucher = _voucher(first, max_amount=3 * ETHER)
    second_voucher = _voucher(second, max_amount=3 * ETHER)
    voucher_sale.open()
    voucher_sale.buy(
        first, 2 * ETHER, voucher=first_voucher, signature=_sign(voucher_sale, first_voucher, key)
    )
    voucher_sale.buy(
        second, ETHER, voucher=second_voucher, signature=_sign(voucher_sale, second_voucher, key)
    )
    with reverts(voucher_sale.sale, "InvestorMaximumExceeded", 3 * ETHER + 1, 3 * ETHER):
        voucher_sale.buy(
            second, 1, voucher=second_voucher, signature=_sign(voucher_sale, second_voucher, key)
        )
    assert voucher_sale.sale.functions.investorTotals(ALICE_ID).call() == 3 * ETHER
    # Each wallet keeps its own position for claims and refunds.
    assert voucher_sale.sale.functions.contributionOf(first).call() == 2 * ETHER
    assert voucher_sale.sale.functions.contributionOf(second).call() == ETHER


def test_the_sale_maximum_caps_a_generous_voucher(voucher_sale, accounts, reverts):
    alice = accounts.investors[0].address
    voucher = _voucher(alice, max_amount=100 * ETHER)
    voucher_sale.open()
    with reverts(voucher_sale.sale, "InvestorMaximumExceeded", MAX + 1, MAX):
        voucher_sale.buy(
            alice, MAX + 1, voucher=voucher, signature=_sign(voucher_sale, voucher, accounts.signer.key)
        )


def test_revoking_the_signer_invalidates_its_vouchers(voucher_sale, accounts, reverts):
    alice = accounts.investors[0].address
    voucher = _voucher(alice)
    signature = _sign(voucher_sale, voucher, accounts.signer.key)
    voucher_sale.chain.send(
        voucher_sale.sale.functions.revokeRole(VOUCHER_SIGNER_ROLE, accounts.signer.address),
        accounts.company.address,
    )
    voucher_sale.open()
    with reverts(voucher_sale.sale, "InvalidVoucherSignature", accounts.signer.address):
        voucher_sale.buy(alice, ETHER, voucher=voucher, signature=signature)


def test_distributor_buys_with_the_beneficiarys_voucher(voucher_sale, accounts, reverts):
    alice, bob = accounts.investors[0].address, accounts.investors[1].address
    voucher = _voucher(alice)
    signature = _sign(voucher_sale, voucher, accounts.signer.key)
    voucher_sale.open()
    receipt = voucher_sale.buy_for(alice, ETHER, voucher=voucher, signature=signature)
    assert voucher_sale.events(receipt, "Purchased")[0]["investorId"] == ALICE_ID
    with reverts(voucher_sale.sale, "VoucherWalletMismatch", alice, bob):
        voucher_sale.buy_for(bob, ETHER, voucher=voucher, signature=signature)


def test_a_voucher_without_investor_id_is_refused(voucher_sale, accounts, reverts):
    alice = accounts.investors[0].address
    voucher = _voucher(alice, investor_id=bytes(32))
    voucher_sale.open()
    with reverts(voucher_sale.sale, "MissingInvestorId"):
        voucher_sale.buy(
            alice, ETHER, voucher=voucher, signature=_sign(voucher_sale, voucher, accounts.signer.key)
        )


def test_a_voucher_is_valid_up_to_and_including_its_expiry(voucher_sale, accounts):
    """Timestamps are set exactly; gas is given so that web3 does not estimate against another timestamp."""
    alice = accounts.investors[0].address
    chain = voucher_sale.chain
    voucher_sale.open()
    expiry = chain.now() + 50
    voucher = _voucher(alice, expiry=expiry)
    purchase = voucher_sale.sale.functions.buyWithVoucher(
        ETHER, voucher.as_tuple(), _sign(voucher_sale, voucher, accounts.signer.key)
    )
    chain.w3.provider.make_request("evm_setNextBlockTimestamp", [expiry])
    receipt = chain.w3.eth.wait_for_transaction_receipt(
        purchase.transact({"from": alice, "value": ETHER, "gas": 500_000})
    )
    assert (receipt["status"], chain.now()) == (1, expiry)
    chain.w3.provider.make_request("evm_setNextBlockTimestamp", [expiry + 1])
    receipt = chain.w3.eth.wait_for_transaction_receipt(
        purchase.transact({"from": alice, "value": ETHER, "gas": 500_000})
    )
    assert (receipt["status"], chain.now()) == (0, expiry + 1)
    assert voucher_sale.sale.functions.contributionOf(alice).call() == ETHER
