"""TrancheSale purchases: timing, payment, caps, per-investor limits, allowlist, pause, buyFor, stablecoin."""

import pytest
from eth_utils import keccak
from web3.exceptions import ContractLogicError

from contracts import load_artifact
from contracts.sale import Allocation, Eligibility
from tests.contracts.support import ETH_TERMS, STABLECOIN_TERMS, ZERO_ADDRESS, sale_config_tuple

ETHER = 10**18
HARD_CAP = ETH_TERMS["hardCap"]
MAX = ETH_TERMS["maxPerInvestor"]
MIN = ETH_TERMS["minPerInvestor"]
OPERATOR_ROLE = keccak(text="OPERATOR_ROLE")
DISTRIBUTOR_ROLE = keccak(text="DISTRIBUTOR_ROLE")


@pytest.fixture
def sale(deploy_sale, accounts):
    under_test = deploy_sale()
    under_test.allowlist(*(i.address for i in accounts.investors))
    return under_test


def test_purchase_records_contribution_and_holds_the_money(sale, accounts):
    alice = accounts.investors[0].address
    sale.open()
    receipt = sale.buy(alice, ETHER)
    assert sale.events(receipt, "Purchased") == [
        {"beneficiary": alice, "payer": alice, "investorId": bytes(32), "amount": ETHER}
    ]
    assert sale.sale.functions.contributionOf(alice).call() == ETHER
    assert sale.sale.functions.totalRaised().call() == ETHER
    assert sale.chain.balance(sale.sale.address) == ETHER
    # Tokens are delivered by claims after finalization, not at purchase time.
    assert sale.tokens(alice) == 0


def test_no_purchase_before_start_or_from_the_end(sale, accounts, reverts):
    alice = accounts.investors[0].address
    with reverts(sale.sale, "SaleNotStarted", sale.start):
        sale.buy(alice, ETHER)
    sale.chain.travel_to(sale.end)
    with reverts(sale.sale, "SaleEnded", sale.end):
        sale.buy(alice, ETHER)


def test_payment_must_match_the_amount(sale, accounts, reverts):
    alice = accounts.investors[0].address
    sale.open()
    with reverts(sale.sale, "IncorrectPayment", ETHER, ETHER - 1):
        sale.buy(alice, ETHER, value=ETHER - 1)
    with reverts(sale.sale, "ZeroAmount"):
        sale.buy(alice, 0)


def test_plain_ether_transfers_are_refused(sale, accounts):
    sale.open()
    # No receive() and no fallback: the call reverts without data.
    with pytest.raises(ContractLogicError) as caught:
        sale.chain.w3.eth.send_transaction(
            {"from": accounts.investors[0].address, "to": sale.sale.address, "value": ETHER}
        )
    assert caught.value.data in ("0x", None)


def test_first_come_first_served_sells_exactly_to_the_hard_cap_and_not_one_wei_more(sale, accounts, reverts):
    a, b, c, d = (i.address for i in accounts.investors)
    sale.open()
    sale.buy(a, MAX)
    sale.buy(b, MAX)
    remaining = HARD_CAP - 2 * MAX
    with reverts(sale.sale, "HardCapExceeded", HARD_CAP + 1, HARD_CAP):
        sale.buy(c, remaining + 1)
    sale.buy(c, remaining)
    assert sale.sale.functions.totalRaised().call() == HARD_CAP
    with reverts(sale.sale, "HardCapExceeded", HARD_CAP + MIN, HARD_CAP):
        sale.buy(d, MIN)


def test_per_investor_minimum_and_maximum_hold_across_purchases(sale, accounts, reverts):
    alice = accounts.investors[0].address
    sale.open()
    with reverts(sale.sale, "InvestorMinimumNotMet", MIN - 1, MIN):
        sale.buy(alice, MIN - 1)
    sale.buy(alice, MIN)  # exactly the minimum
    sale.buy(alice, 1)  # top-ups below the minimum are fine once the total is above it
    with reverts(sale.sale, "InvestorMaximumExceeded", MAX + 1, MAX):
        sale.buy(alice, MAX - MIN)
    sale.buy(alice, MAX - MIN - 1)  # exactly the maximum
    assert sale.sale.functions.contributionOf(alice).call() == MAX


