"""TrancheToken: supply cap, roles (admin, minter, capped distributor), lock-up transfer rule, permits."""

import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils import keccak
from web3.logs import DISCARD

CAP = 1_000_000 * 10**18
LOCKUP = 10_000  # seconds after deployment

MINTER_ROLE = keccak(text="MINTER_ROLE")
DISTRIBUTOR_ROLE = keccak(text="DISTRIBUTOR_ROLE")
LOCKUP_EXEMPT_ROLE = keccak(text="LOCKUP_EXEMPT_ROLE")
DEFAULT_ADMIN_ROLE = bytes(32)


@pytest.fixture
def token(chain, accounts):
    lockup_end = chain.now() + LOCKUP
    token = chain.deploy(
        "TrancheToken",
        "Acme Token",
        "ACME",
        CAP,
        accounts.company.address,
        lockup_end,
        sender=accounts.platform.address,
    )
    # The company grants the platform its narrow roles; the platform holds nothing else.
    chain.send(token.functions.grantRole(MINTER_ROLE, accounts.platform.address), accounts.company.address)
    chain.send(
        token.functions.grantRole(DISTRIBUTOR_ROLE, accounts.distributor.address), accounts.company.address
    )
    return token


def test_metadata_and_admin_is_the_company(token, accounts):
    assert token.functions.name().call() == "Acme Token"
    assert token.functions.symbol().call() == "ACME"
    assert token.functions.decimals().call() == 18
    assert token.functions.cap().call() == CAP
    assert token.functions.hasRole(DEFAULT_ADMIN_ROLE, accounts.company.address).call()
    assert not token.functions.hasRole(DEFAULT_ADMIN_ROLE, accounts.platform.address).call()


def test_platform_cannot_grant_itself_roles(token, accounts, reverts):
    with reverts(token, "AccessControlUnauthorizedAccount", accounts.platform.address, DEFAULT_ADMIN_ROLE):
        token.functions.grantRole(DISTRIBUTOR_ROLE, accounts.platform.address).transact(
            {"from": accounts.platform.address}
        )


def test_zero_admin_is_refused(chain, accounts, reverts):
    from contracts import load_artifact

    factory = chain.w3.eth.contract(
        abi=load_artifact("TrancheToken").abi, bytecode=load_artifact("TrancheToken").bytecode
    )
    with reverts(factory, "ZeroAdmin"):
        factory.constructor("A", "A", CAP, "0x" + "00" * 20, 0).transact({"from": accounts.platform.address})


def test_minter_mints_up_to_the_cap_and_not_one_more(chain, token, accounts, reverts):
    investor = accounts.investors[0].address
    chain.send(token.functions.mint(investor, CAP - 1), accounts.platform.address)
    chain.send(token.functions.mint(investor, 1), accounts.platform.address)
    assert token.functions.totalSupply().call() == CAP
    with reverts(token, "ERC20ExceededCap", CAP + 1, CAP):
        token.functions.mint(investor, 1).transact({"from": accounts.platform.address})


def test_only_minters_mint(token, accounts, reverts):
    with reverts(token, "AccessControlUnauthorizedAccount", accounts.outsider.address, MINTER_ROLE):
        token.functions.mint(accounts.outsider.address, 1).transact({"from": accounts.outsider.address})
    # The distributor role does not include the minter's unlimited mint.
    with reverts(token, "AccessControlUnauthorizedAccount", accounts.distributor.address, MINTER_ROLE):
        token.functions.mint(accounts.outsider.address, 1).transact({"from": accounts.distributor.address})


def test_distributor_minting_is_held_under_the_admins_ceiling(chain, token, accounts, reverts):
    investor = accounts.investors[1].address
    distributor = accounts.distributor.address
    with reverts(token, "DistributorCeilingExceeded", 1, 0):
        token.functions.distribute(investor, 1).transact({"from": distributor})

    receipt = chain.send(token.functions.setDistributorCeiling(1000), accounts.company.address)
    assert (
        token.events.DistributorCeilingUpdated().process_receipt(receipt, errors=DISCARD)[0]["args"][
            "newCeiling"
        ]
        == 1000
    )
    chain.send(token.functions.distribute(investor, 600), distributor)
    chain.send(token.functions.distribute(investor, 400), distributor)  # exactly at the ceiling
    assert token.functions.distributorMinted().call() == 1000
    assert token.functions.balanceOf(investor).call() == 1000
    with reverts(token, "DistributorCeilingExceeded", 1, 0):
        token.functions.distribute(investor, 1).transact({"from": distributor})


def test_ceiling_never_below_what_was_minted_and_only_admin_sets_it(chain, token, accounts, reverts):
    chain.send(token.functions.setDistributorCeiling(500), accounts.company.address)
    chain.send(token.functions.distribute(accounts.investors[0].address, 300), accounts.distributor.address)
    with reverts(token, "CeilingBelowMinted", 299, 300):
        token.functions.setDistributorCeiling(299).transact({"from": accounts.company.address})
    chain.send(token.functions.setDistributorCeiling(300), accounts.company.address)
    with reverts(token, "DistributorCeilingExceeded", 1, 0):
        token.functions.distribute(accounts.investors[0].address, 1).transact(
            {"from": accounts.distributor.address}
        )
    with reverts(token, "AccessControlUnauthorizedAccount", accounts.distributor.address, DEFAULT_ADMIN_ROLE):
        token.functions.setDistributorCeiling(10**30).transact({"from": accounts.distributor.address})


