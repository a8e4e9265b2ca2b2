"""The coordinator's chain: blocks, receipts, the transaction pool, mining, time travel and reorgs.

One `Chain` owns the state: a flat replica (what transactions execute against), the state trie on the node
store (updated once per block by `update_state_root`, read through py-evm's `AccountDB`, also at past
blocks), and the blocks. Blocks are built by the configured scheduler; every committed block's net writes go
to the replica, to the trie, and to the worker replicas.
"""

from __future__ import annotations

import functools
import gc
import heapq
import itertools
import json
import logging
import pickle
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eth.abc import SignedTransactionAPI
from eth.constants import BLANK_ROOT_HASH, EMPTY_SHA3, EMPTY_SHA256, EMPTY_UNCLE_HASH, ZERO_HASH32
from eth.db.account import AccountDB
from eth.db.atomic import AtomicDB
from eth.vm.forks.prague.headers import PragueBlockHeader
from eth_hash.auto import keccak
from eth_typing import Address, BlockNumber, Hash32
from eth_utils import ValidationError

from devnet.accounts import DevAccount
from devnet.execution import BlockContext, decode_pending
from devnet.metrics import BlockMetrics, Metrics
from devnet.receipts import encode_receipt, logs_bloom
from devnet.scheduler import BlockExecution, PendingTx, Scheduler, make_scheduler
from devnet.state import (
    AccountRecord,
    FlatState,
    Writes,
    flat_state_from_accounts,
    genesis_writes,
    update_state_root,
)
from devnet.store import NodeStore
from devnet.trie import cache_decoded_trie_nodes, ordered_trie_root

log = logging.getLogger("devnet.chain")

INITIAL_BASE_FEE = 1_000_000_000
ELASTICITY = 2
BASE_FEE_CHANGE_DENOMINATOR = 8
UNDO_DEPTH = 4096  # blocks that evm_revert and devnet_reorg can rewind
ORPHANS_KEPT = 256  # dropped blocks kept by hash, so log filters can report their logs as removed


class TransactionRejected(Exception):
    """A transaction the pool refuses (JSON-RPC error -32000 with this message)."""


@dataclass
class LogRecord:
    address: bytes
    topics: tuple[bytes, ...]
    data: bytes
    log_index: int
    tx_index: int
    tx_hash: bytes
    block_number: int
    block_hash: bytes


@dataclass
class Receipt:
    tx_hash: bytes
    tx_index: int
    block_number: int
    block_hash: bytes
    sender: bytes
    to: bytes | None
    contract_address: bytes | None
    gas_used: int
    cumulative_gas_used: int
    effective_gas_price: int
    status: int
    logs: list[LogRecord]
    bloom: int
    type_id: int


@dataclass
class Block:
    header: PragueBlockHeader
    transactions: list[PendingTx]
    receipts: list[Receipt]
    writes: Writes
    undo: list[Any] | None = None

    @functools.cached_property
    def hash(self) -> bytes:
        # py-evm re-encodes and re-hashes the header on every `.hash`; the 256 ancestor hashes of each new
        # block made long chains slow.
        return bytes(self.header.hash)

    @property
    def number(self) -> int:
        return int(self.header.block_number)


@dataclass
class ChainConfig:
    chain_id: int = 31337
    gas_limit: int = 30_000_000
    coinbase: bytes = b"\x00" * 20
    base_fee: int = INITIAL_BASE_FEE
    genesis_timestamp: int | None = None
    alloc: list[tuple[bytes, AccountRecord, bytes, dict[int, int]]] = field(default_factory=list)


def quiet_garbage_collector() -> None:
    """Keep Python's cyclic collector off the state: it only ever grows, and scanning it on every full
    collection cost more than executing the transactions (unpickling a result took 10x longer with it).
    Young garbage is collected first so nothing cyclic is frozen in."""
    gc.collect(1)
    gc.freeze()


