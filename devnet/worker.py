"""A persistent worker process: a replica of the state, and optimistic execution of its share of a block.

The replica is kept current by the net writes of every committed block (sent by the coordinator), so no
process is forked per block and no worker opens the node's database. During a block the worker executes its
assigned transactions in block order against the replica, plus the writes the coordinator has committed so
far in this block (streamed to it), plus its own not-yet-committed results (so one sender's transactions
see each other). Whatever it gets wrong, the coordinator's validation catches.

Messages from the coordinator:
    ("reset", FlatState)                          replace the replica
    ("apply", Writes)                             a block was committed
    ("pool", [(hash, raw, sender)])               transactions entered the pool: decode them ahead
    ("block", BlockContext, [(index, hash, raw, sender)]) execute these
    ("committed", next_index, Writes)             writes committed since the last message; every
                                                  transaction below next_index is settled
    ("end",)                                      the block is committed: drop what is left
    ("stop",)
Messages to the coordinator: ("outcomes", [TxOutcome, ...]) as transactions are executed; ("ended",) after
"end".
"""

from __future__ import annotations

import pickle
import select
import time
from collections import deque
from multiprocessing.connection import Connection
from typing import Any

from devnet.chain import quiet_garbage_collector
from devnet.execution import BlockContext, TxOutcome, decode_with_sender, execute_transaction
from devnet.state import FlatState, LayeredView, Writes

OUTCOME_BATCH = 16  # results per message, unless the coordinator is waiting for one
DECODED_LIMIT = 10_000  # pool transactions decoded ahead and kept (the oldest go first)


class WorkerBlock:
    """The state of one block inside a worker."""

    def __init__(self, base: FlatState, context: BlockContext) -> None:
        self.base = base
        self.context = context
        self.committed = Writes()
        self.frontier = 0
        self.own: list[TxOutcome] = []
        self.own_writes = Writes()

    def on_committed(self, next_index: int, writes: Writes) -> None:
        self.committed.merge(writes)
        self.frontier = max(self.frontier, next_index)
        settled = sum(1 for outcome in self.own if outcome.index < self.frontier)
        if settled and settled * 2 >= len(self.own):
            # Rebuilt only once half of its results are settled (amortised linear): until then a settled
            # result may shadow a newer committed value, which validation catches like any stale read.
            self.own = [outcome for outcome in self.own if outcome.index >= self.frontier]
            self.own_writes = Writes()
            for outcome in self.own:
                self.own_writes.merge(outcome.writes)

    def execute(self, index: int, raw: bytes, sender: bytes, decoded: Any = None) -> TxOutcome:
        started = time.perf_counter()
        transaction = decoded if decoded is not None else decode_with_sender(raw, sender)
        view = LayeredView(self.base, self.committed, self.own_writes)
        outcome = execute_transaction(index, transaction, self.base, None, self.context, view=view)
        outcome.seconds = time.perf_counter() - started  # decoding included when it was not done ahead
        if outcome.valid:
            self.own.append(outcome)
            self.own_writes.merge(outcome.writes)
        return outcome


def _receive(connection: Connection) -> Any:
    # Messages are pickled once by the coordinator and sent as bytes to every worker.
    return pickle.loads(connection.recv_bytes())  # noqa: S301 - our own coordinator, over a private pipe


def worker_main(connection: Connection, base: FlatState) -> None:
    block: WorkerBlock | None = None
    queue: deque[tuple[int, bytes, bytes, bytes]] = deque()
    decoded: dict[bytes, Any] = {}  # pool transactions decoded ahead, by hash
    batch: list[TxOutcome] = []
    poller = select.poll()  # a registered poll object: Connection.poll() builds a selector on every call
    poller.register(connection.fileno(), select.POLLIN)
    while True:
        # Between transactions, take in whatever the coordinator sent (committed writes, the block's end).
        while not queue or poller.poll(0):
            message = _receive(connection)
            kind = message[0]
            if kind == "committed":
                if block is not None:
                    block.on_committed(message[1], message[2])
            elif kind == "pool":
                for tx_hash, raw, sender in message[1]:
                    decoded[tx_hash] = decode_with_sender(raw, sender)
                while len(decoded) > DECODED_LIMIT:
                    del decoded[next(iter(decoded))]
            elif kind == "block":
                block = WorkerBlock(base, message[1])
                queue = deque(message[2])
                # What this block does not take was mined elsewhere or is not this worker's share.
                decoded = {item[1]: decoded[item[1]] for item in queue if item[1] in decoded}
            elif kind == "end":
                block = None
                queue.clear()
                batch = []
                connection.send(("ended",))
            elif kind == "apply":
                base.apply(message[1])
                quiet_garbage_collector()
            elif kind == "reset":
                base = message[1]
                decoded.clear()
                quiet_garbage_collector()
            elif kind == "stop":
                return
        assert block is not None  # noqa: S101 - a queue only exists inside a block
        index, tx_hash, raw, sender = queue.popleft()
        batch.append(block.execute(index, raw, sender, decoded.pop(tx_hash, None)))
        # Results go out in small batches (fewer wake-ups of the coordinator), and at once when the
        # coordinator has said something (it may be waiting for one of them) or the share is done.
        if len(batch) >= OUTCOME_BATCH or not queue or poller.poll(0):
            connection.send_bytes(pickle.dumps(("outcomes", batch), protocol=pickle.HIGHEST_PROTOCOL))
            batch = []
