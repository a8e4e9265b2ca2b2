"""Tranche devnet: an Ethereum JSON-RPC node on py-evm with a parallel block builder (`python -m devnet`)."""

import importlib.util
import os

# eth-hash (behind py-evm, py-trie, eth-account and web3) hashes with pycryptodome unless told otherwise; with
# safe-pysha3 installed its `pysha3` backend is C keccak at a third of the time per hash (state roots, transaction
# hashes, addresses). Chosen before the first hash, which is when eth-hash picks its backend.
if importlib.util.find_spec("sha3") is not None:
    os.environ.setdefault("ETH_HASH_BACKEND", "pysha3")
