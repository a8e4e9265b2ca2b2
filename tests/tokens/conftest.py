"""Fixtures of the token tests: one devnet per session, and `devnet`, which points the platform at it and runs the
test between evm_snapshot and evm_revert (the database is rolled back by pytest-django; the chain by this)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from web3 import Web3

from devnet.testing import node_process
from tokens.chain import client


@pytest.fixture(scope="session")
def devnet_url() -> Iterator[str]:
    with node_process(scheduler="sequential") as url:
        yield url


@pytest.fixture
def devnet(devnet_url: str, settings: Any) -> Iterator[Web3]:
    settings.CHAIN_RPC_URL = devnet_url
    settings.CHAIN_ID = 31337
    w3 = client.web3(devnet_url)
    snapshot = client.rpc("evm_snapshot", w3=w3)
    try:
        yield w3
    finally:
        assert client.rpc("evm_revert", [snapshot], w3=w3) is True
