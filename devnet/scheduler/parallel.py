"""The parallel schedulers, `block-stm` and `sharded`: the coordinator and worker processes execute, the
coordinator commits.

`workers` counts every executor, the coordinator included, as Block-STM counts threads that each execute
and validate: with 2 workers the coordinator runs one share of the block itself and one worker process runs
the other, so two processes keep two cores busy (a coordinator that only validated would leave a third
process competing for them). The coordinator executes its own share at the commit point, against the block
as committed so far, so those results are never stale; the workers execute theirs optimistically and
stream the results back; `commit_in_order` accepts a worker's result only if what it read still holds, and
otherwise executes the transaction again in the coordinator. While it commits, the coordinator streams the
committed writes to the workers, so a worker's later transactions see the block as it is being committed
(Block-STM, arXiv 2203.06871, with the shared-memory multi-version store replaced by this stream, and
validation and re-execution done by the one process that commits).

They differ in how the block is shared out:
- block-stm: one sender's transactions to one executor (nonce order), senders spread by load, so that the
  executors move through the block side by side near the commit point and conflicts stay local;
- sharded: transactions grouped by the state they are predicted to write (the sender; the storage keys of
  their access list that earlier blocks wrote; the slots of the called contract that caused conflicts
  before), each group on one executor; a transaction whose groups live on different executors is left to
  the coordinator, which executes it in order while committing.

The coordinator's share is weighted by what validating the workers' results costs it (learned from the
last parallel block), so that both finish together. A block falls back to sequential execution when that is
predicted to be faster: few transactions, one sender dominating the block (its nonce chain is serial
anyway), or recent blocks that mostly conflicted.
"""

from __future__ import annotations

import multiprocessing
import pickle
import time
from collections.abc import Sequence
from multiprocessing.connection import Connection, wait
from typing import Any

from devnet.execution import BlockContext, TxOutcome
from devnet.scheduler import BlockExecution, PendingTx, Scheduler, commit_in_order
from devnet.state import STORAGE, FlatState, Writes
from devnet.worker import worker_main

MIN_PARALLEL_TRANSACTIONS = 16
# Commits between streamed updates to the workers: often after a block that had conflicts (a worker then
# sees the block as committed sooner), rarely after a clean one (each update costs every worker a merge).
FLUSH_EVERY_CONFLICTS = 8
FLUSH_EVERY_CLEAN = 64
MAX_SENDER_SHARE = 0.5
MAX_CONFLICT_RATIO = 0.5
PROBE_EVERY = 8  # blocks: retry parallel execution after falling back for conflicts
WRITTEN_KEYS_LIMIT = 2_000_000
COORDINATOR = 0  # executor slot of the coordinator; slot k >= 1 is worker process k - 1
# The coordinator's cost per transaction of its share relative to a worker's (it also validates and merges
# the workers' results): a first guess, then learned from each parallel block, within these bounds.
COORDINATOR_WEIGHT = 1.1
COORDINATOR_WEIGHT_BOUNDS = (1.0, 4.0)
# Pool transactions are handed to the workers to decode ahead in batches of this many; a block mined before
# a batch fills (automine: one transaction a block, run sequentially) costs the workers nothing.
PREFETCH_BATCH = 16


