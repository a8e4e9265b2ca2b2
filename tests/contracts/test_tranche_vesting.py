"""Team tokens vest through TrancheVesting (OpenZeppelin VestingWallet with a cliff), also during the lock-up."""

import pytest
from eth_utils import keccak
from web3.logs import DISCARD

from contracts import load_artifact

ALLOCATION = 1_200 * 10**18
DURATION = 1_200
CLIFF = 300
MINTER_ROLE = keccak(text="MINTER_ROLE")
LOCKUP_EXEMPT_ROLE = keccak(text="LOCKUP_EXEMPT_ROLE")


@pytest.fixture
def team(chain, accounts):
    company, member = accounts.company.address, accounts.investors[0].address
    now = chain.now()
    token = chain.deploy("TrancheToken", "Acme Token", "ACME", 10**27, company, now + 10**6, sender=company)
    start = now + 100
    vesting = chain.deploy("TrancheVesting", member, start, DURATION, CLIFF, sender=company)
    # The company (the token's admin) mints the team allocation into the vesting contract.
    chain.send(token.functions.grantRole(MINTER_ROLE, company), company)
    chain.send(token.functions.mint(vesting.address, ALLOCATION), company)
    return token, vesting, start


def _release(chain, vesting, token, sender):
    return chain.send(vesting.functions.release(token.address), sender)


def test_nothing_vests_before_the_cliff(chain, accounts, team):
    token, vesting, start = team
    chain.send(token.functions.grantRole(LOCKUP_EXEMPT_ROLE, vesting.address), accounts.company.address)
    chain.travel_to(start + CLIFF - 10)
    assert vesting.functions.releasable(token.address).call() == 0
    assert vesting.functions.vestedAmount(token.address, start + CLIFF - 1).call() == 0
    assert (
        vesting.functions.vestedAmount(token.address, start + CLIFF).call() == ALLOCATION * CLIFF // DURATION
    )


def test_vested_tokens_are_released_to_the_member_during_the_lockup(chain, accounts, team):
    token, vesting, start = team
    member = accounts.investors[0].address
    chain.send(token.functions.grantRole(LOCKUP_EXEMPT_ROLE, vesting.address), accounts.company.address)
    chain.travel_to(start + DURATION // 2)
    receipt = _release(chain, vesting, token, accounts.outsider.address)
    released_at = chain.w3.eth.get_block(receipt["blockNumber"])["timestamp"]
    expected = ALLOCATION * (released_at - start) // DURATION
    assert token.functions.balanceOf(member).call() == expected
    assert vesting.functions.released(token.address).call() == expected
    # The member still cannot pass the tokens on before the lock-up ends.
    assert not token.functions.transferAllowed(member).call()

    chain.travel_to(start + DURATION)
    _release(chain, vesting, token, accounts.outsider.address)
    assert token.functions.balanceOf(member).call() == ALLOCATION


def test_without_the_exemption_a_release_during_lockup_is_refused(chain, accounts, team, reverts):
    token, vesting, start = team
    chain.travel_to(start + DURATION)
    with reverts(token, "TransferLocked", vesting.address, token.functions.lockupEnd().call()):
        vesting.functions.release(token.address).transact({"from": accounts.outsider.address})


def test_a_cliff_longer_than_the_vesting_is_refused(chain, accounts, reverts):
    artifact = load_artifact("TrancheVesting")
    factory = chain.w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
    with reverts(factory, "InvalidCliffDuration", DURATION + 1, DURATION):
        factory.constructor(accounts.investors[0].address, chain.now(), DURATION, DURATION + 1).transact(
            {"from": accounts.company.address}
        )


def test_revoking_the_exemption_cannot_freeze_vesting(chain, accounts, team):
    token, vesting, start = team
    company = accounts.company.address
    receipt = chain.send(token.functions.grantRole(LOCKUP_EXEMPT_ROLE, vesting.address), company)
    assert (
        token.events.LockupExemptionGranted().process_receipt(receipt, errors=DISCARD)[0]["args"]["account"]
        == vesting.address
    )
    chain.send(token.functions.revokeRole(LOCKUP_EXEMPT_ROLE, vesting.address), company)
    chain.travel_to(start + DURATION)
    _release(chain, vesting, token, accounts.outsider.address)
    assert token.functions.balanceOf(accounts.investors[0].address).call() == ALLOCATION
