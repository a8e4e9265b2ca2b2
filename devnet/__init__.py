"""Tranche devnet: an Ethereum JSON-RPC node on py-evm with a parallel block builder (`python -m devnet`)."""
