"""The devnet's receipt encoding and logs bloom against py-evm's `make_receipt` for every transaction type, and a
raw transaction as its own consensus encoding (the transactions root is built from the raw bytes)."""

from __future__ import annotations

from typing import Any

from eth_account import Account
from eth_utils import to_checksum_address
from hypothesis import given, settings
from hypothesis import strategies as st

from devnet.execution import decode_transaction
from devnet.receipts import encode_receipt, logs_bloom

KEY = b"\x07" * 32
TO = to_checksum_address("0x" + "42" * 20)
SIGNED = {
    0: {"nonce": 1, "gas": 50_000, "gasPrice": 10, "value": 5, "to": TO, "chainId": 31337},
    1: {"nonce": 1, "gas": 50_000, "gasPrice": 10, "value": 5, "to": TO, "chainId": 31337, "type": 1,
        "accessList": [{"address": TO, "storageKeys": ["0x" + "00" * 31 + "01"]}]},
    2: {"nonce": 1, "gas": 50_000, "maxFeePerGas": 10, "maxPriorityFeePerGas": 1, "value": 5, "to": TO,
        "chainId": 31337, "type": 2, "accessList": []},
}
RAW = {type_id: bytes(Account.sign_transaction(fields, KEY).raw_transaction) for type_id, fields in SIGNED.items()}

logs = st.lists(st.tuples(st.binary(min_size=20, max_size=20),
                          st.lists(st.integers(min_value=0, max_value=2**256 - 1), max_size=4),
                          st.binary(max_size=100)), max_size=4)


@settings(max_examples=200, derandomize=True, deadline=None)
@given(st.sampled_from(sorted(RAW)), st.booleans(), st.integers(min_value=0, max_value=2**63), logs)
def test_receipts_and_blooms_are_py_evms(type_id: int, success: bool, cumulative: int, logs: list[Any]) -> None:
    transaction = decode_transaction(RAW[type_id])
    assert int(transaction.type_id or 0) == type_id
    logs = [(address, tuple(topics), data) for address, topics, data in logs]
    reference = transaction.make_receipt(b"\x01" if success else b"", cumulative, tuple(logs))
    bloom = logs_bloom(logs)
    assert bloom == int(reference.bloom)
    assert encode_receipt(type_id=type_id, success=success, cumulative_gas_used=cumulative, bloom=bloom,
                          logs=logs) == reference.encode()


def test_a_raw_transaction_is_its_own_consensus_encoding() -> None:
    for raw in RAW.values():
        assert decode_transaction(raw).encode() == raw
