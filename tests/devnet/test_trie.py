"""The devnet's one-pass list root equals py-evm's trie root (items are never empty: empty means absent)."""

from __future__ import annotations

from typing import Any

import rlp
from eth.db.trie import make_trie_root_and_nodes
from hypothesis import given, settings
from hypothesis import strategies as st

from devnet.trie import encode, nibbles, ordered_trie_root


class Encoded:
    def __init__(self, payload: bytes) -> None:
        self.payload = payload

    def encode(self) -> bytes:
        return self.payload


@settings(max_examples=150, derandomize=True, deadline=None)
@given(st.lists(st.binary(min_size=1, max_size=80), max_size=300))
def test_ordered_trie_root_matches_py_evm(items: list[bytes]) -> None:
    expected, _ = make_trie_root_and_nodes(tuple(Encoded(item) for item in items))
    assert ordered_trie_root(items) == expected


# Keys of one to three bytes crowd into few nibble paths, so splits, merges and collapses of every node kind
# happen (and values of 1 to 40 bytes make both inline and hashed nodes); 32-byte keys are the state's.
keys = st.one_of(st.binary(min_size=1, max_size=3), st.binary(min_size=32, max_size=32))
values = st.binary(min_size=1, max_size=40)
rounds = st.lists(st.dictionaries(keys, st.one_of(st.just(b""), values), max_size=40), min_size=1, max_size=4)


@settings(max_examples=200, derandomize=True, deadline=None)
@given(st.dictionaries(keys, values, max_size=40), rounds)
def test_batch_updates_give_py_trie_root(initial: dict[bytes, bytes], batches: list[dict[bytes, bytes]]) -> None:
    """update_root over rounds of inserts, overwrites and deletions (b"") == py-trie applying them one by one;
    every node the new root needs is in the store, and a function of the old value sees what the trie held."""
    from trie import HexaryTrie

    from devnet.trie import _decoded as decoded_nodes
    from devnet.trie import nibbles, update_root

    store: dict[bytes, bytes] = {}
    reference = HexaryTrie({})
    root = update_root(store, reference.root_hash, {nibbles(k): v for k, v in initial.items()})
    for key, value in initial.items():
        reference[key] = value
    assert root == reference.root_hash
    touched = set(initial)
    seen: dict[bytes, bytes | None] = {}  # what each change function was given, per batch
    for batch in batches:
        seen.clear()

        def change(key: bytes, value: bytes) -> Any:
            def apply(old: bytes | None) -> bytes:
                seen[key] = old
                return value

            return apply

        root = update_root(store, root, {nibbles(k): change(k, v) for k, v in batch.items()})
        assert seen == {key: reference.get(key) or None for key in batch}
        for key, value in batch.items():
            if value:
                reference[key] = value
            else:
                reference.delete(key)
        assert root == reference.root_hash
        touched |= set(batch)
        decoded_nodes.clear()  # the store alone serves the new trie, not nodes decoded from another one
        served = HexaryTrie(store, root)
        assert {key: served.get(key) for key in touched} == {key: reference.get(key) for key in touched}


rlp_items = st.recursive(
    st.binary(max_size=70) | st.integers(min_value=0, max_value=2**256 - 1) | st.sampled_from([b"", bytes(56)]),
    lambda children: st.lists(children, max_size=17), max_leaves=60)


@settings(max_examples=300, derandomize=True, deadline=None)
@given(rlp_items)
def test_the_node_encoder_gives_pyrlps_bytes(item: Any) -> None:
    assert encode(item) == rlp.encode(item)


@settings(max_examples=100, derandomize=True, deadline=None)
@given(st.binary(max_size=64))
def test_a_keys_nibbles_are_its_half_bytes(key: bytes) -> None:
    assert nibbles(key) == bytes(half for byte in key for half in (byte >> 4, byte & 0x0F))
