"""Logs of the blocks a reorg or an evm_revert drops come back `removed`, as geth reports them: to log
subscribers before the replacing blocks, and to log filters before the new logs. eth_getLogs reads only the
canonical chain."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from web3 import Web3
from websockets.sync.client import ClientConnection, connect

from tests.devnet.test_node import deploy_stablecoin


def call(w3: Web3, method: str, params: list[Any]) -> Any:
    reply = w3.provider.make_request(method, params)  # type: ignore[arg-type]
    assert "error" not in reply, reply
    return reply["result"]


def mint(w3: Web3, token: Any, amount: int) -> str:
    """Send a mint of `amount` to the third account (mined at once under automine); its hash."""
    tx_hash = token.functions.mint(w3.eth.accounts[2], amount).transact({"from": w3.eth.accounts[0]})
    return str(tx_hash.to_0x_hex())


@contextmanager
def subscribed(node_url: str, address: str) -> Iterator[tuple[ClientConnection, str, str]]:
    """A WebSocket with a newHeads subscription, then a logs subscription for `address`."""
    with connect(node_url.replace("http://", "ws://"), open_timeout=10) as ws:
        ids = []
        for number, params in enumerate([["newHeads"], ["logs", {"address": address}]]):
            ws.send(json.dumps({"jsonrpc": "2.0", "id": number, "method": "eth_subscribe", "params": params}))
            ids.append(json.loads(ws.recv(timeout=10))["result"])
        yield ws, ids[0], ids[1]


def notifications_until(ws: ClientConnection, logs: str, tx_hash: str) -> list[tuple[str, dict[str, Any]]]:
    """(subscription, result) of every notification up to the log of `tx_hash` that is not removed."""
    received = []
    while True:
        params = json.loads(ws.recv(timeout=10))["params"]
        received.append((params["subscription"], params["result"]))
        result = params["result"]
        if params["subscription"] == logs and result["transactionHash"] == tx_hash and not result["removed"]:
            return received


def summary(notes: list[tuple[str, dict[str, Any]]], heads: str) -> list[tuple[str, ...]]:
    return [
        ("head", result["hash"])
        if subscription == heads
        else ("log", result["transactionHash"], "removed" if result["removed"] else "added")
        for subscription, result in notes
    ]


def test_log_subscribers_hear_the_removed_logs_before_the_replacing_blocks(node_url: str, w3: Web3) -> None:
    token = deploy_stablecoin(w3)
    with subscribed(node_url, token.address) as (ws, heads, logs):
        kept, excluded = mint(w3, token, 10), mint(w3, token, 100)
        originals = [result for sub, result in notifications_until(ws, logs, excluded) if sub == logs]
        reorg = call(w3, "devnet_reorg", [2, {"exclude": [excluded]}])
        sentinel = mint(w3, token, 1)
        notes = notifications_until(ws, logs, sentinel)

    sentinel_block = w3.eth.get_transaction_receipt(sentinel).blockHash.to_0x_hex()
    # Oldest dropped block first; newHeads hears only the new heads; the excluded mint never comes back.
    assert summary(notes, heads) == [
        ("log", kept, "removed"),
        ("log", excluded, "removed"),
        ("head", reorg["newBlocks"][0]),
        ("log", kept, "added"),
        ("head", reorg["newBlocks"][1]),
        ("head", sentinel_block),
        ("log", sentinel, "added"),
    ]
    assert [original["transactionHash"] for original in originals] == [kept, excluded]
    assert [notes[0][1], notes[1][1]] == [{**original, "removed": True} for original in originals]
    assert originals[0]["blockHash"] in reorg["droppedBlocks"]
    assert notes[3][1]["blockHash"] == reorg["newBlocks"][0] != originals[0]["blockHash"]


def test_a_log_filter_retracts_the_replaced_logs_then_reports_the_new_ones(w3: Web3) -> None:
    token = deploy_stablecoin(w3)
    criteria = {"address": token.address, "fromBlock": hex(w3.eth.block_number + 1)}
    filter_id = call(w3, "eth_newFilter", [criteria])
    settled = mint(w3, token, 1)
    call(w3, "evm_setAutomine", [False])
    kept, excluded = mint(w3, token, 10), mint(w3, token, 100)  # two logs of one block
    call(w3, "evm_mine", [])
    call(w3, "evm_setAutomine", [True])
    reported = call(w3, "eth_getFilterChanges", [filter_id])
    assert [(log["transactionHash"], log["logIndex"]) for log in reported] == [
        (settled, "0x0"),
        (kept, "0x0"),
        (excluded, "0x1"),
    ]

    reorg = call(w3, "devnet_reorg", [1, {"exclude": [excluded]}])
    changes = call(w3, "eth_getFilterChanges", [filter_id])

    # The settled block was not replaced: it is not retracted.
    assert changes[:2] == [{**log, "removed": True} for log in reported[1:]]
    assert [(log["transactionHash"], log["blockHash"], log["removed"]) for log in changes[2:]] == [
        (kept, reorg["newBlocks"][0], False)
    ]
    assert call(w3, "eth_getFilterChanges", [filter_id]) == []
    canonical = [(settled, reported[0]["blockHash"], False), (kept, reorg["newBlocks"][0], False)]
    for logs in (call(w3, "eth_getLogs", [criteria]), call(w3, "eth_getFilterLogs", [filter_id])):
        assert [(log["transactionHash"], log["blockHash"], log["removed"]) for log in logs] == canonical


def test_evm_revert_reports_the_dropped_logs_as_removed(node_url: str, w3: Web3) -> None:
    token = deploy_stablecoin(w3)
    criteria = {"address": token.address, "fromBlock": hex(w3.eth.block_number + 1)}
    filter_id = call(w3, "eth_newFilter", [criteria])
    with subscribed(node_url, token.address) as (ws, heads, logs):
        snapshot = call(w3, "evm_snapshot", [])
        reverted = mint(w3, token, 5)
        reported = call(w3, "eth_getFilterChanges", [filter_id])
        assert call(w3, "evm_revert", [snapshot]) is True
        assert call(w3, "eth_getFilterChanges", [filter_id]) == [{**reported[0], "removed": True}]
        assert call(w3, "eth_getFilterChanges", [filter_id]) == []
        sentinel = mint(w3, token, 6)
        notes = notifications_until(ws, logs, sentinel)

    sentinel_log = call(w3, "eth_getFilterChanges", [filter_id])
    assert [(log["transactionHash"], log["removed"]) for log in sentinel_log] == [(sentinel, False)]
    assert sentinel_log[0]["blockNumber"] == reported[0]["blockNumber"]  # the same height, a new block
    assert summary(notes, heads) == [
        ("head", reported[0]["blockHash"]),
        ("log", reverted, "added"),
        ("log", reverted, "removed"),
        ("head", sentinel_log[0]["blockHash"]),
        ("log", sentinel, "added"),
    ]
    assert notes[2][1] == {**notes[1][1], "removed": True} == {**reported[0], "removed": True}
    assert call(w3, "eth_getLogs", [criteria]) == sentinel_log
