"""TrancheSale after the end: finalization, claims, treasury withdrawals, sweeping and refund mode.

Claims, refunds and withdrawals are sent by an outsider (anyone may call them), so the investor's and the
treasury's balances change by exactly the amounts paid out, with no gas in between.
"""

import pytest
from eth_utils import keccak

from contracts.sale import Allocation, SaleState
from tests.contracts.support import CLAIM_PERIOD, ETH_TERMS, FINALIZE_GRACE

ETHER = 10**18
TOKENS_PER_WEI = 1_000  # 0.001 ETH per whole token
SOFT_CAP = ETH_TERMS["softCap"]
HARD_CAP = ETH_TERMS["hardCap"]
MINTER_ROLE = keccak(text="MINTER_ROLE")
SOFT_CAP_MISSED, NOT_FINALIZED_IN_TIME, CANCELLED = 0, 1, 2


@pytest.fixture
def sale(deploy_sale, accounts):
    under_test = deploy_sale()
    under_test.allowlist(*(i.address for i in accounts.investors))
    return under_test


def _claim(sale, wallet):
    return sale.chain.send(sale.sale.functions.claim(wallet), sale.accounts.outsider.address)


def _refund(sale, wallet):
    return sale.chain.send(sale.sale.functions.refund(wallet), sale.accounts.outsider.address)


def test_finalize_mints_the_tokens_sold_and_claims_deliver_them(sale, accounts):
    alice, bob = accounts.investors[0].address, accounts.investors[1].address
    sale.open()
    sale.buy(alice, 1_500_000_000_000_000_000)
    sale.buy(bob, 123_456_789_012_345_678)
    sale.close()
    raised = 1_623_456_789_012_345_678
    receipt = sale.finalize()
    assert sale.events(receipt, "Finalized") == [
        {"totalContributed": raised, "acceptedTotal": raised, "tokensForSale": raised * TOKENS_PER_WEI}
    ]
    assert sale.sale.functions.state().call() == SaleState.FINALIZED
    assert sale.tokens(sale.sale.address) == raised * TOKENS_PER_WEI

    receipt = _claim(sale, alice)
    paid = 1_500_000_000_000_000_000
    assert sale.events(receipt, "Claimed") == [
        {"wallet": alice, "tokens": paid * TOKENS_PER_WEI, "paid": paid}
    ]
    assert sale.events(receipt, "Refunded") == []
    assert sale.tokens(alice) == paid * TOKENS_PER_WEI
    assert sale.sale.functions.settled(alice).call()
    _claim(sale, bob)
    assert sale.tokens(bob) == 123_456_789_012_345_678 * TOKENS_PER_WEI
    assert sale.tokens(sale.sale.address) == 0


def test_finalize_needs_the_operator_the_end_and_the_soft_cap(sale, accounts, reverts):
    alice = accounts.investors[0].address
    sale.open()
    sale.buy(alice, SOFT_CAP - 1)
    with reverts(sale.sale, "SaleNotEnded", sale.end):
        sale.finalize()
    sale.close()
    with reverts(sale.sale, "Unauthorized", accounts.outsider.address):
        sale.sale.functions.finalize().transact({"from": accounts.outsider.address})
    with reverts(sale.sale, "SoftCapNotReached", SOFT_CAP - 1, SOFT_CAP):
        sale.finalize()


def test_finalize_is_refused_after_the_grace_period(sale, accounts, reverts):
    sale.open()
    sale.buy(accounts.investors[0].address, SOFT_CAP)
    sale.chain.travel_to(sale.end + FINALIZE_GRACE + 1)
    with reverts(sale.sale, "FinalizationPeriodOver", sale.end + FINALIZE_GRACE):
        sale.finalize()


def test_a_sold_out_first_come_first_served_sale_finalizes_before_the_end(sale, accounts):
    a, b, c = (i.address for i in accounts.investors[:3])
    sale.open()
    sale.buy(a, 4 * ETHER)
    sale.buy(b, 4 * ETHER)
    sale.buy(c, 2 * ETHER)
    sale.finalize()
    assert sale.chain.now() < sale.end
    assert sale.tokens(sale.sale.address) == HARD_CAP * TOKENS_PER_WEI