def test_distributor_respects_the_supply_cap_too(chain, token, accounts, reverts):
    chain.send(token.functions.setDistributorCeiling(CAP * 2), accounts.company.address)
    chain.send(token.functions.mint(accounts.investors[0].address, CAP), accounts.platform.address)
    with reverts(token, "ERC20ExceededCap", CAP + 1, CAP):
        token.functions.distribute(accounts.investors[1].address, 1).transact(
            {"from": accounts.distributor.address}
        )


def test_holders_cannot_transfer_during_lockup(chain, token, accounts, reverts):
    alice, bob = accounts.investors[0].address, accounts.investors[1].address
    chain.send(token.functions.mint(alice, 100), accounts.platform.address)
    lockup_end = token.functions.lockupEnd().call()
    with reverts(token, "TransferLocked", alice, lockup_end):
        token.functions.transfer(bob, 1).transact({"from": alice})
    chain.send(token.functions.approve(bob, 100), alice)
    with reverts(token, "TransferLocked", alice, lockup_end):
        token.functions.transferFrom(alice, bob, 1).transact({"from": bob})
    assert not token.functions.transferAllowed(alice).call()


def test_minter_and_exempt_accounts_transfer_during_lockup(chain, token, accounts):
    sale, vesting, alice = accounts.platform.address, accounts.treasury.address, accounts.investors[0].address
    chain.send(token.functions.mint(sale, 100), sale)
    chain.send(token.functions.transfer(alice, 40), sale)  # a sale (MINTER_ROLE) delivering tokens
    chain.send(token.functions.grantRole(LOCKUP_EXEMPT_ROLE, vesting), accounts.company.address)
    chain.send(token.functions.transfer(vesting, 60), sale)
    chain.send(token.functions.transfer(alice, 60), vesting)  # a vesting contract releasing
    assert token.functions.balanceOf(alice).call() == 100


def test_transfers_open_after_lockup_end(chain, token, accounts):
    alice, bob = accounts.investors[0].address, accounts.investors[1].address
    chain.send(token.functions.mint(alice, 100), accounts.platform.address)
    chain.travel_to(token.functions.lockupEnd().call())
    chain.send(token.functions.transfer(bob, 30), alice)
    assert token.functions.balanceOf(bob).call() == 30


def test_admin_may_end_the_lockup_earlier_but_never_later(chain, token, accounts, reverts):
    alice, bob = accounts.investors[0].address, accounts.investors[1].address
    chain.send(token.functions.mint(alice, 100), accounts.platform.address)
    current = token.functions.lockupEnd().call()
    with reverts(token, "LockupExtensionRefused", current, current + 1):
        token.functions.setLockupEnd(current + 1).transact({"from": accounts.company.address})
    with reverts(token, "AccessControlUnauthorizedAccount", accounts.platform.address, DEFAULT_ADMIN_ROLE):
        token.functions.setLockupEnd(0).transact({"from": accounts.platform.address})
    receipt = chain.send(token.functions.setLockupEnd(0), accounts.company.address)
    assert dict(token.events.LockupEndUpdated().process_receipt(receipt, errors=DISCARD)[0]["args"]) == {
        "previousEnd": current,
        "newEnd": 0,
    }
    chain.send(token.functions.transfer(bob, 1), alice)


def _permit_signature(token, owner, spender: str, value: int, deadline: int, chain_id: int):
    typed = {
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"},
                {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"},
                {"name": "verifyingContract", "type": "address"},
            ],
            "Permit": [
                {"name": "owner", "type": "address"},
                {"name": "spender", "type": "address"},
                {"name": "value", "type": "uint256"},
                {"name": "nonce", "type": "uint256"},
                {"name": "deadline", "type": "uint256"},
            ],
        },
        "primaryType": "Permit",
        "domain": {
            "name": "Acme Token",
            "version": "1",
            "chainId": chain_id,
            "verifyingContract": token.address,
        },
        "message": {
            "owner": owner.address,
            "spender": spender,
            "value": value,
            "nonce": token.functions.nonces(owner.address).call(),
            "deadline": deadline,
        },
    }
    return Account.sign_message(encode_typed_data(full_message=typed), owner.key)


def test_permit_sets_an_allowance_from_a_signature(chain, token, accounts, reverts):
    owner, spender = accounts.investors[0], accounts.investors[1].address
    deadline = chain.now() + 3600
    signed = _permit_signature(token, owner, spender, 500, deadline, chain.w3.eth.chain_id)
    # Anyone may submit the permit; here the spender pays the gas.
    chain.send(
        token.functions.permit(
            owner.address,
            spender,
            500,
            deadline,
            signed.v,
            signed.r.to_bytes(32, "big"),
            signed.s.to_bytes(32, "big"),
        ),
        spender,
    )
    assert token.functions.allowance(owner.address, spender).call() == 500
    assert token.functions.nonces(owner.address).call() == 1


def test_permit_refuses_expired_and_foreign_signatures(chain, token, accounts, reverts):
    owner, spender = accounts.investors[0], accounts.investors[1].address
    chain_id = chain.w3.eth.chain_id
    expired = chain.now() - 1
    signed = _permit_signature(token, owner, spender, 500, expired, chain_id)
    r, s = signed.r.to_bytes(32, "big"), signed.s.to_bytes(32, "big")
    with reverts(token, "ERC2612ExpiredSignature", expired):
        token.functions.permit(owner.address, spender, 500, expired, signed.v, r, s).transact(
            {"from": spender}
        )

    deadline = chain.now() + 3600
    forged = _permit_signature(token, accounts.outsider, spender, 500, deadline, chain_id)
    with reverts(token, "ERC2612InvalidSigner"):
        token.functions.permit(
            owner.address,
            spender,
            500,
            deadline,
            forged.v,
            forged.r.to_bytes(32, "big"),
            forged.s.to_bytes(32, "big"),
        ).transact({"from": spender})
