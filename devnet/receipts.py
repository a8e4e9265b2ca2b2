"""Receipts as the block header commits to them (EIP-2718 encoding, logs bloom), from an execution's outcome.

py-evm builds a receipt object per transaction (`make_receipt`) and serializes it through pyrlp's sedes, and
eth-bloom hashes each log's address and topics in Python; together they were a third of committing a 1,000-
transaction block after the state root. These build the same bytes and the same bloom directly;
`tests/devnet/test_receipts.py` holds them to py-evm's for every transaction type.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from eth_hash.auto import keccak

from devnet.trie import encode

Log = tuple[bytes, Sequence[int], bytes]  # (address, topics as ints, data), as the EVM's computation gives them


def _add(bloom: int, item: bytes) -> int:
    digest = keccak(item)
    for i in (0, 2, 4):
        bloom |= 1 << (((digest[i] << 8) | digest[i + 1]) & 2047)
    return bloom


def logs_bloom(logs: Iterable[Log]) -> int:
    """The 2048-bit bloom of the logs' addresses and topics (the yellow paper's M3:2048)."""
    bloom = 0
    for address, topics, _data in logs:
        bloom = _add(bloom, bytes(address))
        for topic in topics:
            bloom = _add(bloom, topic.to_bytes(32, "big"))
    return bloom


def encode_receipt(*, type_id: int, success: bool, cumulative_gas_used: int, bloom: int, logs: Sequence[Log]) -> bytes:
    """The receipt's consensus encoding: the RLP list, behind the transaction's type byte for typed ones."""
    body = encode([
        b"\x01" if success else b"",
        cumulative_gas_used,
        bloom.to_bytes(256, "big"),
        [[bytes(address), [topic.to_bytes(32, "big") for topic in topics], bytes(data)]
         for address, topics, data in logs],
    ])
    return body if type_id == 0 else bytes((type_id,)) + body
