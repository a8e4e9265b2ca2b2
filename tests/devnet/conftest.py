"""A devnet per test module, and web3 bound to it."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from web3 import Web3  # noqa: E402

from devnet.testing import node_process  # noqa: E402


@pytest.fixture(scope="module")
def node_url() -> Iterator[str]:
    with node_process() as url:
        yield url


@pytest.fixture(scope="module")
def w3(node_url: str) -> Web3:
    return Web3(Web3.HTTPProvider(node_url, request_kwargs={"timeout": 60}))
