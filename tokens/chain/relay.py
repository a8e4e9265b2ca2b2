"""A same-origin JSON-RPC relay for the sale page's development wallet.

The devnet's RPC server sends no CORS headers, so a page cannot reach `CHAIN_RPC_URL` from the browser. The
development wallet (an ethers `JsonRpcProvider` in the page) talks to `/chain/rpc` instead, which forwards the few
methods a purchase needs: reads, gas and fee estimates, receipts, and `eth_sendRawTransaction` of a transaction the
browser signed. Nothing is signed here and no account of the node is used (no `eth_sendTransaction`, no
`eth_accounts`). It runs on the devnet's chain id only: on a real chain the investor's own wallet has its own node.
"""

from __future__ import annotations

from typing import Any

from tokens.chain import client

METHODS = frozenset({
    "eth_chainId", "net_version", "eth_blockNumber", "eth_call", "eth_estimateGas", "eth_gasPrice",
    "eth_maxPriorityFeePerGas", "eth_feeHistory", "eth_getBalance", "eth_getCode", "eth_getTransactionCount",
    "eth_getBlockByNumber", "eth_getTransactionByHash", "eth_getTransactionReceipt", "eth_sendRawTransaction",
})


def rpc_relay(request_id: Any, method: str, params: list[Any]) -> dict[str, Any]:
    """The node's answer to one call, with the caller's id; a method not listed is refused (-32601)."""
    if method not in METHODS:
        return {"jsonrpc": "2.0", "id": request_id,
                "error": {"code": -32601, "message": f"{method} is not available through this relay"}}
    reply = dict(client.web3().provider.make_request(method, params))  # type: ignore[arg-type]
    answer: dict[str, Any] = {"jsonrpc": "2.0", "id": request_id}
    if "error" in reply:
        answer["error"] = reply["error"]
    else:
        answer["result"] = reply.get("result")
    return answer
