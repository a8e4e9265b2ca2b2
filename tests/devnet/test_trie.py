"""The devnet's one-pass list root equals py-evm's trie root (items are never empty: empty means absent)."""

from __future__ import annotations

from eth.db.trie import make_trie_root_and_nodes
from hypothesis import given, settings
from hypothesis import strategies as st

from devnet.trie import ordered_trie_root


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
