"""Merkle trees as OpenZeppelin's StandardMerkleTree (`@openzeppelin/merkle-tree`) builds them.

A leaf is keccak256(keccak256(abi.encode(values))) (double hashing, so a leaf can never be taken for an inner
node); pairs are hashed in sorted order, which is what OpenZeppelin's `MerkleProof.verify` expects. Leaves are
sorted by hash and laid out in one array like the JavaScript library's, so roots and proofs match its own.
TrancheSale's Merkle mode uses leaves of type `["address"]`: `WalletMerkleTree.of(wallets)`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from eth_abi.abi import encode
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak


def standard_leaf_hash(types: Sequence[str], values: Sequence[Any]) -> bytes:
    return keccak(keccak(encode(list(types), list(values))))


def leaf_hash(wallet: str) -> bytes:
    """The leaf of one wallet in a `["address"]` tree, as TrancheSale computes it."""
    return standard_leaf_hash(["address"], [to_checksum_address(wallet)])


def _hash_pair(a: bytes, b: bytes) -> bytes:
    return keccak(a + b) if a < b else keccak(b + a)


@dataclass(frozen=True)
class StandardMerkleTree:
    """`tree[0]` is the root; the leaves fill the last positions of the array, sorted by hash."""

    types: tuple[str, ...]
    tree: tuple[bytes, ...]
    leaf_index: dict[bytes, int]  # leaf hash -> position in `tree`

    @classmethod
    def of(cls, values: Iterable[Sequence[Any]], types: Sequence[str]) -> StandardMerkleTree:
        leaves = sorted({standard_leaf_hash(types, v) for v in values})
        if not leaves:
            raise ValueError("a Merkle tree needs at least one leaf")
        size = 2 * len(leaves) - 1
        tree: list[bytes] = [b""] * size
        for i, leaf in enumerate(leaves):
            tree[size - 1 - i] = leaf
        for i in range(size - 1 - len(leaves), -1, -1):
            tree[i] = _hash_pair(tree[2 * i + 1], tree[2 * i + 2])
        return cls(
            types=tuple(types),
            tree=tuple(tree),
            leaf_index={leaf: size - 1 - i for i, leaf in enumerate(leaves)},
        )

    @property
    def root(self) -> bytes:
        return self.tree[0]

    def proof(self, values: Sequence[Any]) -> list[bytes]:
        """Sibling hashes from the leaf of `values` up to the root; KeyError if it is not in the tree."""
        index = self.leaf_index[standard_leaf_hash(self.types, values)]
        proof: list[bytes] = []
        while index > 0:
            proof.append(self.tree[index - 1 if index % 2 == 0 else index + 1])
            index = (index - 1) // 2
        return proof


@dataclass(frozen=True)
class WalletMerkleTree:
    """The eligible wallets of a TrancheSale in Merkle mode."""

    standard: StandardMerkleTree

    @classmethod
    def of(cls, wallets: Iterable[str]) -> WalletMerkleTree:
        return cls(StandardMerkleTree.of([(to_checksum_address(w),) for w in wallets], ["address"]))

    @property
    def root(self) -> bytes:
        return self.standard.root

    @property
    def tree(self) -> tuple[bytes, ...]:
        return self.standard.tree

    def proof(self, wallet: str) -> list[bytes]:
        return self.standard.proof((to_checksum_address(wallet),))