def effective_tip(tx: SignedTransactionAPI, base_fee: int) -> int:
    return int(min(tx.max_priority_fee_per_gas, tx.max_fee_per_gas - base_fee))


def effective_gas_price(tx: SignedTransactionAPI, base_fee: int) -> int:
    return int(min(tx.max_fee_per_gas, tx.max_priority_fee_per_gas + base_fee))


def next_base_fee(parent: PragueBlockHeader) -> int:
    """EIP-1559: the base fee moves by at most 1/8 towards keeping blocks half full."""
    target = parent.gas_limit // ELASTICITY
    base_fee = int(parent.base_fee_per_gas or 0)
    if parent.gas_used == target:
        return base_fee
    if parent.gas_used > target:
        delta = max(base_fee * (parent.gas_used - target) // target // BASE_FEE_CHANGE_DENOMINATOR, 1)
        return base_fee + delta
    delta = base_fee * (target - parent.gas_used) // target // BASE_FEE_CHANGE_DENOMINATOR
    return max(base_fee - delta, 0)


class Mempool:
    """Pending transactions per sender by nonce; a block takes them by tip, then nonce, then arrival."""

    def __init__(self) -> None:
        self.by_sender: dict[bytes, dict[int, PendingTx]] = {}
        self.by_hash: dict[bytes, PendingTx] = {}
        self._arrival: dict[bytes, int] = {}
        self._counter = itertools.count()

    def __len__(self) -> int:
        return len(self.by_hash)

    def add(self, pending: PendingTx) -> None:
        queue = self.by_sender.setdefault(pending.sender, {})
        replaced = queue.get(pending.tx.nonce)
        if replaced is not None:
            self.by_hash.pop(replaced.hash, None)
        queue[pending.tx.nonce] = pending
        self.by_hash[pending.hash] = pending
        self._arrival[pending.hash] = next(self._counter)

    def remove(self, pending: PendingTx) -> None:
        self.by_hash.pop(pending.hash, None)
        self._arrival.pop(pending.hash, None)
        queue = self.by_sender.get(pending.sender)
        if queue is not None and queue.get(pending.tx.nonce) is pending:
            del queue[pending.tx.nonce]
            if not queue:
                del self.by_sender[pending.sender]

    def pending_nonce(self, sender: bytes, state_nonce: int) -> int:
        queue = self.by_sender.get(sender, {})
        nonce = state_nonce
        while nonce in queue:
            nonce += 1
        return nonce

    def candidates(self, nonce_of: Callable[[bytes], int], base_fee: int, limit: int) -> list[PendingTx]:
        heads: list[tuple[int, int, bytes, int]] = []
        for sender, queue in list(self.by_sender.items()):  # stale entries are removed on the way
            nonce = nonce_of(sender)
            for stale in [n for n in queue if n < nonce]:
                self.remove(queue[stale])
            head = queue.get(nonce)
            if head is not None and head.tx.max_fee_per_gas >= base_fee:
                heads.append((-effective_tip(head.tx, base_fee), self._arrival[head.hash], sender, nonce))
        heapq.heapify(heads)
        chosen: list[PendingTx] = []
        while heads and len(chosen) < limit:
            _, _, sender, nonce = heapq.heappop(heads)
            queue = self.by_sender[sender]
            chosen.append(queue[nonce])
            following = queue.get(nonce + 1)
            if following is not None and following.tx.max_fee_per_gas >= base_fee:
                heapq.heappush(
                    heads,
                    (
                        -effective_tip(following.tx, base_fee),
                        self._arrival[following.hash],
                        sender,
                        nonce + 1,
                    ),
                )
        return chosen


@dataclass
class Snapshot:
    head: int
    time_offset: int


class Chain:
    def __init__(
        self,
        config: ChainConfig,
        *,
        scheduler: str = "sequential",
        workers: int = 2,
        data_dir: Path | None = None,
        dev_accounts: Sequence[DevAccount] = (),
        metrics: Metrics | None = None,
    ) -> None:
        self.config = config
        self.dev_accounts = {account.address: account for account in dev_accounts}
        self.metrics = metrics or Metrics()
        self.lock = threading.RLock()
        self.pool = Mempool()
        self.blocks: list[Block] = []
        self.block_numbers: dict[bytes, int] = {}
        self.tx_locations: dict[bytes, tuple[int, int]] = {}
        self.time_offset = 0
        self.next_timestamp: int | None = None
        self.snapshots: dict[int, Snapshot] = {}
        self._snapshot_ids = itertools.count(1)
        self.listeners: list[Callable[[Block], None]] = []  # called with each new block, under the lock
        # Called with the blocks a rewind dropped (oldest first), inside the chain's lock, before any block
        # replaces them: log subscribers are told which logs were removed.
        self.rewind_listeners: list[Callable[[list[Block]], None]] = []
        self.orphaned: dict[bytes, Block] = {}  # recently dropped blocks by hash, newest last (ORPHANS_KEPT)
        self.last_context: BlockContext | None = None
        self.last_candidates: list[PendingTx] = []
        self.last_execution: BlockExecution | None = None
        self.data_dir = data_dir
        cache_decoded_trie_nodes()
        self.store = NodeStore(data_dir / "nodes.log" if data_dir else None)
        self.db = AtomicDB(self.store)
        self.account_db = AccountDB(self.db, BLANK_ROOT_HASH)
        self.flat = FlatState()
        self._block_log = None
        replay = self._read_block_log() if data_dir else []
        if replay:
            self._replay(replay)
        else:
            self._genesis()
        if data_dir:
            self._block_log = (data_dir / "blocks.log").open("ab")
            if not replay:
                self._log_record(("block", self._block_record(self.blocks[0])))
        quiet_garbage_collector()
        self.scheduler: Scheduler = make_scheduler(scheduler, workers, self.flat)

    # -- genesis and persistence -----------------------------------------------------------------------
    def _genesis(self) -> None:
        self.flat = flat_state_from_accounts(self.config.alloc)
        writes = genesis_writes(self.config.alloc)
        self.account_db = AccountDB(self.db, Hash32(update_state_root(self.db, BLANK_ROOT_HASH, writes)))
        timestamp = self.config.genesis_timestamp or int(time.time())
        header = self._header(
            parent_hash=ZERO_HASH32,
            number=0,
            timestamp=timestamp,
            base_fee=self.config.base_fee,
            state_root=self.account_db.state_root,
            transactions=[],
            receipts=[],
            gas_used=0,
            bloom=0,
            extra_data=b"tranche devnet",
        )
        self._append(Block(header=header, transactions=[], receipts=[], writes=writes, undo=None))

    def _read_block_log(self) -> list[tuple[str, Any]]:
        assert self.data_dir is not None  # noqa: S101
        path = self.data_dir / "blocks.log"
        records: list[tuple[str, Any]] = []
        if not path.exists():
            return records
        with path.open("rb") as stream:
            while True:
                try:
                    # The data directory is this node's own, written by _log_record below.
                    records.append(pickle.load(stream))  # noqa: S301
                except EOFError:
                    break
                except (pickle.UnpicklingError, ValueError):
                    break  # a torn last record
        return records

    def _log_record(self, record: tuple[str, Any]) -> None:
        if self._block_log is not None:
            pickle.dump(record, self._block_log, protocol=pickle.HIGHEST_PROTOCOL)
            self._block_log.flush()
            self.store.flush()

    def _block_record(self, block: Block) -> dict[str, Any]:
        return {
            "header": block.header,
            "raw": [pending.raw for pending in block.transactions],
            "receipts": block.receipts,
            "writes": block.writes,
        }

    def _replay(self, records: list[tuple[str, Any]]) -> None:
        for kind, payload in records:
            if kind == "block":
                transactions = [self._pending(raw) for raw in payload["raw"]]
                writes: Writes = payload["writes"]
                undo = None
                if self.blocks:
                    undo = self.flat.apply(writes)
                else:
                    self.flat = FlatState()
                    self.flat.apply(writes)
                block = Block(payload["header"], transactions, payload["receipts"], writes, undo)
                self._append(block)
            elif kind == "rewind":
                self._truncate(int(payload))
            elif kind == "time":
                self.time_offset = int(payload)
        self.account_db = AccountDB(self.db, self.head.header.state_root)

    # -- blocks ----------------------------------------------------------------------------------------
    @property
    def head(self) -> Block:
        return self.blocks[-1]

    def block_by_number(self, number: int) -> Block | None:
        if 0 <= number < len(self.blocks):
            return self.blocks[number]
        return None

    def block_by_hash(self, block_hash: bytes) -> Block | None:
        number = self.block_numbers.get(block_hash)
        return None if number is None else self.blocks[number]

    def _append(self, block: Block) -> None:
        self.blocks.append(block)
        self.block_numbers[block.hash] = block.number
        for index, pending in enumerate(block.transactions):
            self.tx_locations[pending.hash] = (block.number, index)
        if len(self.blocks) > UNDO_DEPTH + 1:
            self.blocks[-UNDO_DEPTH - 1].undo = None

    def _header(
        self,
        *,
        parent_hash: bytes,
        number: int,
        timestamp: int,
        base_fee: int,
        state_root: bytes,
        transactions: Sequence[bytes],
        receipts: Sequence[bytes],
        gas_used: int,
        bloom: int,
        extra_data: bytes = b"",
    ) -> PragueBlockHeader:
        """The block's header; `transactions` and `receipts` in their consensus encodings (a transaction's is its
        raw bytes, as sent)."""
        transaction_root = ordered_trie_root(transactions)
        receipt_root = ordered_trie_root(receipts)
        return PragueBlockHeader(
            parent_hash=Hash32(parent_hash),
            uncles_hash=EMPTY_UNCLE_HASH,
            coinbase=Address(self.config.coinbase),
            state_root=Hash32(state_root),
            transaction_root=Hash32(transaction_root),
            receipt_root=Hash32(receipt_root),
            bloom=bloom,
            difficulty=0,
            block_number=BlockNumber(number),
            gas_limit=self.config.gas_limit,
            gas_used=gas_used,
            timestamp=timestamp,
            extra_data=extra_data,
            mix_hash=Hash32(keccak(parent_hash + number.to_bytes(8, "big"))),
            nonce=b"\x00" * 8,
            base_fee_per_gas=base_fee,
            withdrawals_root=BLANK_ROOT_HASH,
            blob_gas_used=0,
            excess_blob_gas=0,
            parent_beacon_block_root=ZERO_HASH32,
            requests_hash=EMPTY_SHA256,
        )

    def block_context(self, timestamp: int | None = None) -> BlockContext:
        parent = self.head.header
        prev_hashes = tuple(block.hash for block in reversed(self.blocks[-256:]))
        return BlockContext(
            number=parent.block_number + 1,
            timestamp=timestamp if timestamp is not None else self._next_block_timestamp(),
            coinbase=self.config.coinbase,
            gas_limit=self.config.gas_limit,
            base_fee=next_base_fee(parent),
            chain_id=self.config.chain_id,
            prev_randao=keccak(parent.hash + (parent.block_number + 1).to_bytes(8, "big")),
            prev_hashes=prev_hashes,
        )

    def _next_block_timestamp(self) -> int:
        parent_timestamp = int(self.head.header.timestamp)
        # As anvil does: wall clock plus the evm_increaseTime offset, never before the parent (blocks
        # mined within one second share its timestamp).
        if self.next_timestamp is not None:
            return max(self.next_timestamp, parent_timestamp)
        return max(int(time.time()) + self.time_offset, parent_timestamp)

    # -- transactions ----------------------------------------------------------------------------------
    def _pending(self, raw: bytes) -> PendingTx:
        tx, tx_hash, sender = decode_pending(raw)
        return PendingTx(raw=raw, tx=tx, hash=tx_hash, sender=sender)

    def add_raw_transaction(self, raw: bytes) -> bytes:
        try:
            pending = self._pending(raw)
        except (ValidationError, ValueError, TypeError) as exc:
            raise TransactionRejected(f"invalid transaction: {exc}") from exc
        tx = pending.tx
        with self.lock:
            chain_id = getattr(tx, "chain_id", None)
            if chain_id is not None and chain_id != self.config.chain_id:
                raise TransactionRejected(f"invalid chain id {chain_id}, expected {self.config.chain_id}")
            state_nonce = int(self.flat.read((1, pending.sender)))
            if tx.nonce < state_nonce:
                raise TransactionRejected(f"nonce too low: next nonce {state_nonce}, tx nonce {tx.nonce}")
            if tx.gas < tx.intrinsic_gas:
                raise TransactionRejected(f"intrinsic gas too low: have {tx.gas}, want {tx.intrinsic_gas}")
            if tx.gas > self.config.gas_limit:
                raise TransactionRejected("exceeds block gas limit")
            cost = tx.gas * tx.max_fee_per_gas + tx.value
            balance = int(self.flat.read((0, pending.sender)))
            if balance < cost:
                raise TransactionRejected(
                    f"insufficient funds for gas * price + value: have {balance} want {cost}"
                )
            if pending.hash in self.tx_locations:
                raise TransactionRejected("transaction already imported")
            self.pool.add(pending)
            self.scheduler.transaction_added(pending)
        return pending.hash

    def pending_nonce(self, address: bytes) -> int:
        with self.lock:
            return self.pool.pending_nonce(address, int(self.flat.read((1, address))))

    # -- mining ----------------------------------------------------------------------------------------
    def mine(
        self, timestamp: int | None = None, extra_data: bytes = b"", max_transactions: int = 100_000
    ) -> Block:
        with self.lock:
            started = time.perf_counter()
            context = self.block_context(timestamp)
            self.next_timestamp = None
            flat = self.flat
            candidates = self.pool.candidates(
                lambda sender: int(flat.read((1, sender))), context.base_fee, max_transactions
            )
            self.last_context, self.last_candidates = context, candidates  # for equivalence checks
            execution = self.scheduler.execute(flat, candidates, context)
            self.last_execution = execution
            block = self._commit(context, execution, extra_data)
            metrics = BlockMetrics(
                number=block.number,
                transactions=len(block.transactions),
                gas_used=int(block.header.gas_used),
                scheduler=execution.scheduler,
                exec_seconds=execution.exec_seconds,
                commit_seconds=self._last_commit_seconds,
                state_root_seconds=self._last_root_seconds,
                total_seconds=time.perf_counter() - started,
                reexecutions=execution.reexecutions,
                conflicts=execution.conflicts,
            )
            self.metrics.record(metrics)
            # Under the lock, like the rewind listeners: a reorg cannot retract a block before it was
            # announced (listeners only queue their notifications).
            for listener in list(self.listeners):
                listener(block)
        quiet_garbage_collector()
        return block

    def _commit(self, context: BlockContext, execution: BlockExecution, extra_data: bytes) -> Block:
        started = time.perf_counter()
        for pending, _reason in execution.invalid:
            self.pool.remove(pending)
        undo = self.flat.apply(execution.writes)
        self.scheduler.block_committed(execution.writes)
        committed = time.perf_counter()
        state_root = Hash32(update_state_root(self.db, self.account_db.state_root, execution.writes))
        self.account_db = AccountDB(self.db, state_root)  # a fresh one: no cached account outlives the block
        rooted = time.perf_counter()
        self._last_commit_seconds = committed - started
        self._last_root_seconds = rooted - committed

        blooms: list[int] = []
        encoded_receipts: list[bytes] = []
        cumulative = 0
        bloom = 0
        for pending, outcome in execution.included:
            cumulative += outcome.gas_used
            receipt_bloom = logs_bloom(outcome.logs)
            blooms.append(receipt_bloom)
            encoded_receipts.append(encode_receipt(
                type_id=int(pending.tx.type_id or 0), success=outcome.success, cumulative_gas_used=cumulative,
                bloom=receipt_bloom, logs=outcome.logs))
            bloom |= receipt_bloom
        parent = self.head
        header = self._header(
            parent_hash=parent.hash,
            number=context.number,
            timestamp=context.timestamp,
            base_fee=context.base_fee,
            state_root=state_root,
            transactions=[pending.raw for pending, _ in execution.included],
            receipts=encoded_receipts,
            gas_used=cumulative,
            bloom=bloom,
            extra_data=extra_data,
        )
        block_hash = bytes(header.hash)
        receipts: list[Receipt] = []
        log_index = 0
        cumulative = 0
        for tx_index, ((pending, outcome), receipt_bloom) in enumerate(
            zip(execution.included, blooms, strict=True)
        ):
            cumulative += outcome.gas_used
            logs = []
            for address, topics, data in outcome.logs:
                logs.append(
                    LogRecord(
                        address=bytes(address),
                        topics=tuple(topic.to_bytes(32, "big") for topic in topics),
                        data=bytes(data),
                        log_index=log_index,
                        tx_index=tx_index,
                        tx_hash=pending.hash,
                        block_number=context.number,
                        block_hash=block_hash,
                    )
                )
                log_index += 1
            tx = pending.tx
            receipts.append(
                Receipt(
                    tx_hash=pending.hash,
                    tx_index=tx_index,
                    block_number=context.number,
                    block_hash=block_hash,
                    sender=pending.sender,
                    to=bytes(tx.to) if tx.to else None,
                    contract_address=outcome.contract_address,
                    gas_used=outcome.gas_used,
                    cumulative_gas_used=cumulative,
                    effective_gas_price=effective_gas_price(tx, context.base_fee),
                    status=1 if outcome.success else 0,
                    logs=logs,
                    bloom=receipt_bloom,
                    type_id=int(tx.type_id or 0),
                )
            )
            self.pool.remove(pending)
        block = Block(
            header=header,
            transactions=[pending for pending, _ in execution.included],
            receipts=receipts,
            writes=execution.writes,
            undo=undo,
        )
        self._append(block)
        self._log_record(("block", self._block_record(block)))
        return block

    # -- time travel, snapshots and reorgs -------------------------------------------------------------
    def increase_time(self, seconds: int) -> int:
        with self.lock:
            self.time_offset += seconds
            self._log_record(("time", self.time_offset))
            return self.time_offset

    def set_next_timestamp(self, timestamp: int) -> None:
        with self.lock:
            self.next_timestamp = timestamp

    def snapshot(self) -> int:
        with self.lock:
            snapshot_id = next(self._snapshot_ids)
            self.snapshots[snapshot_id] = Snapshot(head=self.head.number, time_offset=self.time_offset)
            return snapshot_id

    def revert(self, snapshot_id: int) -> bool:
        with self.lock:
            snapshot = self.snapshots.get(snapshot_id)
            if snapshot is None:
                return False
            for later in [key for key in self.snapshots if key >= snapshot_id]:
                del self.snapshots[later]
            self.rewind(snapshot.head)
            self.time_offset = snapshot.time_offset
            self._log_record(("time", self.time_offset))
            return True

    def _truncate(self, number: int) -> list[Block]:
        dropped: list[Block] = []
        while self.head.number > number:
            block = self.blocks.pop()
            if block.undo is None:
                self.blocks.append(block)
                raise ValueError(f"cannot rewind more than {UNDO_DEPTH} blocks")
            self.flat.undo(block.undo)
            del self.block_numbers[block.hash]
            for pending in block.transactions:
                self.tx_locations.pop(pending.hash, None)
            dropped.append(block)
        dropped.reverse()
        return dropped

    def rewind(self, number: int) -> list[Block]:
        """Drop every block above `number` and return them (oldest first)."""
        with self.lock:
            dropped = self._truncate(number)
            self.account_db = AccountDB(self.db, self.head.header.state_root)
            self.scheduler.state_replaced(self.flat)
            self._log_record(("rewind", number))
            for block in dropped:
                self.orphaned[block.hash] = block
            while len(self.orphaned) > ORPHANS_KEPT:
                del self.orphaned[next(iter(self.orphaned))]
            for listener in list(self.rewind_listeners):
                listener(dropped)
            return dropped

    def reorg(
        self, depth: int, exclude: Iterable[bytes] = (), new_blocks: int | None = None
    ) -> dict[str, Any]:
        """Replace the last `depth` blocks with `new_blocks` (default `depth`) different ones.

        The dropped blocks' transactions go back to the pool, except those in `exclude`, and are mined
        again into the new blocks (all of them into the first); the new blocks carry `extra_data`
        "reorg" so their hashes differ even when their contents do not.
        """
        with self.lock:
            depth = max(0, min(depth, self.head.number))
            excluded = set(exclude)
            dropped = self.rewind(self.head.number - depth)
            reincluded = []
            for block in dropped:
                for pending in block.transactions:
                    if pending.hash not in excluded:
                        self.pool.add(pending)
                        reincluded.append(pending.hash)
            mined = [
                self.mine(extra_data=b"reorg") for _ in range(new_blocks if new_blocks is not None else depth)
            ]
            return {
                "droppedBlocks": [block.hash for block in dropped],
                "newBlocks": [block.hash for block in mined],
                "reincluded": reincluded,
                "excluded": sorted(excluded),
            }

    # -- state dumps -----------------------------------------------------------------------------------
    def dump_state(self) -> dict[str, Any]:
        with self.lock:
            accounts = {}
            for address, record in sorted(self.flat.accounts.items()):
                code = self.flat.code(record.code_hash)
                accounts["0x" + address.hex()] = {
                    "nonce": record.nonce,
                    "balance": hex(record.balance),
                    "code": "0x" + code.hex(),
                    "storage": {
                        hex(slot): hex(value)
                        for slot, value in sorted(self.flat.storage.get(address, {}).items())
                    },
                }
            return {"block": self.head.number, "accounts": accounts}

    def close(self) -> None:
        self.scheduler.close()
        if self._block_log is not None:
            self._block_log.close()
            self._block_log = None
        self.store.close()

    # -- reads -----------------------------------------------------------------------------------------
    def account_db_at(self, block: Block) -> AccountDB:
        if block is self.head:
            return self.account_db
        return AccountDB(self.db, block.header.state_root)


def load_state_alloc(path: Path) -> list[tuple[bytes, AccountRecord, bytes, dict[int, int]]]:
    """Accounts from a `--dump-state` file (anvil's layout: {"accounts": {address: {...}}})."""
    document = json.loads(path.read_text())
    rows = []
    for address, account in document.get("accounts", {}).items():
        code = bytes.fromhex(str(account.get("code", "0x"))[2:])
        balance = account.get("balance", 0)
        record = AccountRecord(
            nonce=int(account.get("nonce", 0)),
            balance=int(balance, 16) if isinstance(balance, str) else int(balance),
            code_hash=keccak(code) if code else EMPTY_SHA3,
        )
        storage = {int(slot, 16): int(value, 16) for slot, value in account.get("storage", {}).items()}
        rows.append((bytes.fromhex(address[2:].lower()), record, code, storage))
    return rows


__all__ = ["Address", "Block", "Chain", "ChainConfig", "LogRecord", "Receipt", "TransactionRejected"]
