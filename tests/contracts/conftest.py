"""Fixtures of the contract tests: one chain node per session, chosen by TRANCHE_TEST_CHAIN (`devnet` or
`anvil`), dev accounts in named roles, deployers, and `reverts` for custom errors.

Every test that uses the chain runs between evm_snapshot and evm_revert, so tests never see each other's state.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator

import pytest
from web3 import Web3

from tests.contracts import support
from tests.contracts.support import Accounts, Chain, Reverts, SaleFactory


@pytest.fixture(scope="session")
def chain_url() -> Iterator[str]:
    with support.node(support.chain_kind()) as url:
        yield url


@pytest.fixture(scope="session")
def w3(chain_url: str) -> Web3:
    web3 = Web3(Web3.HTTPProvider(chain_url, request_kwargs={"timeout": 60}))
    assert web3.eth.chain_id == support.CHAIN_ID
    return web3


@pytest.fixture(scope="session")
def accounts(w3: Web3) -> Accounts:
    named = support.dev_accounts()
    assert [named.platform.address, named.company.address] == list(w3.eth.accounts)[:2]
    assert named.outsider.address == w3.eth.accounts[9]
    return named


@pytest.fixture(scope="session")
def chain(w3: Web3) -> Chain:
    return Chain(w3)


@pytest.fixture(autouse=True)
def _isolated_chain_state(request: pytest.FixtureRequest) -> Iterator[None]:
    """Run each chain test between evm_snapshot and evm_revert."""
    if "w3" not in request.fixturenames:
        yield
        return
    web3: Web3 = request.getfixturevalue("w3")
    snapshot = web3.provider.make_request("evm_snapshot", [])  # type: ignore[arg-type]
    yield
    reverted = web3.provider.make_request("evm_revert", [snapshot["result"]])  # type: ignore[arg-type]
    assert reverted.get("result") is True, reverted


@pytest.fixture(scope="session")
def reverts() -> Reverts:
    return Reverts()


@pytest.fixture
def deploy_sale(chain: Chain, accounts: Accounts) -> SaleFactory:
    """`deploy_sale(stablecoin=False, grant_minter=True, **config_overrides)` -> SaleUnderTest."""
    return functools.partial(support.deploy_sale, chain, accounts)
