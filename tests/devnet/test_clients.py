"""Clients nobody here wrote agree with the devnet: Foundry's `cast`, and anvil itself as a yardstick."""

from __future__ import annotations

import subprocess

import pytest
from web3 import Web3

from contracts import load_artifact
from devnet.accounts import DEFAULT_MNEMONIC, derive_accounts
from devnet.testing import CAST, anvil_process

ALICE, BOB = derive_accounts(DEFAULT_MNEMONIC, 2)
ALICE_KEY = "0x" + ALICE.key.key.hex()


def cast(url: str, *arguments: str) -> str:
    result = subprocess.run(  # noqa: S603 - the npm-installed cast binary
        [str(CAST), *arguments, "--rpc-url", url], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    assert not result.stderr.startswith("Error"), result.stderr
    return result.stdout.strip()


def test_cast_reads_the_chain(node_url: str, w3: Web3) -> None:
    assert cast(node_url, "chain-id") == "31337"
    assert int(cast(node_url, "block-number")) == w3.eth.block_number
    assert int(cast(node_url, "balance", BOB.key.address)) == w3.eth.get_balance(BOB.key.address)
    assert int(cast(node_url, "base-fee")) == w3.eth.get_block("latest").baseFeePerGas


@pytest.mark.parametrize("kind", ["--legacy", "eip-1559"])
def test_cast_sends_signed_transactions(node_url: str, w3: Web3, kind: str) -> None:
    before = w3.eth.get_balance(BOB.key.address)
    options = ["--legacy"] if kind == "--legacy" else []
    cast(node_url, "send", "--private-key", ALICE_KEY, BOB.key.address, "--value", "1ether", *options)
    assert w3.eth.get_balance(BOB.key.address) == before + 10**18
    latest = w3.eth.get_block("latest", full_transactions=True)
    assert latest.transactions[0]["type"] == (0 if options else 2)
    receipt = cast(node_url, "receipt", latest.transactions[0]["hash"].to_0x_hex(), "status")
    assert receipt in ("1", "true", "1 (success)")


def test_cast_calls_and_decodes_a_custom_error(node_url: str, w3: Web3) -> None:
    artifact = load_artifact("MockStablecoin")
    factory = w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
    receipt = w3.eth.wait_for_transaction_receipt(
        factory.constructor("Dollar", "USD").transact({"from": ALICE.key.address})
    )
    token = receipt.contractAddress
    assert cast(node_url, "call", token, "symbol()(string)") == '"USD"'
    result = subprocess.run(  # noqa: S603
        [
            str(CAST),
            "call",
            token,
            "transfer(address,uint256)",
            ALICE.key.address,
            "1",
            "--from",
            BOB.key.address,
            "--rpc-url",
            node_url,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert "execution reverted" in result.stderr
    assert "0xe450d38c" in result.stderr  # ERC20InsufficientBalance(address,uint256,uint256)


def test_anvil_and_the_devnet_agree_on_receipts(w3: Web3) -> None:
    """The same deployment and calls, signed the same way, give the same addresses, gas and logs on both."""
    artifact = load_artifact("MockStablecoin")

    def run(web3: Web3) -> list[tuple[object, ...]]:
        start = web3.eth.get_transaction_count(ALICE.key.address)
        factory = web3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
        signed = ALICE.key.sign_transaction(
            factory.constructor("Dollar", "USD").build_transaction(
                {
                    "from": ALICE.key.address,
                    "nonce": start,
                    "gas": 3_000_000,
                    "maxFeePerGas": 10**11,
                    "maxPriorityFeePerGas": 10**9,
                    "chainId": 31337,
                }
            )
        )
        deployed = web3.eth.wait_for_transaction_receipt(
            web3.eth.send_raw_transaction(signed.raw_transaction)
        )
        token = web3.eth.contract(address=deployed.contractAddress, abi=artifact.abi)
        results = [(deployed.status, deployed.gasUsed, deployed.contractAddress is not None)]
        for nonce, call in enumerate(
            [
                token.functions.mint(ALICE.key.address, 10**20),
                token.functions.transfer(BOB.key.address, 5),
                token.functions.transfer(BOB.key.address, 10**30),
            ],
            start=start + 1,
        ):
            tx = call.build_transaction(
                {
                    "from": ALICE.key.address,
                    "nonce": nonce,
                    "gas": 200_000,
                    "maxFeePerGas": 10**11,
                    "maxPriorityFeePerGas": 10**9,
                    "chainId": 31337,
                }
            )
            receipt = web3.eth.wait_for_transaction_receipt(
                web3.eth.send_raw_transaction(ALICE.key.sign_transaction(tx).raw_transaction)
            )
            logs = [(log["topics"], log["data"]) for log in receipt.logs]
            results.append((receipt.status, receipt.gasUsed, logs))
        return results

    with anvil_process() as anvil_url:
        anvil = Web3(Web3.HTTPProvider(anvil_url))
        # Start both from the same nonce so the contract lands at the same address.
        while anvil.eth.get_transaction_count(ALICE.key.address) < w3.eth.get_transaction_count(
            ALICE.key.address
        ):
            anvil.eth.send_transaction({"from": ALICE.key.address, "to": ALICE.key.address, "value": 0})
        assert run(anvil) == run(w3)
