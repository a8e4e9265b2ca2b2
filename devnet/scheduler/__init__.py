"""Block schedulers: who executes a block's transactions, and the one in-order commit they all share.

Every scheduler produces speculative `TxOutcome`s however it likes (in this process, in worker processes,
grouped or not); `commit_in_order` then walks the block in order, accepts an outcome only if every value
it read is still what the block holds after the earlier transactions, and otherwise executes the
transaction again against the committed state. Inclusion rules (gas pool, nonce gaps, invalid
transactions) live only here, so every scheduler includes exactly the transactions sequential execution
includes.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from eth.abc import SignedTransactionAPI

from devnet.execution import BlockContext, TxOutcome, execute_transaction, first_stale_read
from devnet.state import BlockView, FlatState, Key, Writes


@dataclass
class PendingTx:
    raw: bytes
    tx: SignedTransactionAPI
    hash: bytes
    sender: bytes


@dataclass
class BlockExecution:
    included: list[tuple[PendingTx, TxOutcome]] = field(default_factory=list)
    writes: Writes = field(default_factory=Writes)
    invalid: list[tuple[PendingTx, str]] = field(default_factory=list)  # dropped from the pool
    deferred: list[PendingTx] = field(default_factory=list)  # did not fit: stay in the pool
    scheduler: str = "sequential"
    exec_seconds: float = 0.0
    reexecutions: int = 0
    conflicts: int = 0
    tx_seconds: list[float] = field(default_factory=list)  # per included transaction, accepted execution
    conflict_keys: Counter[Key] = field(default_factory=Counter)
    worker_of: list[int | None] = field(default_factory=list)  # per included transaction; None: coordinator
    # serial work in the commit loop: validation, merging, local executions, and (parallel schedulers) receiving
    # the workers' results and streaming committed writes to them; everything but the time spent blocked
    coordinator_seconds: float = 0.0


def commit_in_order(
    base: FlatState,
    transactions: Sequence[PendingTx],
    context: BlockContext,
    speculative: Callable[[int], TxOutcome | None],
    scheduler: str,
    on_commit: Callable[[int, Writes], None] | None = None,
) -> BlockExecution:
    """Commit a block in order; `speculative(i)` returns an optimistic outcome for transaction i or None."""
    started = time.perf_counter()
    result = BlockExecution(scheduler=scheduler)
    view = BlockView(base, result.writes)
    gas_left = context.gas_limit
    blocked: set[bytes] = set()
    waiting = 0.0
    for index, pending in enumerate(transactions):
        if pending.sender in blocked:
            result.deferred.append(pending)
            continue
        if pending.tx.gas > gas_left:
            blocked.add(pending.sender)
            result.deferred.append(pending)
            continue
        asked = time.perf_counter()
        outcome = speculative(index)
        waiting += time.perf_counter() - asked
        if outcome is None:
            outcome = execute_transaction(index, pending.tx, base, view.overlay, context)
        else:
            stale = first_stale_read(outcome, view)
            if stale is not None:
                result.conflicts += 1
                result.reexecutions += 1
                result.conflict_keys[stale] += 1
                outcome = execute_transaction(index, pending.tx, base, view.overlay, context)
        if not outcome.valid:
            result.invalid.append((pending, outcome.invalid_reason))
            blocked.add(pending.sender)
            continue
        view.commit(outcome.writes)
        gas_left -= outcome.gas_used
        result.included.append((pending, outcome))
        result.tx_seconds.append(outcome.seconds)
        result.worker_of.append(outcome.worker)
        if on_commit is not None:
            on_commit(index, outcome.writes)
    result.exec_seconds = time.perf_counter() - started
    result.coordinator_seconds = result.exec_seconds - waiting
    return result


class Scheduler(ABC):
    """Executes blocks; parallel schedulers also keep worker replicas in step with the chain."""

    name = "sequential"

    @abstractmethod
    def execute(
        self, base: FlatState, transactions: Sequence[PendingTx], context: BlockContext
    ) -> BlockExecution:
        """Execute and commit one block's candidate transactions against `base` (not modified)."""

    def transaction_added(self, pending: PendingTx) -> None:  # noqa: B027 - optional hook
        """A transaction entered the pool (parallel schedulers let their workers decode it ahead)."""

    def block_committed(self, writes: Writes) -> None:  # noqa: B027 - optional hook
        """The coordinator applied `writes` to its replica: workers must do the same."""

    def state_replaced(self, base: FlatState) -> None:  # noqa: B027 - optional hook
        """The coordinator's replica was replaced (revert, reorg, load): workers must resynchronise."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Stop worker processes."""


def make_scheduler(name: str, workers: int, base: FlatState) -> Scheduler:
    from devnet.scheduler.sequential import SequentialScheduler

    if name == "sequential":
        return SequentialScheduler()
    from devnet.scheduler.parallel import ParallelScheduler

    if name not in ("block-stm", "sharded"):
        raise ValueError(f"unknown scheduler {name!r}")
    return ParallelScheduler(name, workers, base)


__all__ = ["BlockExecution", "PendingTx", "Scheduler", "commit_in_order", "make_scheduler"]
