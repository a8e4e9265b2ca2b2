"""Merkle trees of eligible wallets, as OpenZeppelin's StandardMerkleTree builds them for `["address"]` leaves.

A leaf is keccak256(keccak256(abi.encode(wallet))) (double hashing, so a leaf can never be taken for an inner
node); pairs are hashed in sorted order, which is what `MerkleProof.verify` in the sale expects. Leaves are
sorted by hash and laid out like `@openzeppelin/merkle-tree`, so roots and proofs match that library's.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from eth_abi import encode
from eth_utils import keccak, to_checksum_address


def leaf_hash(wallet: str) -> bytes:
    return keccak(keccak(encode(["address"], [to_checksum_address(wallet)])))


def _hash_pair(a: bytes, b: bytes) -> bytes:
    return keccak(a + b) if a < b else keccak(b + a)


@dataclass(frozen=True)
class WalletMerkleTree:
    """`tree[0]` is the root; leaves occupy the last `len(wallets)` positions."""

    tree: tuple[bytes, ...]
    leaf_index: dict[str, int]  # checksummed wallet -> position in `tree`

    @classmethod
    def of(cls, wallets: Iterable[str]) -> WalletMerkleTree:
        unique = sorted({to_checksum_address(w) for w in wallets}, key=leaf_hash)
        if not unique:
            raise ValueError("a Merkle tree needs at least one wallet")
        size = 2 * len(unique) - 1
        tree: list[bytes] = [b""] * size
        leaf_index: dict[str, int] = {}
        for i, wallet in enumerate(unique):
            leaf_index[wallet] = size - 1 - i
            tree[size - 1 - i] = leaf_hash(wallet)
        for i in range(size - 1 - len(unique), -1, -1):
            tree[i] = _hash_pair(tree[2 * i + 1], tree[2 * i + 2])
        return cls(tree=tuple(tree), leaf_index=leaf_index)

    @property
    def root(self) -> bytes:
        return self.tree[0]

    def proof(self, wallet: str) -> list[bytes]:
        """Sibling hashes from the wallet's leaf up to the root; KeyError if the wallet is not in the tree."""
        index = self.leaf_index[to_checksum_address(wallet)]
        proof: list[bytes] = []
        while index > 0:
            sibling = index - 1 if index % 2 == 0 else index + 1
            proof.append(self.tree[sibling])
            index = (index - 1) // 2
        return proof