def test_only_allowlisted_wallets_buy_and_removal_stops_them(sale, accounts, reverts):
    alice, outsider = accounts.investors[0].address, accounts.outsider.address
    sale.open()
    with reverts(sale.sale, "NotAllowlisted", outsider):
        sale.buy(outsider, ETHER)
    sale.buy(alice, ETHER)
    receipt = sale.chain.send(
        sale.sale.functions.updateAllowlist([alice, outsider], False), accounts.platform.address
    )
    assert sale.events(receipt, "AllowlistUpdated") == [
        {"wallet": alice, "allowed": False},
        {"wallet": outsider, "allowed": False},
    ]
    with reverts(sale.sale, "NotAllowlisted", alice):
        sale.buy(alice, ETHER)
    assert sale.sale.functions.contributionOf(alice).call() == ETHER


def test_only_the_operator_manages_the_allowlist(sale, accounts, reverts):
    for who in (accounts.company.address, accounts.outsider.address):
        with reverts(sale.sale, "AccessControlUnauthorizedAccount", who, OPERATOR_ROLE):
            sale.sale.functions.updateAllowlist([who], True).transact({"from": who})


def test_pause_stops_purchases_until_unpaused(sale, accounts, reverts):
    alice = accounts.investors[0].address
    sale.open()
    with reverts(sale.sale, "AccessControlUnauthorizedAccount", alice, OPERATOR_ROLE):
        sale.sale.functions.pause().transact({"from": alice})
    sale.chain.send(sale.sale.functions.pause(), accounts.platform.address)
    with reverts(sale.sale, "EnforcedPause"):
        sale.buy(alice, ETHER)
    with reverts(sale.sale, "EnforcedPause"):
        sale.buy_for(alice, ETHER)
    sale.chain.send(sale.sale.functions.unpause(), accounts.platform.address)
    sale.buy(alice, ETHER)


def test_wrong_eligibility_function_is_refused(sale, accounts, reverts):
    sale.open()
    with reverts(sale.sale, "WrongEligibilityMode", Eligibility.ALLOWLIST):
        sale.buy(accounts.investors[0].address, ETHER, proof=[])


def test_distributor_buys_for_an_investor_within_the_same_caps(sale, accounts, reverts):
    alice, outsider = accounts.investors[0].address, accounts.outsider.address
    distributor = accounts.distributor.address
    sale.open()
    receipt = sale.buy_for(alice, 3 * ETHER)
    assert sale.events(receipt, "Purchased") == [
        {"beneficiary": alice, "payer": distributor, "investorId": bytes(32), "amount": 3 * ETHER}
    ]
    assert sale.sale.functions.contributionOf(alice).call() == 3 * ETHER
    assert sale.sale.functions.contributionOf(distributor).call() == 0
    # The investor's maximum counts what the distributor bought for them and what they bought themselves.
    with reverts(sale.sale, "InvestorMaximumExceeded", MAX + ETHER, MAX):
        sale.buy(alice, 2 * ETHER)
    with reverts(sale.sale, "InvestorMaximumExceeded", MAX + ETHER, MAX):
        sale.buy_for(alice, 2 * ETHER)
    with reverts(sale.sale, "NotAllowlisted", outsider):
        sale.buy_for(outsider, ETHER)


def test_only_the_distributor_buys_for_others(sale, accounts, reverts):
    alice, bob = accounts.investors[0].address, accounts.investors[1].address
    sale.open()
    with reverts(sale.sale, "AccessControlUnauthorizedAccount", bob, DISTRIBUTOR_ROLE):
        sale.buy_for(alice, ETHER, sender=bob)


