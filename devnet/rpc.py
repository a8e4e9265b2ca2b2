"""Ethereum JSON-RPC over HTTP and WebSocket (aiohttp), `/metrics`, and the interval/auto miner.

Errors use JSON-RPC codes the way geth and anvil do: -32700 parse error, -32600 invalid request, -32601
unknown method, -32602 invalid params, -32000 for rejected transactions and failed calls, and 3 with the
revert payload as `data` for reverts, which is what web3.py turns into ContractCustomError /
ContractLogicError / ContractPanicError.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import math
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web
from eth_hash.auto import keccak
from eth_typing import Address

from devnet.calls import CallFailed, CallRequest, CallReverted, call, create_access_list, estimate_gas
from devnet.chain import Block, Chain, LogRecord, Receipt, TransactionRejected, effective_gas_price
from devnet.scheduler import PendingTx
from devnet.state import BALANCE, CODE, NONCE, STORAGE

log = logging.getLogger("devnet.rpc")

CLIENT_VERSION = "tranche-devnet/0.1.0/python"
REORG_WINDOW = 64  # blocks a filter remembers, to retract and report again re-mined heights after a reorg


class RpcError(Exception):
    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data

    def payload(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.data is not None:
            error["data"] = self.data
        return error


def invalid_params(message: str) -> RpcError:
    return RpcError(-32602, message)


# -- encoding ----------------------------------------------------------------------------------------------
def quantity(value: int) -> str:
    return hex(value)


def data(value: bytes) -> str:
    return "0x" + value.hex()


def address_or_none(value: bytes | None) -> str | None:
    return None if value is None else data(value)


def parse_quantity(value: Any) -> int:
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            return int(value, 16) if value.startswith(("0x", "0X")) else int(value)
        except ValueError as exc:
            raise invalid_params(f"invalid quantity {value!r}") from exc
    raise invalid_params(f"invalid quantity {value!r}")


def parse_data(value: Any) -> bytes:
    if not isinstance(value, str) or not value.startswith(("0x", "0X")):
        raise invalid_params(f"invalid hex data {value!r}")
    try:
        return bytes.fromhex(value[2:] if len(value) % 2 == 0 else "0" + value[2:])
    except ValueError as exc:
        raise invalid_params(f"invalid hex data {value!r}") from exc


def parse_address(value: Any) -> bytes:
    raw = parse_data(value)
    if len(raw) != 20:
        raise invalid_params(f"invalid address {value!r}")
    return raw


def encode_log(record: LogRecord, removed: bool = False) -> dict[str, Any]:
    return {
        "address": data(record.address),
        "topics": [data(topic) for topic in record.topics],
        "data": data(record.data),
        "blockNumber": quantity(record.block_number),
        "blockHash": data(record.block_hash),
        "transactionHash": data(record.tx_hash),
        "transactionIndex": quantity(record.tx_index),
        "logIndex": quantity(record.log_index),
        "removed": removed,
    }


def encode_transaction(pending: PendingTx, block: Block | None, index: int | None) -> dict[str, Any]:
    tx = pending.tx
    type_id = int(tx.type_id or 0)
    result: dict[str, Any] = {
        "hash": data(pending.hash),
        "nonce": quantity(tx.nonce),
        "blockHash": data(block.hash) if block else None,
        "blockNumber": quantity(block.number) if block else None,
        "transactionIndex": quantity(index) if index is not None else None,
        "from": data(pending.sender),
        "to": data(tx.to) if tx.to else None,
        "value": quantity(tx.value),
        "gas": quantity(tx.gas),
        "input": data(tx.data),
        "type": quantity(type_id),
        "r": quantity(tx.r),
        "s": quantity(tx.s),
    }
    if type_id == 0:
        result["gasPrice"] = quantity(tx.gas_price)
        v = int(getattr(tx, "v", 27))
        result["v"] = quantity(v)
        if v >= 35:
            result["chainId"] = quantity((v - 35) // 2)
    else:
        result["chainId"] = quantity(int(tx.chain_id or 0))
        result["v"] = quantity(tx.y_parity)
        result["yParity"] = quantity(tx.y_parity)
        result["accessList"] = [
            {"address": data(address), "storageKeys": [data(slot.to_bytes(32, "big")) for slot in slots]}
            for address, slots in tx.access_list
        ]
        if type_id >= 2:
            result["maxFeePerGas"] = quantity(tx.max_fee_per_gas)
            result["maxPriorityFeePerGas"] = quantity(tx.max_priority_fee_per_gas)
            base_fee = int(block.header.base_fee_per_gas or 0) if block else tx.max_fee_per_gas
            result["gasPrice"] = quantity(effective_gas_price(tx, base_fee) if block else tx.max_fee_per_gas)
        else:
            result["gasPrice"] = quantity(tx.gas_price)
    return result


def encode_block(block: Block, full: bool) -> dict[str, Any]:
    header: Any = block.header  # a PragueBlockHeader: every field below is set
    transactions: list[Any]
    if full:
        transactions = [encode_transaction(p, block, i) for i, p in enumerate(block.transactions)]
    else:
        transactions = [data(p.hash) for p in block.transactions]
    size = len(header.encode() if hasattr(header, "encode") else b"") + sum(
        len(p.raw) for p in block.transactions
    )
    return {
        "number": quantity(block.number),
        "hash": data(block.hash),
        "parentHash": data(header.parent_hash),
        "nonce": data(header.nonce),
        "sha3Uncles": data(header.uncles_hash),
        "logsBloom": data(int(header.bloom).to_bytes(256, "big")),
        "transactionsRoot": data(header.transaction_root),
        "stateRoot": data(header.state_root),
        "receiptsRoot": data(header.receipt_root),
        "miner": data(header.coinbase),
        "difficulty": "0x0",
        "totalDifficulty": "0x0",
        "extraData": data(header.extra_data),
        "size": quantity(size + 600),
        "gasLimit": quantity(header.gas_limit),
        "gasUsed": quantity(header.gas_used),
        "timestamp": quantity(header.timestamp),
        "mixHash": data(header.mix_hash),
        "baseFeePerGas": quantity(header.base_fee_per_gas),
        "withdrawalsRoot": data(header.withdrawals_root),
        "withdrawals": [],
        "blobGasUsed": quantity(header.blob_gas_used),
        "excessBlobGas": quantity(header.excess_blob_gas),
        "parentBeaconBlockRoot": data(header.parent_beacon_block_root),
        "requestsHash": data(header.requests_hash),
        "transactions": transactions,
        "uncles": [],
    }


def encode_receipt(receipt: Receipt) -> dict[str, Any]:
    return {
        "transactionHash": data(receipt.tx_hash),
        "transactionIndex": quantity(receipt.tx_index),
        "blockHash": data(receipt.block_hash),
        "blockNumber": quantity(receipt.block_number),
        "from": data(receipt.sender),
        "to": address_or_none(receipt.to),
        "contractAddress": address_or_none(receipt.contract_address),
        "cumulativeGasUsed": quantity(receipt.cumulative_gas_used),
        "gasUsed": quantity(receipt.gas_used),
        "effectiveGasPrice": quantity(receipt.effective_gas_price),
        "status": quantity(receipt.status),
        "logs": [encode_log(record) for record in receipt.logs],
        "logsBloom": data(receipt.bloom.to_bytes(256, "big")),
        "type": quantity(receipt.type_id),
    }


# -- filters -----------------------------------------------------------------------------------------------
@dataclass
class LogFilter:
    from_block: int | None
    to_block: int | None
    addresses: set[bytes] | None
    topics: list[set[bytes] | None]

    def matches(self, record: LogRecord) -> bool:
        if self.addresses is not None and record.address not in self.addresses:
            return False
        for position, wanted in enumerate(self.topics):
            if wanted is None:
                continue
            if position >= len(record.topics) or record.topics[position] not in wanted:
                return False
        return True


@dataclass
class InstalledFilter:
    kind: str  # "logs", "blocks" or "pending"
    cursor: int  # last block number already reported
    criteria: LogFilter | None = None
    reported: dict[int, bytes] = field(default_factory=dict)  # hashes of recently reported blocks

    def resume_after(self, chain: Chain) -> int:
        """The first block to report: after the cursor, or, when a reorg or revert replaced reported
        blocks, at the first replaced height (its new block and logs are reported again, after
        `removed_logs` has retracted the old ones)."""
        unchanged = [
            number
            for number, block_hash in self.reported.items()
            if number <= chain.head.number and chain.blocks[number].hash == block_hash
        ]
        if len(unchanged) == len(self.reported):
            return self.cursor + 1
        return max(unchanged) + 1 if unchanged else min(self.reported)

    def removed_logs(self, chain: Chain, criteria: LogFilter) -> list[dict[str, Any]]:
        """The matching logs of remembered blocks that a reorg or revert has since dropped, marked
        `removed` (oldest block first), as geth's filters report them. Only the heights `resume_after`
        reports again are retracted: within the filter's block range and REORG_WINDOW, and among the
        dropped blocks the chain still keeps (`Chain.orphaned`)."""
        dropped = []
        for number, block_hash in sorted(self.reported.items()):
            outside = (criteria.from_block is not None and number < criteria.from_block) or (
                criteria.to_block is not None and number > criteria.to_block
            )
            current = chain.block_by_number(number)
            if outside or (current is not None and current.hash == block_hash):
                continue
            orphan = chain.orphaned.get(block_hash)
            if orphan is not None:
                dropped.append(orphan)
        return [encode_log(record, removed=True) for record in matching_logs(dropped, criteria)]

    def mark_reported(self, chain: Chain, cursor: int) -> None:
        self.cursor = cursor
        last = min(cursor, chain.head.number)
        self.reported = {n: chain.blocks[n].hash for n in range(max(0, last - REORG_WINDOW), last + 1)}


def parse_log_filter(params: dict[str, Any], chain: Chain) -> tuple[LogFilter, bytes | None]:
    addresses = params.get("address")
    if addresses is None:
        address_set = None
    elif isinstance(addresses, str):
        address_set = {parse_address(addresses)}
    else:
        address_set = {parse_address(a) for a in addresses}
    topics: list[set[bytes] | None] = []
    for topic in params.get("topics") or []:
        if topic is None:
            topics.append(None)
        elif isinstance(topic, str):
            topics.append({parse_data(topic)})
        else:
            topics.append({parse_data(t) for t in topic})
    block_hash = parse_data(params["blockHash"]) if params.get("blockHash") else None
    from_block = resolve_number(params.get("fromBlock", "latest"), chain) if "fromBlock" in params else None
    # An open end ("latest") follows the head: a filter installed now still sees later blocks.
    to_tag = params.get("toBlock")
    to_block = (
        None if to_tag in (None, "latest", "pending", "safe", "finalized") else resolve_number(to_tag, chain)
    )
    return LogFilter(from_block, to_block, address_set, topics), block_hash


def resolve_number(tag: Any, chain: Chain) -> int:
    if tag in (None, "latest", "pending", "safe", "finalized"):
        return chain.head.number
    if tag == "earliest":
        return 0
    return parse_quantity(tag)


def matching_logs(blocks: Iterable[Block], criteria: LogFilter) -> Iterator[LogRecord]:
    for block in blocks:
        for receipt in block.receipts:
            yield from (record for record in receipt.logs if criteria.matches(record))


def logs_in(chain: Chain, criteria: LogFilter, first: int, last: int) -> list[dict[str, Any]]:
    """The matching logs of the canonical blocks `first`..`last`: never removed ones."""
    blocks = (chain.blocks[n] for n in range(max(first, 0), min(last, chain.head.number) + 1))
    return [encode_log(record) for record in matching_logs(blocks, criteria)]


# -- the server --------------------------------------------------------------------------------------------
Handler = Callable[[list[Any]], Any]


class RpcServer:
    def __init__(self, chain: Chain, *, block_time: float = 0.0) -> None:
        self.chain = chain
        self.block_time = block_time
        self.filters: dict[str, InstalledFilter] = {}
        self._filter_ids = itertools.count(1)
        self.subscriptions: dict[str, tuple[web.WebSocketResponse, str, LogFilter | None]] = {}
        self._subscription_ids = itertools.count(1)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._mining_task: asyncio.Task[None] | None = None
        # Held while one batch of notifications is sent, so batches go out in the order they were made
        # (removed logs before the blocks that replace them) even when a send waits for the socket.
        self._notifying = asyncio.Lock()
        self.methods: dict[str, Handler] = {
            name[len("rpc_") :]: getattr(self, name) for name in dir(self) if name.startswith("rpc_")
        }
        chain.listeners.append(self._on_block)
        chain.rewind_listeners.append(self._on_rewind)

    # -- HTTP and WebSocket plumbing -------------------------------------------------------------------
    def application(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post("/", self.handle_http)
        app.router.add_get("/", self.handle_get)
        app.router.add_get("/metrics", self.handle_metrics)
        app.on_startup.append(self._started)
        app.on_cleanup.append(self._stopping)
        return app

    async def _started(self, app: web.Application) -> None:
        self._loop = asyncio.get_running_loop()
        if self.block_time > 0:
            self._mining_task = asyncio.create_task(self._interval_miner())

    async def _stopping(self, app: web.Application) -> None:
        if self._mining_task is not None:
            self._mining_task.cancel()
        for ws, _, _ in list(self.subscriptions.values()):
            await ws.close()

    async def _interval_miner(self) -> None:
        """A block on every multiple of the block time on the wall clock: no drift by the time mining takes, no
        burst of blocks to catch up after a slow one, and with whole-second block times a block's timestamp is
        the second it was made in (not up to a block time earlier)."""
        loop = asyncio.get_running_loop()
        while self.block_time > 0:  # evm_setAutomine(true) sets it to 0: automine from then on
            now = time.time()
            await asyncio.sleep((math.floor(now / self.block_time) + 1) * self.block_time - now)
            await loop.run_in_executor(None, self.chain.mine)

    async def handle_metrics(self, request: web.Request) -> web.Response:
        return web.Response(text=self.chain.metrics.prometheus(), content_type="text/plain", charset="utf-8")

    async def handle_get(self, request: web.Request) -> web.StreamResponse:
        if request.headers.get("Upgrade", "").lower() == "websocket":
            return await self.handle_websocket(request)
        return web.Response(text="tranche devnet: POST JSON-RPC here, or connect a WebSocket\n")

    async def handle_http(self, request: web.Request) -> web.Response:
        body = await request.read()
        response = await self.dispatch_body(body, None)
        return web.Response(body=json.dumps(response).encode(), content_type="application/json")

    async def dispatch_body(self, body: bytes, ws: web.WebSocketResponse | None) -> Any:
        try:
            payload = json.loads(body)
        except ValueError:
            return {"jsonrpc": "2.0", "id": None, "error": {"code": -32700, "message": "parse error"}}
        if isinstance(payload, list):
            if not payload:
                return {"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": "empty batch"}}
            return [await self.dispatch(item, ws) for item in payload]
        return await self.dispatch(payload, ws)

    async def dispatch(self, request: Any, ws: web.WebSocketResponse | None) -> dict[str, Any]:
        if not isinstance(request, dict) or not isinstance(request.get("method"), str):
            return {"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": "invalid request"}}
        request_id = request.get("id")
        result: Any
        method = request["method"]
        params = request.get("params") or []
        if isinstance(params, dict):
            params = [params]
        try:
            if method == "eth_subscribe":
                result = self.subscribe(params, ws)
            elif method == "eth_unsubscribe":
                result = self.subscriptions.pop(str(params[0]), None) is not None if params else False
            else:
                handler = self.methods.get(method)
                if handler is None:
                    raise RpcError(-32601, f"the method {method} does not exist/is not available")
                result = handler(params)
                if isinstance(result, Awaitable):
                    result = await result
        except RpcError as exc:
            return {"jsonrpc": "2.0", "id": request_id, "error": exc.payload()}
        except (IndexError, KeyError, TypeError, ValueError) as exc:
            return {
                "jsonrpc": "2.0",
                "id": request_id,
                "error": invalid_params(f"invalid params: {exc}").payload(),
            }
        except Exception as exc:
            log.exception("internal error in %s", method)
            return {
                "jsonrpc": "2.0",
                "id": request_id,
                "error": {"code": -32603, "message": f"internal error: {exc}"},
            }
        return {"jsonrpc": "2.0", "id": request_id, "result": result}

    async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(max_msg_size=64 * 1024 * 1024)
        await ws.prepare(request)
        try:
            async for message in ws:
                if message.type == WSMsgType.TEXT:
                    response = await self.dispatch_body(message.data.encode(), ws)
                    await ws.send_str(json.dumps(response))
                elif message.type == WSMsgType.ERROR:
                    break
        finally:
            for key in [k for k, (sub_ws, _, _) in self.subscriptions.items() if sub_ws is ws]:
                del self.subscriptions[key]
        return ws

    def subscribe(self, params: list[Any], ws: web.WebSocketResponse | None) -> str:
        if ws is None:
            raise RpcError(-32000, "subscriptions need a WebSocket connection")
        kind = params[0]
        criteria = None
        if kind == "logs":
            criteria, _ = parse_log_filter(params[1] if len(params) > 1 else {}, self.chain)
        elif kind != "newHeads":
            raise invalid_params(f"unsupported subscription {kind!r} (newHeads, logs)")
        subscription_id = hex(next(self._subscription_ids) + 0x1000)
        self.subscriptions[subscription_id] = (ws, kind, criteria)
        return subscription_id

    def _on_block(self, block: Block) -> None:
        """Called by the chain (any thread) after a block is added: push it to WebSocket subscribers."""
        self._notify(block, [block], removed=False)

    def _on_rewind(self, dropped: list[Block]) -> None:
        """Called by the chain (inside its lock, before replacement blocks are mined) with the blocks a
        reorg or revert dropped: log subscribers get their logs again, `removed`, as geth sends them;
        newHeads subscribers hear only of the new heads."""
        self._notify(None, dropped, removed=True)

    def _notify(self, new_head: Block | None, blocks: list[Block], *, removed: bool) -> None:
        """Send `new_head` to newHeads subscribers and the matching logs of `blocks` to log subscribers,
        from any thread, after every notification made before."""
        if not self.subscriptions or self._loop is None:
            return
        head: dict[str, Any] | None = None
        if new_head is not None:
            head = encode_block(new_head, False)
            head.pop("transactions")
        messages: list[tuple[web.WebSocketResponse, str]] = []
        for subscription_id, (ws, kind, criteria) in list(self.subscriptions.items()):
            results: list[Any] = []
            if kind == "newHeads" and head is not None:
                results.append(head)
            elif kind == "logs" and criteria is not None:
                results += [encode_log(r, removed=removed) for r in matching_logs(blocks, criteria)]
            for result in results:
                note = {
                    "jsonrpc": "2.0",
                    "method": "eth_subscription",
                    "params": {"subscription": subscription_id, "result": result},
                }
                messages.append((ws, json.dumps(note)))
        if not messages:
            return

        async def send() -> None:
            async with self._notifying:
                for ws, text in messages:
                    if not ws.closed:
                        await ws.send_str(text)

        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self._loop:
            self._loop.create_task(send())
        else:
            asyncio.run_coroutine_threadsafe(send(), self._loop)

    # -- helpers ---------------------------------------------------------------------------------------
    def block_for(self, tag: Any) -> Block:
        chain = self.chain
        if isinstance(tag, dict):
            if "blockHash" in tag:
                block = chain.block_by_hash(parse_data(tag["blockHash"]))
                if block is None:
                    raise RpcError(-32001, "block not found")
                return block
            tag = tag.get("blockNumber", "latest")
        number = resolve_number(tag, chain)
        block = chain.block_by_number(number)
        if block is None:
            raise RpcError(-32001, f"block {number} not found")
        return block

    def account_read(self, key: tuple[Any, ...], tag: Any) -> Any:
        with self.chain.lock:
            block = self.block_for(tag)
            if block is self.chain.head:
                return self.chain.flat.read(key)
            account_db = self.chain.account_db_at(block)
            kind, address = key[0], key[1]
            if kind == BALANCE:
                return account_db.get_balance(address)
            if kind == NONCE:
                return account_db.get_nonce(address)
            if kind == CODE:
                return account_db.get_code(address)
            return account_db.get_storage(address, key[2])

    def call_request(self, params: dict[str, Any]) -> CallRequest:
        return CallRequest(
            sender=parse_address(params["from"]) if params.get("from") else None,
            to=parse_address(params["to"]) if params.get("to") else None,
            gas=parse_quantity(params["gas"]) if params.get("gas") is not None else None,
            value=parse_quantity(params.get("value", 0) or 0),
            data=parse_data(params.get("data") or params.get("input") or "0x"),
        )

    def _automine(self) -> None:
        if self.block_time == 0:
            while len(self.chain.pool):
                block = self.chain.mine()
                if not block.transactions:
                    break

    def send_raw(self, raw: bytes) -> str:
        try:
            tx_hash = self.chain.add_raw_transaction(raw)
        except TransactionRejected as exc:
            raise RpcError(-32000, str(exc)) from exc
        self._automine()
        return data(tx_hash)

    # -- web3, net, eth ------------------------------------------------------------------------------
    def rpc_web3_clientVersion(self, params: list[Any]) -> str:
        return CLIENT_VERSION

    def rpc_web3_sha3(self, params: list[Any]) -> str:
        return data(keccak(parse_data(params[0])))

    def rpc_net_version(self, params: list[Any]) -> str:
        return str(self.chain.config.chain_id)

    def rpc_net_listening(self, params: list[Any]) -> bool:
        return True

    def rpc_net_peerCount(self, params: list[Any]) -> str:
        return "0x0"

    def rpc_eth_chainId(self, params: list[Any]) -> str:
        return quantity(self.chain.config.chain_id)

    def rpc_eth_syncing(self, params: list[Any]) -> bool:
        return False

    def rpc_eth_mining(self, params: list[Any]) -> bool:
        return True

    def rpc_eth_coinbase(self, params: list[Any]) -> str:
        return data(self.chain.config.coinbase)

    def rpc_eth_accounts(self, params: list[Any]) -> list[str]:
        return [data(address) for address in self.chain.dev_accounts]

    def rpc_eth_blockNumber(self, params: list[Any]) -> str:
        return quantity(self.chain.head.number)

    def rpc_eth_gasPrice(self, params: list[Any]) -> str:
        return quantity(self.chain.block_context(0).base_fee + 1_000_000_000)

    def rpc_eth_maxPriorityFeePerGas(self, params: list[Any]) -> str:
        return quantity(1_000_000_000)

    def rpc_eth_blobBaseFee(self, params: list[Any]) -> str:
        return quantity(1)

    def rpc_eth_feeHistory(self, params: list[Any]) -> dict[str, Any]:
        count = max(1, min(parse_quantity(params[0]), 1024))
        newest = self.block_for(params[1] if len(params) > 1 else "latest").number
        percentiles = [float(p) for p in (params[2] if len(params) > 2 and params[2] else [])]
        oldest = max(0, newest - count + 1)
        base_fees, ratios, rewards = [], [], []
        with self.chain.lock:
            for number in range(oldest, newest + 1):
                block = self.chain.blocks[number]
                header: Any = block.header
                base_fees.append(quantity(header.base_fee_per_gas))
                ratios.append(header.gas_used / header.gas_limit if header.gas_limit else 0.0)
                tips = sorted(
                    (receipt.effective_gas_price - int(header.base_fee_per_gas), receipt.gas_used)
                    for receipt in block.receipts
                )
                row = []
                for percentile in percentiles:
                    if not tips:
                        row.append("0x0")
                        continue
                    threshold = header.gas_used * percentile / 100
                    spent, chosen = 0, tips[-1][0]
                    for tip, gas in tips:
                        spent += gas
                        if spent >= threshold:
                            chosen = tip
                            break
                    row.append(quantity(max(chosen, 0)))
                rewards.append(row)
            following = self.chain.blocks[newest]
            from devnet.chain import next_base_fee

            base_fees.append(quantity(next_base_fee(following.header)))
        result: dict[str, Any] = {
            "oldestBlock": quantity(oldest),
            "baseFeePerGas": base_fees,
            "gasUsedRatio": ratios,
        }
        if percentiles:
            result["reward"] = rewards
        return result

    def rpc_eth_getBalance(self, params: list[Any]) -> str:
        return quantity(
            int(
                self.account_read(
                    (BALANCE, parse_address(params[0])), params[1] if len(params) > 1 else "latest"
                )
            )
        )

    def rpc_eth_getTransactionCount(self, params: list[Any]) -> str:
        address = parse_address(params[0])
        tag = params[1] if len(params) > 1 else "latest"
        if tag == "pending":
            return quantity(self.chain.pending_nonce(address))
        return quantity(int(self.account_read((NONCE, address), tag)))

    def rpc_eth_getCode(self, params: list[Any]) -> str:
        address = parse_address(params[0])
        tag = params[1] if len(params) > 1 else "latest"
        with self.chain.lock:
            block = self.block_for(tag)
            if block is self.chain.head:
                return data(self.chain.flat.code(self.chain.flat.read((CODE, address))))
            return data(self.chain.account_db_at(block).get_code(Address(address)))

    def rpc_eth_getStorageAt(self, params: list[Any]) -> str:
        address = parse_address(params[0])
        slot = parse_quantity(params[1])
        value = int(self.account_read((STORAGE, address, slot), params[2] if len(params) > 2 else "latest"))
        return data(value.to_bytes(32, "big"))

    def rpc_eth_getBlockByNumber(self, params: list[Any]) -> dict[str, Any] | None:
        with self.chain.lock:
            try:
                block = self.block_for(params[0])
            except RpcError:
                return None
            return encode_block(block, bool(params[1]) if len(params) > 1 else False)

    def rpc_eth_getBlockByHash(self, params: list[Any]) -> dict[str, Any] | None:
        with self.chain.lock:
            block = self.chain.block_by_hash(parse_data(params[0]))
            return (
                None if block is None else encode_block(block, bool(params[1]) if len(params) > 1 else False)
            )

    def rpc_eth_getBlockTransactionCountByNumber(self, params: list[Any]) -> str:
        return quantity(len(self.block_for(params[0]).transactions))

    def rpc_eth_getBlockTransactionCountByHash(self, params: list[Any]) -> str | None:
        block = self.chain.block_by_hash(parse_data(params[0]))
        return None if block is None else quantity(len(block.transactions))

    def rpc_eth_getUncleCountByBlockNumber(self, params: list[Any]) -> str:
        return "0x0"

    def rpc_eth_getTransactionByHash(self, params: list[Any]) -> dict[str, Any] | None:
        tx_hash = parse_data(params[0])
        with self.chain.lock:
            location = self.chain.tx_locations.get(tx_hash)
            if location is not None:
                block = self.chain.blocks[location[0]]
                return encode_transaction(block.transactions[location[1]], block, location[1])
            pending = self.chain.pool.by_hash.get(tx_hash)
            return None if pending is None else encode_transaction(pending, None, None)

    def rpc_eth_getTransactionByBlockNumberAndIndex(self, params: list[Any]) -> dict[str, Any] | None:
        block = self.block_for(params[0])
        index = parse_quantity(params[1])
        if index >= len(block.transactions):
            return None
        return encode_transaction(block.transactions[index], block, index)

    def rpc_eth_getTransactionByBlockHashAndIndex(self, params: list[Any]) -> dict[str, Any] | None:
        block = self.chain.block_by_hash(parse_data(params[0]))
        index = parse_quantity(params[1])
        if block is None or index >= len(block.transactions):
            return None
        return encode_transaction(block.transactions[index], block, index)

    def rpc_eth_getTransactionReceipt(self, params: list[Any]) -> dict[str, Any] | None:
        tx_hash = parse_data(params[0])
        with self.chain.lock:
            location = self.chain.tx_locations.get(tx_hash)
            if location is None:
                return None
            return encode_receipt(self.chain.blocks[location[0]].receipts[location[1]])

    def rpc_eth_getBlockReceipts(self, params: list[Any]) -> list[dict[str, Any]] | None:
        with self.chain.lock:
            block = self.block_for(params[0])
            return [encode_receipt(receipt) for receipt in block.receipts]

    def rpc_eth_call(self, params: list[Any]) -> str:
        block = self.block_for(params[1] if len(params) > 1 else "latest")
        try:
            return data(call(self.chain, self.call_request(params[0]), block))
        except CallReverted as exc:
            raise RpcError(3, revert_message(exc.data), data(exc.data)) from exc
        except CallFailed as exc:
            raise RpcError(-32000, str(exc)) from exc

    def rpc_eth_estimateGas(self, params: list[Any]) -> str:
        block = self.block_for(params[1] if len(params) > 1 else "latest")
        try:
            return quantity(estimate_gas(self.chain, self.call_request(params[0]), block))
        except CallReverted as exc:
            raise RpcError(3, revert_message(exc.data), data(exc.data)) from exc
        except CallFailed as exc:
            raise RpcError(-32000, str(exc)) from exc

    def rpc_eth_createAccessList(self, params: list[Any]) -> dict[str, Any]:
        block = self.block_for(params[1] if len(params) > 1 else "latest")
        try:
            entries, gas_used = create_access_list(self.chain, self.call_request(params[0]), block)
        except CallReverted as exc:
            raise RpcError(3, revert_message(exc.data), data(exc.data)) from exc
        except CallFailed as exc:
            raise RpcError(-32000, str(exc)) from exc
        access_list = [
            {"address": data(address), "storageKeys": [data(slot.to_bytes(32, "big")) for slot in slots]}
            for address, slots in entries
        ]
        return {"accessList": access_list, "gasUsed": quantity(gas_used)}

    def rpc_eth_sendRawTransaction(self, params: list[Any]) -> str:
        return self.send_raw(parse_data(params[0]))

    def rpc_eth_sendTransaction(self, params: list[Any]) -> str:
        request = params[0]
        sender = parse_address(request["from"])
        account = self.chain.dev_accounts.get(sender)
        if account is None:
            raise RpcError(-32000, f"no private key for {data(sender)}: not one of eth_accounts")
        fields: dict[str, Any] = {
            "chainId": self.chain.config.chain_id,
            "nonce": parse_quantity(request["nonce"])
            if request.get("nonce") is not None
            else self.chain.pending_nonce(sender),
            "value": parse_quantity(request.get("value", 0) or 0),
            "data": parse_data(request.get("data") or request.get("input") or "0x"),
        }
        if request.get("to"):
            fields["to"] = parse_address(request["to"])
        if request.get("gas") is not None:
            fields["gas"] = parse_quantity(request["gas"])
        else:
            fields["gas"] = int(self.rpc_eth_estimateGas([request, "pending"]), 16)
        base_fee = self.chain.block_context(0).base_fee
        if request.get("gasPrice") is not None:
            fields["gasPrice"] = parse_quantity(request["gasPrice"])
        else:
            tip = parse_quantity(request.get("maxPriorityFeePerGas") or 1_000_000_000)
            fields["maxPriorityFeePerGas"] = tip
            fields["maxFeePerGas"] = parse_quantity(request.get("maxFeePerGas") or 2 * base_fee + tip)
            fields["type"] = 2
            if request.get("accessList"):
                fields["accessList"] = request["accessList"]
        signed = account.key.sign_transaction(fields)
        return self.send_raw(bytes(signed.raw_transaction))

    def rpc_eth_getLogs(self, params: list[Any]) -> list[dict[str, Any]]:
        criteria, block_hash = parse_log_filter(params[0] if params else {}, self.chain)
        with self.chain.lock:
            if block_hash is not None:
                block = self.chain.block_by_hash(block_hash)
                if block is None:
                    raise RpcError(-32001, "block not found")
                first = last = block.number
            else:
                head = self.chain.head.number
                first = criteria.from_block if criteria.from_block is not None else head
                last = criteria.to_block if criteria.to_block is not None else head
            return logs_in(self.chain, criteria, first, last)

    def rpc_eth_newFilter(self, params: list[Any]) -> str:
        criteria, _ = parse_log_filter(params[0] if params else {}, self.chain)
        start = criteria.from_block if criteria.from_block is not None else self.chain.head.number + 1
        return self._install(InstalledFilter("logs", start - 1, criteria))

    def rpc_eth_newBlockFilter(self, params: list[Any]) -> str:
        return self._install(InstalledFilter("blocks", self.chain.head.number))

    def rpc_eth_newPendingTransactionFilter(self, params: list[Any]) -> str:
        return self._install(InstalledFilter("pending", self.chain.head.number))

    def _install(self, installed: InstalledFilter) -> str:
        installed.mark_reported(self.chain, installed.cursor)
        filter_id = hex(next(self._filter_ids))
        self.filters[filter_id] = installed
        return filter_id

    def rpc_eth_uninstallFilter(self, params: list[Any]) -> bool:
        return self.filters.pop(str(params[0]), None) is not None

    def rpc_eth_getFilterChanges(self, params: list[Any]) -> list[Any]:
        installed = self.filters.get(str(params[0]))
        if installed is None:
            raise RpcError(-32000, "filter not found")
        with self.chain.lock:
            head = self.chain.head.number
            first = installed.resume_after(self.chain)
            criteria = installed.criteria
            removed = [] if criteria is None else installed.removed_logs(self.chain, criteria)
            installed.mark_reported(self.chain, head)
            if installed.kind == "blocks":
                return [data(self.chain.blocks[n].hash) for n in range(first, head + 1)]
            if installed.kind == "pending":
                return []
            assert criteria is not None  # noqa: S101 - log filters always have criteria
            if criteria.from_block is not None:  # a height before fromBlock is neither retracted nor sent
                first = max(first, criteria.from_block)
            last = head if criteria.to_block is None else min(head, criteria.to_block)
            return removed + logs_in(self.chain, criteria, first, last)

    def rpc_eth_getFilterLogs(self, params: list[Any]) -> list[Any]:
        installed = self.filters.get(str(params[0]))
        if installed is None or installed.criteria is None:
            raise RpcError(-32000, "filter not found")
        criteria = installed.criteria
        with self.chain.lock:
            first = criteria.from_block if criteria.from_block is not None else self.chain.head.number
            last = criteria.to_block if criteria.to_block is not None else self.chain.head.number
            return logs_in(self.chain, criteria, first, last)

    # -- development methods ---------------------------------------------------------------------------
    def rpc_evm_mine(self, params: list[Any]) -> str:
        timestamp = None
        blocks = 1
        if params:
            option = params[0]
            if isinstance(option, dict):
                timestamp = (
                    parse_quantity(option["timestamp"]) if option.get("timestamp") is not None else None
                )
                blocks = parse_quantity(option.get("blocks", 1))
            elif option is not None:
                timestamp = parse_quantity(option)
        for _ in range(max(blocks, 1)):
            self.chain.mine(timestamp=timestamp)
            timestamp = None
        return "0x0"

    def rpc_anvil_mine(self, params: list[Any]) -> None:
        blocks = parse_quantity(params[0]) if params and params[0] is not None else 1
        interval = parse_quantity(params[1]) if len(params) > 1 and params[1] is not None else None
        for _ in range(max(blocks, 1)):
            timestamp = self.chain.head.header.timestamp + interval if interval else None
            self.chain.mine(timestamp=timestamp)

    def rpc_evm_increaseTime(self, params: list[Any]) -> str:
        return quantity(self.chain.increase_time(parse_quantity(params[0])))

    def rpc_evm_setNextBlockTimestamp(self, params: list[Any]) -> None:
        self.chain.set_next_timestamp(parse_quantity(params[0]))

    def rpc_evm_snapshot(self, params: list[Any]) -> str:
        return quantity(self.chain.snapshot())

    def rpc_evm_revert(self, params: list[Any]) -> bool:
        return self.chain.revert(parse_quantity(params[0]))

    def rpc_evm_setAutomine(self, params: list[Any]) -> None:
        self.block_time = 0 if params[0] else max(self.block_time, 0) or 3600.0

    def rpc_devnet_reorg(self, params: list[Any]) -> dict[str, Any]:
        """`devnet_reorg(depth, {"exclude": [tx hashes], "blocks": n})`: replace the last `depth` blocks."""
        depth = parse_quantity(params[0])
        options = params[1] if len(params) > 1 and params[1] else {}
        exclude = [parse_data(h) for h in options.get("exclude", [])]
        new_blocks = parse_quantity(options["blocks"]) if options.get("blocks") is not None else None
        result = self.chain.reorg(depth, exclude, new_blocks)
        return {
            key: [data(item) for item in value] if isinstance(value, list) else value
            for key, value in result.items()
        }

    def rpc_devnet_metrics(self, params: list[Any]) -> dict[str, Any] | None:
        last = self.chain.metrics.last()
        return None if last is None else last.__dict__


def revert_message(payload: bytes) -> str:
    """geth's message: "execution reverted" plus the reason for Error(string)."""
    if payload[:4] == bytes.fromhex("08c379a0") and len(payload) >= 68:
        length = int.from_bytes(payload[36:68], "big")
        reason = payload[68 : 68 + length].decode("utf-8", errors="replace")
        return f"execution reverted: {reason}"
    return "execution reverted"
