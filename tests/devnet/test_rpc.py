"""The devnet over JSON-RPC, driven by web3.py as an application would drive it."""

from __future__ import annotations

import pytest
from eth_abi import decode
from eth_utils import keccak
from web3 import Web3
from web3.exceptions import ContractCustomError, Web3RPCError

from contracts import load_artifact

ANVIL_FIRST_ACCOUNT = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"


def deploy_stablecoin(w3: Web3, owner: str):  # type: ignore[no-untyped-def]
    artifact = load_artifact("MockStablecoin")
    factory = w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
    receipt = w3.eth.wait_for_transaction_receipt(
        factory.constructor("Dollar", "USD").transact({"from": owner})
    )
    assert receipt.status == 1
    return w3.eth.contract(address=receipt.contractAddress, abi=artifact.abi)


def test_identity_and_dev_accounts(w3: Web3) -> None:
    assert w3.eth.chain_id == 31337
    assert w3.net.version == "31337"
    assert w3.eth.accounts[0] == ANVIL_FIRST_ACCOUNT
    assert len(w3.eth.accounts) == 10
    assert w3.eth.get_balance(w3.eth.accounts[9]) >= 9_999 * 10**18
    assert w3.client_version.startswith("tranche-devnet")


def test_transfer_is_automined_with_a_receipt(w3: Web3) -> None:
    sender, recipient = w3.eth.accounts[1], w3.eth.accounts[2]
    before = w3.eth.get_balance(recipient)
    start = w3.eth.block_number
    receipt = w3.eth.wait_for_transaction_receipt(
        w3.eth.send_transaction({"from": sender, "to": recipient, "value": 12345})
    )
    assert receipt.status == 1
    assert receipt.gasUsed == 21000
    assert receipt.blockNumber == start + 1
    assert w3.eth.get_balance(recipient) == before + 12345
    assert w3.eth.get_balance(recipient, block_identifier=start) == before
    block = w3.eth.get_block(receipt.blockNumber, full_transactions=True)
    assert block.transactions[0]["hash"] == receipt.transactionHash
    assert w3.eth.get_block(block.hash).number == block.number


def test_deploy_call_transfer_and_logs(w3: Web3) -> None:
    owner, holder = w3.eth.accounts[0], w3.eth.accounts[3]
    token = deploy_stablecoin(w3, owner)
    assert token.functions.symbol().call() == "USD"
    w3.eth.wait_for_transaction_receipt(token.functions.mint(owner, 1_000).transact({"from": owner}))
    receipt = w3.eth.wait_for_transaction_receipt(
        token.functions.transfer(holder, 250).transact({"from": owner})
    )
    assert token.functions.balanceOf(holder).call() == 250
    (event,) = token.events.Transfer().process_receipt(receipt)
    assert event.args.value == 250
    logs = w3.eth.get_logs({"address": token.address, "fromBlock": 0, "toBlock": "latest"})
    assert [log["transactionHash"] for log in logs][-1] == receipt.transactionHash
    topic = "0x" + keccak(text="Transfer(address,address,uint256)").hex()
    assert all(log["topics"][0].to_0x_hex() == topic for log in logs)


def test_custom_error_revert_reaches_web3_with_its_data(w3: Web3) -> None:
    owner, holder = w3.eth.accounts[0], w3.eth.accounts[4]
    token = deploy_stablecoin(w3, owner)
    with pytest.raises(ContractCustomError) as raised:
        token.functions.transfer(owner, 1).call({"from": holder})
    selector = "0x" + keccak(text="ERC20InsufficientBalance(address,uint256,uint256)")[:4].hex()
    assert raised.value.data.startswith(selector)
    sender, balance, needed = decode(["address", "uint256", "uint256"], bytes.fromhex(raised.value.data[10:]))
    assert (sender.lower(), balance, needed) == (holder.lower(), 0, 1)
    with pytest.raises(ContractCustomError):
        token.functions.transfer(owner, 1).transact({"from": holder})  # estimateGas reverts the same way


def test_reverted_transaction_with_explicit_gas_is_mined_with_status_zero(w3: Web3) -> None:
    owner, holder = w3.eth.accounts[0], w3.eth.accounts[5]
    token = deploy_stablecoin(w3, owner)
    tx_hash = token.functions.transfer(owner, 1).transact({"from": holder, "gas": 100_000})
    receipt = w3.eth.wait_for_transaction_receipt(tx_hash)
    assert receipt.status == 0
    assert 21000 < receipt.gasUsed < 100_000


def test_time_travel_and_snapshots(w3: Web3) -> None:
    before = w3.eth.get_block("latest")
    snapshot = w3.provider.make_request("evm_snapshot", [])["result"]
    w3.provider.make_request("evm_increaseTime", [3600])
    w3.provider.make_request("evm_mine", [])
    later = w3.eth.get_block("latest")
    assert later.timestamp >= before.timestamp + 3600
    w3.provider.make_request("evm_setNextBlockTimestamp", [later.timestamp + 100])
    w3.provider.make_request("evm_mine", [])
    assert w3.eth.get_block("latest").timestamp == later.timestamp + 100
    assert w3.provider.make_request("evm_revert", [snapshot])["result"] is True
    assert w3.eth.get_block("latest").hash == before.hash


def test_rejected_transactions_are_json_rpc_errors(w3: Web3) -> None:
    poor = w3.eth.account.create()
    signed = poor.sign_transaction(
        {"to": poor.address, "value": 1, "gas": 21000, "gasPrice": 10**10, "nonce": 0, "chainId": 31337}
    )
    with pytest.raises(Web3RPCError, match="insufficient funds"):
        w3.eth.send_raw_transaction(signed.raw_transaction)
    response = w3.provider.make_request("no_such_method", [])
    assert response["error"]["code"] == -32601


def test_access_list_names_the_token_slots_a_transfer_touches(w3: Web3) -> None:
    owner, holder = w3.eth.accounts[0], w3.eth.accounts[6]
    token = deploy_stablecoin(w3, owner)
    w3.eth.wait_for_transaction_receipt(token.functions.mint(owner, 100).transact({"from": owner}))
    transaction = token.functions.transfer(holder, 1).build_transaction({"from": owner, "gas": 100_000})
    response = w3.provider.make_request(
        "eth_createAccessList", [{**transaction, "gas": hex(100_000)}, "latest"]
    )
    (entry,) = response["result"]["accessList"]
    assert entry["address"].lower() == token.address.lower()
    assert len(entry["storageKeys"]) == 2  # the two balances
    assert int(response["result"]["gasUsed"], 16) > 21_000


def test_calls_at_past_blocks_and_fee_history(w3: Web3) -> None:
    owner, holder = w3.eth.accounts[0], w3.eth.accounts[7]
    token = deploy_stablecoin(w3, owner)
    minted = w3.eth.wait_for_transaction_receipt(token.functions.mint(holder, 5).transact({"from": owner}))
    w3.eth.wait_for_transaction_receipt(token.functions.mint(holder, 6).transact({"from": owner}))
    assert token.functions.balanceOf(holder).call(block_identifier=minted.blockNumber - 1) == 0
    assert token.functions.balanceOf(holder).call(block_identifier=minted.blockNumber) == 5
    assert token.functions.balanceOf(holder).call() == 11
    history = w3.eth.fee_history(3, "latest", [50])
    assert len(history["baseFeePerGas"]) == 4
    assert history["oldestBlock"] == w3.eth.block_number - 2
    assert len(history["reward"]) == 3