def test_each_wallet_settles_once(sale, accounts, reverts):
    alice, outsider = accounts.investors[0].address, accounts.outsider.address
    sale.open()
    sale.buy(alice, SOFT_CAP)
    with reverts(sale.sale, "NotFinalized"):
        sale.sale.functions.claim(alice).transact({"from": alice})
    sale.close()
    sale.finalize()
    with reverts(sale.sale, "NotInRefundMode"):
        sale.sale.functions.refund(alice).transact({"from": alice})
    with reverts(sale.sale, "NothingToSettle", outsider):
        sale.sale.functions.claim(outsider).transact({"from": outsider})
    _claim(sale, alice)
    with reverts(sale.sale, "AlreadySettled", alice):
        sale.sale.functions.claim(alice).transact({"from": alice})


def test_claims_are_not_blocked_by_pause_or_allowlist_removal(sale, accounts):
    alice = accounts.investors[0].address
    sale.open()
    sale.buy(alice, 2 * ETHER)
    platform = accounts.platform.address
    sale.chain.send(sale.sale.functions.updateAllowlist([alice], False), platform)
    sale.chain.send(sale.sale.functions.pause(), platform)
    sale.close()
    sale.finalize()
    sale.chain.send(sale.sale.functions.claim(alice), alice)  # the investor pulls it themself
    assert sale.tokens(alice) == 2 * ETHER * TOKENS_PER_WEI


def test_treasury_withdraws_only_what_settled_claims_paid_for(sale, accounts, reverts):
    alice, bob = accounts.investors[0].address, accounts.investors[1].address
    treasury, outsider = accounts.treasury.address, accounts.outsider.address
    sale.open()
    sale.buy(alice, 3 * ETHER)
    sale.buy(bob, 2 * ETHER)
    sale.close()
    sale.finalize()
    with reverts(sale.sale, "NothingToWithdraw"):
        sale.sale.functions.withdrawProceeds().transact({"from": outsider})
    _claim(sale, alice)
    before = sale.chain.balance(treasury)
    receipt = sale.chain.send(sale.sale.functions.withdrawProceeds(), outsider)
    assert sale.events(receipt, "ProceedsWithdrawn") == [{"treasury": treasury, "amount": 3 * ETHER}]
    assert sale.chain.balance(treasury) - before == 3 * ETHER
    assert sale.chain.balance(sale.sale.address) == 2 * ETHER  # bob's money waits for bob's claim
    with reverts(sale.sale, "NothingToWithdraw"):
        sale.sale.functions.withdrawProceeds().transact({"from": outsider})
    _claim(sale, bob)
    sale.chain.send(sale.sale.functions.withdrawProceeds(), outsider)
    assert sale.chain.balance(treasury) - before == 5 * ETHER
    assert sale.chain.balance(sale.sale.address) == 0


def test_after_the_claim_deadline_anyone_sweeps_the_rest_to_the_treasury(sale, accounts, reverts):
    alice, bob = accounts.investors[0].address, accounts.investors[1].address
    treasury, outsider = accounts.treasury.address, accounts.outsider.address
    sale.open()
    sale.buy(alice, 3 * ETHER)
    sale.buy(bob, 2 * ETHER)
    sale.close()
    sale.finalize()
    deadline = sale.sale.functions.claimDeadline().call()
    assert deadline == sale.sale.functions.finalizedAt().call() + CLAIM_PERIOD
    _claim(sale, alice)
    with reverts(sale.sale, "ClaimPeriodNotOver", deadline):
        sale.sale.functions.sweep().transact({"from": outsider})

    sale.chain.travel_to(deadline + 1)
    with reverts(sale.sale, "ClaimPeriodOver", deadline):
        sale.sale.functions.claim(bob).transact({"from": bob})
    before = sale.chain.balance(treasury)
    receipt = sale.chain.send(sale.sale.functions.sweep(), outsider)
    bob_tokens = 2 * ETHER * TOKENS_PER_WEI
    assert sale.events(receipt, "Swept") == [
        {"treasury": treasury, "payment": 5 * ETHER, "tokens": bob_tokens}
    ]
    assert sale.chain.balance(treasury) - before == 5 * ETHER
    assert sale.tokens(treasury) == bob_tokens
    with reverts(sale.sale, "NothingToSweep"):
        sale.sale.functions.sweep().transact({"from": outsider})
    with reverts(sale.sale, "NothingToWithdraw"):
        sale.sale.functions.withdrawProceeds().transact({"from": outsider})


