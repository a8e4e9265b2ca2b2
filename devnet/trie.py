"""Transaction and receipt roots: the Merkle Patricia root of a list, computed in one pass in memory.

py-evm's `make_trie_root_and_nodes` inserts items one by one into a `HexaryTrie`, decoding and re-encoding
nodes at every step (a third of a 1,000-transaction block's build time). A block's lists are built once and
never updated, so the whole trie is built bottom-up from the sorted keys instead (the `patricialize`
construction of the Ethereum execution specs); `tests/devnet/test_trie.py` checks it against py-evm.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import rlp
from eth.constants import BLANK_ROOT_HASH
from eth_hash.auto import keccak


def _nibbles(key: bytes) -> bytes:
    return bytes(nibble for byte in key for nibble in (byte >> 4, byte & 0x0F))


def _compact(nibbles: bytes, is_leaf: bool) -> bytes:
    flag = 2 if is_leaf else 0
    if len(nibbles) % 2 == 0:
        head = bytes([16 * flag])
        rest = nibbles
    else:
        head = bytes([16 * (flag + 1) + nibbles[0]])
        rest = nibbles[1:]
    return head + bytes(16 * rest[i] + rest[i + 1] for i in range(0, len(rest), 2))


def _reference(node: Any) -> Any:
    """How a parent refers to a node: inline if its encoding is shorter than 32 bytes, else by hash."""
    if node is None:
        return b""
    encoded = rlp.encode(node)
    return node if len(encoded) < 32 else keccak(encoded)


def _build(items: dict[bytes, bytes], level: int) -> Any:
    if not items:
        return None
    first = next(iter(items))
    if len(items) == 1:
        return [_compact(first[level:], True), items[first]]
    rest = first[level:]
    prefix = len(rest)
    for key in items:
        tail = key[level:]
        common = 0
        limit = min(prefix, len(tail))
        while common < limit and tail[common] == rest[common]:
            common += 1
        prefix = common
        if prefix == 0:
            break
    if prefix:
        return [_compact(rest[:prefix], False), _reference(_build(items, level + prefix))]
    branches: list[dict[bytes, bytes]] = [{} for _ in range(16)]
    value = b""
    for key, item in items.items():
        if len(key) == level:
            value = item
        else:
            branches[key[level]][key] = item
    return [_reference(_build(branch, level + 1)) for branch in branches] + [value]


def ordered_trie_root(items: Sequence[bytes]) -> bytes:
    """Root of the trie mapping rlp(index) to each item: a block's transactions root or receipts root."""
    if not items:
        return bytes(BLANK_ROOT_HASH)
    keyed = {_nibbles(rlp.encode(index)): item for index, item in enumerate(items)}
    return bytes(keccak(rlp.encode(_build(keyed, 0))))


def _copy(node: Any) -> Any:
    return [_copy(item) if isinstance(item, list) else item for item in node]


def cache_decoded_trie_nodes(size: int = 200_000) -> None:
    """Serve py-trie's node reads from a cache of decoded nodes (a node's hash fixes its content).

    `HexaryTrie.get_node` RLP-decodes every node it walks through; updating a thousand accounts walks the
    same upper nodes again and again. py-trie edits the nodes it gets in place, so each read is a copy.
    """
    from lru import LRU
    from trie.hexary import HexaryTrie

    if getattr(HexaryTrie, "_devnet_cached", False):
        return
    original = HexaryTrie.get_node
    decoded: LRU[bytes, Any] = LRU(size)

    def get_node(self: HexaryTrie, node_hash: bytes) -> Any:
        if len(node_hash) != 32:
            return original(self, node_hash)
        node = decoded.get(node_hash)
        if node is None:
            node = original(self, node_hash)
            if isinstance(node, list):
                decoded[node_hash] = _copy(node)
            return node
        return _copy(node)

    HexaryTrie.get_node = get_node  # type: ignore[method-assign]
    HexaryTrie._devnet_cached = True  # type: ignore[attr-defined]
