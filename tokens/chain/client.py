"""The connection to the chain node (settings.CHAIN_RPC_URL), and contract objects from the compiled artifacts."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from web3 import Web3
from web3.contract import Contract

from contracts import load_artifact

_connections: dict[str, Web3] = {}


def web3(url: str | None = None) -> Web3:
    """One HTTP connection per URL and process (web3's HTTPProvider keeps a session)."""
    url = url or settings.CHAIN_RPC_URL
    connection = _connections.get(url)
    if connection is None:
        connection = Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": 30}))
        _connections[url] = connection
    return connection


def contract(name: str, address: str | None = None, *, w3: Web3 | None = None) -> Contract:
    """`contract("TrancheSale", sale.address)`: a bound contract; without an address, a deployer."""
    artifact = load_artifact(name)
    w3 = w3 or web3()
    if address is None:
        return w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)  # type: ignore[return-value]
    return w3.eth.contract(address=Web3.to_checksum_address(address), abi=artifact.abi)


def rpc(method: str, params: list[Any] | None = None, *, w3: Web3 | None = None) -> Any:
    """A raw JSON-RPC call (evm_mine, devnet_reorg) that web3 has no method for; raises on an error answer."""
    reply = (w3 or web3()).provider.make_request(method, params or [])  # type: ignore[arg-type]
    if "error" in reply:
        raise RuntimeError(f"{method}: {reply['error']}")
    return reply.get("result")