def test_missed_soft_cap_lets_anyone_start_refunds(sale, accounts, reverts):
    alice, bob, outsider = (
        accounts.investors[0].address,
        accounts.investors[1].address,
        accounts.outsider.address,
    )
    sale.open()
    sale.buy(alice, ETHER // 2)
    sale.buy(bob, ETHER // 4)
    with reverts(sale.sale, "SaleNotEnded", sale.end):
        sale.sale.functions.enterRefundMode().transact({"from": outsider})
    sale.close()
    receipt = sale.chain.send(sale.sale.functions.enterRefundMode(), outsider)
    assert sale.events(receipt, "RefundModeEntered") == [
        {"reason": SOFT_CAP_MISSED, "totalContributed": ETHER * 3 // 4}
    ]
    assert sale.sale.functions.state().call() == SaleState.REFUNDING

    before = sale.chain.balance(alice)
    receipt = _refund(sale, alice)
    assert sale.events(receipt, "Refunded") == [{"wallet": alice, "amount": ETHER // 2}]
    assert sale.chain.balance(alice) - before == ETHER // 2
    with reverts(sale.sale, "AlreadySettled", alice):
        sale.sale.functions.refund(alice).transact({"from": outsider})
    with reverts(sale.sale, "NotFinalized"):
        sale.sale.functions.claim(bob).transact({"from": outsider})
    with reverts(sale.sale, "SaleNotActive", SaleState.REFUNDING):
        sale.finalize()
    with reverts(sale.sale, "SaleNotActive", SaleState.REFUNDING):
        sale.sale.functions.enterRefundMode().transact({"from": outsider})
    _refund(sale, bob)
    assert sale.chain.balance(sale.sale.address) == 0


def test_an_absent_issuer_cannot_lock_the_money(sale, accounts, reverts):
    """Soft cap met but nobody finalizes: after the grace period anyone starts refunds, even while paused."""
    alice, outsider = accounts.investors[0].address, accounts.outsider.address
    sale.open()
    sale.buy(alice, 2 * ETHER)
    sale.chain.send(sale.sale.functions.updateAllowlist([alice], False), accounts.platform.address)
    sale.chain.send(sale.sale.functions.pause(), accounts.platform.address)
    sale.close()
    with reverts(sale.sale, "RefundModeUnavailable", 2 * ETHER, sale.end + FINALIZE_GRACE):
        sale.sale.functions.enterRefundMode().transact({"from": outsider})
    sale.chain.travel_to(sale.end + FINALIZE_GRACE + 1)
    receipt = sale.chain.send(sale.sale.functions.enterRefundMode(), outsider)
    assert sale.events(receipt, "RefundModeEntered")[0]["reason"] == NOT_FINALIZED_IN_TIME
    before = sale.chain.balance(alice)
    _refund(sale, alice)
    assert sale.chain.balance(alice) - before == 2 * ETHER


def test_a_finalization_that_cannot_mint_ends_in_refunds(deploy_sale, accounts, reverts):
    """The sale was never given the minter role: finalize fails, and refunds open after the grace period."""
    sale = deploy_sale(grant_minter=False)
    alice = accounts.investors[0].address
    sale.allowlist(alice)
    sale.open()
    sale.buy(alice, 2 * ETHER)
    sale.close()
    with reverts(sale.token, "AccessControlUnauthorizedAccount", sale.sale.address, MINTER_ROLE):
        sale.finalize()
    sale.chain.travel_to(sale.end + FINALIZE_GRACE + 1)
    sale.chain.send(sale.sale.functions.enterRefundMode(), accounts.outsider.address)
    before = sale.chain.balance(alice)
    _refund(sale, alice)
    assert sale.chain.balance(alice) - before == 2 * ETHER


@pytest.mark.parametrize("who", ["company", "platform"])
def test_company_or_platform_may_cancel_before_finalization(sale, accounts, reverts, who):
    alice = accounts.investors[0].address
    sale.open()
    sale.buy(alice, 2 * ETHER)
    receipt = sale.chain.send(sale.sale.functions.cancel(), getattr(accounts, who).address)
    assert sale.events(receipt, "RefundModeEntered") == [{"reason": CANCELLED, "totalContributed": 2 * ETHER}]
    with reverts(sale.sale, "SaleNotActive", SaleState.REFUNDING):
        sale.buy(alice, ETHER)
    before = sale.chain.balance(alice)
    _refund(sale, alice)
    assert sale.chain.balance(alice) - before == 2 * ETHER


def test_outsiders_cannot_cancel_and_nobody_cancels_after_finalization(sale, accounts, reverts):
    alice, outsider = accounts.investors[0].address, accounts.outsider.address
    sale.open()
    sale.buy(alice, 2 * ETHER)
    with reverts(sale.sale, "Unauthorized", outsider):
        sale.sale.functions.cancel().transact({"from": outsider})
    sale.close()
    sale.finalize()
    with reverts(sale.sale, "SaleNotActive", SaleState.FINALIZED):
        sale.sale.functions.cancel().transact({"from": accounts.company.address})


def test_stablecoin_sale_settles_in_the_stablecoin(deploy_sale, accounts):
    sale = deploy_sale(stablecoin=True)
    alice, bob = accounts.investors[0].address, accounts.investors[1].address
    treasury, outsider = accounts.treasury.address, accounts.outsider.address
    sale.allowlist(alice, bob)
    sale.open()
    sale.buy(alice, 1_000_500_001)  # 1,000.500001 USDC at 0.50 USDC per token
    sale.buy(bob, 250_000_000)
    sale.close()
    sale.finalize()
    _claim(sale, alice)
    assert sale.tokens(alice) == 1_000_500_001 * 10**18 // 500_000
    sale.chain.send(sale.sale.functions.withdrawProceeds(), outsider)
    assert sale.payment_balance(treasury) == 1_000_500_001
    assert sale.held() == 250_000_000
    assert sale.chain.balance(sale.sale.address) == 0


def test_stablecoin_refunds(deploy_sale, accounts):
    sale = deploy_sale(stablecoin=True)
    alice = accounts.investors[0].address
    sale.allowlist(alice)
    sale.open()
    sale.buy(alice, 500_000_000)
    sale.close()
    sale.chain.send(sale.sale.functions.enterRefundMode(), accounts.outsider.address)
    _refund(sale, alice)
    assert sale.payment_balance(alice) == 500_000_000
    assert sale.held() == 0


def _reentrant_investor(sale, accounts):
    investor = sale.chain.deploy("ReentrantInvestor", sale.sale.address, sender=accounts.outsider.address)
    sale.allowlist(investor.address)
    return investor


def test_a_refund_cannot_be_reentered(sale, accounts, reverts):
    investor = _reentrant_investor(sale, accounts)
    sale.open()
    sale.chain.send(investor.functions.buy(), accounts.outsider.address, ETHER // 2)
    sale.close()
    sale.chain.send(sale.sale.functions.enterRefundMode(), accounts.outsider.address)
    sale.chain.send(investor.functions.setAttack(1), accounts.outsider.address)
    with reverts(sale.sale, "ReentrancyGuardReentrantCall"):
        sale.sale.functions.refund(investor.address).transact({"from": accounts.outsider.address})
    sale.chain.send(investor.functions.setAttack(0), accounts.outsider.address)
    _refund(sale, investor.address)
    assert sale.chain.balance(investor.address) == ETHER // 2
    assert sale.chain.balance(sale.sale.address) == 0


def test_a_claim_refund_cannot_be_reentered(deploy_sale, accounts, reverts):
    sale = deploy_sale(allocation=Allocation.PRO_RATA, hardCap=2 * ETHER)
    investor = _reentrant_investor(sale, accounts)
    sale.allowlist(accounts.investors[0].address)
    sale.open()
    sale.chain.send(investor.functions.buy(), accounts.outsider.address, 2 * ETHER)
    sale.buy(accounts.investors[0].address, 2 * ETHER)
    sale.close()
    sale.finalize()
    sale.chain.send(investor.functions.setAttack(2), accounts.outsider.address)
    with reverts(sale.sale, "ReentrancyGuardReentrantCall"):
        sale.sale.functions.claim(investor.address).transact({"from": accounts.outsider.address})
    sale.chain.send(investor.functions.setAttack(0), accounts.outsider.address)
    _claim(sale, investor.address)
    assert sale.chain.balance(investor.address) == ETHER  # half of its 2 ETH bought tokens
    assert sale.tokens(investor.address) == ETHER * TOKENS_PER_WEI


def test_exactly_the_soft_cap_is_a_success(sale, accounts, reverts):
    sale.open()
    sale.buy(accounts.investors[0].address, SOFT_CAP)
    sale.close()
    with reverts(sale.sale, "RefundModeUnavailable", SOFT_CAP, sale.end + FINALIZE_GRACE):
        sale.sale.functions.enterRefundMode().transact({"from": accounts.outsider.address})
    sale.finalize()
    assert sale.sale.functions.state().call() == SaleState.FINALIZED


def test_revoking_the_sales_minter_role_cannot_block_claims(sale, accounts):
    """A company that revokes the role after finalization still cannot strand its buyers' tokens (lock-up)."""
    alice = accounts.investors[0].address
    sale.open()
    sale.buy(alice, 2 * ETHER)
    sale.close()
    sale.finalize()
    sale.chain.send(sale.token.functions.revokeRole(MINTER_ROLE, sale.sale.address), accounts.company.address)
    assert not sale.token.functions.transferAllowed(alice).call()  # the lock-up is on
    _claim(sale, alice)
    assert sale.tokens(alice) == 2 * ETHER * TOKENS_PER_WEI


def test_stablecoin_sweep_empties_every_shard_vault(deploy_sale, accounts):
    sale = deploy_sale(stablecoin=True, allocation=Allocation.PRO_RATA, shardCount=4)
    wallets = [i.address for i in accounts.investors]
    sale.allowlist(*wallets)
    sale.open()
    for wallet in wallets:
        sale.buy(wallet, 1_000 * 10**6)
    sale.close()
    sale.finalize()
    _claim(sale, wallets[0])  # 1,000 USDC settled into the sale itself, 3,000 still in the vaults
    assert sale.payment_balance(sale.sale.address) == 1_000 * 10**6
    sale.chain.travel_to(sale.sale.functions.claimDeadline().call() + 1)
    receipt = sale.chain.send(sale.sale.functions.sweep(), accounts.outsider.address)
    assert sale.events(receipt, "Swept")[0]["payment"] == 4_000 * 10**6
    assert sale.payment_balance(accounts.treasury.address) == 4_000 * 10**6
    assert sale.held() == 0
    assert all(sale.payment_balance(sale.sale.functions.vaultOf(i).call()) == 0 for i in range(4))


def test_card_purchase_in_stablecoin_is_refunded_to_the_distributor(deploy_sale, accounts):
    """The distributor pays for the investor, who paid by card: the position is the investor's, but a refund
    goes back to the distributor, which refunds the card (tests/contracts/test_tranche_sale_card_refunds.py)."""
    sale = deploy_sale(stablecoin=True)
    alice, distributor = accounts.investors[0].address, accounts.distributor.address
    sale.allowlist(alice)
    sale.open()
    sale.buy_for(alice, 300 * 10**6)
    assert sale.payment_balance(distributor) == 0
    assert sale.sale.functions.contributionOf(alice).call() == 300 * 10**6
    sale.close()  # 300 USDC < the 1,000 USDC soft cap
    sale.chain.send(sale.sale.functions.enterRefundMode(), accounts.outsider.address)
    _refund(sale, alice)
    assert sale.payment_balance(distributor) == 300 * 10**6
    assert sale.payment_balance(alice) == 0
    assert sale.held() == 0


def test_the_company_may_finalize_too(sale, accounts):
    sale.open()
    sale.buy(accounts.investors[0].address, SOFT_CAP)
    sale.close()
    sale.chain.send(sale.sale.functions.finalize(), accounts.company.address)
    assert sale.sale.functions.state().call() == SaleState.FINALIZED
