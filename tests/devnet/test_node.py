"""Node behaviour an indexer and a test suite rely on: subscriptions, filters, reorgs, persistence, metrics."""

from __future__ import annotations

import json
import time
import urllib.request
from pathlib import Path

import pytest
from web3 import Web3
from web3.exceptions import TransactionNotFound
from websockets.sync.client import connect

from contracts import load_artifact
from devnet.testing import node_process, rpc


def deploy_stablecoin(w3: Web3):  # type: ignore[no-untyped-def]
    artifact = load_artifact("MockStablecoin")
    factory = w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
    receipt = w3.eth.wait_for_transaction_receipt(
        factory.constructor("Dollar", "USD").transact({"from": w3.eth.accounts[0]})
    )
    return w3.eth.contract(address=receipt.contractAddress, abi=artifact.abi)


def test_websocket_subscriptions_deliver_heads_and_logs(node_url: str, w3: Web3) -> None:
    token = deploy_stablecoin(w3)
    with connect(node_url.replace("http://", "ws://"), open_timeout=10) as ws:
        ws.send(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_subscribe", "params": ["newHeads"]}))
        heads = json.loads(ws.recv(timeout=10))["result"]
        ws.send(
            json.dumps(
                {
                    "jsonrpc": "2.0",
                    "id": 2,
                    "method": "eth_subscribe",
                    "params": ["logs", {"address": token.address}],
                }
            )
        )
        logs = json.loads(ws.recv(timeout=10))["result"]
        receipt = w3.eth.wait_for_transaction_receipt(
            token.functions.mint(w3.eth.accounts[1], 7).transact({"from": w3.eth.accounts[0]})
        )
        received = {}
        while len(received) < 2:
            note = json.loads(ws.recv(timeout=10))
            received[note["params"]["subscription"]] = note["params"]["result"]
    assert int(received[heads]["number"], 16) == receipt.blockNumber
    assert received[logs]["transactionHash"] == receipt.transactionHash.to_0x_hex()
    assert int(received[logs]["data"], 16) == 7


def test_filters_report_new_blocks_and_matching_logs_once(w3: Web3) -> None:
    token = deploy_stablecoin(w3)
    block_filter = w3.eth.filter("latest")
    log_filter = token.events.Transfer.create_filter(from_block="latest")
    owner, holder = w3.eth.accounts[0], w3.eth.accounts[2]
    first = w3.eth.wait_for_transaction_receipt(token.functions.mint(holder, 1).transact({"from": owner}))
    second = w3.eth.wait_for_transaction_receipt(token.functions.mint(holder, 2).transact({"from": owner}))
    assert block_filter.get_new_entries() == [first.blockHash, second.blockHash]
    assert [event.args.value for event in log_filter.get_new_entries()] == [1, 2]
    assert log_filter.get_new_entries() == []
    assert w3.eth.uninstall_filter(block_filter.filter_id)


def test_reorg_replaces_blocks_and_can_drop_a_transaction(w3: Web3) -> None:
    token = deploy_stablecoin(w3)
    owner, holder = w3.eth.accounts[0], w3.eth.accounts[3]
    kept = w3.eth.wait_for_transaction_receipt(token.functions.mint(holder, 10).transact({"from": owner}))
    dropped = w3.eth.wait_for_transaction_receipt(token.functions.mint(holder, 100).transact({"from": owner}))
    w3.provider.make_request("evm_mine", [])
    head = w3.eth.block_number
    block_filter = w3.eth.filter("latest")
    result = w3.provider.make_request(
        "devnet_reorg", [3, {"exclude": [dropped.transactionHash.to_0x_hex()], "blocks": 4}]
    )
    assert "error" not in result, result
    assert kept.blockHash.to_0x_hex() in result["result"]["droppedBlocks"]
    assert w3.eth.block_number == head + 1
    # The poller sees every replaced height again, with its new hash, then the one added.
    new_hashes = [w3.eth.get_block(n).hash for n in range(head - 2, head + 2)]
    assert block_filter.get_new_entries() == new_hashes
    assert w3.eth.get_block(kept.blockNumber).hash != kept.blockHash
    assert w3.eth.get_transaction_receipt(kept.transactionHash).blockHash != kept.blockHash
    assert token.functions.balanceOf(holder).call() == 10  # the excluded mint is gone
    with pytest.raises(TransactionNotFound):
        w3.eth.get_transaction_receipt(dropped.transactionHash)


def test_state_survives_a_restart_and_dumps_reload(tmp_path: Path) -> None:
    data_dir, dump = tmp_path / "chain", tmp_path / "state.json"
    with node_process(extra_args=["--data-dir", str(data_dir), "--dump-state", str(dump)]) as url:
        w3 = Web3(Web3.HTTPProvider(url))
        token = deploy_stablecoin(w3)
        w3.eth.wait_for_transaction_receipt(
            token.functions.mint(w3.eth.accounts[4], 42).transact({"from": w3.eth.accounts[0]})
        )
        head = w3.eth.get_block("latest")
    with node_process(extra_args=["--data-dir", str(data_dir)]) as url:
        w3 = Web3(Web3.HTTPProvider(url))
        assert w3.eth.get_block("latest").hash == head.hash
        assert (
            w3.eth.contract(address=token.address, abi=token.abi)
            .functions.balanceOf(w3.eth.accounts[4])
            .call()
            == 42
        )
        w3.eth.send_transaction({"from": w3.eth.accounts[0], "to": w3.eth.accounts[1], "value": 1})
        assert w3.eth.block_number == head.number + 1
    with node_process(extra_args=["--load-state", str(dump)]) as url:
        w3 = Web3(Web3.HTTPProvider(url))
        assert w3.eth.block_number == 0
        assert (
            w3.eth.contract(address=token.address, abi=token.abi)
            .functions.balanceOf(w3.eth.accounts[4])
            .call()
            == 42
        )


def test_interval_blocks_are_made_on_the_second_of_their_timestamp() -> None:
    """With whole-second block times the miner ticks on the wall clock's seconds: a block appears within a moment
    of the second its timestamp names (a drifting timer would let it appear up to a block time later)."""
    with node_process(block_time=1) as url:
        w3 = Web3(Web3.HTTPProvider(url))
        lateness: list[float] = []
        number = w3.eth.block_number
        deadline = time.monotonic() + 10
        while len(lateness) < 3 and time.monotonic() < deadline:
            latest = w3.eth.block_number
            if latest > number:
                lateness.append(time.time() - w3.eth.get_block(latest).timestamp)
                number = latest
            time.sleep(0.02)
        assert len(lateness) == 3
        assert all(0 <= late < 0.5 for late in lateness), lateness


def test_interval_mining_and_metrics_with_a_parallel_scheduler() -> None:
    with node_process(scheduler="block-stm", workers=2, block_time=1.5) as url:
        w3 = Web3(Web3.HTTPProvider(url))
        hashes = [
            w3.eth.send_transaction({"from": sender, "to": w3.eth.accounts[9], "value": 1})
            for sender in w3.eth.accounts[:8]
        ]
        receipts = [w3.eth.wait_for_transaction_receipt(h, timeout=20) for h in hashes]
        assert len({r.blockNumber for r in receipts}) < len(receipts)  # mined together, not one block each
        deadline = time.monotonic() + 5
        while w3.eth.block_number <= receipts[-1].blockNumber and time.monotonic() < deadline:
            time.sleep(0.1)
        with urllib.request.urlopen(url + "/metrics", timeout=10) as response:  # noqa: S310 - local node
            text = response.read().decode()
        assert "devnet_transactions_total 8" in text
        assert 'devnet_phase_seconds_total{phase="state_root"}' in text
        assert rpc(url, "eth_chainId") == "0x7a69"
