"""The devnet's own reading of a raw transaction (hash from the wire bytes, sender from the signing hash with
coincurve) against py-evm's, for every transaction type it reads and for signatures py-evm refuses."""

from __future__ import annotations

from typing import Any

import pytest
import rlp
from eth_account import Account
from eth_utils import to_checksum_address
from hypothesis import given, settings
from hypothesis import strategies as st

from devnet.execution import SECP256K1_N, decode_pending, decode_transaction, signing_hash_and_signature

keys = st.integers(min_value=1, max_value=SECP256K1_N - 1).map(lambda k: k.to_bytes(32, "big"))
amounts = st.integers(min_value=0, max_value=2**96)
recipients = st.one_of(st.just(""), st.binary(min_size=20, max_size=20).map(to_checksum_address))
access_lists = st.lists(st.fixed_dictionaries({
    "address": st.binary(min_size=20, max_size=20).map(to_checksum_address),
    "storageKeys": st.lists(st.binary(min_size=32, max_size=32).map(lambda b: "0x" + b.hex()), max_size=2)}),
    max_size=2)


@st.composite
def transactions(draw: Any) -> dict[str, Any]:
    kind = draw(st.sampled_from(["pre155", "legacy", "2930", "1559"]))
    fields: dict[str, Any] = {"nonce": draw(st.integers(0, 2**32)), "gas": draw(st.integers(21_000, 10**7)),
                              "value": draw(amounts), "data": draw(st.binary(max_size=80)),
                              "to": draw(recipients)}
    if kind != "pre155":
        fields["chainId"] = draw(st.sampled_from([1, 31337, 2**40]))
    if kind in ("pre155", "legacy", "2930"):
        fields["gasPrice"] = draw(amounts)
    if kind == "2930":
        fields["accessList"], fields["type"] = draw(access_lists), 1
    if kind == "1559":
        fields.update(maxFeePerGas=draw(amounts), maxPriorityFeePerGas=draw(amounts), accessList=draw(access_lists),
                      type=2)
    if not fields["to"]:
        del fields["to"]
    return fields


@settings(max_examples=200, derandomize=True, deadline=None)
@given(transactions(), keys)
def test_the_hash_and_sender_are_py_evms(fields: dict[str, Any], key: bytes) -> None:
    raw = bytes(Account.sign_transaction(fields, key).raw_transaction)
    assert signing_hash_and_signature(raw) is not None
    transaction, tx_hash, sender = decode_pending(raw)
    reference = decode_transaction(raw)
    assert tx_hash == bytes(reference.hash)
    assert sender == bytes(reference.sender) == bytes.fromhex(Account.from_key(key).address[2:])
    assert bytes(transaction.sender) == sender


def _resigned(raw: bytes, **change: int) -> bytes:
    """The legacy transaction `raw` with its v, r or s replaced."""
    fields = rlp.decode(raw)
    for name, index in (("v", 6), ("r", 7), ("s", 8)):
        if name in change:
            fields[index] = change[name].to_bytes((change[name].bit_length() + 7) // 8, "big")
    return rlp.encode(fields)


@pytest.mark.parametrize("change", [{"s": SECP256K1_N - 5}, {"r": 0}, {"r": SECP256K1_N}, {"v": 30}])
def test_a_signature_py_evm_refuses_is_left_to_py_evm(change: dict[str, int]) -> None:
    raw = _resigned(bytes(Account.sign_transaction(
        {"nonce": 0, "gas": 21_000, "gasPrice": 1, "value": 1, "to": to_checksum_address("0x" + "11" * 20),
         "chainId": 31337},
        b"\x01" * 32).raw_transaction), **change)
    assert signing_hash_and_signature(raw) is None
    try:
        expected: Any = bytes(decode_transaction(raw).sender)
    except Exception as error:  # noqa: BLE001 - whatever py-evm raises, the devnet must raise too
        expected = type(error)
    try:
        got: Any = decode_pending(raw)[2]
    except Exception as error:  # noqa: BLE001
        got = type(error)
    assert got == expected