def test_stablecoin_sale_pulls_the_approved_amount(deploy_sale, accounts, reverts):
    sale = deploy_sale(stablecoin=True)
    alice = accounts.investors[0].address
    sale.allowlist(alice)
    sale.open()
    amount = 1_500 * 10**6
    receipt = sale.buy(alice, amount)
    assert sale.events(receipt, "Purchased")[0]["amount"] == amount
    assert sale.held() == amount
    # The money sits in the vault of alice's shard (one shard in a first-come-first-served sale).
    vault = sale.sale.functions.vaultOf(0).call()
    assert sale.payment_balance(vault) == amount
    assert sale.payment_balance(sale.sale.address) == 0
    assert sale.payment_balance(alice) == 0
    assert sale.chain.balance(sale.sale.address) == 0
    # Ether is refused in a stablecoin sale.
    with reverts(sale.sale, "IncorrectPayment", 0, 1):
        sale.buy(alice, amount, value=1)
    # Without allowance the stablecoin's own error surfaces.
    sale.chain.send(sale.stablecoin.functions.approve(sale.sale.address, 0), alice)
    with reverts(sale.stablecoin, "ERC20InsufficientAllowance", sale.sale.address, 0, amount):
        sale.sale.functions.buy(amount).transact({"from": alice})
    assert sale.sale.functions.maxPerInvestor().call() == STABLECOIN_TERMS["maxPerInvestor"]


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"price": 0}, "price"),
        ({"hardCap": 0, "softCap": 0}, "caps"),
        ({"softCap": HARD_CAP + 1}, "caps"),
        ({"minPerInvestor": MAX + 1}, "investor limits"),
        ({"maxPerInvestor": 0, "minPerInvestor": 0}, "investor limits"),
        ({"maxPerInvestor": 2**128}, "investor limits"),
        ({"allocation": Allocation.PRO_RATA, "shardCount": 0}, "shards"),
        ({"allocation": Allocation.PRO_RATA, "shardCount": 257}, "shards"),
        ({"shardCount": 2}, "shards"),
        ({"treasury": ZERO_ADDRESS}, "zero address"),
        ({"end": 0}, "start not before end"),
        ({"claimPeriod": 3600 - 1}, "claim period"),
        ({"paymentToken": "token"}, "payment token is the token"),
    ],
)
def test_invalid_configurations_are_refused(deploy_sale, chain, accounts, reverts, overrides, reason):
    config = dict(deploy_sale().config)
    config.update(overrides)
    if config["paymentToken"] == "token":
        config["paymentToken"] = config["token"]
    factory = chain.w3.eth.contract(
        abi=load_artifact("TrancheSale").abi, bytecode=load_artifact("TrancheSale").bytecode
    )
    with reverts(factory, "InvalidConfiguration", reason):
        factory.constructor(sale_config_tuple(config)).transact({"from": accounts.platform.address})


def test_purchases_are_accepted_from_start_until_one_second_before_end(sale, accounts):
    """Timestamps are set exactly; gas is given so that web3 does not estimate against another timestamp."""
    alice = accounts.investors[0].address
    chain = sale.chain

    def buy_at(timestamp):
        chain.w3.provider.make_request("evm_setNextBlockTimestamp", [timestamp])
        tx = sale.sale.functions.buy(MIN).transact({"from": alice, "value": MIN, "gas": 300_000})
        receipt = chain.w3.eth.wait_for_transaction_receipt(tx)
        assert chain.now() == timestamp
        return receipt["status"]

    chain.travel_to(sale.start - 2)
    assert [buy_at(sale.start - 1), buy_at(sale.start), buy_at(sale.end - 1), buy_at(sale.end)] == [
        0,
        1,
        1,
        0,
    ]
    assert sale.sale.functions.contributionOf(alice).call() == 2 * MIN