class ParallelScheduler(Scheduler):
    def __init__(self, name: str, workers: int, base: FlatState) -> None:
        self.name = name
        self.workers = max(1, workers)  # executors, the coordinator included
        context = multiprocessing.get_context("fork")
        self.connections: list[Connection] = []
        self.processes: list[Any] = []
        for _ in range(self.workers - 1):
            parent_end, child_end = context.Pipe()
            process = context.Process(target=worker_main, args=(child_end, base), daemon=True)
            process.start()
            child_end.close()
            self.connections.append(parent_end)
            self.processes.append(process)
        self.min_transactions = MIN_PARALLEL_TRANSACTIONS
        self.max_sender_share = MAX_SENDER_SHARE
        self.max_conflict_ratio = MAX_CONFLICT_RATIO
        self.conflict_ratio = 0.0
        self.blocks_since_parallel = 0
        self.written_storage: set[tuple[bytes, int]] = set()
        self.hot_contracts: set[bytes] = set()
        self.prefetch: list[tuple[bytes, bytes, bytes]] = []  # (hash, raw, sender) not yet sent
        self.coordinator_weight = COORDINATOR_WEIGHT

    # -- worker plumbing -------------------------------------------------------------------------------
    def _broadcast(self, message: tuple[Any, ...]) -> None:
        payload = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
        for connection in self.connections:
            connection.send_bytes(payload)

    def transaction_added(self, pending: PendingTx) -> None:
        if not self.connections:
            return
        self.prefetch.append((pending.hash, pending.raw, pending.sender))
        if len(self.prefetch) >= PREFETCH_BATCH:
            self._send_prefetch()

    def _send_prefetch(self) -> None:
        if self.prefetch:
            self._broadcast(("pool", self.prefetch))
            self.prefetch = []

    def block_committed(self, writes: Writes) -> None:
        self._broadcast(("apply", writes))
        if self.name == "sharded":
            if len(self.written_storage) > WRITTEN_KEYS_LIMIT:
                self.written_storage.clear()
            for address, slots in writes.storage.items():
                self.written_storage.update((address, slot) for slot in slots)

    def state_replaced(self, base: FlatState) -> None:
        self._broadcast(("reset", base))

    def close(self) -> None:
        for connection in self.connections:
            try:
                connection.send_bytes(pickle.dumps(("stop",)))
            except OSError:
                pass
        for process in self.processes:
            process.join(timeout=5)
            if process.is_alive():
                process.terminate()
        self.connections = []
        self.processes = []

    # -- choosing how to run a block -------------------------------------------------------------------
    def _prefer_sequential(self, transactions: Sequence[PendingTx]) -> bool:
        if len(transactions) < self.min_transactions:
            return True
        senders: dict[bytes, int] = {}
        for pending in transactions:
            senders[pending.sender] = senders.get(pending.sender, 0) + 1
        if max(senders.values()) > self.max_sender_share * len(transactions):
            return True
        # block-stm only: sharded learns from its conflicts (hot contracts, written slots), so the block after
        # a conflicting one is exactly when its prediction has improved.
        recent_conflicts = self.conflict_ratio > self.max_conflict_ratio
        if self.name == "block-stm" and recent_conflicts and self.blocks_since_parallel < PROBE_EVERY:
            return True
        return False

    def _least_loaded(self, load: list[float]) -> int:
        return load.index(min(load))

    def _add_load(self, load: list[float], slot: int) -> None:
        load[slot] += self.coordinator_weight if slot == COORDINATOR else 1.0

    def _assign_block_stm(self, transactions: Sequence[PendingTx]) -> list[int | None]:
        load = [0.0] * self.workers
        owner: dict[bytes, int] = {}
        assignment: list[int | None] = []
        for pending in transactions:
            slot = owner.get(pending.sender)
            if slot is None:
                slot = owner[pending.sender] = self._least_loaded(load)
            self._add_load(load, slot)
            assignment.append(slot)
        return assignment

    def predicted_keys(self, pending: PendingTx) -> list[Any]:
        keys: list[Any] = [("sender", pending.sender)]
        tx = pending.tx
        access_list = getattr(tx, "access_list", ()) if int(tx.type_id or 0) else ()
        if access_list:
            for address, slots in access_list:
                keys += [
                    (bytes(address), slot) for slot in slots if (bytes(address), slot) in self.written_storage
                ]
        elif tx.to and bytes(tx.to) in self.hot_contracts:
            keys.append(("hot", bytes(tx.to)))
        return keys

    def _assign_sharded(self, transactions: Sequence[PendingTx]) -> list[int | None]:
        load = [0.0] * self.workers
        owner: dict[Any, int] = {}
        crossed: set[bytes] = set()
        assignment: list[int | None] = []
        for pending in transactions:
            keys = self.predicted_keys(pending)
            owners = {owner[key] for key in keys if key in owner}
            if pending.sender in crossed or len(owners) > 1:
                crossed.add(pending.sender)
                assignment.append(None)  # crosses groups: the coordinator runs it in order
                continue
            slot = owners.pop() if owners else self._least_loaded(load)
            for key in keys:
                owner[key] = slot
            self._add_load(load, slot)
            assignment.append(slot)
        return assignment

    # -- running a block -------------------------------------------------------------------------------
    def execute(
        self, base: FlatState, transactions: Sequence[PendingTx], context: BlockContext
    ) -> BlockExecution:
        if not self.connections or self._prefer_sequential(transactions):  # one executor: the coordinator
            self.prefetch = []  # being mined now, by the coordinator
            self.blocks_since_parallel += 1
            return commit_in_order(base, transactions, context, lambda index: None, "sequential")
        self.blocks_since_parallel = 0
        if self.name == "sharded":
            assignment = self._assign_sharded(transactions)
        else:
            assignment = self._assign_block_stm(transactions)
        self._send_prefetch()
        shares: list[list[tuple[int, bytes, bytes, bytes]]] = [[] for _ in self.connections]
        for index, slot in enumerate(assignment):
            if slot is not None and slot != COORDINATOR:
                pending = transactions[index]
                shares[slot - 1].append((index, pending.hash, pending.raw, pending.sender))
        for connection, share in zip(self.connections, shares, strict=True):
            connection.send_bytes(pickle.dumps(("block", context, share), protocol=pickle.HIGHEST_PROTOCOL))

        results: dict[int, TxOutcome] = {}
        idle = 0.0  # time the coordinator spent blocked waiting for a worker's results
        delta = Writes()
        unsent = 0
        sent_frontier = 0

        def flush(next_index: int) -> None:
            nonlocal delta, unsent, sent_frontier
            if unsent or next_index > sent_frontier:
                self._broadcast(("committed", next_index, delta))
                delta = Writes()
                unsent = 0
                sent_frontier = next_index

        flush_every = FLUSH_EVERY_CONFLICTS if self.conflict_ratio else FLUSH_EVERY_CLEAN

        def on_commit(index: int, writes: Writes) -> None:
            nonlocal unsent
            delta.merge(writes)
            unsent += 1
            if unsent >= flush_every:
                flush(index + 1)

        def speculative(index: int) -> TxOutcome | None:
            if assignment[index] is None or assignment[index] == COORDINATOR:
                return None  # executed in the commit loop, against the block as committed so far
            nonlocal idle
            while index not in results:
                flush(index)
                blocked = time.perf_counter()
                ready = wait(self.connections)
                idle += time.perf_counter() - blocked
                for connection in ready:
                    assert isinstance(connection, Connection)  # noqa: S101 - wait() returns what it was given
                    message = connection.recv()
                    if message[0] == "outcomes":
                        slot = self.connections.index(connection) + 1
                        for outcome in message[1]:
                            outcome.worker = slot
                            results[outcome.index] = outcome
            return results.pop(index)

        execution = commit_in_order(base, transactions, context, speculative, self.name, on_commit)
        # Receiving and unpickling the workers' results and streaming the committed writes are the
        # coordinator's work too: only the time it sat blocked is not.
        execution.coordinator_seconds = execution.exec_seconds - idle
        self._broadcast(("end",))
        for connection in self.connections:
            while connection.recv()[0] != "ended":
                pass
        self._account(execution, assignment)
        included = max(len(execution.included), 1)
        self.conflict_ratio = execution.conflicts / included
        if self.name == "sharded":
            for key, count in execution.conflict_keys.items():
                if key[0] == STORAGE and count > 1:
                    self.hot_contracts.add(key[1])
        return execution

    def _account(self, execution: BlockExecution, assignment: list[int | None]) -> None:
        """Mark the coordinator's own share, and learn what a transaction of it costs the coordinator
        (validating and merging the workers' results included) next to one a worker runs."""
        local = 0
        worker_seconds = 0.0
        worker_count = 0
        for position, (_pending, outcome) in enumerate(execution.included):
            if assignment[outcome.index] == COORDINATOR:
                execution.worker_of[position] = COORDINATOR
                local += 1
            elif execution.worker_of[position] is not None:
                worker_seconds += outcome.seconds
                worker_count += 1
        if local and worker_count and worker_seconds > 0:
            measured = (execution.coordinator_seconds / local) / (worker_seconds / worker_count)
            low, high = COORDINATOR_WEIGHT_BOUNDS
            self.coordinator_weight = min(high, max(low, (self.coordinator_weight + measured) / 2))
