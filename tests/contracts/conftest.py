"""A chain node per test session, dev accounts, deployment helpers and custom-error assertions.

The node is chosen by TRANCHE_TEST_CHAIN: `devnet` (the project's py-evm node, the default) or `anvil`.
Every test runs between evm_snapshot and evm_revert, so tests never see each other's state.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:  # `contracts` is a top-level package of the repository
    sys.path.insert(0, str(REPO_ROOT))

from eth_abi import decode  # noqa: E402
from eth_account import Account  # noqa: E402
from eth_account.signers.local import LocalAccount  # noqa: E402
from eth_utils import keccak, to_checksum_address  # noqa: E402
from web3 import Web3  # noqa: E402
from web3.contract import Contract  # noqa: E402
from web3.exceptions import ContractCustomError  # noqa: E402

from contracts import load_artifact  # noqa: E402

MNEMONIC = "test test test test test test test test test test test junk"
CHAIN_ID = 31337
DEFAULT_CHAIN = "anvil"  # switch to "devnet" once devnet/testing.py serves these tests


# ---------------------------------------------------------------------------------------------- the node


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def _own_anvil() -> Iterator[str]:
    """Fallback while devnet/testing.py is not there: anvil with its default mnemonic and accounts."""
    port = _free_port()
    process = subprocess.Popen(  # noqa: S603 - fixed binary from node_modules
        [
            str(REPO_ROOT / "node_modules/.bin/anvil"),
            "--port",
            str(port),
            "--silent",
            "--chain-id",
            str(CHAIN_ID),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(Exception):
                if Web3(Web3.HTTPProvider(url)).is_connected():
                    break
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("anvil did not start")
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def _node(kind: str) -> contextlib.AbstractContextManager[str]:
    try:
        from devnet import testing
    except ImportError:
        testing = None
    if kind == "anvil":
        if testing is not None and hasattr(testing, "anvil_process"):
            return testing.anvil_process()  # type: ignore[no-any-return]
        return _own_anvil()
    if kind == "devnet":
        if testing is None or not hasattr(testing, "node_process"):
            pytest.exit("TRANCHE_TEST_CHAIN=devnet but devnet/testing.py has no node_process()", returncode=4)
        return testing.node_process()  # type: ignore[no-any-return]
    raise pytest.UsageError(f"TRANCHE_TEST_CHAIN must be devnet or anvil, not {kind!r}")


@pytest.fixture(scope="session")
def chain_url() -> Iterator[str]:
    with _node(os.environ.get("TRANCHE_TEST_CHAIN") or DEFAULT_CHAIN) as url:
        yield url


@pytest.fixture(scope="session")
def w3(chain_url: str) -> Web3:
    web3 = Web3(Web3.HTTPProvider(chain_url, request_kwargs={"timeout": 60}))
    assert web3.eth.chain_id == CHAIN_ID
    return web3


# ---------------------------------------------------------------------------------------------- accounts


def dev_account(index: int) -> LocalAccount:
    Account.enable_unaudited_hdwallet_features()
    return Account.from_mnemonic(MNEMONIC, account_path=f"m/44'/60'/0'/0/{index}")


@dataclass(frozen=True)
class Accounts:
    """The ten funded dev accounts, by the part they play in the tests."""

    platform: LocalAccount  # deploys, holds the sale's OPERATOR_ROLE
    company: LocalAccount  # the token's admin and the sale's admin
    treasury: LocalAccount
    distributor: LocalAccount
    signer: LocalAccount  # signs purchase vouchers
    investors: tuple[LocalAccount, ...]  # five of them
    outsider: LocalAccount  # holds no role and is never eligible


@pytest.fixture(scope="session")
def accounts(w3: Web3) -> Accounts:
    derived = [dev_account(i) for i in range(10)]
    assert [a.address for a in derived] == list(w3.eth.accounts)[:10]
    return Accounts(
        platform=derived[0],
        company=derived[1],
        treasury=derived[2],
        distributor=derived[3],
        signer=derived[4],
        investors=tuple(derived[5:9]),
        outsider=derived[9],
    )


# ---------------------------------------------------------------------------------------------- the chain


class Chain:
    """Deployment, time travel and revert assertions against the session's node."""

    def __init__(self, w3: Web3) -> None:
        self.w3 = w3

    def deploy(self, name: str, *args: Any, sender: str) -> Contract:
        artifact = load_artifact(name)
        factory = self.w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
        tx_hash = factory.constructor(*args).transact({"from": sender})
        receipt = self.w3.eth.wait_for_transaction_receipt(tx_hash)
        assert receipt["status"] == 1, f"deploying {name} failed"
        return self.w3.eth.contract(address=receipt["contractAddress"], abi=artifact.abi)

    def send(self, function: Any, sender: str, value: int = 0) -> Any:
        """Send a contract call as a transaction; returns the receipt (asserting success)."""
        tx_hash = function.transact({"from": sender, "value": value})
        receipt = self.w3.eth.wait_for_transaction_receipt(tx_hash)
        assert receipt["status"] == 1
        return receipt

    def now(self) -> int:
        timestamp: int = self.w3.eth.get_block("latest")["timestamp"]
        return timestamp

    def travel_to(self, timestamp: int) -> None:
        """Mine an empty block at `timestamp`; later blocks come after it."""
        self.w3.provider.make_request("evm_setNextBlockTimestamp", [timestamp])  # type: ignore[arg-type]
        self.w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]

    def balance(self, address: str) -> int:
        return self.w3.eth.get_balance(to_checksum_address(address))


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


# ---------------------------------------------------------------------------------------------- reverts


def error_selector(abi: list[dict[str, Any]], name: str) -> tuple[bytes, list[str]]:
    for entry in abi:
        if entry.get("type") == "error" and entry["name"] == name:
            types = [_abi_type(i) for i in entry["inputs"]]
            return keccak(text=f"{name}({','.join(types)})")[:4], types
    raise KeyError(f"no custom error {name} in the ABI")


def _abi_type(param: dict[str, Any]) -> str:
    if param["type"].startswith("tuple"):
        inner = ",".join(_abi_type(c) for c in param["components"])
        return f"({inner}){param['type'][len('tuple') :]}"
    return str(param["type"])


class Reverts:
    """`with reverts(contract, "HardCapExceeded", total, cap): ...` asserts that exact custom error."""

    def __call__(self, contract: Contract, name: str, *args: Any) -> contextlib.AbstractContextManager[None]:
        return self._expect(contract.abi, name, args)

    @contextlib.contextmanager
    def _expect(self, abi: list[dict[str, Any]], name: str, args: tuple[Any, ...]) -> Iterator[None]:
        selector, types = error_selector(abi, name)
        with pytest.raises(ContractCustomError) as caught:
            yield
        data = caught.value.data
        raw = bytes.fromhex(str(data).removeprefix("0x"))
        known = {
            error_selector(abi, entry["name"])[0]: entry["name"]
            for entry in abi
            if entry.get("type") == "error"
        }
        assert raw[:4] == selector, f"expected {name}, got {known.get(raw[:4], raw[:4].hex())}"
        if args:
            decoded = decode(types, raw[4:])
            expected = tuple(to_checksum_address(a) if _is_address(a) else a for a in args)
            actual = tuple(to_checksum_address(a) if _is_address(a) else a for a in decoded)
            assert actual == expected, f"{name} arguments {actual} != {expected}"


def _is_address(value: Any) -> bool:
    return isinstance(value, str) and value.startswith("0x") and len(value) == 42


@pytest.fixture(scope="session")
def reverts() -> Reverts:
    return Reverts()
