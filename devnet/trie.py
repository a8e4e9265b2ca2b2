"""Merkle Patricia tries: list roots built in one pass, and batch updates of the state and storage tries.

py-evm's `make_trie_root_and_nodes` inserts items one by one into a `HexaryTrie`, decoding and re-encoding
nodes at every step (a third of a 1,000-transaction block's build time). A block's lists are built once and
never updated, so the whole trie is built bottom-up from the sorted keys instead (the `patricialize`
construction of the Ethereum execution specs).

A block's state changes are applied the same way: `update_root` walks the existing trie once for all of a
block's changed keys, so an upper node that a thousand keys pass through is decoded, re-encoded and hashed
once rather than a thousand times (py-trie's `HexaryTrie.set` does it per key). Nodes are written to the
node store by hash, where py-evm's `AccountDB` reads them. `tests/devnet/test_trie.py` checks both against
py-trie, and the equivalence tests check every block's state root against stock py-evm.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import rlp
from eth.constants import BLANK_ROOT_HASH
from eth_hash.auto import keccak
from lru import LRU

# Hex digits to nibble values: a key's nibbles are its hex string translated (C speed, no Python loop per byte).
_HEX_TO_NIBBLE = bytes.maketrans(b"0123456789abcdef", bytes(range(16)))


def _nibbles(key: bytes) -> bytes:
    return key.hex().encode().translate(_HEX_TO_NIBBLE)


def encode(item: Any) -> bytes:
    """RLP of nested lists of bytes and non-negative ints: what trie nodes, account records and storage values
    are. The same bytes as `rlp.encode` (tests/devnet/test_trie.py checks), without its per-item serializer
    inference, which was the largest part of hashing a block's state."""
    if isinstance(item, bytes):
        length = len(item)
        if length == 1 and item[0] < 0x80:
            return item
        if length < 56:
            return bytes((0x80 + length,)) + item
        size = length.to_bytes((length.bit_length() + 7) // 8, "big")
        return bytes((0xB7 + len(size),)) + size + item
    if isinstance(item, int) and not isinstance(item, bool) and item >= 0:
        return encode(item.to_bytes((item.bit_length() + 7) // 8, "big"))
    if isinstance(item, (list, tuple)):
        payload = b"".join([encode(element) for element in item])
        length = len(payload)
        if length < 56:
            return bytes((0xC0 + length,)) + payload
        size = length.to_bytes((length.bit_length() + 7) // 8, "big")
        return bytes((0xF7 + len(size),)) + size + payload
    return bytes(rlp.encode(item))  # anything else (bytearray, a serializable): pyrlp's rules


def _compact(nibbles: bytes, is_leaf: bool) -> bytes:
    flag = 2 if is_leaf else 0
    if len(nibbles) % 2 == 0:
        head = bytes([16 * flag])
        rest = nibbles
    else:
        head = bytes([16 * (flag + 1) + nibbles[0]])
        rest = nibbles[1:]
    return head + bytes(16 * rest[i] + rest[i + 1] for i in range(0, len(rest), 2))


def _reference(node: Any, store: Any = None) -> Any:
    """How a parent refers to a node: inline if its encoding is shorter than 32 bytes, else by hash (and
    then kept in `store`, when given, under that hash)."""
    if node is None:
        return b""
    encoded = encode(node)
    if len(encoded) < 32:
        return node
    node_hash = keccak(encoded)
    if store is not None:
        store[node_hash] = encoded
    return node_hash


def _build(items: dict[bytes, bytes], level: int, store: Any = None) -> Any:
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
        return [_compact(rest[:prefix], False), _reference(_build(items, level + prefix, store), store)]
    branches: list[dict[bytes, bytes]] = [{} for _ in range(16)]
    value = b""
    for key, item in items.items():
        if len(key) == level:
            value = item
        else:
            branches[key[level]][key] = item
    return [_reference(_build(branch, level + 1, store), store) for branch in branches] + [value]


def ordered_trie_root(items: Sequence[bytes]) -> bytes:
    """Root of the trie mapping rlp(index) to each item: a block's transactions root or receipts root."""
    if not items:
        return bytes(BLANK_ROOT_HASH)
    keyed = {_nibbles(encode(index)): item for index, item in enumerate(items)}
    return bytes(keccak(encode(_build(keyed, 0))))


# -- batch updates -----------------------------------------------------------------------------------------
# A change is the new value (b"" deletes the key) or a function of the old value (None when absent) that
# returns the new one, so an account can be rebuilt from what the trie held without a separate lookup.
Change = bytes | Callable[[bytes | None], bytes]


def update_root(store: Any, root: bytes, changes: dict[bytes, Change]) -> bytes:
    """The root after applying `changes` (keyed by nibble path, see `nibbles`) to the trie at `root`.

    New nodes go into `store` (hash -> RLP); nodes of the old trie are read from it and never changed.
    """
    if not changes:
        return root
    node = None if root == BLANK_ROOT_HASH else _load(store, root)
    new = _update(store, node, sorted(changes.items()), 0)
    if new is None:
        return bytes(BLANK_ROOT_HASH)
    encoded = encode(new)
    node_hash = keccak(encoded)
    store[node_hash] = encoded
    return bytes(node_hash)


def nibbles(key: bytes) -> bytes:
    """A key's path in the trie: one byte per nibble."""
    return _nibbles(key)


# Decoded trie nodes by hash (a hash fixes its node), for update_root and for py-trie's reads alike. Entries
# are never modified: update_root builds new lists, and py-trie gets copies.
_decoded: LRU[bytes, Any] = LRU(200_000)


def _load(store: Any, reference: Any) -> Any:
    """The node a parent's reference names: None for b"", an inline node as is, else decoded from store."""
    if isinstance(reference, list):
        return reference
    if reference == b"":
        return None
    node = _decoded.get(reference)
    if node is None:
        node = _decoded[reference] = rlp.decode(store[reference])
    return node


def _path(compact: bytes) -> tuple[bytes, bool]:
    """Decode a hex-prefix path: (nibbles, is_leaf)."""
    flag = compact[0] >> 4
    path = _nibbles(compact[1:])
    if flag & 1:
        path = bytes([compact[0] & 0x0F]) + path
    return path, bool(flag & 2)


def _value(change: Change, old: bytes | None) -> bytes:
    return change(old) if callable(change) else change


def _update(store: Any, node: Any, items: list[tuple[bytes, Change]], level: int) -> Any:
    """The node replacing `node` (reached after `level` nibbles) once `items` (sorted, all under it) apply."""
    if node is None or len(node) == 2 and _path(node[0])[1]:
        # Empty, or a single leaf: rebuild the few entries below this point from scratch.
        entries: dict[bytes, bytes] = {}
        if node is not None:
            path, _ = _path(node[0])
            entries[items[0][0][:level] + path] = node[1]
        for key, change in items:
            value = _value(change, entries.get(key))
            if value:
                entries[key] = value
            else:
                entries.pop(key, None)
        return _build(dict(sorted(entries.items())), level, store)
    if len(node) == 2:  # extension
        path, _ = _path(node[0])
        end = level + len(path)
        if all(key[level:end] == path for key, _ in items):
            return _extend(store, path, _update(store, _load(store, node[1]), items, end))
        # Some keys leave the shared path: the same subtrie as a branch at its first nibble.
        branch: list[Any] = [b""] * 17
        rest = path[1:]
        branch[path[0]] = node[1] if not rest else _reference([_compact(rest, False), node[1]], store)
        return _update(store, branch, items, level)
    new = list(node)  # branch
    start = 0
    while start < len(items):
        key = items[start][0]
        if len(key) == level:  # a value held by the branch itself
            new[16] = _value(items[start][1], node[16] or None)
            start += 1
            continue
        nibble = key[level]
        end = start
        while end < len(items) and items[end][0][level] == nibble:
            end += 1
        child = _update(store, _load(store, node[nibble]), items[start:end], level + 1)
        new[nibble] = _reference(child, store)
        start = end
    return _collapse(store, new)


def _extend(store: Any, path: bytes, child: Any) -> Any:
    """`path` followed by `child`, in canonical form (paths of leaves and extensions merged)."""
    if child is None:
        return None
    if len(child) == 2:
        child_path, is_leaf = _path(child[0])
        return [_compact(path + child_path, is_leaf), child[1]]
    return [_compact(path, False), _reference(child, store)]


def _collapse(store: Any, branch: list[Any]) -> Any:
    """A branch left with fewer than two entries becomes what the canonical trie holds there."""
    used = [nibble for nibble in range(16) if branch[nibble] != b""]
    if len(used) + (1 if branch[16] else 0) >= 2:
        return branch
    if not used:
        return [_compact(b"", True), branch[16]] if branch[16] else None
    nibble = used[0]
    return _extend(store, bytes([nibble]), _load(store, branch[nibble]))


def _copy(node: Any) -> Any:
    return [_copy(item) if isinstance(item, list) else item for item in node]


def cache_decoded_trie_nodes() -> None:
    """Serve py-trie's node reads (`AccountDB` reading accounts and storage, at any block) from the decoded
    nodes `update_root` keeps.

    `HexaryTrie.get_node` RLP-decodes every node it walks through, and reads walk the same upper nodes
    again and again. py-trie edits the nodes it gets in place, so each read is a copy.
    """
    from trie.hexary import HexaryTrie

    if getattr(HexaryTrie, "_devnet_cached", False):
        return
    original = HexaryTrie.get_node

    def get_node(self: HexaryTrie, node_hash: bytes) -> Any:
        if len(node_hash) != 32:
            return original(self, node_hash)
        node = _decoded.get(node_hash)
        if node is None:
            node = original(self, node_hash)
            if isinstance(node, list):
                _decoded[node_hash] = _copy(node)
            return node
        return _copy(node)

    HexaryTrie.get_node = get_node  # type: ignore[method-assign]
    HexaryTrie._devnet_cached = True  # type: ignore[attr-defined]
